"""Tasks in Redis: ``t:{<task>}``, the encoded task as ``<version>:<data>``, expiring
with the task's TTL; written by compare-and-set on its version (:data:`WRITE_TASK`),
keeping its expiry. A finished task holds only what ``tasks/get`` shows (its
result or error, bounded by the runtime), so its footprint is bounded too.
"""

from __future__ import annotations

import logging
import time
from typing import Final

import coredis

from scaled_mcp.cluster import MAX_OWNED_TASKS, StoredTask

from ._calls import _Calls

__all__ = ["CREATE_TASK", "INDEX_TASK", "WRITE_TASK", "RedisTaskStore"]

_log = logging.getLogger("scaled_mcp.redis")

# KEYS: task. ARGV: data, ttl ms. Returns 1 if created, 0 if the id exists.
CREATE_TASK: Final = """
if redis.call('SET', KEYS[1], '1:' .. ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0
"""
# Compare-and-set keeping the expiry. KEYS: task. ARGV: the version read, the new
# data. Returns the new version; -1: no such task; -2: another write came first.
WRITE_TASK: Final = """
local held = redis.call('GET', KEYS[1])
if not held then return -1 end
local version = tonumber(string.sub(held, 1, string.find(held, ':', 1, true) - 1))
if version ~= tonumber(ARGV[1]) then return -2 end
version = version + 1
redis.call('SET', KEYS[1], version .. ':' .. ARGV[2], 'KEEPTTL')
return version
"""

# An owner's task ids, a sorted set scored by expiry (ms since the epoch), pruned
# and capped as it grows, expiring with its last entry. KEYS: index. ARGV: task id,
# expiry ms, now ms, ttl ms, cap.
INDEX_TASK: Final = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -1 - tonumber(ARGV[5]))
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
"""


class RedisTaskStore:
    """Tasks as ``<version>:<data>`` strings with an expiry."""

    def __init__(self, calls: _Calls, prefix: str) -> None:
        self._calls = calls
        self._prefix = prefix

    def key(self, task_id: str) -> str:
        """The Redis key of ``task_id`` (its own hash slot)."""
        return f"{self._prefix}t:{{{task_id}}}"

    async def create(self, task_id: str, data: bytes, *, ttl: float) -> bool:
        client = self._calls.client
        keys = [self.key(task_id)]
        milliseconds = max(1, int(ttl * 1000))
        created = await self._calls(lambda: client.eval(CREATE_TASK, keys, [data, milliseconds]))
        return bool(created)

    async def load(self, task_id: str) -> StoredTask | None:
        client = self._calls.client
        key = self.key(task_id)
        raw: bytes | None = await self._calls(lambda: client.get(key))
        if raw is None:
            return None
        version, colon, data = raw.partition(b":")
        if not colon or not version.isdigit():
            _log.warning("task %r holds unreadable data: treated as absent", task_id)
            return None
        return StoredTask(int(version), data)

    async def write(self, task_id: str, data: bytes, *, version: int) -> int | None:
        client = self._calls.client
        keys = [self.key(task_id)]
        written = await self._calls(lambda: client.eval(WRITE_TASK, keys, [version, data]))
        if int(written) < 0:
            return None
        return int(written)

    async def index(self, owner: str, task_id: str, *, ttl: float) -> None:
        client = self._calls.client
        keys = [f"{self._prefix}to:{{{owner}}}"]
        now = int(time.time() * 1000)
        milliseconds = max(1, int(ttl * 1000))
        args = [task_id, now + milliseconds, now, milliseconds, MAX_OWNED_TASKS]
        await self._calls(lambda: client.eval(INDEX_TASK, keys, args))

    async def owned(self, owner: str) -> list[str]:
        client = self._calls.client
        key = f"{self._prefix}to:{{{owner}}}"
        now = int(time.time() * 1000)
        raw = await self._calls(
            lambda: client.zrange(key, now, "+inf", sortby=coredis.PureToken.BYSCORE)
        )
        return [item.decode() if isinstance(item, bytes) else str(item) for item in raw]
