"""The cluster ports: what a node needs from the place sessions and events live.

A node keeps only running work to itself (a handler in flight, its cancel
scope, the server-to-client requests it awaits). Everything else goes through
three small ports, so that any node can serve any request of any session:

* :class:`SessionStore` -- a handshake-era session's plain data
  (:class:`~scaled_mcp.protocol.session.SessionState`), with an idle expiry, and
  the application's own document of the session (``ctx.session_state``), which
  lives and dies with it and is written by compare-and-set on its version;
* :class:`EventLog` -- every SSE event of a session, per stream, bounded, so
  that ``Last-Event-ID`` resumes a stream on any node;
* :class:`Broker` -- publish/subscribe between nodes (a client's answer to a
  server-to-client request, a cancellation, notifications for every
  ``subscriptions/listen`` stream).

The in-memory :class:`~scaled_mcp.cluster.MemoryBackend` implements them for
one process; the Redis backend in ``adapters/`` implements them for many.
Every wait a port offers takes its deadline from the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

from ..protocol.jsonrpc import RequestId
from ..protocol.session import SessionState
from ._tasks import TaskStore

__all__ = [
    "Backend",
    "BackendUnavailable",
    "Broker",
    "EventLog",
    "EventRead",
    "NodeRegistry",
    "SessionNotFound",
    "SessionStore",
    "StoredDocument",
]


class BackendUnavailable(Exception):
    """The shared store cannot be reached: the request must fail with 503."""


class SessionNotFound(Exception):
    """The session is not in the store (it expired, or was deleted)."""


@attrs.frozen(slots=True)
class StoredDocument:
    """The application's document of a session as stored: its encoded ``data``
    (``b""`` for none) and its ``version``, 0 until first written, one more at
    every write."""

    version: int = 0
    data: bytes = b""


class SessionStore(Protocol):
    """Handshake-era session state, shared by every node."""

    async def load(self, session_id: str) -> SessionState | None:
        """The state of ``session_id``, or ``None`` if it does not exist (or expired)."""
        ...

    async def save(self, state: SessionState, *, ttl: float) -> None:
        """Write ``state``; it expires ``ttl`` seconds after this write unless written again."""
        ...

    async def delete(self, session_id: str) -> bool:
        """Remove ``session_id``; whether it existed."""
        ...

    async def touch(self, session_id: str, *, ttl: float) -> bool:
        """Renew the expiry of ``session_id`` without writing it; whether it exists."""
        ...

    async def load_document(self, session_id: str) -> StoredDocument:
        """The application's document of ``session_id`` (an empty one, version 0,
        if none was written or the session does not exist). Never read on the way
        to a handler: only when the application asks for it."""
        ...

    async def write_document(self, session_id: str, data: bytes, *, version: int) -> int | None:
        """Compare-and-set: replace the document with ``data`` if its version is
        still ``version``; the new version, or ``None`` if another write came first.
        The document expires with the session (renewed by :meth:`save` and
        :meth:`touch`, removed by :meth:`delete`); raises :class:`SessionNotFound`
        if the session does not exist."""
        ...


@attrs.frozen(slots=True)
class EventRead:
    """What :meth:`EventLog.read` found: ``events`` as ``(seq, data)`` in order,
    and whether the stream has ``ended`` (no event will follow the last one).
    ``missing`` is true when events after the requested one were already
    trimmed away (the log is bounded): the reader cannot resume exactly."""

    events: tuple[tuple[int, bytes], ...]
    ended: bool
    missing: bool = False


class EventLog(Protocol):
    """The SSE events of every stream of every session.

    A stream is named by ``(session_id, stream_id)``; its events are numbered
    from 1 in the order they were appended. Streams are bounded (the oldest
    events are trimmed) and expire after a time without appends.
    """

    async def open(
        self, session_id: str, stream_id: str, requests: Sequence[RequestId] = ()
    ) -> None:
        """Make the stream known before its first event (a client may resume
        it right after its priming event), with the ids of the client requests
        whose responses it will carry."""
        ...

    async def requests(self, session_id: str, stream_id: str) -> list[RequestId]:
        """The request ids given to :meth:`open` (to answer them if the node
        writing the stream dies)."""
        ...

    async def append(
        self, session_id: str, stream_id: str, data: bytes, *, cursor: int | None = None
    ) -> int:
        """Append one event; its sequence number. With ``cursor``, set the stream's
        cursor in the same step (see :meth:`cursor`)."""
        ...

    async def end(self, session_id: str, stream_id: str) -> None:
        """Mark the stream as complete: readers stop after its last event."""
        ...

    async def read(self, session_id: str, stream_id: str, after: int, *, wait: float) -> EventRead:
        """The events after ``after``; waits up to ``wait`` seconds for one if
        there are none yet and the stream has not ended."""
        ...

    async def exists(self, session_id: str, stream_id: str) -> bool:
        """Whether the stream is known (not expired)."""
        ...

    async def drop_session(self, session_id: str) -> None:
        """Forget every stream of ``session_id``."""
        ...

    async def cursor(self, session_id: str, stream_id: str) -> int:
        """A number kept with the stream by its writer (0 until set): how far it has
        copied another stream into this one."""
        ...

    async def set_cursor(self, session_id: str, stream_id: str, value: int) -> None:
        """Keep ``value`` as the stream's cursor."""
        ...


class Broker(Protocol):
    """Publish/subscribe between nodes. Delivery is at most once, to the
    subscribers present when a message is published."""

    async def publish(self, channel: str, payload: bytes) -> None:
        """Send ``payload`` to every current subscriber of ``channel``."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Receive what is published on ``channel`` while the context is open."""
        ...


class NodeRegistry(Protocol):
    """Which nodes are alive: each renews a heartbeat that expires if it dies."""

    async def heartbeat(self, node_id: str, *, ttl: float, status: bytes = b"{}") -> None:
        """Say ``node_id`` is alive for the next ``ttl`` seconds; ``status`` is what it
        says of itself (JSON: its sessions, streams and work in flight), kept with the
        heartbeat for ``scaled-mcp cluster status``."""
        ...

    async def alive(self, node_id: str) -> bool:
        """Whether ``node_id`` renewed its heartbeat in time."""
        ...

    async def claim(
        self, key: str, owner: str, *, ttl: float, replace: str | None = None
    ) -> str | None:
        """Hold the lease ``key`` for ``ttl`` seconds: ``None`` when ``owner``
        holds it now (taken, or renewed), else its current owner. With
        ``replace``, take it over from that owner (a dead node's)."""
        ...

    async def release(self, key: str, owner: str) -> None:
        """Give up the lease if ``owner`` holds it."""
        ...

    async def shared(self, name: str, initial: bytes) -> bytes:
        """The cluster-wide value ``name`` (kept without expiry), set to ``initial``
        first if there is none: the first node to ask mints it, the others read
        it. One round trip."""
        ...

    async def replace_shared(self, name: str, expected: bytes, value: bytes) -> bool:
        """Compare-and-set: replace the value ``name`` with ``value`` if it is still
        ``expected``; whether it was replaced."""
        ...


class Backend(Protocol):
    """The ports together, plus their lifetime."""

    @property
    def sessions(self) -> SessionStore: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def broker(self) -> Broker: ...
    @property
    def nodes(self) -> NodeRegistry: ...
    @property
    def tasks(self) -> TaskStore:
        """The tasks extension's tasks (:mod:`._tasks`)."""
        ...

    def run(self) -> AbstractAsyncContextManager[Backend]:
        """Connect (and start any background work) for the duration of the context."""
        ...
