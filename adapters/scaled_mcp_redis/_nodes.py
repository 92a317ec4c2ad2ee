"""Node heartbeats (``n:<node>``, expiring unless renewed, holding the node's status
as JSON), leases (``k:<key>``) and the cluster-wide values (``v:<name>``)."""

from __future__ import annotations

from ._calls import _Calls
from ._scripts import CLAIM, RELEASE, REPLACE_SHARED, SHARED

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

    async def shared(self, name: str, initial: bytes) -> bytes:
        client = self._calls.client
        held = await self._calls(
            lambda: client.eval(SHARED, [f"{self._prefix}v:{name}"], [initial])
        )
        return held if isinstance(held, bytes) else str(held).encode()

    async def replace_shared(self, name: str, expected: bytes, value: bytes) -> bool:
        client = self._calls.client
        key = f"{self._prefix}v:{name}"
        return bool(
            await self._calls(lambda: client.eval(REPLACE_SHARED, [key], [expected, value]))
        )
