"""The 2024-11-05 HTTP+SSE transport: ``GET /sse`` and ``POST /messages``.

The client opens ``GET /sse`` first: the session is made then, and the
stream's first event names where to POST. Each POST is accepted at once
(``202``); its messages are handled in the background and every answer goes
out on the ``GET /sse`` stream, through the session's event log, whichever
node holds the stream.
"""

from __future__ import annotations

import logging
from typing import Protocol

import trio

from ..cluster import BackendUnavailable
from ..protocol.http import (
    LEGACY_ENDPOINT_EVENT,
    Headers,
    HttpRequest,
    ProcessMessages,
    ResponseMode,
    legacy_endpoint_url,
    legacy_post_reply,
    response_start,
)
from ..protocol.jsonrpc import Message, RemoteProtocolError
from ..protocol.sse import ServerSentEvent, encode_event
from ._answers import cancel_when, respond
from ._auth import principal_key
from ._front import Responder, mounted_at
from ._node import LEGACY_STREAM, Node
from ._outlets import LogOutlet, Outlet
from ._sessions import LiveSession
from ._streams import GetStreams

__all__ = ["LegacyTransport"]

_log = logging.getLogger("scaled_mcp.runtime")


class _Process(Protocol):
    """Feeds a POST's messages to the session, runs the requests, answers."""

    async def __call__(
        self,
        live: LiveSession,
        messages: tuple[Message | RemoteProtocolError, ...],
        outlet: Outlet,
        *,
        batch: bool,
    ) -> None: ...


class LegacyTransport:
    """The 2024-11-05 endpoints of one node; ``process`` answers a body of messages."""

    __slots__ = ("_node", "_process", "_streams")

    def __init__(self, node: Node, streams: GetStreams, process: _Process) -> None:
        self._node = node
        self._streams = streams
        self._process = process

    async def open_stream(self, request: HttpRequest, responder: Responder, extra: Headers) -> None:
        """Serve ``GET /sse``: a new session, whose messages all go on this stream."""
        node = self._node
        sessions = node.sessions
        live = LiveSession(sessions.new_session())
        live.session.owner = principal_key()
        session_id = live.session.session_id
        sessions.add(live)
        sessions.legacy_open.add(session_id)
        try:
            # Stored with its owner before the client learns its id: a POST landing on
            # another node before ``initialize`` is judged by the owner too.
            await sessions.save(live, None)
            await node.backend.events.open(session_id, LEGACY_STREAM)
            status, headers = response_start(ResponseMode.SSE)
            await responder.start(status, (*headers, *extra))
            url = legacy_endpoint_url(session_id, node.config.http, root_path=mounted_at.get())
            await responder.send(
                encode_event(ServerSentEvent(data=url, event=LEGACY_ENDPOINT_EVENT))
            )
            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_when, responder.wait_disconnected, nursery.cancel_scope)
                nursery.start_soon(cancel_when, node.closing.wait, nursery.cancel_scope)
                nursery.start_soon(self._streams.forward_broadcasts, live, LEGACY_STREAM)
                await self._streams.tail(session_id, LEGACY_STREAM, 0, responder)
                nursery.cancel_scope.cancel()
        finally:
            sessions.legacy_open.discard(session_id)
            await sessions.terminate(session_id)

    async def post(self, decision: ProcessMessages, responder: Responder, extra: Headers) -> None:
        """Serve ``POST /messages``: accept it now, answer on the ``GET /sse`` stream."""
        assert decision.session_id is not None
        session_id = decision.session_id
        sessions = self._node.sessions
        live = sessions.get(session_id)
        if decision.session is not None:
            live = sessions.take(decision.session)
        elif live is None:
            # The stream is held by another node and initialize is yet to come.
            live = LiveSession(sessions.new_session(session_id))
            live.session.owner = principal_key()
            sessions.add(live)
        await respond(responder, legacy_post_reply(), extra)
        outlet = LogOutlet(self._node, session_id, LEGACY_STREAM)
        self._node.start_soon(self._answer, live, decision, outlet)

    async def _answer(
        self, live: LiveSession, decision: ProcessMessages, outlet: LogOutlet
    ) -> None:
        try:
            await self._process(live, decision.messages, outlet, batch=decision.batch)
        except BackendUnavailable:
            _log.warning("a legacy message was not answered: the backend is unavailable")
