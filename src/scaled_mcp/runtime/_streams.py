"""The SSE streams a client reads with a GET, served from the event log.

A session's standalone GET stream (one per session, on whichever node: a
lease says which), the resumption of any stream with ``Last-Event-ID``, and
the 2024-11-05 ``GET /sse`` stream all send what the session's event log holds
and then what is appended to it, with heartbeats. Broadcasts meant for the
session are copied into the log of the stream that carries its messages of no
request. A stream whose writer died is answered here (its requests get errors).
"""

from __future__ import annotations

from contextlib import suppress

import trio

from ..cluster import BackendUnavailable
from ..protocol.http import (
    Headers,
    OpenStream,
    Reject,
    ResponseMode,
    response_start,
    resume_point,
    stream_conflict,
    stream_expired,
)
from ..protocol.jsonrpc import encode_message
from ..protocol.nodes import (
    BROADCAST_CHANNEL,
    Broadcast,
    decode_broadcast,
    logged_broadcast,
    node_of_stream_id,
    orphaned_replies,
)
from ..protocol.sse import (
    encode_comment,
    encode_message_event,
    encode_priming_event,
    format_event_id,
)
from ._answers import cancel_when, reject
from ._front import Responder
from ._node import BROADCAST_LOG, BROADCAST_STREAM, GET_STREAM, Node
from ._sessions import LiveSession

__all__ = ["GetStreams"]


class GetStreams:
    """The GET streams of one node (see the module docstring)."""

    __slots__ = ("_backend", "_config", "_node", "_node_id")

    def __init__(self, node: Node) -> None:
        self._node = node
        self._backend = node.backend
        self._config = node.config
        self._node_id = node.node_id

    async def open(self, decision: OpenStream, responder: Responder, extra: Headers) -> None:
        """Serve a GET: the session's standalone stream, or the resumption of a stream
        named by ``Last-Event-ID``."""
        live = self._node.sessions.take(decision.session)
        start = resume_point(decision)
        if type(start) is Reject:
            await reject(responder, start, extra)
            return
        assert type(start) is tuple
        resumed, after = start
        stream_id = GET_STREAM if resumed is None else resumed
        standalone = stream_id == GET_STREAM
        session_id = decision.session_id
        lease = f"get:{session_id}"
        owner = f"{self._node_id}/{self._node.new_stream_id()}"
        if standalone:
            # One GET stream per session, on whichever node: a second one would
            # split the messages. A dead node's stream is taken over.
            held_by = await self._backend.nodes.claim(lease, owner, ttl=self._lease_ttl)
            if held_by is not None and not await self._backend.nodes.alive(
                held_by.partition("/")[0]
            ):
                held_by = await self._backend.nodes.claim(
                    lease, owner, ttl=self._lease_ttl, replace=held_by
                )
            if held_by is not None:
                await reject(responder, stream_conflict(), extra)
                return
            await self._backend.events.open(session_id, GET_STREAM)
        elif not await self._backend.events.exists(session_id, stream_id):
            await reject(responder, stream_expired(), extra)
            return
        else:
            await self._recover_if_orphaned(session_id, stream_id)
        live.listening += 1
        try:
            status, headers = response_start(ResponseMode.SSE)
            await responder.start(status, (*headers, *extra))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_when, responder.wait_disconnected, nursery.cancel_scope)
                nursery.start_soon(cancel_when, self._node.closing.wait, nursery.cancel_scope)
                if standalone:
                    nursery.start_soon(
                        self._hold_lease, session_id, lease, owner, nursery.cancel_scope
                    )
                    nursery.start_soon(self.forward_broadcasts, live, GET_STREAM)
                    if after < 0:
                        # A fresh GET stream: what the log holds was delivered on
                        # earlier ones; prime it so that the client can resume it.
                        earlier = await self._backend.events.read(session_id, GET_STREAM, 0, wait=0)
                        after = earlier.events[-1][0] if earlier.events else 0
                        await responder.send(
                            encode_priming_event(
                                format_event_id(GET_STREAM, after), retry=self._config.sse_retry_ms
                            )
                        )
                await self.tail(session_id, stream_id, after, responder, resumed=not standalone)
                nursery.cancel_scope.cancel()
        finally:
            live.listening -= 1
            if standalone:
                with trio.CancelScope(shield=True), suppress(BackendUnavailable):
                    with trio.move_on_after(2):
                        await self._backend.nodes.release(lease, owner)

    @property
    def _lease_ttl(self) -> float:
        return max(self._config.node_heartbeat_ttl, 3 * self._config.heartbeat_interval)

    async def _hold_lease(
        self, session_id: str, lease: str, owner: str, stream: trio.CancelScope
    ) -> None:
        """Renew a GET stream's lease while it is open (and keep its session from
        expiring: a client listening is not idle); end the stream if lost."""
        ttl = self._lease_ttl
        while True:
            await trio.sleep(ttl / 3)
            try:
                held_by = await self._backend.nodes.claim(lease, owner, ttl=ttl)
                await self._backend.sessions.touch(
                    session_id, ttl=self._config.session_idle_timeout
                )
            except BackendUnavailable:
                continue
            if held_by is not None:
                stream.cancel()
                return

    async def _recover_if_orphaned(self, session_id: str, stream_id: str) -> None:
        """A client resumes a stream whose node died before finishing it: answer
        its requests with an error here, instead of leaving the client waiting."""
        node = node_of_stream_id(stream_id)
        if node is None or node == self._node_id or await self._backend.nodes.alive(node):
            return
        events = self._backend.events
        logged = await events.read(session_id, stream_id, 0, wait=0)
        if logged.ended:
            return
        held_by = await self._backend.nodes.claim(
            f"recover:{session_id}:{stream_id}", self._node_id, ttl=self._lease_ttl
        )
        if held_by is not None:
            return  # another node is answering them
        requests = await events.requests(session_id, stream_id)
        for lost in orphaned_replies(node, requests, (data for _, data in logged.events)):
            with suppress(ValueError):
                await events.append(session_id, stream_id, encode_message(lost))
        await events.end(session_id, stream_id)

    async def forward_broadcasts(self, live: LiveSession, stream_id: str) -> None:
        """Copy the broadcasts meant for this session into the log of the stream
        that carries its messages of no request, each once: the stream keeps the
        number of the last broadcast it took (its cursor), so that a stream taken
        over by another node first catches up from the broadcast log."""
        session = live.session
        events = self._backend.events
        async with self._backend.broker.subscribe(BROADCAST_CHANNEL) as live_messages:
            # The stream keeps (last broadcast taken + 1): 0 means a new stream.
            stored = await events.cursor(session.session_id, stream_id)
            if stored == 0:
                # A new stream starts from now, not from the broadcasts before it.
                logged = await events.read(BROADCAST_LOG, BROADCAST_STREAM, 0, wait=0)
                cursor = logged.events[-1][0] if logged.events else 0
            else:
                cursor = stored - 1
                logged = await events.read(BROADCAST_LOG, BROADCAST_STREAM, cursor, wait=0)
                for seq, body in logged.events:
                    broadcast = logged_broadcast(seq, body)
                    cursor = await self._take_broadcast(live, stream_id, broadcast, cursor)
            await events.set_cursor(session.session_id, stream_id, cursor + 1)
            async for payload in live_messages:
                broadcast = decode_broadcast(payload)
                cursor = await self._take_broadcast(live, stream_id, broadcast, cursor)

    async def _take_broadcast(
        self, live: LiveSession, stream_id: str, broadcast: Broadcast, cursor: int
    ) -> int:
        """Append ``broadcast`` to the stream if it is new and meant for the
        session; the new cursor."""
        seq = broadcast.seq
        if seq <= cursor:
            return cursor
        session = live.session
        events = self._backend.events
        if session.wants_broadcast(broadcast.notification):
            # The event and the cursor in one step: a node killed in between
            # must neither lose the broadcast nor leave it to be copied twice.
            body = encode_message(broadcast.notification)
            await events.append(session.session_id, stream_id, body, cursor=seq + 1)
        else:
            await events.set_cursor(session.session_id, stream_id, seq + 1)
        return seq

    async def tail(
        self,
        session_id: str,
        stream_id: str,
        after: int,
        responder: Responder,
        *,
        resumed: bool = False,
    ) -> None:
        """Send the events of a logged stream after ``after``, then live ones,
        with heartbeats, until the stream ends or the client goes. A resumed
        request stream is checked for a dead writer whenever it is idle."""
        events = self._backend.events
        heartbeat = self._config.heartbeat_interval
        if resumed:
            heartbeat = min(heartbeat, self._config.node_heartbeat_ttl / 2)
        while True:
            read = await events.read(session_id, stream_id, after, wait=heartbeat)
            if resumed and not read.events and not read.ended:
                await self._recover_if_orphaned(session_id, stream_id)
                await responder.send(encode_comment())
                continue
            if read.events:
                chunk = b"".join(
                    encode_message_event(data, event_id=format_event_id(stream_id, seq))
                    for seq, data in read.events
                )
                await responder.send(chunk)
                after = read.events[-1][0]
            elif read.ended:
                return
            else:
                await responder.send(encode_comment())
            if read.ended and not read.events:
                return
