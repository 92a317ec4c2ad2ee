"""Messages between nodes over Redis pub/sub: channels ``<prefix>broadcast`` and
``<prefix>node:<node>``, at most once (a node that is not listening misses them).

One pub/sub connection per node carries every subscription, fanned out in memory;
no thread per subscription. The subscriber reconnects with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import trio

from scaled_mcp.cluster import DEFAULT_SUBSCRIBER_BUFFER, BackendUnavailable, LocalFanout

from ._calls import _REDIS_ERRORS, _Calls

__all__ = ["RedisBroker"]

_log = logging.getLogger("scaled_mcp.redis")


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
            lost: BaseException | None = None
            try:
                await self._listen()
            except* (*_REDIS_ERRORS, BackendUnavailable) as group:
                # Lost in any of the listener's tasks: a group, whichever task saw it.
                lost = group.exceptions[0]
            if lost is None:
                backoff = 0.1
                continue
            self.connected = trio.Event()
            _log.warning("Redis pub/sub lost (%s); retrying in %.1f s", lost, backoff)
            await trio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

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
