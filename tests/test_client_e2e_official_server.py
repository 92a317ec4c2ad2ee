"""Our client against a server built on the official Python SDK (``mcp`` 2.3, its
``MCPServer`` on uvicorn in a child process) over streamable HTTP: the handshake,
tools, progress, resources and prompts, on the handshake era and, where the SDK
serves it, on the 2026-07-28 stateless wire (``mode="auto"`` finds it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import pytest
import trio

from scaled_mcp.client import Client, ClientError
from scaled_mcp.protocol.types import CallToolResult, TextContent, TextResourceContents

from .client_helpers import official_server

#: A generous bound on each test: nothing here may hang.
DEADLINE: Final = 60

#: How the client is opened: mode and pinned revision.
WAYS: Final = {
    "2025-03-26": ("handshake", "2025-03-26"),
    "2025-06-18": ("handshake", "2025-06-18"),
    "2025-11-25": ("handshake", None),
    "stateless": ("stateless", None),
    "auto": ("auto", None),
}


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with official_server() as port:
        yield port


def open_client(port: int, way: str) -> Client:
    mode, version = WAYS[way]
    return Client(
        f"http://127.0.0.1:{port}/mcp",
        mode=mode,  # type: ignore[arg-type]
        protocol_version=version,
        timeout=DEADLINE / 2,
    )


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


pytestmark = pytest.mark.parametrize("way", list(WAYS))


async def test_the_handshake_and_tools(port: int, way: str) -> None:
    with trio.fail_after(DEADLINE):
        async with open_client(port, way) as client:
            mode, version = WAYS[way]
            expected = {"stateless": "2026-07-28", "auto": "2026-07-28"}
            assert client.protocol_version == expected.get(way, version or "2025-11-25")
            assert client.stateless is (mode != "handshake")
            assert client.server_info["name"] == "official-peer"
            assert client.instructions == "The official SDK's server."
            assert "tools" in client.server_capabilities

            tools = await client.list_tools()
            assert [tool.name for tool in tools] == ["echo", "add", "steps", "refuse"]
            assert tools[1].input_schema["properties"]["a"]["type"] == "integer"

            assert text(await client.call_tool("echo", {"text": "hi"})) == "hi"
            added = await client.call_tool("add", {"a": 2, "b": 3})
            assert text(added) == "5"
            if client.protocol_version >= "2025-06-18":
                assert added.structured_content == {"result": 5}
            refused = await client.call_tool("refuse")
            assert refused.is_error is True
            assert text(refused) == "Error executing tool refuse: not today"
            invalid = await client.call_tool("add", {"a": "two"})
            assert invalid.is_error is True
            assert "validation error" in text(invalid)


async def test_progress(port: int, way: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    with trio.fail_after(DEADLINE):
        async with open_client(port, way) as client:
            result = await client.call_tool("steps", {"count": 3}, progress_handler=on_progress)
            assert text(result) == "done"
    assert seen == [(step, 3, f"step {step}") for step in (1, 2, 3)]


async def test_resources_and_prompts(port: int, way: str) -> None:
    with trio.fail_after(DEADLINE):
        async with open_client(port, way) as client:
            assert [r.uri for r in await client.list_resources()] == ["test://static"]
            templates = await client.list_resource_templates()
            assert [t.uri_template for t in templates] == ["test://items/{id}"]
            read = await client.read_resource("test://items/7")
            assert read.contents == [
                TextResourceContents(uri="test://items/7", text="item 7", mime_type="text/plain")
            ]

            with pytest.raises(ClientError) as raised:
                await client.read_resource("test://nowhere")
            assert "test://nowhere" in raised.value.message

            prompts = await client.list_prompts()
            assert [p.name for p in prompts] == ["greet"]
            prompt = await client.get_prompt("greet", {"name": "Ada"})
            content = prompt.messages[0].content
            assert isinstance(content, TextContent) and content.text == "Hello, Ada!"
