"""The direct HTTP/1.1 front: trio sockets and h11, no ASGI layer in between.

One task per connection reads a request, hands it to :meth:`Runtime.handle_http`,
writes the answer and goes on with the next request of the keep-alive
connection. The body is read whole, within the runtime's body limit (a larger
``Content-Length`` is refused before reading).

Requests of the plain shape every MCP client sends are framed by the core's
:mod:`scaled_mcp.protocol.http1` (a strict parser, no event machine: most of a
request's cost here was h11's); the first request it declines -- anything
unusual or invalid -- hands the connection to h11 from that request on. An
``Upgrade: websocket`` of the MCP endpoint (declined by the plain parser) is
answered by :mod:`._websocket_h11`, and the connection is a WebSocket from then on.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import http
import logging
from collections.abc import Iterable
from typing import Final

import h11
import trio

from ..protocol.http import Headers, HttpRequest, body_too_large, precheck
from ..protocol.http1 import (
    DECLINE,
    LAST_CHUNK,
    Head,
    HeadReader,
    chunk,
    header_block,
    response_head,
)
from ..protocol.websocket import is_websocket_upgrade
from ._front import ClientGone
from ._h11_connections import (
    GONE,
    IDLE,
    READING,
    RUNNING,
    Clock,
    H11Config,
    lingering_close,
    receive,
    shed_one,
    watchdog,
)
from ._runtime import Runtime
from ._websocket_h11 import serve_upgrade

__all__ = ["H11Config", "serve_h11"]

_log = logging.getLogger("scaled_mcp.h11")

_REASONS: Final = {status.value: status.phrase.encode("ascii") for status in http.HTTPStatus}
_SERVER_HEADER: Final = (b"server", b"scaled-mcp")


async def _send_all(sock: trio.socket.SocketType, data: bytes) -> None:
    """Write all of ``data``; :class:`ClientGone` if the client has gone.

    One task writes a connection at a time (the runtime serializes a stream's
    events), as with :meth:`trio.SocketStream.send_all`.
    """
    try:
        sent = await sock.send(data)
        if sent < len(data):
            view = memoryview(data)
            while sent < len(data):
                sent += await sock.send(view[sent:])
    except GONE:
        raise ClientGone from None


@functools.lru_cache(maxsize=256)
def _encoded(headers: Headers) -> tuple[tuple[bytes, bytes], ...]:
    return (
        *((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers),
        _SERVER_HEADER,
    )


def _raw_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """The headers as bytes (the common, constant ones are encoded once)."""
    if len(headers) <= 4:
        return list(_encoded(headers))
    return [
        *((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers),
        _SERVER_HEADER,
    ]


class _SocketResponder:
    """What both responders share: the socket, and knowing the client has gone."""

    __slots__ = ("_sock", "disconnected", "started")

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self._sock = sock
        self.started = False
        self.disconnected = False

    async def _write(self, data: bytes | None) -> None:
        if data is None:
            return
        try:
            await _send_all(self._sock, data)
        except ClientGone:
            self.disconnected = True
            raise


class _Responder(_SocketResponder):
    """A :class:`~scaled_mcp.runtime.Responder` on one h11 connection."""

    __slots__ = ("_conn", "_head", "_limit")

    def __init__(self, conn: h11.Connection, sock: trio.socket.SocketType, limit: int) -> None:
        super().__init__(sock)
        self._conn = conn
        self._limit = limit
        self._head = False

    def reset(self, method: bytes) -> None:
        """Ready for the next request of the connection, of ``method``."""
        self.started = False
        # RFC 9110 section 9.3.2: the answer to HEAD has GET's header fields
        # ("the server SHOULD send the same header fields") but no content.
        self._head = method == b"HEAD"

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        raw = _raw_headers(headers)
        raw.append((b"content-length", b"%d" % len(body)))
        conn = self._conn
        self.started = True
        data = conn.send(
            h11.Response(status_code=status, headers=raw, reason=_REASONS.get(status, b""))
        )
        chunk = conn.send(h11.Data(data=body)) if body and not self._head else b""
        end = conn.send(h11.EndOfMessage())
        await self._write(b"".join(part or b"" for part in (data, chunk, end)))

    async def start(self, status: int, headers: Headers) -> None:
        raw = _raw_headers(headers)
        self.started = True
        await self._write(
            self._conn.send(
                h11.Response(status_code=status, headers=raw, reason=_REASONS.get(status, b""))
            )
        )

    async def send(self, data: bytes) -> None:
        if self.disconnected or self._conn.our_state is not h11.SEND_BODY:
            raise ClientGone
        if not self._head:
            await self._write(self._conn.send(h11.Data(data=data)))

    async def end(self) -> None:
        if self.disconnected or self._conn.our_state is not h11.SEND_BODY:
            return
        await self._write(self._conn.send(h11.EndOfMessage()))

    async def wait_disconnected(self) -> None:
        # While a response streams the client sends nothing more (h11 does not
        # pipeline); anything read is kept for the next request, up to a limit.
        kept = 0
        while not self.disconnected:
            data = await receive(self._sock)
            kept += len(data)
            if not data or kept > self._limit:
                self.disconnected = True
                return
            self._conn.receive_data(data)


class _Reader:
    """The bytes received on a connection and not consumed yet.

    ``limit`` bounds what is kept while a response streams (a client that
    sends more than a whole request meanwhile is cut off).
    """

    __slots__ = ("buffer", "limit", "sock", "unread")

    def __init__(self, sock: trio.socket.SocketType, limit: int) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.limit = limit
        #: A request was answered without its body read whole: the client may
        #: still be sending, and the connection ends with a lingering close.
        self.unread = False

    async def more(self) -> bool:
        """Receive more bytes; false once the client has closed its side."""
        data = await receive(self.sock)
        if not data:
            return False
        self.buffer += data
        return True

    async def take(self, start: int, end: int) -> bytes | None:
        """``buffer[start:end]`` once received, dropped from the buffer with
        what precedes it; ``None`` if the client closes before."""
        while len(self.buffer) < end:
            if not await self.more():
                return None
        data = bytes(self.buffer[start:end])
        del self.buffer[:end]
        return data


@functools.lru_cache(maxsize=256)
def _cached_block(headers: Headers) -> bytes:
    return header_block(_encoded(headers))


def _header_block(headers: Headers) -> bytes:
    """The response's header lines (the common, constant ones are encoded once)."""
    if len(headers) <= 4:
        return _cached_block(headers)
    return header_block(_raw_headers(headers))


class _PlainResponder(_SocketResponder):
    """A :class:`~scaled_mcp.runtime.Responder` for a request read by :class:`HeadReader`.

    A complete response carries ``Content-Length``; a streamed one is chunked.
    """

    __slots__ = ("_reader", "close", "streaming")

    def __init__(self, reader: _Reader) -> None:
        super().__init__(reader.sock)
        self._reader = reader
        self.streaming = False
        self.close = False

    def reset(self, close: bool) -> None:
        """Ready for the next request; ``close`` when the client asked to close after it."""
        self.started = False
        self.close = close

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.started = True
        head = response_head(
            status, _REASONS.get(status, b""), _header_block(headers), len(body), self.close
        )
        await self._write(head + body)

    async def start(self, status: int, headers: Headers) -> None:
        self.started = True
        self.streaming = True
        head = response_head(
            status, _REASONS.get(status, b""), _header_block(headers), None, self.close
        )
        await self._write(head)

    async def send(self, data: bytes) -> None:
        if self.disconnected or not self.streaming:
            raise ClientGone
        if data:
            await self._write(chunk(data))

    async def end(self) -> None:
        if self.disconnected or not self.streaming:
            return
        self.streaming = False
        await self._write(LAST_CHUNK)

    async def wait_disconnected(self) -> None:
        # Anything the client sends meanwhile is kept for the next request.
        reader = self._reader
        while not self.disconnected:
            if not await reader.more() or len(reader.buffer) > reader.limit:
                self.disconnected = True


async def _next_event(
    conn: h11.Connection, sock: trio.socket.SocketType
) -> h11.Event | type[h11.PAUSED]:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        conn.receive_data(await receive(sock))


async def _simple(sock: trio.socket.SocketType, status: int, body: bytes) -> None:
    """A last answer (an error) before the connection closes."""
    head = response_head(
        status,
        _REASONS.get(status, b""),
        header_block([(b"content-type", b"text/plain; charset=utf-8"), _SERVER_HEADER]),
        len(body),
        close=True,
    )
    with contextlib.suppress(ClientGone):
        await _send_all(sock, head + body)


async def _read_body(
    conn: h11.Connection, sock: trio.socket.SocketType, limit: int
) -> bytes | None:
    """The whole body, or ``None`` if it grows past ``limit``."""
    parts: list[bytes] = []
    size = 0
    while True:
        event = await _next_event(conn, sock)
        if type(event) is h11.Data:
            size += len(event.data)
            if size > limit:
                return None
            parts.append(bytes(event.data))
        elif type(event) is h11.EndOfMessage:
            return b"".join(parts) if len(parts) != 1 else parts[0]
        else:
            raise h11.RemoteProtocolError("the connection closed inside a request body")


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int:
    for name, value in headers:
        if name == b"content-length":
            return int(value)  # h11 has checked it is a number
    return 0


async def _serve_connection(
    runtime: Runtime, stream: trio.SocketStream, config: H11Config, clocks: set[Clock]
) -> None:
    reader = _Reader(stream.socket, config.max_header_size + runtime.config.http.max_body_size)
    async with stream:
        with trio.CancelScope() as scope:
            clock = Clock(scope)
            clocks.add(clock)
            try:
                if await _serve_plain(runtime, reader, config, clock):
                    await _serve_h11(runtime, reader, config, clock)
            except (ClientGone, trio.BrokenResourceError, trio.ClosedResourceError):
                return
            finally:
                clocks.discard(clock)
        if clock.shed:
            return  # closed at once: it made room for another connection
        if scope.cancelled_caught and clock.phase == READING:
            reader.unread = True
            with trio.move_on_after(1):
                await _simple(stream.socket, 408, b"Request Timeout")
        if reader.unread:
            await lingering_close(stream.socket, config)


async def _refuse_too_large(
    runtime: Runtime, head: HttpRequest, responder: _Responder | _PlainResponder
) -> None:
    # Refused before the body is read; the head alone decides, and the
    # connection cannot go on (the body was not read).
    http = runtime.config.http
    early = precheck(head, http) or body_too_large(http)
    await responder.respond(early.status, early.headers, early.body)


async def _serve_plain(runtime: Runtime, reader: _Reader, config: H11Config, clock: Clock) -> bool:
    """Serve the connection's requests of the plain shape.

    True when a request was declined: h11 goes on from ``reader.buffer``.
    """
    limit = runtime.config.http.max_body_size
    heads = HeadReader(config.max_header_size)
    responder = _PlainResponder(reader)
    while True:
        clock.phase, clock.since = IDLE, trio.current_time()
        head = heads.read(reader.buffer)
        while head is None:
            searched = len(reader.buffer)
            if not await reader.more():
                return bool(reader.buffer)  # h11 answers a request cut short
            head = heads.read(reader.buffer, searched)
        if head is DECLINE:
            return True
        assert type(head) is Head
        clock.phase = READING
        responder.reset(head.close)
        if head.content_length > limit:
            responder.close = reader.unread = True
            await _refuse_too_large(
                runtime, HttpRequest.from_parsed(head.method, head.target, head.headers), responder
            )
            return False
        body = await reader.take(head.size, head.size + head.content_length)
        if body is None:
            return False  # the client left inside the body: nobody to answer
        clock.phase = RUNNING
        request = HttpRequest.from_parsed(head.method, head.target, head.headers, body)
        await runtime.handle_http(request, responder)
        if responder.disconnected:
            return False
        if responder.streaming:
            await responder.end()
        if not responder.started or head.close:
            return False


async def _serve_h11(runtime: Runtime, reader: _Reader, config: H11Config, clock: Clock) -> None:
    """Serve the rest of the connection with h11, from ``reader.buffer`` on."""
    sock = reader.sock
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=config.max_header_size)
    conn.receive_data(bytes(reader.buffer))
    reader.buffer.clear()
    http = runtime.config.http
    limit = http.max_body_size
    websocket = runtime.config.websocket.enabled
    responder = _Responder(conn, sock, reader.limit)
    try:
        while True:
            clock.phase, clock.since = IDLE, trio.current_time()
            event = await _next_event(conn, sock)
            if type(event) is not h11.Request:
                return  # ConnectionClosed, or a client that sent nothing more
            clock.phase = READING
            responder.reset(event.method)
            if websocket:
                head = HttpRequest.from_wire(event.method, event.target, event.headers)
                if is_websocket_upgrade(head) and head.path == http.endpoint_path:
                    clock.phase = RUNNING  # a WebSocket: no limit of the front's
                    await serve_upgrade(runtime, conn, sock, head)
                    return
            if _declared_length(event.headers) > limit:
                head = HttpRequest.from_wire(event.method, event.target, event.headers)
                reader.unread = True
                await _refuse_too_large(runtime, head, responder)
                return
            body = await _read_body(conn, sock, limit)
            clock.phase = RUNNING
            if body is None:
                reader.unread = True
                reject = body_too_large(http)
                await responder.respond(reject.status, reject.headers, reject.body)
                return
            request = HttpRequest.from_wire(event.method, event.target, event.headers, body)
            await runtime.handle_http(request, responder)
            if responder.disconnected:
                return
            if conn.our_state is h11.SEND_BODY:
                await responder.end()
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        reader.unread = True
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            await _simple(sock, exc.error_status_hint, f"Bad Request: {exc}".encode())


async def serve_h11(
    runtime: Runtime,
    host: str,
    port: int,
    *,
    config: H11Config | None = None,
    shutdown: trio.Event | None = None,
    listeners: list[trio.SocketListener] | None = None,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``runtime`` on ``host:port`` until ``shutdown`` is set (or cancelled).

    ``task_status.started`` receives the listeners (their addresses tell the
    port when ``port`` is 0); ``listeners`` replaces ``host:port`` with sockets
    already listening (a worker of a multi-process node). On ``shutdown`` the
    listeners close first, then
    in-flight work gets the runtime's drain deadline, then the remaining
    connections are closed.
    """
    settings = config or H11Config()
    if listeners is None:
        listeners = await trio.open_tcp_listeners(port, host=host)
    stop = shutdown if shutdown is not None else trio.Event()
    clocks: set[Clock] = set()

    async with trio.open_nursery() as connections:
        connections.start_soon(watchdog, clocks, settings)
        slots = trio.CapacityLimiter(settings.max_connections)
        async with trio.open_nursery() as acceptor:
            for listener in listeners:
                acceptor.start_soon(
                    _accept, runtime, listener, slots, connections, settings, clocks
                )
            task_status.started(listeners)
            await stop.wait()
            acceptor.cancel_scope.cancel()
        await runtime.drain()
        connections.cancel_scope.cancel()


#: accept() errors that mean "out of a resource", not a broken listener: wait and retry.
_ACCEPT_CAPACITY_ERRORS: Final = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
)
_ACCEPT_RETRY_DELAY: Final = 0.1


async def _accept(
    runtime: Runtime,
    listener: trio.SocketListener,
    slots: trio.CapacityLimiter,
    connections: trio.Nursery,
    config: H11Config,
    clocks: set[Clock],
) -> None:
    """Accept connections on ``listener`` while a slot is free.

    A slot is taken *before* ``accept()``: with ``max_connections`` served,
    further connections wait in the kernel's listen backlog, not in memory. When
    one waits there and no slot is free, the connection that has waited longest
    for a request is shed to make room (:func:`shed_one`).
    """
    while True:
        slot = object()
        while slots.available_tokens == 0:
            await trio.lowlevel.wait_readable(listener.socket)  # one waits in the backlog
            if slots.available_tokens == 0 and shed_one(clocks, config):
                break
            await trio.sleep(config.timeout_granularity)  # all busy: look again later
        await slots.acquire_on_behalf_of(slot)
        try:
            stream = await listener.accept()
        except OSError as exc:
            slots.release_on_behalf_of(slot)
            if exc.errno not in _ACCEPT_CAPACITY_ERRORS:
                raise
            _log.warning("accept: %s; retrying in %.1f s", exc, _ACCEPT_RETRY_DELAY)
            await trio.sleep(_ACCEPT_RETRY_DELAY)
            continue
        except BaseException:
            slots.release_on_behalf_of(slot)
            raise
        connections.start_soon(_connection, runtime, stream, slots, slot, config, clocks)


async def _connection(
    runtime: Runtime,
    stream: trio.SocketStream,
    slots: trio.CapacityLimiter,
    slot: object,
    config: H11Config,
    clocks: set[Clock],
) -> None:
    try:
        await _serve_connection(runtime, stream, config, clocks)
    except Exception:
        # A bug must cost one connection, never the node.
        _log.exception("connection failed")
    finally:
        slots.release_on_behalf_of(slot)
