"""Node heartbeats (``n:<node>``, expiring unless renewed, holding the node's status
as JSON) and leases (``k:<key>``)."""

from __future__ import annotations

from ._calls import _Calls
from ._scripts import CLAIM, RELEASE

__all__ = ["RedisNodeRegistry"]


class RedisNodeRegistry:
    """Node heartbeats: a key per node that expires unless renewed."""

    def __init__(self, calls: _Calls, prefix: str) -> None:
        self._calls = calls
        self._prefix = prefix

    async def heartbeat(self, node_id: str, *, ttl: float, status: bytes = b"{}") -> None:
        client = self._calls.client
        await self._calls(
            lambda: client.set(f"{self._prefix}n:{node_id}", status, px=max(1, int(ttl * 1000)))
        )

    async def alive(self, node_id: str) -> bool:
        client = self._calls.client
        return bool(await self._calls(lambda: client.exists([f"{self._prefix}n:{node_id}"])))

    async def claim(
        self, key: str, owner: str, *, ttl: float, replace: str | None = None
    ) -> str | None:
        client = self._calls.client
        args = [owner, max(1, int(ttl * 1000)), replace or ""]
        held = await self._calls(lambda: client.eval(CLAIM, [f"{self._prefix}k:{key}"], args))
        if not held:
            return None
        return held.decode() if isinstance(held, bytes) else str(held)

    async def release(self, key: str, owner: str) -> None:
        client = self._calls.client
        await self._calls(lambda: client.eval(RELEASE, [f"{self._prefix}k:{key}"], [owner]))
