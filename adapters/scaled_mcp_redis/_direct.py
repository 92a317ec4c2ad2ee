"""The session read every request makes, on plain RESP2 connections over bare trio sockets.

coredis sends each command through its own tasks and layers; the one read on every
request of a session (``GET`` of the session) takes this shorter path instead. Replies
are parsed by hiredis's ``Reader`` (a sans-IO C parser of the redis-py family) fed from
the socket; a reply is bounded by :data:`MAX_INCOMPLETE_REPLY_SIZE`.
"""

from __future__ import annotations

from typing import Final

import hiredis
import trio

__all__ = ["MAX_INCOMPLETE_REPLY_SIZE"]

#: Bytes a direct read buffers of a reply not yet complete (as h11's
#: ``max_incomplete_event_size``; checked after each read of at most 64 KiB): past it
#: the connection is dropped and the read fails as Redis being away
#: (``BackendUnavailable``). A session's data is far smaller; Redis allows 512 MiB.
MAX_INCOMPLETE_REPLY_SIZE: Final = 16 * 1024 * 1024


class _ReplyError(OSError):
    """Redis answered a direct read with an error (``-LOADING``, ``-NOAUTH``...), or
    something that is not a reply: the connection is dropped, Redis counts as away."""


class _DirectConnection:
    """One RESP2 connection on a bare trio socket, one command at a time."""

    __slots__ = ("_max_incomplete", "_reader", "_stream")

    def __init__(
        self, stream: trio.SocketStream, *, max_incomplete: int = MAX_INCOMPLETE_REPLY_SIZE
    ) -> None:
        self._stream = stream
        # Error replies come back as _ReplyError instances; bytes that are not RESP raise it.
        self._reader = hiredis.Reader(protocolError=_ReplyError, replyError=_ReplyError)
        self._max_incomplete = max_incomplete

    async def command(self, *args: bytes) -> bytes | None:
        """Send one command; its bulk-string reply (``None`` for nil), or ``b"OK"``-like
        for a simple-string reply."""
        request = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in args
        )
        sock = self._stream.socket
        sent = await sock.send(request)
        if sent < len(request):
            await self._stream.send_all(request[sent:])
        reader = self._reader
        while True:
            data = await sock.recv(65536)
            if not data:
                raise _ReplyError("Redis closed the connection")
            reader.feed(data)
            reply = reader.gets()
            if reply is not False:
                break
            if reader.len() > self._max_incomplete:
                raise _ReplyError(f"a reply over {self._max_incomplete} bytes")
        if reader.has_data():
            raise _ReplyError("more bytes than one reply")  # one command in flight
        if reply is None or type(reply) is bytes:
            return reply
        if isinstance(reply, _ReplyError):
            raise reply
        raise _ReplyError(f"not a string reply: {reply!r:.40}")

    def close(self) -> None:
        self._stream.socket.close()


class _DirectReads:
    """``GET`` on bare trio sockets, for the read every request of a session makes.

    coredis sends each command through its own tasks and layers: about 420 to 520 µs of
    a node's CPU per ``GET`` on the machine the benchmarks ran on, against ~115 µs for
    the round trip itself. The session read takes this path instead: a bounded pool
    of plain RESP2 connections (``AUTH`` and ``SELECT`` from the URL). Writes,
    scripts, streams, pub/sub, TLS and Redis Cluster stay on coredis; a write awaited
    before a read is seen by it (Redis orders what it has answered).
    """

    def __init__(
        self, host: str, port: int, db: int, auth: tuple[bytes, ...], max_connections: int
    ) -> None:
        self._address = (host, port)
        self._setup: list[tuple[bytes, ...]] = []
        if auth:
            self._setup.append((b"AUTH", *auth))
        if db:
            self._setup.append((b"SELECT", b"%d" % db))
        self._idle: list[_DirectConnection] = []
        self._limiter = trio.CapacityLimiter(max_connections)

    async def get(self, key: str) -> bytes | None:
        async with self._limiter:
            connection = self._idle.pop() if self._idle else await self._connect()
            try:
                value = await connection.command(b"GET", key.encode())
            except BaseException:
                connection.close()
                raise
            self._idle.append(connection)
            return value

    async def _connect(self) -> _DirectConnection:
        stream = await trio.open_tcp_stream(*self._address)
        connection = _DirectConnection(stream)
        try:
            for command in self._setup:
                await connection.command(*command)
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        """Close the idle connections."""
        while self._idle:
            self._idle.pop().close()
