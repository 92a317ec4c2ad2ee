"""Sessions in Redis: ``s:{<session>}``, the handshake-era session's plain data as JSON,
expiring after the idle timeout; rewritten (and so renewed) as the session is used.

The read every request makes goes over the direct connections (:mod:`._direct`)
when the URL allows; everything else through coredis.
"""

from __future__ import annotations

import logging

import orjson

from scaled_mcp.protocol.session import SessionState

from ._calls import _Calls
from ._direct import _DirectReads

__all__ = ["RedisSessionStore"]

_log = logging.getLogger("scaled_mcp.redis")


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
