"""The handshake-era session (2024-11-05 through 2025-11-25): one machine per session.

:class:`ServerSession` takes a client's messages one at a time and reports
events (:class:`RequestReceived`, :class:`ReplyReady`, ...); :class:`ServerConfig`
is what it serves with. Its state is plain data (:class:`SessionState`, its
:class:`SessionPhase`) a cluster store can keep, and its phases move only through
:data:`TRANSITIONS`, drawn by :func:`render_state_diagram`. The application's
own document kept with a session (``ctx.session_state``) is encoded and bounded by
:func:`encode_session_document`.
"""

from __future__ import annotations

from ._events import (
    ErrorReceived,
    Event,
    NotificationReceived,
    ReplyReady,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    SessionInitialized,
)
from ._session import ServerSession, node_of_request_id
from ._session_config import DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PENDING, ServerConfig
from ._session_document import (
    DEFAULT_MAX_SESSION_DOCUMENT,
    MAX_SESSION_DOCUMENT_DEPTH,
    SessionDocumentTooLarge,
    decode_session_document,
    encode_session_document,
)
from ._state import TRANSITIONS, SessionInput, SessionPhase, SessionState, render_state_diagram

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_SESSION_DOCUMENT",
    "MAX_SESSION_DOCUMENT_DEPTH",
    "DEFAULT_MAX_PENDING",
    "TRANSITIONS",
    "ErrorReceived",
    "Event",
    "NotificationReceived",
    "ReplyReady",
    "RequestCancelled",
    "RequestReceived",
    "ResponseReceived",
    "ServerConfig",
    "ServerSession",
    "SessionDocumentTooLarge",
    "SessionInitialized",
    "SessionInput",
    "SessionPhase",
    "SessionState",
    "decode_session_document",
    "encode_session_document",
    "node_of_request_id",
    "render_state_diagram",
]
