"""The in-memory backend: the cluster ports for one process (the embedded default)."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Final

import attrs
import trio

from ..protocol.jsonrpc import RequestId
from ..protocol.session import SessionState

__all__ = [
    "DEFAULT_MAX_STREAM_EVENTS",
    "DEFAULT_STREAM_TTL",
    "DEFAULT_SUBSCRIBER_BUFFER",
    "LocalFanout",
    "MemoryBackend",
    "MemoryBroker",
    "MemoryEventLog",
    "MemoryNodeRegistry",
    "MemorySessionStore",
]

from ._ports import EventRead, SessionNotFound, StoredDocument
from ._tasks import MemoryTaskStore

#: The most events a stream keeps; older ones are trimmed.
DEFAULT_MAX_STREAM_EVENTS: Final = 1000
#: Seconds a stream is kept after its last append.
DEFAULT_STREAM_TTL: Final = 30 * 60.0
#: Messages a broker subscriber may have waiting; past that new ones are dropped for it.
DEFAULT_SUBSCRIBER_BUFFER: Final = 1024
#: Seconds between sweeps of expired sessions and streams.
_SWEEP_INTERVAL: Final = 30.0


class MemorySessionStore:
    """Sessions in a dict, each with an expiry on the trio clock, and the
    application's documents in another, dropped with their sessions."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[SessionState, float]] = {}
        self._documents: dict[str, StoredDocument] = {}

    def __len__(self) -> int:
        return len(self._states)

    async def load(self, session_id: str) -> SessionState | None:
        entry = self._states.get(session_id)
        if entry is None:
            return None
        if entry[1] <= trio.current_time():
            del self._states[session_id]
            self._documents.pop(session_id, None)
            return None
        return entry[0]

    async def save(self, state: SessionState, *, ttl: float) -> None:
        self._states[state.session_id] = (state, trio.current_time() + ttl)

    async def delete(self, session_id: str) -> bool:
        self._documents.pop(session_id, None)
        return self._states.pop(session_id, None) is not None

    async def touch(self, session_id: str, *, ttl: float) -> bool:
        state = await self.load(session_id)
        if state is None:
            return False
        self._states[session_id] = (state, trio.current_time() + ttl)
        return True

    async def load_document(self, session_id: str) -> StoredDocument:
        if await self.load(session_id) is None:
            return StoredDocument()
        return self._documents.get(session_id) or StoredDocument()

    async def write_document(self, session_id: str, data: bytes, *, version: int) -> int | None:
        if await self.load(session_id) is None:
            raise SessionNotFound(session_id)
        # No await between the comparison and the write: atomic on the trio loop.
        held = self._documents.get(session_id)
        if (held.version if held is not None else 0) != version:
            return None
        self._documents[session_id] = StoredDocument(version + 1, data)
        return version + 1

    def sweep(self, now: float) -> list[str]:
        """Drop expired sessions (and their documents); their ids."""
        gone = [key for key, (_, expires) in self._states.items() if expires <= now]
        for key in gone:
            del self._states[key]
            self._documents.pop(key, None)
        return gone


@attrs.define(slots=True)
class _Stream:
    events: deque[tuple[int, bytes]]
    next_seq: int = 1
    ended: bool = False
    touched: float = 0.0
    requests: tuple[RequestId, ...] = ()
    cursor: int = 0
    wakeup: trio.Event = attrs.field(factory=trio.Event)


class MemoryEventLog:
    """Per-stream bounded deques; readers wait on an event that appends set."""

    def __init__(
        self,
        *,
        max_events: int = DEFAULT_MAX_STREAM_EVENTS,
        ttl: float = DEFAULT_STREAM_TTL,
    ) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self._max_events = max_events
        self._ttl = ttl
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._by_session: dict[str, set[str]] = {}

    def _stream(self, session_id: str, stream_id: str) -> _Stream:
        key = (session_id, stream_id)
        stream = self._streams.get(key)
        if stream is None:
            stream = _Stream(deque(maxlen=self._max_events))
            self._streams[key] = stream
            self._by_session.setdefault(session_id, set()).add(stream_id)
        return stream

    async def open(
        self, session_id: str, stream_id: str, requests: Sequence[RequestId] = ()
    ) -> None:
        stream = self._stream(session_id, stream_id)
        stream.touched = trio.current_time()
        if requests:
            stream.requests = tuple(requests)

    async def requests(self, session_id: str, stream_id: str) -> list[RequestId]:
        stream = self._streams.get((session_id, stream_id))
        return list(stream.requests) if stream is not None else []

    async def append(
        self, session_id: str, stream_id: str, data: bytes, *, cursor: int | None = None
    ) -> int:
        stream = self._stream(session_id, stream_id)
        if stream.ended:
            raise ValueError(f"stream {stream_id!r} has ended")
        if cursor is not None:
            stream.cursor = cursor
        seq = stream.next_seq
        stream.next_seq += 1
        stream.events.append((seq, data))
        stream.touched = trio.current_time()
        stream.wakeup.set()
        stream.wakeup = trio.Event()
        return seq

    async def end(self, session_id: str, stream_id: str) -> None:
        stream = self._stream(session_id, stream_id)
        stream.ended = True
        stream.touched = trio.current_time()
        stream.wakeup.set()

    async def read(self, session_id: str, stream_id: str, after: int, *, wait: float) -> EventRead:
        stream = self._streams.get((session_id, stream_id))
        if stream is None:
            return EventRead((), ended=True, missing=after > 0)
        if stream.next_seq - 1 <= after and not stream.ended and wait > 0:
            with trio.move_on_after(wait):
                await stream.wakeup.wait()
        events = stream.events
        first = events[0][0] if events else stream.next_seq
        found = tuple(item for item in events if item[0] > after)
        return EventRead(found, ended=stream.ended, missing=after + 1 < first)

    async def exists(self, session_id: str, stream_id: str) -> bool:
        return (session_id, stream_id) in self._streams

    async def cursor(self, session_id: str, stream_id: str) -> int:
        stream = self._streams.get((session_id, stream_id))
        return stream.cursor if stream is not None else 0

    async def set_cursor(self, session_id: str, stream_id: str, value: int) -> None:
        self._stream(session_id, stream_id).cursor = value

    async def drop_session(self, session_id: str) -> None:
        for stream_id in self._by_session.pop(session_id, ()):
            stream = self._streams.pop((session_id, stream_id))
            stream.ended = True
            stream.wakeup.set()

    def sweep(self, now: float) -> None:
        """Forget streams untouched for longer than the TTL."""
        for key in [k for k, s in self._streams.items() if s.touched + self._ttl <= now]:
            stream = self._streams.pop(key)
            stream.ended = True
            stream.wakeup.set()
            ids = self._by_session.get(key[0])
            if ids is not None:
                ids.discard(key[1])
                if not ids:
                    del self._by_session[key[0]]

    def __len__(self) -> int:
        return len(self._streams)


class LocalFanout:
    """The subscribers of each channel in this process, each with a bounded buffer.

    Slow-consumer policy: when a subscriber's buffer is full, a message is dropped
    for that subscriber (and counted in :attr:`dropped`); delivering never waits.
    ``on_change`` is called when the set of channels with subscribers changes.
    """

    def __init__(
        self,
        *,
        buffer: int = DEFAULT_SUBSCRIBER_BUFFER,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._buffer = buffer
        self._channels: dict[str, set[trio.MemorySendChannel[bytes]]] = {}
        self._on_change = on_change
        self.dropped = 0

    def channels(self) -> set[str]:
        """The channels someone here listens to."""
        return set(self._channels)

    def deliver(self, channel: str, payload: bytes) -> None:
        """Hand ``payload`` to every subscriber of ``channel`` here."""
        for sender in tuple(self._channels.get(channel, ())):
            try:
                sender.send_nowait(payload)
            except trio.WouldBlock:
                self.dropped += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """Receive what is delivered on ``channel`` while the context is open."""
        sender, receiver = trio.open_memory_channel[bytes](self._buffer)
        subscribers = self._channels.setdefault(channel, set())
        subscribers.add(sender)
        if len(subscribers) == 1 and self._on_change is not None:
            self._on_change()
        try:
            async with receiver:
                yield receiver
        finally:
            subscribers.discard(sender)
            if not subscribers:
                self._channels.pop(channel, None)
                if self._on_change is not None:
                    self._on_change()
            sender.close()

    def subscriber_count(self, channel: str) -> int:
        """How many subscribers ``channel`` has here."""
        return len(self._channels.get(channel, ()))


class MemoryBroker:
    """Publish/subscribe within one process (see :class:`LocalFanout` for the
    slow-consumer policy)."""

    def __init__(self, *, buffer: int = DEFAULT_SUBSCRIBER_BUFFER) -> None:
        self._local = LocalFanout(buffer=buffer)

    @property
    def dropped(self) -> int:
        """Messages dropped for slow subscribers."""
        return self._local.dropped

    async def publish(self, channel: str, payload: bytes) -> None:
        self._local.deliver(channel, payload)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._local.subscribe(channel)

    def subscriber_count(self, channel: str) -> int:
        """How many subscribers ``channel`` has now."""
        return self._local.subscriber_count(channel)


class MemoryNodeRegistry:
    """Heartbeats, leases and the shared values in dicts, on the trio clock."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._shared: dict[str, bytes] = {}

    async def heartbeat(self, node_id: str, *, ttl: float, status: bytes = b"{}") -> None:
        # One process: its status is read from the node itself (/metrics), not from here.
        self._expiry[node_id] = trio.current_time() + ttl

    async def alive(self, node_id: str) -> bool:
        expires = self._expiry.get(node_id)
        return expires is not None and expires > trio.current_time()

    async def claim(
        self, key: str, owner: str, *, ttl: float, replace: str | None = None
    ) -> str | None:
        now = trio.current_time()
        held = self._leases.get(key)
        if held is None or held[1] <= now or held[0] == owner or held[0] == replace:
            self._leases[key] = (owner, now + ttl)
            return None
        return held[0]

    async def release(self, key: str, owner: str) -> None:
        held = self._leases.get(key)
        if held is not None and held[0] == owner:
            del self._leases[key]

    async def shared(self, name: str, initial: bytes) -> bytes:
        return self._shared.setdefault(name, initial)

    async def replace_shared(self, name: str, expected: bytes, value: bytes) -> bool:
        if self._shared.get(name) != expected:
            return False
        self._shared[name] = value
        return True


class MemoryBackend:
    """The three in-memory ports, with a sweeper for expired sessions and streams."""

    def __init__(
        self,
        *,
        max_stream_events: int = DEFAULT_MAX_STREAM_EVENTS,
        stream_ttl: float = DEFAULT_STREAM_TTL,
    ) -> None:
        self.sessions = MemorySessionStore()
        self.events = MemoryEventLog(max_events=max_stream_events, ttl=stream_ttl)
        self.broker = MemoryBroker()
        self.nodes = MemoryNodeRegistry()
        self.tasks = MemoryTaskStore()

    @asynccontextmanager
    async def run(self) -> AsyncIterator[MemoryBackend]:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._sweeper)
            try:
                yield self
            finally:
                nursery.cancel_scope.cancel()

    async def _sweeper(self) -> None:
        while True:
            await trio.sleep(_SWEEP_INTERVAL)
            now = trio.current_time()
            for session_id in self.sessions.sweep(now):
                await self.events.drop_session(session_id)
            self.events.sweep(now)
            self.tasks.sweep(now)
