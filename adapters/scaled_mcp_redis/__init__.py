"""The Redis backend: the cluster ports on Redis, through coredis, natively on trio.

What lives in Redis (every key under a prefix, ``mcp:`` by default):

* ``s:<session>`` -- a handshake-era session's plain data (JSON), expiring after the
  idle timeout; rewritten (and so renewed) as the session is used;
* ``e:<session>:<stream>`` -- the SSE events of one stream, a Redis Stream whose entry
  ids are ``0-<seq>`` (so an event id ``<stream>:<seq>`` names its entry), trimmed to
  about ``max_stream_events`` and expiring ``stream_ttl`` after the last append;
  ``m:<session>:<stream>`` holds its counter, ``l:<session>`` the session's streams;
* ``n:<node>`` -- a node's heartbeat, expiring when the node stops renewing it;
* pub/sub channels ``<prefix>broadcast`` and ``<prefix>node:<node>`` -- messages between
  nodes (at most once: a node that is not listening misses them).

The session read every request makes goes over a small pool of plain RESP2
connections (:class:`_DirectReads`: coredis's per-command machinery costs several
times the round trip); everything else goes through coredis.

One pub/sub connection per node carries every subscription, fanned out in memory;
no thread per subscription. Every call has a deadline; a Redis that cannot be
reached raises :class:`~scaled_mcp.cluster.BackendUnavailable` (the runtime
answers 503), and the subscriber reconnects with backoff.

Redis Cluster: the keys of one session share the hash tag ``{<session>}`` so that
a stream's scripts touch one slot; pass a ``redis://`` URL of any cluster node with
``cluster=True``. Sentinel deployments use ``coredis.sentinel`` to find the master
and hand its URL here.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Final, TypeVar

import coredis
import coredis.exceptions
import orjson
import trio

from scaled_mcp.cluster import (
    DEFAULT_SUBSCRIBER_BUFFER,
    BackendUnavailable,
    EventRead,
    LocalFanout,
)
from scaled_mcp.protocol.jsonrpc import RequestId
from scaled_mcp.protocol.session import SessionState

__all__ = ["RedisBackend", "RedisBroker", "RedisEventLog", "RedisNodeRegistry", "RedisSessionStore"]

_log = logging.getLogger("scaled_mcp.redis")
_T = TypeVar("_T")

#: Seconds any one Redis call may take before Redis counts as unavailable.
DEFAULT_OPERATION_TIMEOUT: Final = 5.0

# What means "Redis cannot be reached now" (a script or command error is a bug, and raises).
_REDIS_ERRORS = (
    coredis.exceptions.ConnectionError,
    coredis.exceptions.BusyLoadingError,
    coredis.exceptions.ReadOnlyError,
    OSError,
    TimeoutError,
    trio.TooSlowError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)

# KEYS: events, meta, session's stream list. ARGV: data, maxlen, ttl ms, stream id,
# cursor ('' for none).
_APPEND: Final = """
if redis.call('HGET', KEYS[2], 'ended') then return -1 end
local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'c', ARGV[5]) end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '0-' .. n, 'd', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return n
"""
# KEYS: events, meta, session's stream list. ARGV: cursor, ttl ms, stream id.
_CURSOR: Final = """
redis.call('HSET', KEYS[2], 'c', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1
"""
# KEYS: the lease. ARGV: owner, ttl ms, the owner it may replace ('' for none).
_CLAIM: Final = """
local held = redis.call('GET', KEYS[1])
if (not held) or held == ARGV[1] or (ARGV[3] ~= '' and held == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return false
end
return held
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
# Marks the end with an entry of its own, which also wakes blocked readers.
# KEYS: events, meta, session's stream list. ARGV: maxlen, ttl ms, stream id.
_END: Final = """
if redis.call('HGET', KEYS[2], 'ended') then return 0 end
local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '0-' .. n, 'e', '1')
redis.call('HSET', KEYS[2], 'ended', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return n
"""
_OPEN: Final = """
redis.call('HSETNX', KEYS[2], 'n', 0)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'r', ARGV[3]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return 1
"""


class _Calls:
    """Runs Redis calls with a deadline, turning failures into BackendUnavailable."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def __call__(self, call: Callable[[], Awaitable[_T]], *, extra: float = 0.0) -> _T:
        try:
            with trio.fail_after(self.timeout + extra):
                return await call()
        except _REDIS_ERRORS as exc:
            raise BackendUnavailable(f"Redis is unavailable: {type(exc).__name__}: {exc}") from None


class _ReplyError(OSError):
    """Redis answered a direct read with an error (``-LOADING``, ``-NOAUTH``...), or
    something that is not a reply: the connection is dropped, Redis counts as away."""


class _DirectConnection:
    """One RESP2 connection on a bare trio socket, one command at a time."""

    __slots__ = ("_stream",)

    def __init__(self, stream: trio.SocketStream) -> None:
        self._stream = stream

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
        buffer = b""
        while True:
            data = await sock.recv(65536)
            if not data:
                raise _ReplyError("Redis closed the connection")
            buffer += data
            end = buffer.find(b"\r\n")
            if end < 0:
                continue
            kind = buffer[:1]
            if kind == b"$":
                size = int(buffer[1:end])
                if size < 0:
                    return self._whole(buffer, end + 2, None)
                if len(buffer) < end + 2 + size + 2:
                    continue
                return self._whole(buffer, end + 4 + size, buffer[end + 2 : end + 2 + size])
            if kind == b"+":
                return self._whole(buffer, end + 2, buffer[1:end])
            if kind == b"-":
                raise _ReplyError(buffer[1:end].decode("utf-8", "replace"))
            raise _ReplyError(f"not a RESP reply: {buffer[:40]!r}")

    @staticmethod
    def _whole(buffer: bytes, size: int, value: bytes | None) -> bytes | None:
        if len(buffer) != size:
            raise _ReplyError("more bytes than one reply")  # one command in flight
        return value

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

    @classmethod
    def for_url(cls, url: str, *, max_connections: int = 32) -> _DirectReads | None:
        """The direct path for a plain ``redis://`` URL; ``None`` for anything else."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            return None
        path = parts.path.strip("/")
        db = int(path) if path.isdigit() else 0
        query = urllib.parse.parse_qs(parts.query)
        if "db" in query and query["db"][0].isdigit():
            db = int(query["db"][0])
        auth: tuple[bytes, ...] = ()
        if parts.password is not None:
            password = urllib.parse.unquote(parts.password).encode()
            user = urllib.parse.unquote(parts.username or "").encode()
            auth = (user, password) if user else (password,)
        return cls(parts.hostname, parts.port or 6379, db, auth, max_connections)

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


class RedisSessionStore:
    """Sessions as JSON strings with an expiry."""

    def __init__(self, calls: _Calls, prefix: str, direct: _DirectReads | None = None) -> None:
        self._calls = calls
        self._prefix = prefix
        self._direct = direct

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}s:{{{session_id}}}"

    async def load(self, session_id: str) -> SessionState | None:
        key = self._key(session_id)
        if self._direct is not None:
            direct = self._direct
            raw = await self._calls(lambda: direct.get(key))
        else:
            client = self._calls.client
            raw = await self._calls(lambda: client.get(key))
        if raw is None:
            return None
        try:
            return SessionState.from_json(orjson.loads(raw))
        except (ValueError, TypeError, KeyError):
            _log.warning("session %r holds unreadable data: treated as absent", session_id)
            return None

    async def save(self, state: SessionState, *, ttl: float) -> None:
        client = self._calls.client
        data = orjson.dumps(state.to_json())
        await self._calls(
            lambda: client.set(self._key(state.session_id), data, px=max(1, int(ttl * 1000)))
        )

    async def delete(self, session_id: str) -> bool:
        client = self._calls.client
        removed = await self._calls(lambda: client.delete([self._key(session_id)]))
        return bool(removed)

    async def touch(self, session_id: str, *, ttl: float) -> bool:
        client = self._calls.client
        milliseconds = max(1, int(ttl * 1000))
        return bool(await self._calls(lambda: client.pexpire(self._key(session_id), milliseconds)))


class RedisEventLog:
    """Every stream a Redis Stream with ids ``0-<seq>``; see the module docstring."""

    def __init__(self, calls: _Calls, prefix: str, *, max_events: int, ttl: float) -> None:
        self._calls = calls
        self._prefix = prefix
        self._max_events = max_events
        self._ttl_ms = max(1, int(ttl * 1000))

    def _keys(self, session_id: str, stream_id: str) -> list[str]:
        tag = f"{{{session_id}}}"
        return [
            f"{self._prefix}e:{tag}:{stream_id}",
            f"{self._prefix}m:{tag}:{stream_id}",
            f"{self._prefix}l:{tag}",
        ]

    async def open(
        self, session_id: str, stream_id: str, requests: Sequence[RequestId] = ()
    ) -> None:
        client = self._calls.client
        keys = self._keys(session_id, stream_id)
        ids = orjson.dumps(list(requests)) if requests else b""
        await self._calls(lambda: client.eval(_OPEN, keys, [self._ttl_ms, stream_id, ids]))

    async def requests(self, session_id: str, stream_id: str) -> list[RequestId]:
        client = self._calls.client
        _, meta_key, _ = self._keys(session_id, stream_id)
        raw = await self._calls(lambda: client.hget(meta_key, "r"))
        if not raw:
            return []
        ids = orjson.loads(raw)
        return [i for i in ids if isinstance(i, str | int)] if isinstance(ids, list) else []

    async def append(
        self, session_id: str, stream_id: str, data: bytes, *, cursor: int | None = None
    ) -> int:
        client = self._calls.client
        keys = self._keys(session_id, stream_id)
        args = [data, self._max_events, self._ttl_ms, stream_id, "" if cursor is None else cursor]
        seq = int(await self._calls(lambda: client.eval(_APPEND, keys, args)))
        if seq < 0:
            raise ValueError(f"stream {stream_id!r} has ended")
        return seq

    async def end(self, session_id: str, stream_id: str) -> None:
        client = self._calls.client
        keys = self._keys(session_id, stream_id)
        args = [self._max_events, self._ttl_ms, stream_id]
        await self._calls(lambda: client.eval(_END, keys, args))

    async def read(self, session_id: str, stream_id: str, after: int, *, wait: float) -> EventRead:
        client = self._calls.client
        events_key, meta_key, _ = self._keys(session_id, stream_id)
        meta = await self._calls(lambda: client.hgetall(meta_key))
        if not meta:
            return EventRead((), ended=True, missing=after > 0)
        start = f"0-{max(after, 0)}"
        if wait > 0:
            block = max(1, int(wait * 1000))
            found = await self._calls(
                lambda: client.xread({events_key: start}, count=1000, block=block), extra=wait
            )
            entries = found.get(events_key.encode(), ()) if found else ()
        else:
            found = await self._calls(lambda: client.xread({events_key: start}, count=1000))
            entries = found.get(events_key.encode(), ()) if found else ()
        events: list[tuple[int, bytes]] = []
        ended = meta.get(b"ended") == b"1"
        first: int | None = None
        for entry in entries:
            seq = int(entry.identifier.split(b"-", 1)[1])
            first = seq if first is None else first
            fields = entry.field_values
            if b"e" in fields:
                ended = True
                break
            events.append((seq, bytes(fields[b"d"])))
        missing = first is not None and after >= 0 and first > after + 1
        return EventRead(tuple(events), ended=ended, missing=missing)

    async def exists(self, session_id: str, stream_id: str) -> bool:
        client = self._calls.client
        _, meta_key, _ = self._keys(session_id, stream_id)
        return bool(await self._calls(lambda: client.exists([meta_key])))

    async def cursor(self, session_id: str, stream_id: str) -> int:
        client = self._calls.client
        _, meta_key, _ = self._keys(session_id, stream_id)
        raw = await self._calls(lambda: client.hget(meta_key, "c"))
        return int(raw) if raw else 0

    async def set_cursor(self, session_id: str, stream_id: str, value: int) -> None:
        client = self._calls.client
        keys = self._keys(session_id, stream_id)
        await self._calls(lambda: client.eval(_CURSOR, keys, [value, self._ttl_ms, stream_id]))

    async def drop_session(self, session_id: str) -> None:
        client = self._calls.client
        list_key = f"{self._prefix}l:{{{session_id}}}"
        streams = await self._calls(lambda: client.smembers(list_key))
        keys = [list_key]
        for raw in streams:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            keys.extend(self._keys(session_id, name)[:2])
        await self._calls(lambda: client.delete(keys))


class RedisBroker:
    """PUBLISH to Redis; one pub/sub connection per node, fanned out in memory.

    Slow-consumer policy as in memory: a local subscriber whose buffer is full
    loses the message (counted in :attr:`dropped`); delivery is at most once.
    """

    def __init__(
        self, calls: _Calls, prefix: str, *, buffer: int = DEFAULT_SUBSCRIBER_BUFFER
    ) -> None:
        self._calls = calls
        self._prefix = prefix
        self._changed = trio.Event()
        self._local = LocalFanout(buffer=buffer, on_change=self._wake)
        self.connected = trio.Event()

    def _wake(self) -> None:
        self._changed.set()

    @property
    def dropped(self) -> int:
        """Messages dropped for slow local subscribers."""
        return self._local.dropped

    async def publish(self, channel: str, payload: bytes) -> None:
        client = self._calls.client
        await self._calls(lambda: client.publish(self._prefix + channel, payload))

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._local.subscribe(channel)

    async def run(self) -> None:
        """Keep one pub/sub connection subscribed to the channels wanted here;
        reconnect with backoff when it fails."""
        backoff = 0.1
        while True:
            try:
                await self._listen()
            except (*_REDIS_ERRORS, BackendUnavailable) as exc:
                self.connected = trio.Event()
                _log.warning("Redis pub/sub lost (%s); retrying in %.1f s", exc, backoff)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            else:
                backoff = 0.1

    async def _listen(self) -> None:
        pubsub = self._calls.client.pubsub()
        async with pubsub:
            subscribed: set[str] = set()
            self.connected.set()
            async with trio.open_nursery() as nursery:

                async def follow() -> None:
                    while True:
                        wanted = self._local.channels()
                        added = wanted - subscribed
                        removed = subscribed - wanted
                        if added:
                            with trio.fail_after(self._calls.timeout):
                                await pubsub.subscribe(*(self._prefix + c for c in added))
                            subscribed.update(added)
                        if removed:
                            with trio.fail_after(self._calls.timeout):
                                await pubsub.unsubscribe(*(self._prefix + c for c in removed))
                            subscribed.difference_update(removed)
                        self._changed = trio.Event()
                        if self._local.channels() == subscribed:
                            await self._changed.wait()

                nursery.start_soon(follow)
                while True:
                    # (Iterating the pub/sub object ends while it has no channel.)
                    message = await pubsub.get_message()
                    if message is None or message.get("type") != "message":
                        continue
                    channel = message["channel"]
                    name = channel.decode() if isinstance(channel, bytes) else str(channel)
                    data = message["data"]
                    payload = data if isinstance(data, bytes) else str(data).encode()
                    self._local.deliver(name[len(self._prefix) :], payload)


class RedisNodeRegistry:
    """Node heartbeats: a key per node that expires unless renewed."""

    def __init__(self, calls: _Calls, prefix: str) -> None:
        self._calls = calls
        self._prefix = prefix

    async def heartbeat(self, node_id: str, *, ttl: float) -> None:
        client = self._calls.client
        await self._calls(
            lambda: client.set(f"{self._prefix}n:{node_id}", b"1", px=max(1, int(ttl * 1000)))
        )

    async def alive(self, node_id: str) -> bool:
        client = self._calls.client
        return bool(await self._calls(lambda: client.exists([f"{self._prefix}n:{node_id}"])))

    async def claim(
        self, key: str, owner: str, *, ttl: float, replace: str | None = None
    ) -> str | None:
        client = self._calls.client
        args = [owner, max(1, int(ttl * 1000)), replace or ""]
        held = await self._calls(lambda: client.eval(_CLAIM, [f"{self._prefix}k:{key}"], args))
        if not held:
            return None
        return held.decode() if isinstance(held, bytes) else str(held)

    async def release(self, key: str, owner: str) -> None:
        client = self._calls.client
        await self._calls(lambda: client.eval(_RELEASE, [f"{self._prefix}k:{key}"], [owner]))


class RedisBackend:
    """The cluster ports on one Redis (or a Redis Cluster with ``cluster=True``)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "mcp:",
        max_stream_events: int = 1000,
        stream_ttl: float = 30 * 60.0,
        operation_timeout: float = DEFAULT_OPERATION_TIMEOUT,
        cluster: bool = False,
    ) -> None:
        factory: Any = coredis.RedisCluster if cluster else coredis.Redis
        self.url = url
        self.prefix = prefix
        self.client = factory.from_url(url, connect_timeout=operation_timeout, stream_timeout=None)
        calls = _Calls(self.client, operation_timeout)
        self._direct = None if cluster else _DirectReads.for_url(url)
        self.sessions = RedisSessionStore(calls, prefix, self._direct)
        self.events = RedisEventLog(calls, prefix, max_events=max_stream_events, ttl=stream_ttl)
        self.broker = RedisBroker(calls, prefix)
        self.nodes = RedisNodeRegistry(calls, prefix)

    @asynccontextmanager
    async def run(self) -> AsyncIterator[RedisBackend]:
        async with self.client, trio.open_nursery() as nursery:
            nursery.start_soon(self.broker.run)
            try:
                yield self
            finally:
                nursery.cancel_scope.cancel()
                if self._direct is not None:
                    self._direct.close()
