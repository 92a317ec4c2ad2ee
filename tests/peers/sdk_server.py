"""A server built on the official Python SDK's ``MCPServer``, for ``scaled-mcp check`` to test.

``python tests/peers/sdk_server.py PORT``: streamable HTTP on ``/mcp`` (the SDK's
defaults: SSE answers, sessions for the handshake revisions, the 2026-07-28 wire
on the same endpoint). It offers what every features check needs: tools (one with
an output schema, one with bounded and enumerated arguments, one that fails),
resources (text and binary), a resource template, prompts (one with a required
argument) and completion of a prompt argument and of a template parameter.
"""

from __future__ import annotations

import sys
from typing import Literal, TypedDict

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

LANGUAGES = ("python", "rust", "typescript", "go")

server = MCPServer("peer-sdk", version="1.0.0", instructions="A peer for the harness's checks.")


class Sum(TypedDict):
    """The structured result of ``add``."""

    total: int
    terms: int


@server.tool(description="Echo the text back")
async def echo(text: str) -> str:
    return text


@server.tool(description="Add two integers; the result is structured (it has an output schema)")
async def add(a: int, b: int) -> Sum:
    return {"total": a + b, "terms": 2}


@server.tool(description="Repeat a word a bounded number of times")
async def repeat(word: str, times: int = 1, style: Literal["plain", "shout"] = "plain") -> str:
    if not 1 <= times <= 10:
        raise ValueError("times must be between 1 and 10")
    text = " ".join([word] * times)
    return text.upper() if style == "shout" else text


@server.tool(description="Always fails (a tool execution error)")
async def fail() -> str:
    raise RuntimeError("this tool always fails")


@server.resource("peer://greeting", name="greeting", mime_type="text/plain")
def greeting() -> str:
    return "Hello from the SDK peer"


@server.resource("peer://logo.bin", name="logo", mime_type="application/octet-stream")
def logo() -> bytes:
    return bytes(range(16))


@server.resource("peer://items/{item_id}", name="item", mime_type="text/plain")
def item(item_id: str) -> str:
    return f"item {item_id}"


@server.prompt(description="Review some code")
def review(code: str, language: str = "python") -> str:
    return f"Review this {language} code:\n{code}"


@server.prompt(description="Say hello")
def hello() -> str:
    return "Say hello"


@server.completion()  # type: ignore[untyped-decorator,no-untyped-call]
async def complete(
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> Completion | None:
    if isinstance(ref, PromptReference) and ref.name == "review" and argument.name == "language":
        return Completion(values=[name for name in LANGUAGES if name.startswith(argument.value)])
    if isinstance(ref, ResourceTemplateReference) and argument.name == "item_id":
        return Completion(values=[str(n) for n in range(3) if str(n).startswith(argument.value)])
    return None


app = server.streamable_http_app()

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
