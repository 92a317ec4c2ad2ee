"""The application's state of one session (``ctx.session_state``): a small JSON
object kept with the session in the cluster's store, so that the next request
of the session reads it on whichever node serves it.

The store is reached only when a handler asks: a request that never touches
its session's state costs no round trip more. Writes are compare-and-set on
the document's version, so that two nodes writing at once never lose a write
silently: :meth:`SessionStateHandle.update` reads, applies its function and
writes if nobody wrote in between, else tries again, a bounded number of
times (then :class:`SessionStateConflict`). The document is bounded in size
(:data:`~scaled_mcp.protocol.session.DEFAULT_MAX_SESSION_DOCUMENT` bytes of
JSON unless ``RuntimeConfig.max_session_state`` says otherwise) and goes with
its session (expiry, ``DELETE``).

The 2026-07-28 stateless wire has no session, so no session state: every
method raises :class:`SessionStateUnavailable` (``available`` is false). A
handler that serves both eras keeps what must outlive one request in its own
store, keyed by something the client sends.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, Final

import trio

from ..cluster import SessionNotFound, SessionStore
from ..protocol.jsonrpc import ErrorCode
from ..protocol.session import decode_session_document, encode_session_document
from ._application import McpError

__all__ = [
    "DEFAULT_SESSION_STATE_ATTEMPTS",
    "SessionStateConflict",
    "SessionStateError",
    "SessionStateGone",
    "SessionStateHandle",
    "SessionStateUnavailable",
]

#: How many times :meth:`SessionStateHandle.update` tries before giving up.
DEFAULT_SESSION_STATE_ATTEMPTS: Final = 8
#: Seconds of the first pause between two tries (doubled each time, jittered).
_FIRST_PAUSE: Final = 0.002

Updater = Callable[[dict[str, Any]], Mapping[str, Any] | None]


class SessionStateError(McpError):
    """A session state operation failed; uncaught, the request is answered with
    this message as a JSON-RPC internal error."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INTERNAL_ERROR, message)


class SessionStateUnavailable(SessionStateError):
    """The request has no session to keep state with (the stateless wire)."""


class SessionStateConflict(SessionStateError):
    """Other writes kept coming first: the write was not made."""


class SessionStateGone(SessionStateError):
    """The session ended (expired, or deleted) while the request ran."""


class SessionStateHandle:
    """``ctx.session_state``: the application's JSON object of this request's session.

    ``await get()`` reads it (``{}`` until written); ``await update(fn)`` changes
    it safely against concurrent writers; ``await set(doc)`` writes a whole
    object, ``await clear()`` empties it. Each call is one store round trip
    (two for a write), made only when called.
    """

    __slots__ = ("_attempts", "_limit", "_session_id", "_store", "_unavailable", "_version")

    def __init__(
        self,
        store: SessionStore,
        session_id: str,
        *,
        limit: int,
        attempts: int = DEFAULT_SESSION_STATE_ATTEMPTS,
    ) -> None:
        self._store: SessionStore | None = store
        self._session_id = session_id
        self._limit = limit
        self._attempts = max(1, attempts)
        self._version: int | None = None
        self._unavailable = ""

    @classmethod
    def unavailable(cls, reason: str) -> SessionStateHandle:
        """A handle whose every operation raises :class:`SessionStateUnavailable`."""
        handle = cls.__new__(cls)
        handle._store = None
        handle._session_id = ""
        handle._limit = 0
        handle._attempts = 1
        handle._version = None
        handle._unavailable = reason
        return handle

    @property
    def available(self) -> bool:
        """Whether this request has a session to keep state with."""
        return self._store is not None

    @property
    def version(self) -> int | None:
        """The version this request last read or wrote (``None`` before; 0 for
        a document never written). One more at every write, by any node."""
        return self._version

    def _ready(self) -> SessionStore:
        if self._store is None:
            raise SessionStateUnavailable(self._unavailable)
        return self._store

    async def get(self) -> dict[str, Any]:
        """The session's state now, as a fresh ``dict`` (``{}`` until written)."""
        stored = await self._ready().load_document(self._session_id)
        self._version = stored.version
        return decode_session_document(stored.data)

    async def update(self, change: Updater) -> dict[str, Any]:
        """Read the state, apply ``change`` and write the result unless another
        write came first -- then read and apply again. ``change`` gets a fresh
        ``dict`` and returns the new state, or ``None`` to keep the ``dict`` it
        changed in place; it may run more than once, so it should only compute.
        The state written is returned.

        Raises :class:`~scaled_mcp.protocol.session.SessionDocumentTooLarge` past
        the size bound, :class:`SessionStateConflict` when every try lost to
        another writer, :class:`SessionStateGone` if the session ended.
        """
        store = self._ready()
        for attempt in range(self._attempts):
            if attempt:
                await trio.sleep(random.uniform(0, _FIRST_PAUSE * 2**attempt))
            stored = await store.load_document(self._session_id)
            self._version = stored.version
            document = decode_session_document(stored.data)
            changed = change(document)
            data = encode_session_document(
                document if changed is None else changed, limit=self._limit
            )
            if data == stored.data:
                return decode_session_document(data)
            if await self._write(store, data, stored.version):
                return decode_session_document(data)
        raise SessionStateConflict(
            f"the session state changed under {self._attempts} tries in a row: not written"
        )

    async def set(self, document: Mapping[str, Any]) -> None:
        """Write ``document`` as the whole state. After a read in this request
        (:meth:`get`, :meth:`update`), only if nobody wrote since, else
        :class:`SessionStateConflict`; without one, it replaces whatever is there."""
        store = self._ready()
        data = encode_session_document(document, limit=self._limit)
        if self._version is not None:
            if not await self._write(store, data, self._version):
                raise SessionStateConflict(
                    "the session state was written by another request since this one read it"
                )
            return
        await self._replace(store, data)

    async def clear(self) -> None:
        """Empty the state, whatever it holds."""
        await self._replace(self._ready(), b"")

    async def _replace(self, store: SessionStore, data: bytes) -> None:
        for _ in range(self._attempts):
            stored = await store.load_document(self._session_id)
            if await self._write(store, data, stored.version):
                return
        raise SessionStateConflict(
            f"the session state changed under {self._attempts} tries in a row: not written"
        )

    async def _write(self, store: SessionStore, data: bytes, version: int) -> bool:
        try:
            written = await store.write_document(self._session_id, data, version=version)
        except SessionNotFound:
            raise SessionStateGone("the session ended: its state is gone") from None
        if written is None:
            return False
        self._version = written
        return True
