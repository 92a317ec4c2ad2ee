"""Our client's WebSocket transport (``ws://``, ``wss://``) against a WebSocket
server written here on wsproto over real sockets.

The server here does what no well-behaved server does on purpose: refuses the
upgrade, picks no subprotocol, sends a binary frame or an oversized message,
closes with an error code, ignores pings, drops the connection mid-call; and
between those, it serves a real app (our runtime, one session a connection,
as stdio serves it) so that the client's calls in both eras go through it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final, TypeAlias

import pytest
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from scaled_mcp.client import Client, ClientError, ConnectionLost, Mode, SessionExpired
from scaled_mcp.client._transport import Inbound, Lost
from scaled_mcp.client._websocket import WebSocketTransport
from scaled_mcp.protocol.jsonrpc import (
    ErrorCode,
    Message,
    Notification,
    Request as JsonRpcRequest,
    Response,
    decode_message,
    encode_message,
)
from scaled_mcp.protocol.types import CreateMessageResult, TextContent
from scaled_mcp.protocol.websocket import encode_text
from scaled_mcp.runtime import Runtime, RuntimeConfig, serve_stdio

from . import test_client_e2e_tls
from .client_helpers import make_e2e_app

#: A generous bound on each test: nothing here may hang.
DEADLINE: Final = 30


class Peer:
    """The server's side of one WebSocket: whole events in, events out."""

    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.lock = trio.Lock()
        self._text: list[str] = []

    async def send(self, event: Event) -> None:
        async with self.lock:
            await self.stream.send_all(self.ws.send(event))

    async def events(self) -> AsyncIterator[Event]:
        """Every event the client sends (text messages whole), until the socket ends."""
        while True:
            for event in self.ws.events():
                if isinstance(event, TextMessage):
                    self._text.append(event.data)
                    if event.message_finished:
                        yield TextMessage("".join(self._text))
                        self._text.clear()
                else:
                    yield event
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            self.ws.receive_data(data)


#: What the server does with a connection once upgraded.
Script: TypeAlias = Callable[[Peer], Awaitable[None]]
#: Sees each message before the app does; ``True``: the app does not get it.
Intercept: TypeAlias = Callable[[Peer, Message], Awaitable[bool]]


class WsServer:
    """A wsproto server on 127.0.0.1: what it saw, and how it behaves."""

    def __init__(
        self,
        script: Script | None,
        *,
        reject: tuple[int, bytes] | None = None,
        subprotocol: str | None = "mcp",
    ) -> None:
        self.script = script or self.serve_app
        self.reject = reject
        self.subprotocol = subprotocol
        #: The upgrade requests received.
        self.upgrades: list[Request] = []
        #: The close codes the client sent, and the event of the first.
        self.close_codes: list[int] = []
        self.closed = trio.Event()
        #: The pings the client sent; the event of the second.
        self.pings = 0
        self.pinged_twice = trio.Event()
        self.answer_pings = True
        self.port = 0
        self.peers: list[Peer] = []

    async def handle(self, stream: trio.SocketStream) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        peer = Peer(stream, ws)
        async with stream:
            async for event in peer.events():
                if isinstance(event, Request):
                    self.upgrades.append(event)
                    if self.reject is not None:
                        status, body = self.reject
                        headers = [(b"content-length", str(len(body)).encode())]
                        await peer.send(RejectConnection(status, headers, has_body=True))
                        await peer.send(RejectData(body))
                        return
                    await peer.send(AcceptConnection(subprotocol=self.subprotocol))
                    break
            else:
                return
            self.peers.append(peer)
            await self.script(peer)

    async def serve_app(self, peer: Peer, intercept: Intercept | None = None) -> None:
        """A real app behind the socket: one session for the connection, as on
        stdio; ``intercept`` sees each message first."""
        to_app, app_in = trio.testing.memory_stream_one_way_pair()
        app_out, from_app = trio.testing.memory_stream_one_way_pair()
        runtime = Runtime(make_e2e_app(), config=RuntimeConfig(shutdown_grace=1))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve_stdio, runtime, app_in, app_out)
            nursery.start_soon(self._answers, peer, from_app)
            async for event in self.control(peer):
                if isinstance(event, TextMessage):
                    message = decode_message(event.data.encode())
                    if intercept is not None and await intercept(peer, message):
                        continue
                    await to_app.send_all(event.data.encode() + b"\n")
            await to_app.aclose()
            nursery.cancel_scope.cancel()

    async def control(self, peer: Peer) -> AsyncIterator[Event]:
        """The client's events, with pings, pongs and closes handled as a server does."""
        async for event in peer.events():
            if isinstance(event, Ping):
                self.pings += 1
                if self.pings == 2:
                    self.pinged_twice.set()
                if self.answer_pings:
                    await peer.send(event.response())
            elif isinstance(event, CloseConnection):
                self.close_codes.append(event.code)
                self.closed.set()
                if peer.ws.state is ConnectionState.REMOTE_CLOSING:
                    await peer.send(event.response())
                return
            else:
                yield event

    async def _answers(self, peer: Peer, from_app: trio.abc.ReceiveStream) -> None:
        buffer = b""
        while data := await from_app.receive_some(65536):
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    try:
                        await peer.send(TextMessage(line.decode()))
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return


@asynccontextmanager
async def ws_server(
    script: Script | None = None, *, tls: ssl.SSLContext | None = None, **options: Any
) -> AsyncIterator[WsServer]:
    """A :class:`WsServer` listening until the context ends."""
    server = WsServer(script, **options)

    async def handle(stream: trio.SocketStream) -> None:
        if tls is not None:
            secure = trio.SSLStream(stream, tls, server_side=True)
            await server.handle(secure)  # type: ignore[arg-type]
        else:
            await server.handle(stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, handle, 0, host="127.0.0.1")
        )
        server.port = listeners[0].socket.getsockname()[1]
        yield server
        nursery.cancel_scope.cancel()


def url(server: WsServer, scheme: str = "ws") -> str:
    return f"{scheme}://127.0.0.1:{server.port}/mcp"


def text(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return str(block.text)


async def sample(params: dict[str, Any]) -> CreateMessageResult:
    return CreateMessageResult(role="assistant", content=TextContent(text="hello"), model="m")


# -- what a working server sees ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["handshake", "stateless"])
async def test_calls_in_both_eras_with_the_server_asking_back(mode: Mode) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            ws_server() as server,
            Client(
                url(server), mode=mode, sampling_handler=sample, bearer="tok", timeout=10
            ) as client,
        ):
            assert client.stateless is (mode == "stateless")
            tools = [tool.name for tool in await client.list_tools()]
            assert "echo" in tools and "ask_model" in tools
            assert text(await client.call_tool("echo", {"text": "hi"})) == "hi"
            answer = await client.call_tool("ask_model", {"prompt": "hi"})
            assert text(answer) == "model said: hello"
            await client.ping()
        assert len(server.upgrades) == 1
        upgrade = server.upgrades[0]
        assert upgrade.target == "/mcp"
        assert upgrade.subprotocols == ["mcp"]
        assert (b"authorization", b"Bearer tok") in list(upgrade.extra_headers)
        # The close handshake: our code 1000.
        assert server.close_codes == [1000]


async def test_concurrent_calls_share_one_connection() -> None:
    with trio.fail_after(DEADLINE):
        async with ws_server() as server, Client(url(server), timeout=10) as client:
            answers: dict[int, str] = {}

            async def call(index: int) -> None:
                result = await client.call_tool("echo", {"text": f"n{index}"})
                answers[index] = text(result)

            async with trio.open_nursery() as nursery:
                for index in range(50):
                    nursery.start_soon(call, index)
            assert answers == {index: f"n{index}" for index in range(50)}
            assert len(server.upgrades) == 1


async def test_a_server_ping_is_answered_and_ours_are_sent() -> None:
    async def script(peer: Peer) -> None:
        await peer.send(Ping(b"x"))
        async for event in server.control(peer):
            if isinstance(event, Pong):
                pongs.append(event.payload)
                ponged.set()

    pongs: list[bytes] = []
    ponged = trio.Event()
    with trio.fail_after(DEADLINE):
        async with ws_server(script) as server:
            transport = WebSocketTransport(url(server), ping_interval=0.05, ping_timeout=5)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(open_transport, transport, server.pinged_twice)
                await ponged.wait()
    assert pongs == [b"x"] and server.pings >= 2


# -- what a misbehaving server gets -----------------------------------------------------


async def open_transport(
    transport: WebSocketTransport, done: trio.Event | None = None
) -> list[Inbound]:
    """Run ``transport`` until ``done`` (default: until it reports its answers
    lost); what it delivered."""
    delivered: list[Inbound] = []
    lost = trio.Event() if done is None else done
    send, receive = trio.open_memory_channel[Inbound](16)

    async def collect() -> None:
        async for item in receive:
            delivered.append(item)
            if isinstance(item, Lost) and done is None:
                lost.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(collect)
        await transport.start(nursery, send)
        with trio.fail_after(10):
            await lost.wait()
        await transport.aclose()
        nursery.cancel_scope.cancel()
    return delivered


async def test_a_refused_upgrade_names_its_status() -> None:
    with trio.fail_after(DEADLINE):
        async with ws_server(reject=(401, b"no token")) as server:
            with pytest.raises(ClientError) as caught:
                async with Client(url(server), timeout=5):
                    pass
    assert "HTTP 401" in caught.value.message
    assert caught.value.data == {"status": 401, "body": "no token"}


async def test_a_server_without_the_mcp_subprotocol_is_refused() -> None:
    with trio.fail_after(DEADLINE):
        async with ws_server(subprotocol=None) as server:
            with pytest.raises(ClientError, match="'mcp' subprotocol") as caught:
                async with Client(url(server), timeout=5):
                    pass
    assert caught.value.code == ErrorCode.INTERNAL_ERROR


async def test_nothing_listening_is_a_clear_error() -> None:
    with socket_port() as port, pytest.raises(ConnectionLost, match="cannot connect"):
        async with Client(f"ws://127.0.0.1:{port}/mcp", timeout=5):
            pass


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        (BytesMessage(b"\x00"), 1003, "code 1003: MCP messages are sent as text frames"),
        (TextMessage("x" * 2048), 1009, "code 1009: a message exceeds 1024 bytes"),
    ],
)
async def test_what_the_client_does_not_take_closes_the_connection(
    frame: Event, code: int, reason: str
) -> None:
    async def script(peer: Peer) -> None:
        await peer.send(frame)
        async for _ in server.control(peer):
            pass

    with trio.fail_after(DEADLINE):
        async with ws_server(script) as server:
            transport = WebSocketTransport(url(server), max_message_size=1024)
            delivered = await open_transport(transport)
            await server.closed.wait()
    assert server.close_codes == [code]
    assert len(delivered) == 1 and isinstance(delivered[0], Lost)
    assert reason in delivered[0].reason


async def test_a_close_code_ends_the_calls_in_flight_with_it() -> None:
    async def close_on_call(peer: Peer, message: Message) -> bool:
        if isinstance(message, JsonRpcRequest) and message.method == "tools/call":
            await peer.send(CloseConnection(1011, "the node is going"))
            return True
        return False

    async def script(peer: Peer) -> None:
        await server.serve_app(peer, close_on_call)

    with trio.fail_after(DEADLINE):
        async with ws_server(script) as server, Client(url(server), timeout=10) as client:
            with pytest.raises(ConnectionLost) as caught:
                await client.call_tool("echo", {"text": "hi"})
    assert "code 1011: the node is going" in caught.value.message


async def test_a_silent_server_is_given_up_after_the_ping_timeout() -> None:
    async def script(peer: Peer) -> None:
        server.answer_pings = False
        async for _ in server.control(peer):
            pass

    with trio.fail_after(DEADLINE):
        async with ws_server(script) as server:
            transport = WebSocketTransport(url(server), ping_interval=0.05, ping_timeout=0.2)
            delivered = await open_transport(transport)
            lost = [item for item in delivered if isinstance(item, Lost)]
    assert server.pings == 1
    assert len(lost) == 1 and "no pong within 0.2 s" in lost[0].reason


async def test_a_slow_reader_holds_back_the_socket_not_memory() -> None:
    """The transport waits on a full inbound channel: what the server sends
    past it stays in the socket buffers (the server's send blocks)."""
    sent = 0

    async def script(peer: Peer) -> None:
        nonlocal sent
        note = Notification("notifications/message", {"level": "info", "data": "x" * 1000})
        frame = encode_message(note).decode()
        with contextlib.suppress(trio.BrokenResourceError):
            while True:
                await peer.send(TextMessage(frame))
                sent += 1

    with trio.fail_after(DEADLINE):
        async with ws_server(script) as server:
            transport = WebSocketTransport(url(server), ping_interval=None)
            send, receive = trio.open_memory_channel[Inbound](4)
            async with trio.open_nursery() as nursery:
                await transport.start(nursery, send)
                await trio.sleep(0.5)
                stalled = sent
                await trio.sleep(0.3)
                assert sent == stalled  # the server is blocked on a full socket
                # A few MiB of socket buffers at most, nowhere near 10 000 messages.
                assert sent < 10_000
                received = 0
                while received < stalled:
                    await receive.receive()
                    received += 1
                await trio.sleep(0.2)
                assert sent > stalled  # reading again lets the server go on
                await transport.aclose()
                nursery.cancel_scope.cancel()
            assert server.upgrades


# -- reconnecting ---------------------------------------------------------------------


async def drop_the_first_call(server: WsServer, peer: Peer) -> None:
    """Serve the app; on the first connection, drop it on the first ``tools/call``."""

    async def drop(peer: Peer, message: Message) -> bool:
        if isinstance(message, JsonRpcRequest) and message.method == "tools/call":
            await peer.stream.aclose()
            return True
        return False

    await server.serve_app(peer, drop if len(server.peers) == 1 else None)


async def test_reconnects_and_renews_the_session_after_a_drop() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            ws_server(lambda peer: drop_the_first_call(server, peer)) as server,
            Client(url(server), mode="handshake", timeout=10) as client,
        ):
            with pytest.raises(ConnectionLost):
                await client.call_tool("echo", {"text": "first"})
            with pytest.raises(SessionExpired):
                await client.call_tool("echo", {"text": "second"})
            assert text(await client.call_tool("echo", {"text": "third"})) == "third"
    assert len(server.upgrades) == 2


async def test_a_stateless_client_reconnects_and_goes_on() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            ws_server(lambda peer: drop_the_first_call(server, peer)) as server,
            Client(url(server), mode="stateless", timeout=10) as client,
        ):
            with pytest.raises(ConnectionLost):
                await client.call_tool("echo", {"text": "first"})
            assert text(await client.call_tool("echo", {"text": "second"})) == "second"
    assert len(server.upgrades) == 2


@contextmanager
def socket_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- wss:// -------------------------------------------------------------------------------

pki = test_client_e2e_tls.pki


async def test_wss_with_the_ca_the_client_is_told_to_trust(pki: test_client_e2e_tls.Pki) -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki.server_cert, pki.server_key)
    with trio.fail_after(DEADLINE):
        async with ws_server(tls=tls) as server:
            async with Client(url(server, "wss"), verify=str(pki.ca), timeout=10) as client:
                assert text(await client.call_tool("echo", {"text": "safe"})) == "safe"
            with pytest.raises(ConnectionLost, match="TLS with wss:"):
                async with Client(url(server, "wss"), timeout=10):
                    pass


async def test_a_session_the_server_names_is_named_again_after_a_reconnect() -> None:
    """SEP-1288 names the session in the messages (``mcpSessionId``): once the
    server named it, the client names it in its own, on a new connection too."""
    seen: list[dict[str, Any]] = []

    async def script(peer: Peer) -> None:
        async for event in server.control(peer):
            assert isinstance(event, TextMessage)
            seen.append(json.loads(event.data))
            request = decode_message(event.data.encode())
            assert isinstance(request, JsonRpcRequest)
            if request.method == "initialize":
                answer = encode_text(Response(request.id, {}), session_id="s-1")
                await peer.send(TextMessage(answer))
            elif request.method == "ping":  # the client checks the session goes on
                await peer.send(TextMessage(encode_text(Response(request.id, {}))))
            else:
                await peer.stream.aclose()
                return

    with trio.fail_after(DEADLINE):
        async with ws_server(script) as server:
            transport = WebSocketTransport(url(server), ping_interval=None)
            send, receive = trio.open_memory_channel[Inbound](16)
            async with trio.open_nursery() as nursery:
                await transport.start(nursery, send)
                await transport.send(JsonRpcRequest(1, "initialize", {}))
                assert await receive.receive() == Response(1, {})
                assert transport.session_id == "s-1"
                await transport.send(JsonRpcRequest(2, "tools/list", {}))
                lost = await receive.receive()
                assert isinstance(lost, Lost) and lost.request_ids == (2,)
                # The next request goes on a new connection, naming the session,
                # once a ping naming it was answered.
                await transport.send(JsonRpcRequest(3, "tools/list", {}))
                lost = await receive.receive()
                assert isinstance(lost, Lost) and lost.request_ids == (3,)
                await transport.aclose()
                nursery.cancel_scope.cancel()
    assert [message["method"] for message in seen] == [
        "initialize",
        "tools/list",
        "ping",
        "tools/list",
    ]
    assert [message.get("mcpSessionId") for message in seen] == [None, "s-1", "s-1", "s-1"]
    assert len(server.upgrades) == 2
