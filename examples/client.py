"""A small MCP client: list a server's tools, resources and prompts, call a tool.

    python examples/client.py http://127.0.0.1:8000/mcp
    python examples/client.py http://127.0.0.1:8000/mcp echo '{"text": "hi"}'
    python examples/client.py -- scaled-mcp serve --stdio examples/everything.py
    python examples/client.py -- scaled-mcp serve --stdio examples/everything.py test_simple_text

The server is a URL (streamable HTTP; a path ending in ``/sse`` is the
2024-11-05 transport) or, after ``--``, a command run over stdio. The client
answers the server's sampling and elicitation requests itself, prints its log
messages and the progress of the call.
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

import trio

from scaled_mcp.client import Client, ClientError
from scaled_mcp.protocol.types import CreateMessageResult, ElicitResult, TextContent


def sample(params: dict[str, Any]) -> CreateMessageResult:
    """A stand-in for a model: answers every sampling request the same way."""
    return CreateMessageResult(
        role="assistant", content=TextContent(text="(no model here)"), model="example"
    )


async def elicit(params: dict[str, Any]) -> ElicitResult:
    """A stand-in for a user: declines every question."""
    print(f"the server asks: {params.get('message')} (declined)")
    return ElicitResult(action="decline")


def on_log(level: str, data: Any, logger: str | None) -> None:
    print(f"[{level}] {data}")


def on_progress(progress: float, total: float | None, message: str | None) -> None:
    print(f"progress {progress:g}/{total if total is not None else '?'} {message or ''}")


async def main(target: str | list[str], tool: str | None, arguments: dict[str, Any]) -> None:
    async with Client(
        target,
        sampling_handler=sample,
        elicitation_handler=elicit,
        log_handler=on_log,
        roots=["file:///tmp"],
    ) as client:
        info = client.server_info
        print(f"{info.get('name')} {info.get('version')}, MCP {client.protocol_version}")
        capabilities = client.server_capabilities
        if "tools" in capabilities:
            for found in await client.list_tools():
                print(f"tool {found.name}: {found.description or ''}")
        if "resources" in capabilities:
            for resource in await client.list_resources():
                print(f"resource {resource.uri}")
        if "prompts" in capabilities:
            for prompt in await client.list_prompts():
                print(f"prompt {prompt.name}")
        if tool is None:
            return
        await client.set_logging_level("info")
        try:
            result = await client.call_tool(tool, arguments, progress_handler=on_progress)
        except ClientError as exc:
            print(f"{tool} failed: {exc.message} ({exc.code})")
            return
        for block in result.content:
            print(block.text if isinstance(block, TextContent) else block)
        if result.structured_content is not None:
            print(json.dumps(result.structured_content))


def _parse(argv: list[str]) -> tuple[str | list[str], str | None, dict[str, Any]]:
    if argv and argv[0] == "--":
        command, rest = argv[1:], []
        # A tool name after the command: the last word, when it is not an option or a path.
        if len(command) > 1 and command[-1].isidentifier():
            command, rest = command[:-1], [command[-1]]
        return command, (rest[0] if rest else None), {}
    if not argv:
        raise SystemExit(__doc__)
    tool = argv[1] if len(argv) > 1 else None
    arguments = json.loads(argv[2]) if len(argv) > 2 else {}
    return argv[0], tool, arguments


if __name__ == "__main__":
    target, tool, arguments = _parse(sys.argv[1:])
    if isinstance(target, list):
        print(f"running {shlex.join(target)}")
    trio.run(main, target, tool, arguments)
