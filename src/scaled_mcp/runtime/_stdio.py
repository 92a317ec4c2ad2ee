"""The stdio transport: newline-delimited JSON-RPC on stdin and stdout, both eras.

transports (stdio): "Messages are delimited by newlines, and MUST NOT contain
embedded newlines"; "The server MUST NOT write anything to its stdout that is
not a valid MCP message". One session per process, its messages served as a
WebSocket's are (:mod:`._duplex`): requests run concurrently,
``notifications/cancelled`` cancels them, a request carrying the 2026-07-28
``_meta`` envelope is served statelessly, next to the session (2026-07-28 stdio
clients send no ``initialize``).
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
    RemoteProtocolError,
    decode_body,
    encode_message,
    error_response_for,
    reply_lines,
)
from ..protocol.nodes import BROADCAST_CHANNEL, decode_broadcast
from ..protocol.session import ServerSession
from ..protocol.versions import Era, allows_batches
from ._duplex import StatelessCalls, serve_session_messages, stateless_request
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
    stateless: StatelessCalls = {}
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
    stateless: StatelessCalls,
) -> None:
    version = live.session.protocol_version
    try:
        body = decode_body(line, allow_batch=version is not None and allows_batches(version))
    except RemoteProtocolError as exc:
        await outlet.emit(error_response_for(exc))
        return
    handled = stateless_request(runtime, body.items, body.batch, outlet, handlers, stateless)
    if handled is not None:
        await handled
        return
    await serve_session_messages(runtime, live, body.items, body.batch, outlet, handlers)
