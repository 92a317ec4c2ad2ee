"""A plain wsproto WebSocket client on a real trio socket, for the WebSocket tests.

It speaks the frames and nothing of MCP: the tests send JSON-RPC texts, read
what comes back (texts, pongs, the close) and check the close codes.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

import attrs
import orjson
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

#: How long a test waits for a frame before failing.
WAIT: Final = 10.0


@attrs.define
class Refused(Exception):
    """The server answered the upgrade with an HTTP status."""

    status: int
    body: bytes = b""


@attrs.frozen
class Closed:
    """The server's close frame (or the connection lost: ``code`` 1006)."""

    code: int
    reason: str


class WsClient:
    """One WebSocket to ``127.0.0.1:port``; use :func:`connect`."""

    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.events: deque[Event] = deque()
        self.subprotocol: str | None = None
        self.pongs = 0
        self.answer_pings = True
        self._text: list[str] = []

    async def _fill(self) -> None:
        data = await self.stream.receive_some(65536)
        self.ws.receive_data(data or None)
        for event in self.ws.events():
            if isinstance(event, Ping) and self.answer_pings:
                await self.stream.send_all(self.ws.send(event.response()))
            self.events.append(event)

    async def next_event(self) -> Event:
        with trio.fail_after(WAIT):
            while not self.events:
                await self._fill()
        return self.events.popleft()

    async def send_text(self, text: str | bytes) -> None:
        data = text.decode() if isinstance(text, bytes) else text
        await self.stream.send_all(self.ws.send(Message(data=data)))

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(orjson.dumps(message))

    async def send_bytes(self, data: bytes) -> None:
        await self.stream.send_all(self.ws.send(Message(data=data)))

    async def ping(self, payload: bytes = b"hi") -> None:
        await self.stream.send_all(self.ws.send(Ping(payload=payload)))

    async def receive(self) -> dict[str, Any] | list[Any] | Closed | Pong | Ping:
        """The next whole text message parsed, or a close, a pong or a ping."""
        while True:
            event = await self.next_event()
            if isinstance(event, TextMessage):
                self._text.append(event.data)
                if event.message_finished:
                    text, self._text = "".join(self._text), []
                    parsed: dict[str, Any] | list[Any] = orjson.loads(text)
                    return parsed
            elif isinstance(event, CloseConnection):
                if self.ws.state.name == "REMOTE_CLOSING":
                    await self.stream.send_all(self.ws.send(event.response()))
                return Closed(event.code, event.reason or "")
            elif isinstance(event, Pong | Ping):
                return event
            elif isinstance(event, BytesMessage):
                raise AssertionError("the server sent a binary frame")

    async def message(self) -> dict[str, Any]:
        """The next JSON-RPC message (pings and pongs skipped)."""
        while True:
            got = await self.receive()
            if isinstance(got, dict):
                return got
            if isinstance(got, Closed | list):
                raise AssertionError(f"expected a message, got {got!r}")

    async def answer_to(self, request_id: Any) -> dict[str, Any]:
        """Read messages until the response to ``request_id``."""
        while True:
            message = await self.message()
            if message.get("id") == request_id and "method" not in message:
                return message

    async def closed(self) -> Closed:
        """Read until the server's close."""
        while True:
            got = await self.receive()
            if isinstance(got, Closed):
                return got

    async def close(self, code: int = 1000) -> None:
        await self.stream.send_all(self.ws.send(CloseConnection(code=code)))


async def connect(
    port: int,
    *,
    subprotocols: tuple[str, ...] = ("mcp",),
    headers: list[tuple[bytes, bytes]] | None = None,
    path: str = "/mcp",
    host: str = "127.0.0.1",
) -> WsClient:
    """Open a WebSocket; :class:`Refused` if the server answers with a status."""
    stream = await trio.open_tcp_stream(host, port)
    ws = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(
        ws.send(
            Request(
                host=f"{host}:{port}",
                target=path,
                subprotocols=list(subprotocols),
                extra_headers=headers or [],
            )
        )
    )
    client = WsClient(stream, ws)
    body = b""
    status = 0
    while True:
        event = await client.next_event()
        if isinstance(event, AcceptConnection):
            client.subprotocol = event.subprotocol
            return client
        if isinstance(event, RejectConnection):
            status = event.status_code
            if not event.has_body:
                break
        elif isinstance(event, RejectData):
            body += event.data
            if event.body_finished:
                break
    await stream.aclose()
    raise Refused(status, body)


async def initialize(client: WsClient, version: str = "2025-11-25", **caps: Any) -> dict[str, Any]:
    """The handshake over ``client``; the ``initialize`` response."""
    await client.send(
        {
            "jsonrpc": "2.0",
            "id": "init",
            "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": caps,
                "clientInfo": {"name": "ws-tests", "version": "1"},
            },
        }
    )
    answer = await client.answer_to("init")
    await client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    return answer
