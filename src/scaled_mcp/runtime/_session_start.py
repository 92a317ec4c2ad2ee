"""The start of a handshake-era session over HTTP: a POST of ``initialize``.

The spec (basic/transports, Session Management): "A server using the Streamable
HTTP transport MAY assign a session ID at initialization time, by including it
in an ``Mcp-Session-Id`` header on the HTTP response containing the
``InitializeResult``." The session is stored (so any node can serve its next
request) before the answer naming it is sent; its owner is the principal that
started it.
"""

from __future__ import annotations

import time

from ..protocol.http import Headers, ProcessMessages, post_reply, service_unavailable
from ..protocol.jsonrpc import RemoteProtocolError, Request, error_response_for
from ..protocol.session import ReplyReady
from ..protocol.versions import Era
from ._admission import admit_messages
from ._answers import reject, respond
from ._auth import principal_key
from ._front import Responder
from ._node import Node
from ._sessions import LiveSession

__all__ = ["initialize_session"]


async def initialize_session(
    node: Node, decision: ProcessMessages, responder: Responder, extra: Headers
) -> None:
    """Answer a POST of ``initialize`` without a session: start one on ``node``
    (making room at ``max_sessions`` by ending the session idle longest), or
    refuse it (503 when the node is full; what the application's middleware or
    the core refuses)."""
    sessions, config, app = node.sessions, node.config, node.app
    message = decision.messages[0]
    if len(sessions) >= config.max_sessions:
        # Make room: end the session idle longest (its client's next request gets
        # 404 and it starts a new one, as the spec has clients do), so that
        # sessions opened and abandoned do not keep new clients out.
        idlest = sessions.idlest(time.time() - config.evict_idle_after)
        if idlest is not None:
            await sessions.terminate(idlest)
    if len(sessions) >= config.max_sessions:
        full = service_unavailable(
            "this node serves too many sessions",
            message.id if type(message) is Request else None,
        )
        await reject(responder, full, extra)
        return
    assert isinstance(message, Request)
    if app.admit is not None:
        _, refused = await admit_messages(app.admit, (message,), session_id=None, client_info={})
        if refused:
            answer = post_reply(refused, batch=False, era=Era.HANDSHAKE)
            await respond(responder, answer, extra)
            return
    session = sessions.new_session()
    session.owner = principal_key()
    session_id = session.session_id
    try:
        events = session.receive(message, now=time.time())
    except RemoteProtocolError as exc:
        await respond(
            responder,
            post_reply([error_response_for(exc)], batch=False, era=Era.HANDSHAKE),
            extra,
        )
        return
    reply = events[0]
    assert type(reply) is ReplyReady
    live = LiveSession(session)
    sessions.add(live)
    await sessions.save(live, None)
    await respond(
        responder,
        post_reply([reply.message], batch=False, era=Era.HANDSHAKE, session_id=session_id),
        extra,
    )
