"""WebSocket on the h11 front: the upgrade answered, the frames read and written by wsproto.

An ``Upgrade: websocket`` request of the MCP endpoint is admitted by
:func:`~._websocket.admit_upgrade` (a refusal is answered as an HTTP response
and the connection closes); an admitted one is answered ``101 Switching
Protocols`` with the ``mcp`` subprotocol, and the bytes h11 read past the
request go to wsproto. No extension is negotiated (no compression: a message's
size on the wire is its size in memory). Incoming pings are answered at once,
outgoing frames are written one at a time.
"""

from __future__ import annotations

import collections
from typing import Final

import h11
import trio
from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong as WsPong,
    TextMessage,
)
from wsproto.utilities import generate_accept_token

from ..protocol.http import HttpRequest, Reject
from ._front import ClientGone
from ._h11_connections import GONE, receive
from ._runtime import Runtime
from ._websocket import (
    BinaryData,
    FramingFailed,
    PeerClosed,
    Pong,
    TextData,
    Upgrade,
    WebSocketEvent,
    admit_upgrade,
    serve_websocket,
)

__all__ = ["serve_upgrade"]

_SERVER_HEADER: Final = (b"server", b"scaled-mcp")


class _WsprotoTransport:
    """A :class:`~._websocket.WebSocketTransport` on a socket, framed by wsproto."""

    pings = True

    def __init__(self, sock: trio.socket.SocketType, ws: Connection) -> None:
        self._sock = sock
        self._ws = ws
        self._pending: collections.deque[WebSocketEvent] = collections.deque()
        self._lock = trio.Lock()

    async def _write(self, data: bytes) -> None:
        async with self._lock:
            try:
                view = memoryview(data)
                sent = 0
                while sent < len(data):
                    sent += await self._sock.send(view[sent:])
            except GONE:
                raise ClientGone from None

    async def _translate(self) -> None:
        ws = self._ws
        for event in ws.events():
            if isinstance(event, TextMessage):
                self._pending.append(TextData(event.data, event.message_finished))
            elif isinstance(event, BytesMessage):
                self._pending.append(BinaryData(bytes(event.data), event.message_finished))
            elif isinstance(event, Ping):
                await self._write(ws.send(event.response()))
            elif isinstance(event, WsPong):
                self._pending.append(Pong())
            elif isinstance(event, CloseConnection):
                if ws.state is ConnectionState.REMOTE_CLOSING:
                    # The client's close: answered with the same code.
                    await self._write(ws.send(event.response()))
                    self._pending.append(PeerClosed(event.code))
                elif ws.state is ConnectionState.CLOSED:
                    self._pending.append(PeerClosed(event.code))
                else:
                    # wsproto reports a framing failure as a close it did not send.
                    self._pending.append(FramingFailed(event.code, event.reason or ""))
                return

    async def receive(self) -> WebSocketEvent:
        while not self._pending:
            if self._ws.state is not ConnectionState.OPEN:
                return PeerClosed(None)
            data = await receive(self._sock)
            self._ws.receive_data(data or None)
            await self._translate()
        return self._pending.popleft()

    async def send_text(self, text: str) -> None:
        if self._ws.state is not ConnectionState.OPEN:
            raise ClientGone
        await self._write(self._ws.send(Message(data=text)))

    async def ping(self, payload: bytes) -> None:
        if self._ws.state is ConnectionState.OPEN:
            await self._write(self._ws.send(Ping(payload=payload)))

    async def close(self, code: int, reason: str) -> None:
        ws = self._ws
        if ws.state is not ConnectionState.OPEN:
            return
        await self._write(ws.send(CloseConnection(code=code, reason=reason)))
        # The client answers with its close; what it sends before is dropped.
        while _open_or_closing(ws):
            data = await receive(self._sock)
            if not data:
                return
            ws.receive_data(data)
            for _ in ws.events():
                pass


def _open_or_closing(ws: Connection) -> bool:
    return ws.state is not ConnectionState.CLOSED


async def _refuse(conn: h11.Connection, sock: trio.socket.SocketType, reject: Reject) -> None:
    headers = [
        *((n.encode("latin-1"), v.encode("latin-1")) for n, v in reject.headers),
        (b"content-length", b"%d" % len(reject.body)),
        (b"connection", b"close"),
        _SERVER_HEADER,
    ]
    data = conn.send(h11.Response(status_code=reject.status, headers=headers))
    data = (data or b"") + (conn.send(h11.Data(data=reject.body)) or b"")
    data += conn.send(h11.EndOfMessage()) or b""
    try:
        await sock.send(data)
    except GONE:
        return


async def serve_upgrade(
    runtime: Runtime, conn: h11.Connection, sock: trio.socket.SocketType, request: HttpRequest
) -> None:
    """Answer the upgrade request whose head h11 just read: serve the WebSocket,
    or the refusal; the connection ends after either."""
    admitted = await admit_upgrade(runtime, request)
    if isinstance(admitted, Reject):
        await _refuse(conn, sock, admitted)
        return
    # The core refused a body: the request ends with its head.
    event = conn.next_event()
    while event is h11.NEED_DATA:
        data = await receive(sock)
        if not data:
            return
        conn.receive_data(data)
        event = conn.next_event()
    if type(event) is not h11.EndOfMessage:
        return
    key = dict(request.headers).get("sec-websocket-key", "")
    head = conn.send(
        h11.InformationalResponse(
            status_code=101,
            headers=[
                (b"upgrade", b"websocket"),
                (b"connection", b"Upgrade"),
                (b"sec-websocket-accept", generate_accept_token(key.encode("latin-1"))),
                (b"sec-websocket-protocol", admitted.subprotocol.encode("ascii")),
                _SERVER_HEADER,
            ],
        )
    )
    trailing, _ = conn.trailing_data
    try:
        await sock.send(head or b"")
    except GONE:
        return
    ws = Connection(ConnectionType.SERVER)
    transport = _WsprotoTransport(sock, ws)
    if trailing:
        ws.receive_data(bytes(trailing))
        await transport._translate()
    await _serve(runtime, admitted, transport)


async def _serve(runtime: Runtime, admitted: Upgrade, transport: _WsprotoTransport) -> None:
    try:
        await serve_websocket(runtime, admitted, transport)
    except ClientGone:
        return
