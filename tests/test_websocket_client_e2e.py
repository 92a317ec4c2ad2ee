"""Clients over WebSocket against our server on both fronts (h11 and hypercorn),
on every revision that has a session and on the stateless one: our client
(``ws://``), and the official Python SDK 1.x WebSocket client (the last SDK
line with one, in its own venv: ``tests/peers/sdk1.py``).

What a misbehaving server does to the client is in ``test_websocket_client.py``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import pytest
import trio

from scaled_mcp.client import Client, ClientError, SessionExpired
from scaled_mcp.client._websocket import WebSocketTransport
from scaled_mcp.protocol.types import CallToolResult, CreateMessageResult, TextContent

from .client_helpers import E2E_TOOLS, make_e2e_app
from .helpers import FRONTS, Probe, serving
from .peers.sdk1 import run_websocket_client

#: The revisions spoken over the socket.
VERSIONS: Final = ("2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
#: What the SDK 1.x client calls: tool names and arguments.
SDK_CALLS: Final[list[tuple[str, dict[str, Any]]]] = [
    ("echo", {"text": "over a websocket"}),
    ("add", {"a": 2, "b": 3}),
]
#: A generous bound on each test: nothing here may hang.
DEADLINE: Final = 60


class Seen:
    """What the client's handlers received."""

    def __init__(self) -> None:
        self.progress: list[tuple[float, float | None, str | None]] = []
        self.logs: list[tuple[str, Any]] = []
        self.sampled: list[dict[str, Any]] = []
        self.elicited: list[dict[str, Any]] = []

    def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append((progress, total, message))

    async def on_log(self, level: str, data: Any, logger: str | None) -> None:
        self.logs.append((level, data))

    async def sample(self, params: dict[str, Any]) -> CreateMessageResult:
        self.sampled.append(params)
        return CreateMessageResult(role="assistant", content=TextContent(text="hello"), model="m")

    def elicit(self, params: dict[str, Any]) -> dict[str, Any]:
        self.elicited.append(params)
        return {"action": "accept", "content": {"name": "Ada"}}


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


@asynccontextmanager
async def connected(
    front: str, version: str, seen: Seen | None = None, probe: Probe | None = None
) -> AsyncIterator[Client]:
    """Our client at ``version`` over a WebSocket to a fresh node on ``front``."""
    seen = seen or Seen()
    async with serving(make_e2e_app(probe), front) as port:
        client = Client(
            f"ws://127.0.0.1:{port}/mcp",
            protocol_version=version,
            sampling_handler=seen.sample,
            elicitation_handler=seen.elicit,
            log_handler=seen.on_log,
            timeout=DEADLINE / 2,
        )
        async with client:
            yield client


@pytest.mark.parametrize("front", FRONTS)
@pytest.mark.parametrize("version", VERSIONS)
async def test_every_feature_over_one_socket(front: str, version: str) -> None:
    seen = Seen()
    with trio.fail_after(DEADLINE):
        async with connected(front, version, seen) as client:
            assert client.protocol_version == version
            assert client.stateless is (version == "2026-07-28")
            assert client.server_info["name"] == "client-e2e"
            assert [tool.name for tool in await client.list_tools()] == list(E2E_TOOLS)
            assert text(await client.call_tool("echo", {"text": "hi"})) == "hi"
            refused = await client.call_tool("refuse")
            assert refused.is_error is True and text(refused) == "not today"
            with pytest.raises(ClientError) as raised:
                await client.call_tool("nowhere", {})
            assert raised.value.message == "Unknown tool: nowhere"
            # The server asks back on the same socket: sampling, elicitation.
            assert (
                text(await client.call_tool("ask_model", {"prompt": "hi"})) == "model said: hello"
            )
            if version >= "2025-06-18":
                assert text(await client.call_tool("ask_user")) == "accept: Ada"
            await client.set_logging_level("info")
            steps = await client.call_tool("steps", {"count": 2}, progress_handler=seen.on_progress)
            assert text(steps) == "done"
            await client.ping()
    assert [params["messages"][0]["content"]["text"] for params in seen.sampled] == ["hi"]
    assert [step for step, _, _ in seen.progress] == [1, 2]
    assert seen.logs == [("info", "step 1"), ("info", "step 2")]


@pytest.mark.parametrize("front", FRONTS)
@pytest.mark.parametrize("version", ["2025-11-25", "2026-07-28"])
async def test_a_call_that_times_out_stops_on_the_server(front: str, version: str) -> None:
    probe = Probe()
    with trio.fail_after(DEADLINE):
        async with connected(front, version, probe=probe) as client:
            with pytest.raises(ClientError, match="timed out"):
                await client.call_tool("block", timeout=1)
            await probe.cancelled.wait()
            # The socket goes on.
            assert text(await client.call_tool("echo", {"text": "after"})) == "after"


@pytest.mark.parametrize("front", FRONTS)
async def test_the_official_sdk_1x_websocket_client(front: str) -> None:
    with trio.fail_after(DEADLINE * 3):  # the first run may build the venv
        async with serving(make_e2e_app(), front) as port:
            seen = await trio.to_thread.run_sync(
                run_websocket_client,
                f"ws://127.0.0.1:{port}/mcp",
                SDK_CALLS,
            )
    assert seen["protocolVersion"] == "2025-11-25"
    assert seen["serverName"] == "client-e2e"
    assert seen["tools"] == ["add", "echo"]  # the first page (two a page): the SDK reads one
    echo, add = seen["calls"]
    assert echo["content"] == [{"type": "text", "text": "over a websocket"}]
    assert add["structuredContent"] == {"sum": 5}
    assert not echo.get("isError") and not add.get("isError")
    assert seen["ping"] is True


# -- reconnecting -------------------------------------------------------------------------


class Relay:
    """A TCP relay on 127.0.0.1 to ``target`` (a port): :meth:`cut` breaks every
    connection it carries, as a dead node or a dropped network would."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.connections = 0
        self._scopes: list[trio.CancelScope] = []

    async def _pipe(self, source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            while data := await source.receive_some(65536):
                await sink.send_all(data)

    async def handle(self, client: trio.SocketStream) -> None:
        self.connections += 1
        server = await trio.open_tcp_stream("127.0.0.1", self.target)
        async with client, server, trio.open_nursery() as nursery:
            self._scopes.append(nursery.cancel_scope)
            nursery.start_soon(self._pipe, client, server)
            await self._pipe(server, client)
            nursery.cancel_scope.cancel()

    def cut(self) -> None:
        for scope in self._scopes:
            scope.cancel()
        self._scopes.clear()


@asynccontextmanager
async def relaying(target: int) -> AsyncIterator[Relay]:
    relay = Relay(target)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, relay.handle, 0, host="127.0.0.1")
        )
        relay.port = listeners[0].socket.getsockname()[1]
        yield relay
        nursery.cancel_scope.cancel()


async def dropped(client: Client) -> None:
    """Wait until ``client``'s socket has seen the drop (its reader ended)."""
    transport = client._transport
    assert isinstance(transport, WebSocketTransport)
    connection = transport._connection
    assert connection is not None
    await connection.closed.wait()


@pytest.mark.parametrize("front", FRONTS)
async def test_a_dropped_socket_reconnects_and_its_session_goes_on(front: str) -> None:
    """SEP-1288: the server names the session (``mcpSessionId``); after a drop
    the client names it on a new connection and the session continues."""
    with trio.fail_after(DEADLINE):
        async with (
            serving(make_e2e_app(), front) as port,
            relaying(port) as relay,
            Client(
                f"ws://127.0.0.1:{relay.port}/mcp", protocol_version="2025-11-25", timeout=10
            ) as client,
        ):
            assert text(await client.call_tool("echo", {"text": "before"})) == "before"
            named = client._transport.session_id  # type: ignore[attr-defined]
            assert named is not None
            relay.cut()
            await dropped(client)
            assert text(await client.call_tool("echo", {"text": "after"})) == "after"
            assert client._transport.session_id == named  # type: ignore[attr-defined]
            assert relay.connections == 2


@pytest.mark.parametrize("front", FRONTS)
async def test_a_session_the_server_lost_is_started_anew(front: str) -> None:
    """After a drop to a server that does not know the session (another node,
    no shared store), the call raises SessionExpired and the next one starts a
    new session."""
    with trio.fail_after(DEADLINE):
        async with (
            serving(make_e2e_app(), front) as first,
            serving(make_e2e_app(), front) as second,
            relaying(first) as relay,
            Client(
                f"ws://127.0.0.1:{relay.port}/mcp", protocol_version="2025-11-25", timeout=10
            ) as client,
        ):
            assert text(await client.call_tool("echo", {"text": "before"})) == "before"
            relay.target = second
            relay.cut()
            await dropped(client)
            with pytest.raises(SessionExpired, match="no longer knows the session"):
                await client.call_tool("echo", {"text": "lost"})
            assert text(await client.call_tool("echo", {"text": "anew"})) == "anew"
