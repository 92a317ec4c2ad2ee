"""The hypercorn front: the runtime as an ASGI application, served by hypercorn's trio worker.

:class:`MCPASGIApp` translates ASGI ``http`` scopes into
:class:`~scaled_mcp.protocol.http.HttpRequest` objects and a
:class:`~scaled_mcp.runtime.Responder`; it makes no protocol decision of its
own; a ``websocket`` scope is MCP over WebSocket (:mod:`._websocket`). Being
plain ASGI, it can be mounted beside other ASGI apps; :func:`serve`
runs it on hypercorn (HTTP/1.1, HTTP/2, TLS) with the runtime around it.

Mounted in another ASGI application (a Starlette or FastAPI app served by
hypercorn's trio worker), the parent runs the runtime from its own lifespan with
:meth:`MCPASGIApp.lifespan` (Starlette's ``Mount`` does not forward lifespan
events); the app then serves under the mount's ``root_path``. The runtime is trio:
under an asyncio server that lifespan fails at start-up, saying so.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any, Final

import sniffio
import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from scaled_mcp.protocol.http import Headers, HttpRequest, body_too_large, service_unavailable
from scaled_mcp.runtime import ClientGone, Runtime, mounted_at

from ._websocket import serve_asgi_websocket

__all__ = ["MCPASGIApp", "serve"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


#: How long, and how many bytes at most, the rest of a request body refused unread is
#: read and discarded after the answer (RFC 9112, 9.6; see :func:`_discard_body`).
LINGER_TIMEOUT: Final = 2.0
LINGER_MAX_BYTES: Final = 16 * 1024 * 1024


async def _discard_body(receive: Receive) -> None:
    """Read and drop what is left of the request body, for a bounded time and size.

    RFC 9112, 9.6: a server closing a connection while the client may still be
    sending "SHOULD initiate a lingering close". ASGI gives no hold on how
    hypercorn closes: once an answer ends with the request body unread, it
    half-closes and closes at once, and a client still sending gets a reset
    instead of the answer. So a refusal reads and drops the rest of the body
    *before* it answers: a client that writes its whole request before reading
    then finds the answer (and hypercorn may keep the connection). Past the
    bounds the answer goes out and hypercorn closes.
    """
    drained = 0
    with trio.move_on_after(LINGER_TIMEOUT):
        while drained <= LINGER_MAX_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


def _raw(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


class _Responder:
    """A :class:`~scaled_mcp.runtime.Responder` over ASGI ``send``/``receive``."""

    __slots__ = ("_receive", "_send", "disconnected", "ended", "started")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.started = False
        self.ended = False
        self.disconnected = False

    async def _out(self, message: Message) -> None:
        try:
            await self._send(message)
        except OSError:
            # hypercorn raises when the client has gone (ASGI 2.4: an OSError subclass).
            self.disconnected = True
            raise ClientGone from None

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.started = self.ended = True
        raw = _raw(headers)
        raw.append((b"content-length", b"%d" % len(body)))
        await self._out({"type": "http.response.start", "status": status, "headers": raw})
        await self._out({"type": "http.response.body", "body": body, "more_body": False})

    async def start(self, status: int, headers: Headers) -> None:
        self.started = True
        await self._out({"type": "http.response.start", "status": status, "headers": _raw(headers)})

    async def send(self, data: bytes) -> None:
        if self.disconnected or self.ended:
            raise ClientGone
        await self._out({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self) -> None:
        if self.ended or self.disconnected or not self.started:
            return
        self.ended = True
        await self._out({"type": "http.response.body", "body": b"", "more_body": False})

    async def wait_disconnected(self) -> None:
        while not self.disconnected:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True


#: What a request gets while the runtime does not run (the parent's lifespan never
#: entered :meth:`MCPASGIApp.lifespan`).
NOT_RUNNING: Final = (
    "the MCP runtime is not running: enter MCPASGIApp.lifespan() in the parent "
    "application's lifespan (Starlette's Mount does not forward lifespan events)"
)
#: Why the lifespan refuses to start outside trio.
NEEDS_TRIO: Final = (
    "scaled-mcp's runtime runs on trio, not {library}: serve the application with "
    "hypercorn's trio worker (hypercorn --worker-class trio module:app)"
)


class MCPASGIApp:
    """The runtime's HTTP endpoints as an ASGI 3 application.

    The runtime must be running (``async with runtime.run():``) while the app
    serves: :func:`serve` arranges that, and so does :meth:`lifespan`, for a
    parent application that mounts this one. Lifespan events sent to this app
    itself are acknowledged.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @asynccontextmanager
    async def lifespan(self, parent: object = None) -> AsyncIterator[None]:
        """Run the runtime for the parent application's life (``parent``: the
        parent app, as Starlette passes it; unused)::

            mcp = MCPASGIApp(Runtime(server))
            app = Starlette(routes=[Mount("/api", app=mcp)], lifespan=mcp.lifespan)

        Raises :class:`RuntimeError` at once outside trio (an asyncio server),
        which fails the parent's start-up with that message."""
        try:
            library = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            library = "no async library"
        if library != "trio":
            raise RuntimeError(NEEDS_TRIO.format(library=library))
        async with self.runtime.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind == "websocket" and self.runtime.config.websocket.enabled:
            await serve_asgi_websocket(self.runtime, scope, receive, send)
            return
        if kind != "http":
            return
        http = self.runtime.config.http
        # ASGI gives header names lower-cased ("Header names must be lowercased").
        method: str = scope["method"]
        target = scope["path"]
        root = scope.get("root_path")
        if root and (target == root or target.startswith(root + "/")):
            # Mounted: ASGI's path is the full one, the endpoints are the app's own.
            target = target[len(root) :] or "/"
        query = scope.get("query_string", b"")
        if query:
            target = f"{target}?{query.decode('latin-1')}"
        headers = tuple(
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        )
        responder = _Responder(receive, send)
        if not self.runtime.is_running:
            refused = service_unavailable(NOT_RUNNING, None)
            await responder.respond(refused.status, refused.headers, refused.body)
            return
        early = self.runtime.precheck(HttpRequest.from_parsed(method, target, headers))
        if early is not None:
            if (b"expect", b"100-continue") not in scope["headers"]:
                await _discard_body(receive)  # a client waiting for 100 sent no body
            await responder.respond(early.status, early.headers, early.body)
            return
        body = await self._body(receive, http.max_body_size, responder)
        if body is None:
            return
        request = HttpRequest.from_parsed(method, target, headers, body)
        mounted = mounted_at.set(root) if root else None
        try:
            await self.runtime.handle_http(request, responder)
            await responder.end()
        except ClientGone:
            pass
        finally:
            if mounted is not None:
                mounted_at.reset(mounted)

    async def _body(self, receive: Receive, limit: int, responder: _Responder) -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await _discard_body(receive)
                reject = body_too_large(self.runtime.config.http)
                await responder.respond(reject.status, reject.headers, reject.body)
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


async def serve(
    runtime: Runtime,
    bind: list[str],
    *,
    shutdown: trio.Event,
    config: Config | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``runtime`` with hypercorn on ``bind`` (``["host:port"]``) until ``shutdown``.

    Hypercorn stops accepting, then waits ``graceful_timeout`` (the runtime's
    drain deadline) for open requests; long-lived streams end as the runtime
    drains.
    """
    settings = config or Config()
    settings.bind = bind
    settings.graceful_timeout = runtime.config.shutdown_grace
    settings.accesslog = None
    settings.errorlog = logging.getLogger("hypercorn.error")
    # hypercorn bounds WebSocket messages itself (closing with 1009 past it). Its
    # pinger stays off: it writes beside the connection's other writes, and a ping
    # racing a close raises out of the server (trio.BusyResourceError).
    settings.websocket_max_message_size = runtime.config.websocket.max_message_size

    async def trigger() -> None:
        await shutdown.wait()
        runtime.begin_shutdown()

    await hypercorn_serve(
        MCPASGIApp(runtime),  # type: ignore[arg-type]
        settings,
        shutdown_trigger=trigger,
        task_status=task_status,
    )
