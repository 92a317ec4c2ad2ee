"""The gateway in front of a server built on the official SDK (``mcp`` 2.3, over
streamable HTTP, in a child process), on one node: both downstream eras, the
upstream reached on its newest revision (2026-07-28) or pinned to a handshake
session; the gateway's own credentials upstream and never the client's; an
upstream that goes away and comes back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import pytest
import trio

from scaled_mcp.client import Client, ClientError, Gateway
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import CallToolResult, TextContent

from .cluster import free_port
from .gateway_helpers import official_upstream
from .helpers import ERAS, serving

DEADLINE: Final = 60
#: How the gateway reaches the upstream: its newest revision, or a 2025-11-25 session.
UPSTREAM_MODES: Final = ("auto", "handshake")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with official_upstream() as port:
        yield port


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


def downstream(port: int, era: str, **more: Any) -> Client:
    mode = "handshake" if era == "handshake" else "stateless"
    return Client(f"http://127.0.0.1:{port}/mcp", mode=mode, timeout=DEADLINE / 3, **more)  # type: ignore[arg-type]


@pytest.mark.parametrize("upstream_mode", UPSTREAM_MODES)
@pytest.mark.parametrize("era", ERAS)
async def test_the_official_servers_features_through_the_gateway(
    port: int, era: str, upstream_mode: str
) -> None:
    gateway = Gateway(f"http://127.0.0.1:{port}/mcp", mode=upstream_mode, timeout=DEADLINE / 3)  # type: ignore[arg-type]
    seen: list[tuple[float, float | None, str | None]] = []

    def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    with trio.fail_after(DEADLINE):
        await gateway.probe()
        assert gateway.server_info["name"] == "official-upstream"
        async with serving(gateway, "h11") as ours, downstream(ours, era) as client:
            assert client.instructions == "The official SDK behind a gateway."
            names = [tool.name for tool in await client.list_tools()]
            assert names == ["echo", "whoami", "steps", "ask_user", "wait"]
            assert text(await client.call_tool("echo", {"text": "hi"})) == "hi"
            invalid = await client.call_tool("echo", {})
            assert invalid.is_error is True
            result = await client.call_tool("steps", {"count": 2}, progress_handler=on_progress)
            assert text(result) == "done"
            assert seen == [(1, 2, "step 1"), (2, 2, "step 2")]
            assert [r.uri for r in await client.list_resources()] == ["test://static"]
            read = await client.read_resource("test://items/9")
            assert getattr(read.contents[0], "text", None) == "item 9"
            prompt = await client.get_prompt("greet", {"name": "Ada"})
            assert getattr(prompt.messages[0].content, "text", None) == "Hello, Ada!"


@pytest.mark.parametrize("era", ERAS)
async def test_an_upstream_elicitation_asks_the_downstream_client(port: int, era: str) -> None:
    """The SDK's session asks during the call (handshake upstream): the question
    goes to the one downstream call the upstream session carries."""
    gateway = Gateway(f"http://127.0.0.1:{port}/mcp", mode="handshake", timeout=DEADLINE / 3)
    asked: list[str] = []

    def elicit(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params["message"])
        return {"action": "accept", "content": {"name": "Ada"}}

    with trio.fail_after(DEADLINE):
        async with (
            serving(gateway, "h11") as ours,
            downstream(ours, era, elicitation_handler=elicit) as client,
        ):
            assert text(await client.call_tool("ask_user")) == "accept: Ada"
    assert asked == ["Name?"] if era == "handshake" else asked[-1] == "Name?"


@pytest.mark.parametrize("era", ERAS)
async def test_the_gateway_sends_its_own_credentials_never_the_clients(port: int, era: str) -> None:
    url = f"http://127.0.0.1:{port}/mcp"
    with trio.fail_after(DEADLINE):
        for gateway, expected in (
            (Gateway(url, bearer="gateway-token"), "Bearer gateway-token"),
            (Gateway(url), "none"),
        ):
            async with (
                serving(gateway, "h11") as ours,
                downstream(
                    ours,
                    era,
                    bearer="client-token",
                    headers={"X-Forward-Me": "no"},
                ) as client,
            ):
                assert text(await client.call_tool("whoami")) == expected


async def test_an_upstream_that_stops_and_comes_back() -> None:
    """A handshake upstream session: the restarted server forgot it (HTTP 404),
    and the gateway's client opens a new one."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    first = official_upstream(port)
    first.__enter__()
    try:
        gateway = Gateway(url, mode="handshake", timeout=5)
        with trio.fail_after(DEADLINE * 2):
            async with serving(gateway, "h11") as ours, downstream(ours, "handshake") as client:
                assert text(await client.call_tool("echo", {"text": "1"})) == "1"
                first.__exit__(None, None, None)
                # Gone: each request gets a JSON-RPC error; the gateway serves on.
                for _ in range(2):
                    with pytest.raises(ClientError) as raised:
                        await client.call_tool("echo", {"text": "2"})
                    assert raised.value.code == ErrorCode.INTERNAL_ERROR
                with pytest.raises(ClientError) as listing:
                    await client.list_tools()
                assert "failed" in listing.value.message
                with official_upstream(port):
                    # Back: a new upstream session (or the old one renewed) serves.
                    assert text(await client.call_tool("echo", {"text": "3"})) == "3"
    finally:
        first.__exit__(None, None, None)
