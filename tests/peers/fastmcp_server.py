# mypy: ignore-errors
"""A server built on FastMCP, for ``scaled-mcp check`` to test (it runs in its own venv).

``python tests/peers/fastmcp_server.py PORT``: streamable HTTP on ``/mcp`` with
FastMCP's defaults, on uvicorn. The same features as ``sdk_server.py``: tools (one
with an output schema, one with bounded and enumerated arguments, one that fails),
resources (text and binary), a resource template, prompts (one with a required
argument) and completion.
"""

import os
import sys
from typing import Literal

from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")  # read when fastmcp is imported

import uvicorn
from fastmcp import FastMCP
from mcp.types import Completion, PromptReference, ResourceTemplateReference

LANGUAGES = ("python", "rust", "typescript", "go")

server = FastMCP("peer-fastmcp", instructions="A peer for the harness's checks.")


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
    return "Hello from the FastMCP peer"


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


@server.completion
def complete(ref, argument, context):
    if isinstance(ref, PromptReference) and ref.name == "review" and argument.name == "language":
        return Completion(values=[name for name in LANGUAGES if name.startswith(argument.value)])
    if isinstance(ref, ResourceTemplateReference) and argument.name == "item_id":
        return [str(n) for n in range(3) if str(n).startswith(argument.value)]
    return None


app = server.http_app(path="/mcp")

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
