"""The stdio transport: newline-delimited JSON-RPC on stdin and stdout, both eras.

transports (stdio): "Messages are delimited by newlines, and MUST NOT contain
embedded newlines"; "The server MUST NOT write anything to its stdout that is
not a valid MCP message". One session per process. Requests run concurrently
(so that a handler awaiting the client's answer to ``sampling/createMessage``
does not stop that answer from being read); ``notifications/cancelled``
cancels them. A request carrying the 2026-07-28 ``_meta`` envelope is served
statelessly, next to the session (2026-07-28 stdio clients send no ``initialize``).
"""

from __future__ import annotations

import logging
import math
import os
from typing import Final

import trio

from ..cluster import MemorySessionStore
from ..protocol.jsonrpc import (
    LineReader,
    Message,
    Notification,
    RemoteProtocolError,
    Request,
    RequestId,
    decode_body,
    encode_message,
    error_response_for,
    reply_lines,
)
from ..protocol.nodes import BROADCAST_CHANNEL, decode_broadcast
from ..protocol.session import ServerSession
from ..protocol.versions import Era, allows_batches, message_era
from ._runtime import Runtime
from ._sessions import LiveSession

__all__ = ["serve_stdio"]

_log = logging.getLogger("scaled_mcp.stdio")

_STDIO_SESSION: Final = "stdio"


class _LineOutlet:
    """Writes each message as one line on stdout."""

    def __init__(self, stream: trio.abc.SendStream) -> None:
        self._stream = stream
        self._lock = trio.Lock()
        #: Cancelled when stdout breaks: the client has gone, as when stdin ends.
        self.reading = trio.CancelScope()

    async def begin_stream(self) -> None:
        return

    async def close_stream(self) -> None:
        return

    async def write(self, data: bytes) -> None:
        """Write one line; dropped once stdout is broken (nobody reads it any more)."""
        async with self._lock:
            if self.reading.cancel_called:
                return
            try:
                await self._stream.send_all(data + b"\n")
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.reading.cancel()

    async def emit(self, message: Message) -> None:
        await self.write(encode_message(message))

    async def finish(self, replies: list[Message], *, batch: bool, era: Era) -> None:
        for line in reply_lines(replies, batch=batch):
            await self.write(line)


async def serve_stdio(
    runtime: Runtime,
    stdin: trio.abc.ReceiveStream | None = None,
    stdout: trio.abc.SendStream | None = None,
) -> None:
    """Serve one session on ``stdin``/``stdout`` (the process's own by default)
    until stdin ends; then in-flight handlers get the drain deadline."""
    reader = stdin if stdin is not None else trio.lowlevel.FdStream(os.dup(0))
    writer = stdout if stdout is not None else trio.lowlevel.FdStream(os.dup(1))
    outlet = _LineOutlet(writer)
    session = ServerSession(
        runtime.server_config, session_id=_STDIO_SESSION, node_id=runtime.node_id
    )
    # The one session's own state stays in this process, for as long as it runs.
    live = LiveSession(session, MemorySessionStore())
    stateless: dict[RequestId, trio.CancelScope] = {}
    # Lines of at most DEFAULT_MAX_MESSAGE_LINE_SIZE bytes; a longer one is refused.
    lines = LineReader()
    async with runtime.run(), trio.open_nursery() as handlers:
        assert live.store is not None
        await live.store.save(session.state, ttl=math.inf)
        broadcasts = trio.CancelScope()
        await handlers.start(_forward_broadcasts, runtime, live, outlet, broadcasts)
        with outlet.reading:
            while True:
                data = await reader.receive_some(65536)
                if not data:
                    break
                for line in lines.feed(data):
                    if type(line) is bytes:
                        await _handle_line(runtime, live, line, outlet, handlers, stateless)
                    else:
                        assert isinstance(line, RemoteProtocolError)
                        await outlet.emit(error_response_for(line))
        # stdin ended (or stdout broke): long-lived work ends, the rest gets the
        # drain deadline.
        broadcasts.cancel()
        runtime.begin_shutdown()
        handlers.cancel_scope.deadline = trio.current_time() + runtime.config.shutdown_grace


async def _forward_broadcasts(
    runtime: Runtime,
    live: LiveSession,
    outlet: _LineOutlet,
    scope: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The session's list-changed and resource-updated notifications: what an HTTP
    session reads on its GET stream, stdio writes as lines as they are published."""
    with scope:
        async with runtime.backend.broker.subscribe(BROADCAST_CHANNEL) as published:
            task_status.started()
            async for payload in published:
                notification = decode_broadcast(payload).notification
                if live.session.wants_broadcast(notification):
                    await outlet.emit(notification)


async def _handle_line(
    runtime: Runtime,
    live: LiveSession,
    line: bytes,
    outlet: _LineOutlet,
    handlers: trio.Nursery,
    stateless: dict[RequestId, trio.CancelScope],
) -> None:
    version = live.session.protocol_version
    try:
        body = decode_body(line, allow_batch=version is not None and allows_batches(version))
    except RemoteProtocolError as exc:
        await outlet.emit(error_response_for(exc))
        return
    single = None if body.batch else body.items[0]
    if type(single) is Request and message_era(single) is Era.STATELESS:
        if single.id in stateless:
            in_flight = RemoteProtocolError(
                f"Invalid request: id {single.id!r} is in flight", request_id=single.id
            )
            await outlet.emit(error_response_for(in_flight))
            return
        handlers.start_soon(_run_stateless, runtime, single, outlet, stateless)
        return
    if type(single) is Notification and single.method == "notifications/cancelled":
        cancel = runtime.dispatcher.handle_notification(single)
        if cancel is not None and cancel.request_id in stateless:
            # 2026-07-28: on stdio, notifications/cancelled stops a request.
            stateless[cancel.request_id].cancel()
            return
    items = body.items
    refused: list[Message] = []
    if runtime.app.admit is not None:
        items, refused = await runtime.admit(live, items)
    replies, calls = runtime.receive_messages(live, items)
    if refused:
        replies = refused + replies
    if body.batch and calls:
        # A batch is answered as one array once every request is done.
        handlers.start_soon(_run_batch, runtime, live, calls, replies, outlet)
        return
    await outlet.finish(replies, batch=body.batch, era=Era.HANDSHAKE)
    for request in calls:
        handlers.start_soon(_run_one, runtime, live, request, outlet)


async def _run_stateless(
    runtime: Runtime,
    request: Request,
    outlet: _LineOutlet,
    running: dict[RequestId, trio.CancelScope],
) -> None:
    with trio.CancelScope() as scope:
        running[request.id] = scope
        try:
            reply = await runtime.stateless_message(request, outlet)
        finally:
            del running[request.id]
        if reply is not None:
            await outlet.emit(reply)


async def _run_one(
    runtime: Runtime, live: LiveSession, request: Request, outlet: _LineOutlet
) -> None:
    reply = await runtime.call(live, request, outlet)
    if reply is not None:
        await outlet.emit(reply)


async def _run_batch(
    runtime: Runtime,
    live: LiveSession,
    calls: list[Request],
    replies: list[Message],
    outlet: _LineOutlet,
) -> None:
    answers: list[Message | None] = [None] * len(calls)

    async def run(index: int, request: Request) -> None:
        answers[index] = await runtime.call(live, request, outlet)

    async with trio.open_nursery() as nursery:
        for index, request in enumerate(calls):
            nursery.start_soon(run, index, request)
    await outlet.finish(
        replies + [a for a in answers if a is not None], batch=True, era=Era.HANDSHAKE
    )
