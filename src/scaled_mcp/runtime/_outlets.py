"""Where the messages of a request go: the POST that carried it, or an event log.

A POST's messages go back on its own HTTP response: one JSON body when the
handler finishes without emitting anything, else an SSE stream begun the moment
the handler first emits. Handshake-era stream events are appended to the
session's event log first, so that a client can resume the stream on any node.
Messages for a stream held elsewhere (the 2024-11-05 ``GET /sse`` stream) go to
its log only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Final, Protocol

import trio

from ..protocol.http import Headers, ResponseMode, post_reply, response_start, streams_replies
from ..protocol.jsonrpc import Message, RequestId, encode_message
from ..protocol.sse import encode_message_event, encode_priming_event, format_event_id
from ..protocol.versions import Era
from ._front import ClientGone, Responder

if TYPE_CHECKING:
    from ._node import Node

__all__ = ["OUTLET_TRANSITIONS", "LogOutlet", "Outlet", "OutletState", "PostOutlet"]


class Outlet(Protocol):
    """Where the messages of one request (or one body of messages) go."""

    async def begin_stream(self) -> None: ...
    async def close_stream(self) -> None: ...
    async def emit(self, message: Message) -> None: ...
    async def finish(self, replies: list[Message], *, batch: bool, era: Era) -> None: ...


class OutletState(enum.Enum):
    """Where the answer to a POST is."""

    #: Nothing sent yet: the answer may still be one JSON body.
    PENDING = "pending"
    #: The SSE response has begun.
    STREAMING = "streaming"
    #: The stream's connection is over (the client went, or the server closed
    #: it for the client to resume): events go on to the event log only.
    DETACHED = "detached"


#: Every legal move of a :class:`PostOutlet`: ``{state: next states}``.
OUTLET_TRANSITIONS: Final[Mapping[OutletState, frozenset[OutletState]]] = {
    OutletState.PENDING: frozenset({OutletState.STREAMING}),
    OutletState.STREAMING: frozenset({OutletState.DETACHED}),
    OutletState.DETACHED: frozenset(),
}


class PostOutlet:
    """Where one POST's messages go: a JSON body, or an SSE stream begun on demand.

    ``log_session`` names the session whose event log records the stream
    (handshake era); ``None`` on the stateless wire, whose streams "are not
    resumable". ``priming``: begin the stream with a priming event (see
    :func:`~scaled_mcp.protocol.versions.primes_sse_streams`). ``prefer_stream``:
    answer on a stream even when nothing was emitted before the reply.
    """

    __slots__ = (
        "_extra_headers",
        "_lock",
        "_node",
        "_prefer_stream",
        "_priming",
        "_requests",
        "_responder",
        "_stream_id",
        "log_session",
        "on_stream",
        "state",
    )

    def __init__(
        self,
        node: Node,
        responder: Responder,
        log_session: str | None,
        *,
        priming: bool,
        prefer_stream: bool = False,
        extra_headers: Headers = (),
        requests: tuple[RequestId, ...] = (),
    ) -> None:
        self._node = node
        self._requests = requests
        self._responder = responder
        self.log_session = log_session
        self._priming = priming
        self._prefer_stream = prefer_stream
        self._extra_headers = extra_headers
        # Made when the stream begins: most answers are one JSON body, sent once.
        self._lock: trio.Lock | None = None
        self._stream_id: str | None = None
        #: Moves only through :data:`OUTLET_TRANSITIONS` (see :meth:`_move`).
        self.state = OutletState.PENDING
        #: Called when the stream begins (the stateless wire starts watching for
        #: a disconnect then).
        self.on_stream: Callable[[], None] | None = None

    def _move(self, state: OutletState) -> None:
        if state not in OUTLET_TRANSITIONS[self.state]:
            raise RuntimeError(f"an outlet cannot move from {self.state} to {state}")
        self.state = state

    async def begin_stream(self) -> None:
        """Start the SSE response (idempotent)."""
        if self.state is not OutletState.PENDING:
            return
        if self._lock is None:
            self._lock = trio.Lock()
        async with self._lock:
            if self._stream_id is not None:  # another task began it meanwhile
                return
            self._move(OutletState.STREAMING)
            if self.on_stream is not None:
                self.on_stream()
            status, headers = response_start(ResponseMode.SSE)
            self._stream_id = self._node.new_stream_id()
            if self.log_session is not None:
                await self._node.backend.events.open(
                    self.log_session, self._stream_id, self._requests
                )
            try:
                await self._responder.start(status, (*headers, *self._extra_headers))
                if self._priming and self.log_session is not None:
                    # "The server SHOULD immediately send an SSE event consisting
                    # of an event ID and an empty data field".
                    priming = encode_priming_event(
                        format_event_id(self._stream_id, 0),
                        retry=self._node.config.sse_retry_ms,
                    )
                    await self._responder.send(priming)
            except ClientGone:
                self._move(OutletState.DETACHED)

    async def emit(self, message: Message) -> None:
        """Send one message on the stream (beginning it if need be)."""
        await self.begin_stream()
        body = encode_message(message)
        assert self._lock is not None
        async with self._lock:
            event_id = None
            if self.log_session is not None:
                assert self._stream_id is not None
                seq = await self._node.backend.events.append(
                    self.log_session, self._stream_id, body
                )
                event_id = format_event_id(self._stream_id, seq)
            if self.state is OutletState.DETACHED:
                return
            try:
                await self._responder.send(encode_message_event(body, event_id=event_id))
            except ClientGone:
                self._move(OutletState.DETACHED)

    async def close_stream(self) -> None:
        """End the HTTP response now; later events go to the log only, and the
        client resumes them with a GET and ``Last-Event-ID`` (2025-11-25: the
        server "MAY close the connection" after the priming event; the client
        "SHOULD" reconnect after the ``retry`` time)."""
        await self.begin_stream()
        assert self._lock is not None
        async with self._lock:
            if self.state is OutletState.STREAMING:
                self._move(OutletState.DETACHED)
                with suppress(ClientGone):
                    await self._responder.end()

    async def finish(self, replies: list[Message], *, batch: bool, era: Era) -> None:
        """Send the replies: as the JSON body, or as the last events of the stream."""
        if (
            self.state is OutletState.PENDING
            and self._prefer_stream
            and streams_replies(replies, era)
        ):
            await self.begin_stream()
        if self.state is OutletState.PENDING:
            status, headers, body = post_reply(replies, batch=batch, era=era)
            await self._responder.respond(status, (*headers, *self._extra_headers), body)
            return
        for reply in replies:
            await self.emit(reply)
        if self.log_session is not None and self._stream_id is not None:
            await self._node.backend.events.end(self.log_session, self._stream_id)


class LogOutlet:
    """Messages for a stream that lives only in the event log (the legacy
    ``GET /sse`` stream, a session's GET stream): whoever holds the stream
    connection delivers them."""

    __slots__ = ("_node", "_session_id", "_stream_id")

    def __init__(self, node: Node, session_id: str, stream_id: str) -> None:
        self._node = node
        self._session_id = session_id
        self._stream_id = stream_id

    async def begin_stream(self) -> None:
        return

    async def close_stream(self) -> None:
        return

    async def emit(self, message: Message) -> None:
        await self._node.backend.events.append(
            self._session_id, self._stream_id, encode_message(message)
        )

    async def finish(self, replies: list[Message], *, batch: bool, era: Era) -> None:
        for reply in replies:
            await self.emit(reply)
