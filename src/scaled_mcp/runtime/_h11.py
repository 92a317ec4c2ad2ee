"""The direct HTTP/1.1 front: trio sockets and h11, no ASGI layer in between.

One task per connection reads a request with h11, hands it to
:meth:`Runtime.handle_http`, writes the answer and goes on with the next
request of the keep-alive connection. The body is read whole, within the
runtime's body limit (a larger ``Content-Length`` is refused before reading).
"""

from __future__ import annotations

import http
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import attrs
import h11
import trio

from ..protocol import Headers, HttpRequest, body_too_large, precheck
from ._front import ClientGone
from ._runtime import Runtime

__all__ = ["H11Config", "serve_h11"]

_log = logging.getLogger("scaled_mcp.h11")

_READ_SIZE: Final = 65536
_REASONS: Final = {status.value: status.phrase.encode("ascii") for status in http.HTTPStatus}
_SERVER_HEADER: Final = (b"server", b"scaled-mcp")


@attrs.frozen(slots=True, kw_only=True)
class H11Config:
    """Connection limits of the h11 front.

    * ``keep_alive_timeout`` -- seconds an idle keep-alive connection is kept;
    * ``read_timeout`` -- seconds to receive a whole request once it began;
    * ``max_header_size`` -- bytes of request line and headers at most (431 past it);
    * ``max_connections`` -- connections served at once; more wait in the backlog.
    """

    keep_alive_timeout: float = 75.0
    read_timeout: float = 30.0
    max_header_size: int = 64 * 1024
    max_connections: int = 10_000


class _Responder:
    """A :class:`~scaled_mcp.runtime.Responder` on one h11 connection."""

    __slots__ = ("_conn", "_stream", "disconnected", "started")

    def __init__(self, conn: h11.Connection, stream: trio.SocketStream) -> None:
        self._conn = conn
        self._stream = stream
        self.started = False
        self.disconnected = False

    async def _write(self, data: bytes | None) -> None:
        if data is None:
            return
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.disconnected = True
            raise ClientGone from None

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        raw.append((b"content-length", b"%d" % len(body)))
        raw.append(_SERVER_HEADER)
        conn = self._conn
        self.started = True
        data = conn.send(
            h11.Response(status_code=status, headers=raw, reason=_REASONS.get(status, b""))
        )
        chunk = conn.send(h11.Data(data=body)) if body else b""
        end = conn.send(h11.EndOfMessage())
        await self._write(b"".join(part or b"" for part in (data, chunk, end)))

    async def start(self, status: int, headers: Headers) -> None:
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        raw.append(_SERVER_HEADER)
        self.started = True
        await self._write(
            self._conn.send(
                h11.Response(status_code=status, headers=raw, reason=_REASONS.get(status, b""))
            )
        )

    async def send(self, data: bytes) -> None:
        if self.disconnected or self._conn.our_state is not h11.SEND_BODY:
            raise ClientGone
        await self._write(self._conn.send(h11.Data(data=data)))

    async def end(self) -> None:
        if self.disconnected or self._conn.our_state is not h11.SEND_BODY:
            return
        await self._write(self._conn.send(h11.EndOfMessage()))

    async def wait_disconnected(self) -> None:
        # While a response streams the client sends nothing more (h11 does not
        # pipeline); anything read is kept for the next request.
        while not self.disconnected:
            try:
                data = await self._stream.receive_some(_READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self.disconnected = True
                return
            self._conn.receive_data(data)


async def _next_event(
    conn: h11.Connection, stream: trio.SocketStream
) -> h11.Event | type[h11.PAUSED]:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        try:
            data = await stream.receive_some(_READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        conn.receive_data(data)


async def _simple(
    conn: h11.Connection, stream: trio.SocketStream, status: int, body: bytes
) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        (b"connection", b"close"),
    ]
    try:
        data = conn.send(
            h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, b""))
        )
        await stream.send_all(
            (data or b"")
            + (conn.send(h11.Data(data=body)) or b"")
            + (conn.send(h11.EndOfMessage()) or b"")
        )
    except (h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def _read_body(conn: h11.Connection, stream: trio.SocketStream, limit: int) -> bytes | None:
    """The whole body, or ``None`` if it grows past ``limit``."""
    parts: list[bytes] = []
    size = 0
    while True:
        event = await _next_event(conn, stream)
        if type(event) is h11.Data:
            size += len(event.data)
            if size > limit:
                return None
            parts.append(bytes(event.data))
        elif type(event) is h11.EndOfMessage:
            return b"".join(parts) if len(parts) != 1 else parts[0]
        else:
            raise h11.RemoteProtocolError("the connection closed inside a request body")


async def _serve_connection(runtime: Runtime, stream: trio.SocketStream, config: H11Config) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=config.max_header_size)
    http = runtime.config.http
    async with stream:
        while True:
            try:
                with trio.move_on_after(config.keep_alive_timeout) as idle:
                    event = await _next_event(conn, stream)
                if idle.cancelled_caught:
                    return
                if type(event) is not h11.Request:
                    return  # ConnectionClosed, or a client that sent nothing more
                request = HttpRequest.from_wire(event.method, event.target, event.headers)
                early = precheck(request, http)
                if early is not None:
                    responder = _Responder(conn, stream)
                    await responder.respond(early.status, early.headers, early.body)
                    return  # the body was not read: the connection cannot go on
                with trio.move_on_after(config.read_timeout) as reading:
                    body = await _read_body(conn, stream, http.max_body_size)
                if reading.cancelled_caught:
                    await _simple(conn, stream, 408, b"Request Timeout")
                    return
                if body is None:
                    reject = body_too_large(http)
                    await _Responder(conn, stream).respond(
                        reject.status, reject.headers, reject.body
                    )
                    return
                request = HttpRequest(
                    method=request.method,
                    path=request.path,
                    query=request.query,
                    headers=request.headers,
                    body=body,
                )
                responder = _Responder(conn, stream)
                await runtime.handle_http(request, responder)
                if responder.disconnected:
                    return
                if conn.our_state is h11.SEND_BODY:
                    await responder.end()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
            except h11.RemoteProtocolError as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    status = exc.error_status_hint
                    await _simple(conn, stream, status, f"Bad Request: {exc}".encode())
                return
            except ClientGone:
                return
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return


async def serve_h11(
    runtime: Runtime,
    host: str,
    port: int,
    *,
    config: H11Config | None = None,
    shutdown: trio.Event | None = None,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``runtime`` on ``host:port`` until ``shutdown`` is set (or cancelled).

    ``task_status.started`` receives the listeners (their addresses tell the
    port when ``port`` is 0). On ``shutdown`` the listeners close first, then
    in-flight work gets the runtime's drain deadline, then the remaining
    connections are closed.
    """
    settings = config or H11Config()
    listeners = await trio.open_tcp_listeners(port, host=host)
    limiter = trio.CapacityLimiter(settings.max_connections)
    stop = shutdown if shutdown is not None else trio.Event()

    async def handle(stream: trio.SocketStream) -> None:
        async with limiter:
            try:
                await _serve_connection(runtime, stream, settings)
            except Exception:
                # A bug must cost one connection, never the node.
                _log.exception("connection failed")

    async with trio.open_nursery() as connections:
        async with trio.open_nursery() as acceptor:
            acceptor.start_soon(_accept, handle, listeners, connections)
            task_status.started(listeners)
            await stop.wait()
            acceptor.cancel_scope.cancel()
        await runtime.drain()
        connections.cancel_scope.cancel()


async def _accept(
    handle: Callable[[trio.SocketStream], Awaitable[None]],
    listeners: list[trio.SocketListener],
    connections: trio.Nursery,
) -> None:
    await trio.serve_listeners(handle, listeners, handler_nursery=connections)
