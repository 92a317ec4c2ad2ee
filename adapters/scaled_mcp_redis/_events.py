"""SSE event logs in Redis, one Redis Stream per SSE stream.

``e:{<session>}:<stream>`` holds the events of one stream, with entry ids ``0-<seq>``
(so an event id ``<stream>:<seq>`` names its entry), trimmed to about ``max_events``
and expiring ``ttl`` after the last append; ``m:{<session>}:<stream>`` holds its
counter, cursor, end mark and request ids, ``l:{<session>}`` the session's streams.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from scaled_mcp.cluster import EventRead
from scaled_mcp.protocol.jsonrpc import RequestId

from ._calls import _Calls
from ._scripts import APPEND, CURSOR, END, OPEN

__all__ = ["RedisEventLog"]


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
        await self._calls(lambda: client.eval(OPEN, keys, [self._ttl_ms, stream_id, ids]))

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
        seq = int(await self._calls(lambda: client.eval(APPEND, keys, args)))
        if seq < 0:
            raise ValueError(f"stream {stream_id!r} has ended")
        return seq

    async def end(self, session_id: str, stream_id: str) -> None:
        client = self._calls.client
        keys = self._keys(session_id, stream_id)
        args = [self._max_events, self._ttl_ms, stream_id]
        await self._calls(lambda: client.eval(END, keys, args))

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
        await self._calls(lambda: client.eval(CURSOR, keys, [value, self._ttl_ms, stream_id]))

    async def drop_session(self, session_id: str) -> None:
        client = self._calls.client
        list_key = f"{self._prefix}l:{{{session_id}}}"
        streams = await self._calls(lambda: client.smembers(list_key))
        keys = [list_key]
        for raw in streams:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            keys.extend(self._keys(session_id, name)[:2])
        await self._calls(lambda: client.delete(keys))
