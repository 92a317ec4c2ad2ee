"""Transports of newline-delimited JSON-RPC: a server run as a child process
(stdio), and an :class:`~scaled_mcp.server.MCPServer` served in the same trio
run over in-memory streams (no socket, no process).

transports (stdio): "Messages are delimited by newlines, and MUST NOT contain
embedded newlines". Lines are framed by the core's :class:`LineReader`, with
its bound on a line's size.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
from collections.abc import Sequence
from typing import Final

import trio

from ..protocol.jsonrpc import (
    LineReader,
    Message,
    RemoteProtocolError,
    RequestId,
    decode_message,
    encode_message,
)
from ..runtime import Runtime, RuntimeConfig, serve_stdio
from ..server import MCPServer
from ._errors import ConnectionLost
from ._transport import Inbound, Lost, ParamHeaders

__all__ = ["MemoryTransport", "StdioTransport"]

_log = logging.getLogger("scaled_mcp.client")

#: Seconds a child process gets to exit once its stdin is closed, then it is
#: terminated; as long again after ``SIGTERM``, then killed.
DEFAULT_EXIT_GRACE: Final = 2.0
_READ_SIZE: Final = 65536


class _LineTransport:
    """Writes one message per line; reads lines into messages."""

    protocol_version: str | None

    def __init__(self) -> None:
        self.protocol_version = None
        self._send_stream: trio.abc.SendStream | None = None
        self._lock = trio.Lock()

    async def send(self, message: Message, *, param_headers: ParamHeaders | None = None) -> None:
        """Write ``message`` as one line."""
        if self._send_stream is None:
            raise ConnectionLost("the transport is not open")
        async with self._lock:
            try:
                await self._send_stream.send_all(encode_message(message) + b"\n")
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise ConnectionLost(f"the server's input is closed: {exc}") from None

    def forget(self, request_id: RequestId) -> None:
        """Nothing to close: answers share one stream."""
        return

    async def open_server_stream(self) -> None:
        """Nothing to open: the server writes on the same stream."""
        return

    async def _read(
        self, stream: trio.abc.ReceiveStream, inbound: trio.MemorySendChannel[Inbound]
    ) -> None:
        lines = LineReader()
        reason = "the server closed its output"
        try:
            while True:
                try:
                    data = await stream.receive_some(_READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    break
                if not data:
                    break
                for line in lines.feed(data):
                    if isinstance(line, RemoteProtocolError):
                        _log.warning("the server sent a line that was too long: %s", line.message)
                        continue
                    if not line.strip():
                        continue
                    try:
                        message = decode_message(line)
                    except RemoteProtocolError as exc:
                        _log.warning("the server sent an invalid message: %s", exc.message)
                        continue
                    await inbound.send(message)
        finally:
            with trio.move_on_after(1) as scope:
                scope.shield = True
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await inbound.send(Lost(None, reason))


class StdioTransport(_LineTransport):
    """Runs ``command`` (an argv list) as a child process and speaks on its stdin/stdout.

    Its stderr is the parent's. On close its stdin is closed; after
    ``exit_grace`` seconds it is terminated, then killed.
    """

    def __init__(self, command: Sequence[str], *, exit_grace: float = DEFAULT_EXIT_GRACE) -> None:
        super().__init__()
        if not command:
            raise ValueError("the stdio command is empty")
        self._command = list(command)
        self._exit_grace = exit_grace
        self._process: trio.Process | None = None

    async def start(self, nursery: trio.Nursery, inbound: trio.MemorySendChannel[Inbound]) -> None:
        """Start the child process and read its stdout."""
        process = await trio.lowlevel.open_process(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        self._send_stream = process.stdin
        nursery.start_soon(self._read, process.stdout, inbound)

    async def aclose(self) -> None:
        """Close the child's stdin; wait for it to exit, then terminate, then kill it."""
        process = self._process
        if process is None:
            return
        self._process = None
        with trio.CancelScope(shield=True):
            async with self._lock:
                if process.stdin is not None:
                    await process.stdin.aclose()
            with trio.move_on_after(self._exit_grace):
                await process.wait()
                return
            process.terminate()
            with trio.move_on_after(self._exit_grace):
                await process.wait()
                return
            process.kill()
            with trio.move_on_after(self._exit_grace):
                await process.wait()


class MemoryTransport(_LineTransport):
    """Serves ``app`` in the caller's trio run, over in-memory streams: what a
    test of an app wants (the app's runtime is built with ``config``)."""

    def __init__(self, app: MCPServer, *, config: RuntimeConfig | None = None) -> None:
        super().__init__()
        self._app = app
        self._config = config or RuntimeConfig(shutdown_grace=1.0)
        self._to_server: trio.abc.SendStream | None = None
        self._served = trio.Event()

    async def start(self, nursery: trio.Nursery, inbound: trio.MemorySendChannel[Inbound]) -> None:
        """Start serving the app and read its answers."""
        import trio.testing  # here: it imports pytest, ~1 s, for in-memory targets only

        to_server, server_in = trio.testing.lockstep_stream_one_way_pair()
        server_out, from_server = trio.testing.lockstep_stream_one_way_pair()
        self._send_stream = to_server
        runtime = Runtime(self._app, config=self._config)
        nursery.start_soon(self._serve, runtime, server_in, server_out)
        nursery.start_soon(self._read, from_server, inbound)

    async def _serve(
        self,
        runtime: Runtime,
        server_in: trio.abc.ReceiveStream,
        server_out: trio.abc.SendStream,
    ) -> None:
        try:
            await serve_stdio(runtime, server_in, server_out)
        finally:
            with trio.CancelScope(shield=True):
                await server_out.aclose()
            self._served.set()

    async def aclose(self) -> None:
        """End the app's input; it drains (within its shutdown grace) and stops."""
        stream = self._send_stream
        if stream is None:
            return
        with trio.CancelScope(shield=True):
            async with self._lock:
                await stream.aclose()
            with trio.move_on_after(self._config.shutdown_grace + 1.0):
                await self._served.wait()
