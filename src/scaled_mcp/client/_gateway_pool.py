"""The gateway's upstream sessions on one node: opened on demand, capped, closed when idle.

Each upstream session is one :class:`~scaled_mcp.client.Client`, opened and
closed by its own keeper task in the pool's nursery (a client's nursery
belongs to the task that opened it). A downstream request leases a session
for its upstream call: an idle one first; else, for a 2026-07-28 upstream, the
least busy one at once (another opening meanwhile, while under the cap); for a
handshake-era upstream a new one while under the cap, else the least busy one.
A session knows the downstream calls it carries (:class:`UpstreamCall`), which
is how a question the upstream asks during a call (sampling, elicitation,
roots) and its log messages find the downstream request they belong to. The
first session is the node's *primary*: it is never closed for idleness, holds
the upstream resource subscriptions and hears the upstream's list changes; a
supervisor reopens it when it is lost.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import trio

from ..protocol.jsonrpc import ErrorCode
from ..runtime import InputNeeded
from ._errors import ClientError

if TYPE_CHECKING:
    from ..server import Context
    from ._client import Client

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_SESSIONS",
    "SUPERVISE_EVERY",
    "UpstreamCall",
    "UpstreamPool",
    "UpstreamSession",
]

_log = logging.getLogger("scaled_mcp.gateway")

#: Upstream sessions one node opens at most.
DEFAULT_MAX_SESSIONS: Final = 8
#: Seconds an upstream session (other than the primary) may stay unused before it is closed.
DEFAULT_IDLE_TIMEOUT: Final = 300.0
#: Seconds between two rounds of the supervisor (idle sessions, a lost primary).
SUPERVISE_EVERY: Final = 1.0


class UpstreamCall:
    """One downstream request carried upstream: its context, its cancel scope,
    the questions the upstream asked in it (numbered by kind), and the
    :class:`InputNeeded` that ends it on the stateless wire when a question
    was asked from another task."""

    __slots__ = ("asked", "context", "input_needed", "scope")

    def __init__(self, context: Context, scope: trio.CancelScope) -> None:
        self.context = context
        self.scope = scope
        self.asked: dict[str, int] = {}
        self.input_needed: InputNeeded | None = None

    def next_key(self, method: str) -> str:
        """The key of the next question of ``method``'s kind (``elicitation-1`` …),
        the same on every round of a stateless call that asks in the same order."""
        kind = method.split("/")[0]
        number = self.asked.get(kind, 0) + 1
        self.asked[kind] = number
        return f"{kind}-{number}"


class UpstreamSession:
    """One upstream client and the downstream calls it carries now."""

    def __init__(self, number: int, *, primary: bool) -> None:
        self.number = number
        self.primary = primary
        self.client: Client | None = None
        self.calls: list[UpstreamCall] = []
        self.last_used = trio.current_time()
        self.lost = False
        self._close = trio.Event()
        self.closed = trio.Event()

    def sole_call(self) -> UpstreamCall | None:
        """The downstream call this session carries, if it carries exactly one."""
        return self.calls[0] if len(self.calls) == 1 else None

    def close(self) -> None:
        """Ask the keeper to close the client."""
        self._close.set()

    def __repr__(self) -> str:
        return f"<upstream session {self.number}{' (primary)' if self.primary else ''}>"


class UpstreamPool:
    """The upstream sessions of one node. ``connect(session)`` makes the (not yet
    opened) client of a session; ``on_open(session)`` runs after one opened (the
    primary's subscriptions are renewed there)."""

    def __init__(
        self,
        connect: Callable[[UpstreamSession], Client],
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        open_timeout: float = 30.0,
        on_open: Callable[[UpstreamSession], Any] | None = None,
    ) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self._connect = connect
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.open_timeout = open_timeout
        self._on_open = on_open
        self.sessions: list[UpstreamSession] = []
        self._opening = 0
        self._numbers = 0
        self._nursery: trio.Nursery | None = None
        self._primary_lock = trio.Lock()
        #: Set (and renewed) each time a session opens or fails to.
        self._settled = trio.Event()

    @property
    def primary(self) -> UpstreamSession | None:
        """The open primary session, if there is one."""
        for session in self.sessions:
            if session.primary and not session.lost:
                return session
        return None

    @asynccontextmanager
    async def running(self, *, start_within: float) -> AsyncIterator[UpstreamPool]:
        """Open the primary (retrying with warnings for ``start_within`` seconds;
        raises :class:`ClientError` if the upstream stays unreachable), keep the
        sessions while the block runs, close every one on the way out. What the
        block raises comes out as it is, never wrapped in the pool's group."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await self._open_primary(retry_for=start_within)
                nursery.start_soon(self._supervise)
                try:
                    yield self
                finally:
                    self._nursery = None
                    for session in self.sessions:
                        session.close()
                    with trio.move_on_after(self.open_timeout) as drained:
                        drained.shield = True
                        for session in list(self.sessions):
                            await session.closed.wait()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # The pool's own tasks raise nothing: this is the body's or the start's.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def _open_primary(self, *, retry_for: float) -> UpstreamSession:
        async with self._primary_lock:
            primary = self.primary
            if primary is not None:
                return primary
            deadline = trio.current_time() + retry_for
            delay = 0.2
            while True:
                try:
                    return await self._open(primary=True)
                except ClientError as exc:
                    if trio.current_time() + delay >= deadline:
                        raise
                    _log.warning("the upstream is unreachable (%s); retrying", exc.message)
                await trio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _open(self, *, primary: bool, reserved: bool = False) -> UpstreamSession:
        """Open a session (``reserved``: its slot in :attr:`_opening` is taken already)."""
        if not reserved:
            self._opening += 1
        nursery = self._nursery
        if nursery is None:
            self._opening -= 1
            raise ClientError(ErrorCode.INTERNAL_ERROR, "the gateway is not running")
        self._numbers += 1
        session = UpstreamSession(self._numbers, primary=primary)
        try:
            with trio.fail_after(self.open_timeout):
                await nursery.start(self._keep, session)
        except trio.TooSlowError:
            raise ClientError(
                ErrorCode.INTERNAL_ERROR, "the upstream did not open a session in time"
            ) from None
        except OSError as exc:
            raise ClientError(
                ErrorCode.INTERNAL_ERROR, f"the upstream is unreachable: {exc}"
            ) from None
        finally:
            self._opening -= 1
            self._settled.set()
            self._settled = trio.Event()
        if self._on_open is not None:
            try:
                await self._on_open(session)
            except ClientError as exc:
                _log.warning("after opening %r: %s", session, exc.message)
        return session

    async def _keep(self, session: UpstreamSession, *, task_status: trio.TaskStatus[None]) -> None:
        """Open ``session``'s client, hold it until asked to close or lost, close it."""
        started = False
        try:
            async with self._connect(session) as client:
                session.client = client
                self.sessions.append(session)
                task_status.started()
                started = True
                await session._close.wait()
        except Exception as exc:  # a lost connection ends this session only
            if not started:
                if isinstance(exc, ClientError | OSError):
                    raise
                raise ClientError(
                    ErrorCode.INTERNAL_ERROR, f"the upstream session failed to open: {exc!r}"
                ) from None
            _log.warning("%r ended: %r", session, exc)
        finally:
            session.lost = True
            if session in self.sessions:
                self.sessions.remove(session)
            session.closed.set()

    async def _supervise(self) -> None:
        """Close sessions idle past the timeout; reopen a lost primary (once a
        slot is free: the cap holds for it too)."""
        while True:
            await trio.sleep(SUPERVISE_EVERY)
            now = trio.current_time()
            for session in list(self.sessions):
                idle = now - session.last_used
                if not session.primary and not session.calls and idle >= self.idle_timeout:
                    _log.info("closing idle %r", session)
                    session.close()
            full = len(self.sessions) + self._opening >= self.max_sessions
            if self.primary is None and not full and not self._primary_lock.locked():
                try:
                    await self._open_primary(retry_for=0)
                except ClientError as exc:
                    _log.warning("the upstream is unreachable (%s); retrying", exc.message)

    async def _grow(self) -> None:
        """One more session, in the background (a failure is only logged)."""
        try:
            await self._open(primary=False, reserved=True)
        except ClientError as exc:
            _log.warning("opening another upstream session failed: %s", exc.message)

    def lost(self, session: UpstreamSession) -> None:
        """``session``'s connection is gone: close it; the next lease opens another."""
        session.lost = True
        session.close()

    async def _pick(self) -> UpstreamSession:
        live = [s for s in self.sessions if not s.lost and s.client is not None]
        for session in live:
            if not session.calls:
                return session
        growing = len(live) + self._opening < self.max_sessions
        if live and all(s.client is not None and s.client.stateless for s in live):
            # A 2026-07-28 upstream's questions come back in the calling task
            # (exact whoever shares the session): share one now, open more meanwhile.
            if growing and self._nursery is not None:
                self._opening += 1  # the slot is taken now, not when the task runs
                self._nursery.start_soon(self._grow)
            return min(live, key=lambda s: len(s.calls))
        if growing:
            if not any(s.primary for s in live):
                return await self._open_primary(retry_for=0)
            return await self._open(primary=False)
        if not live:
            # Every slot is opening: wait for one (bounded by the caller's deadline).
            await self._settled.wait()
            return await self._pick()
        return min(live, key=lambda s: len(s.calls))

    @asynccontextmanager
    async def lease(self, context: Context) -> AsyncIterator[tuple[UpstreamSession, UpstreamCall]]:
        """A session to carry one downstream request, and the request's record on it."""
        session = await self._pick()
        with trio.CancelScope() as scope:
            call = UpstreamCall(context, scope)
            session.calls.append(call)
            try:
                yield session, call
            finally:
                session.calls.remove(call)
                session.last_used = trio.current_time()
        if call.input_needed is not None:
            raise call.input_needed
