"""Sessions in Redis: ``s:{<session>}``, the handshake-era session's plain data as JSON,
expiring after the idle timeout; rewritten (and so renewed) as the session is used.
``a:{<session>}``, the application's document of the session (``ctx.session_state``)
as ``<version>:<JSON>``, exists only once written; it is renewed and removed with the
session, and written by compare-and-set on its version (:data:`._scripts.WRITE_DOCUMENT`).

The read every request makes goes over the direct connections (:mod:`._direct`)
when the URL allows, and so does a document's read; everything else through coredis.
"""

from __future__ import annotations

import logging

import orjson

from scaled_mcp.cluster import SessionNotFound, StoredDocument
from scaled_mcp.protocol.session import SessionState

from ._calls import _Calls
from ._direct import _DirectReads
from ._scripts import SAVE_SESSION, TOUCH_SESSION, WRITE_DOCUMENT

__all__ = ["RedisSessionStore"]

_log = logging.getLogger("scaled_mcp.redis")


class RedisSessionStore:
    """Sessions as JSON strings with an expiry, each with its document beside it."""

    def __init__(self, calls: _Calls, prefix: str, direct: _DirectReads | None = None) -> None:
        self._calls = calls
        self._prefix = prefix
        self._direct = direct

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}s:{{{session_id}}}"

    def _keys(self, session_id: str) -> list[str]:
        tag = f"{{{session_id}}}"
        return [f"{self._prefix}s:{tag}", f"{self._prefix}a:{tag}"]

    async def _get(self, key: str) -> bytes | None:
        if self._direct is not None:
            direct = self._direct
            return await self._calls(lambda: direct.get(key))
        client = self._calls.client
        raw: bytes | None = await self._calls(lambda: client.get(key))
        return raw

    async def load(self, session_id: str) -> SessionState | None:
        raw = await self._get(self._key(session_id))
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
        keys = self._keys(state.session_id)
        milliseconds = max(1, int(ttl * 1000))
        await self._calls(lambda: client.eval(SAVE_SESSION, keys, [data, milliseconds]))

    async def delete(self, session_id: str) -> bool:
        client = self._calls.client
        keys = self._keys(session_id)
        removed = await self._calls(lambda: client.delete(keys))
        return bool(removed)

    async def touch(self, session_id: str, *, ttl: float) -> bool:
        client = self._calls.client
        keys = self._keys(session_id)
        milliseconds = max(1, int(ttl * 1000))
        return bool(await self._calls(lambda: client.eval(TOUCH_SESSION, keys, [milliseconds])))

    async def load_document(self, session_id: str) -> StoredDocument:
        raw = await self._get(self._keys(session_id)[1])
        if raw is None:
            return StoredDocument()
        version, colon, data = raw.partition(b":")
        if not colon or not version.isdigit():
            _log.warning("session %r holds an unreadable document: treated as empty", session_id)
            return StoredDocument()
        return StoredDocument(int(version), data)

    async def write_document(self, session_id: str, data: bytes, *, version: int) -> int | None:
        client = self._calls.client
        keys = self._keys(session_id)
        written = await self._calls(lambda: client.eval(WRITE_DOCUMENT, keys, [version, data]))
        if written == -1:
            raise SessionNotFound(session_id)
        if written == -2:
            return None
        return int(written)
