"""The handshake-era sessions one node serves now.

A session's shared data lives in the cluster's store; a node keeps a
:class:`LiveSession` for each session it serves: the core's machine, refreshed
from the store when another node wrote it, plus the work running here
(handlers' cancel scopes, requests awaiting the client's answer).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict

import attrs
import trio

from ..cluster import Backend, SessionStore
from ..protocol.jsonrpc import ErrorResponse, Message, RequestId, Response
from ..protocol.session import ServerConfig, ServerSession, SessionState

__all__ = ["LiveSession", "LiveSessions", "Waiter"]


@attrs.define(slots=True, eq=False)
class Waiter:
    """A server-to-client request awaiting the client's answer."""

    done: trio.Event = attrs.field(factory=trio.Event)
    answer: Response | ErrorResponse | None = None


class LiveSession:
    """This node's view of one handshake-era session: the core's machine plus
    the work running here (handlers' cancel scopes, requests to the client)."""

    __slots__ = (
        "forward",
        "listening",
        "running",
        "saved",
        "saved_at",
        "session",
        "store",
        "waiting",
    )

    def __init__(self, session: ServerSession, store: SessionStore | None = None) -> None:
        self.session = session
        # Where the application's state of the session lives when not in the
        # cluster's store (stdio's one session keeps it in the process).
        self.store = store
        self.running: dict[RequestId, trio.CancelScope] = {}
        self.waiting: dict[RequestId, Waiter] = {}
        self.saved: SessionState | None = None
        self.saved_at = 0.0
        # (channel, message) for work on other nodes, published after receiving.
        self.forward: list[tuple[str, Message]] = []
        #: GET streams of the session open on this node: a client listening is not idle.
        self.listening = 0

    @property
    def busy(self) -> bool:
        """Work of the session runs here, or its client listens on a stream here."""
        return bool(self.running or self.waiting or self.listening)


class LiveSessions:
    """The sessions this node serves, by id, and their writes to the store.

    ``legacy_open`` holds the sessions whose 2024-11-05 ``GET /sse`` stream
    this node holds. ``idle_timeout`` is the seconds after which an unused
    session expires, here and in the store.
    """

    __slots__ = ("_backend", "_idle_timeout", "_live", "_node_id", "_server_config", "legacy_open")

    def __init__(
        self, server_config: ServerConfig, node_id: str, backend: Backend, idle_timeout: float
    ) -> None:
        self._server_config = server_config
        self._node_id = node_id
        self._backend = backend
        # In order of creation, a session passed over by :meth:`idlest` moved to the back.
        self._live: OrderedDict[str, LiveSession] = OrderedDict()
        self._idle_timeout = idle_timeout
        self.legacy_open: set[str] = set()

    def __len__(self) -> int:
        return len(self._live)

    def get(self, session_id: str) -> LiveSession | None:
        """The session ``session_id`` if this node serves it now."""
        return self._live.get(session_id)

    def new_session(self, session_id: str | None = None) -> ServerSession:
        """A fresh session machine of this node (with a new id unless one is given)."""
        if session_id is None:
            session_id = secrets.token_urlsafe(24)
        return ServerSession(self._server_config, session_id=session_id, node_id=self._node_id)

    def add(self, live: LiveSession) -> None:
        """Serve ``live`` from now on."""
        self._live[live.session.session_id] = live

    def take(self, state: SessionState) -> LiveSession:
        """The live session of a stored ``state``, made or refreshed from it."""
        live = self._live.get(state.session_id)
        if live is None:
            session = ServerSession.from_state(self._server_config, state, node_id=self._node_id)
            live = LiveSession(session)
            live.saved = state
            self._live[state.session_id] = live
        elif live.saved is not state:
            # Another node (or an expiry) wrote the shared data: take it.
            live.session.refresh(state)
            live.saved = state
        return live

    async def save(self, live: LiveSession, before: tuple[object, ...] | None) -> None:
        """Write the session's shared data if it changed since ``before`` (its
        :meth:`~scaled_mcp.protocol.ServerSession.shared_fields` then), or now
        and then to keep it alive."""
        now = time.time()
        # Unchanged: write only now and then, to keep the session from expiring.
        refresh = min(60.0, self._idle_timeout / 10)
        if before == live.session.shared_fields() and now - live.saved_at < refresh:
            return
        state = live.session.state
        await self._backend.sessions.save(state, ttl=self._idle_timeout)
        live.saved = state
        live.saved_at = now

    async def terminate(self, session_id: str) -> None:
        """End a session: cancel its work here, forget it everywhere."""
        live = self._live.pop(session_id, None)
        if live is not None:
            for scope in live.running.values():
                scope.cancel()
        await self._backend.sessions.delete(session_id)
        await self._backend.events.drop_session(session_id)

    def idlest(self, cutoff: float, scan: int = 64) -> str | None:
        """A session unused since before ``cutoff`` with nothing running or open
        here, among the ``scan`` oldest of this node's table, or ``None``.

        Those passed over go to the back of the table, so that busy sessions do not
        hide idle ones from the next call: amortised, each call costs ``O(scan)``.
        """
        for _ in range(min(scan, len(self._live))):
            session_id, live = next(iter(self._live.items()))
            held = session_id in self.legacy_open  # its 2024-11-05 GET /sse is here
            if not live.busy and not held and live.session.last_activity < cutoff:
                return session_id
            self._live.move_to_end(session_id)
        return None

    def expire(self, cutoff: float) -> None:
        """Forget the sessions idle since before ``cutoff`` with no work running here."""
        for session_id, live in list(self._live.items()):
            if not live.busy and live.session.last_activity < cutoff:
                del self._live[session_id]
