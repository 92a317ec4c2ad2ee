"""The Redis backend: the four cluster ports on one coredis client (plus the direct
session reads when its URL allows), and their lifetime (:meth:`RedisBackend.run`)."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import coredis
import trio

from ._broker import RedisBroker
from ._calls import DEFAULT_OPERATION_TIMEOUT, _Calls
from ._direct import _DirectReads
from ._events import RedisEventLog
from ._nodes import RedisNodeRegistry
from ._sessions import RedisSessionStore
from ._tasks import RedisTaskStore

__all__ = ["RedisBackend"]


def _direct_reads(url: str, *, max_connections: int = 32) -> _DirectReads | None:
    """The direct read path for a plain ``redis://`` URL (its address, ``AUTH`` and
    ``SELECT``); ``None`` for anything else (TLS, Unix sockets), which stays on coredis."""
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
    return _DirectReads(parts.hostname, parts.port or 6379, db, auth, max_connections)


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
        self._direct = None if cluster else _direct_reads(url)
        self.sessions = RedisSessionStore(calls, prefix, self._direct)
        self.events = RedisEventLog(calls, prefix, max_events=max_stream_events, ttl=stream_ttl)
        self.broker = RedisBroker(calls, prefix)
        self.nodes = RedisNodeRegistry(calls, prefix)
        self.tasks = RedisTaskStore(calls, prefix)

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
