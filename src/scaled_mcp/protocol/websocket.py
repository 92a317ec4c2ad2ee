"""MCP over WebSocket (SEP-1288): the subprotocol offer, what each incoming frame
means, the close codes and the text of outgoing frames, for servers and clients."""

from __future__ import annotations

from ._websocket import (
    AUTH_SUBPROTOCOL_PREFIX,
    DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE,
    RECONNECTED_REASON,
    SESSION_ID_MEMBER,
    SUBPROTOCOL,
    VERSION_SUBPROTOCOL_PREFIX,
    AnswerError,
    CloseCode,
    CloseConnection,
    IncomingMessages,
    MessageAssembler,
    WebSocketDecision,
    WebSocketOffer,
    check_upgrade,
    client_subprotocols,
    close_for_failure,
    encode_text,
    encode_text_batch,
    is_websocket_upgrade,
    read_offer,
    too_many_requests_answers,
)

__all__ = [
    "AUTH_SUBPROTOCOL_PREFIX",
    "DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE",
    "RECONNECTED_REASON",
    "SESSION_ID_MEMBER",
    "SUBPROTOCOL",
    "VERSION_SUBPROTOCOL_PREFIX",
    "AnswerError",
    "CloseCode",
    "CloseConnection",
    "IncomingMessages",
    "MessageAssembler",
    "WebSocketDecision",
    "WebSocketOffer",
    "check_upgrade",
    "client_subprotocols",
    "close_for_failure",
    "is_websocket_upgrade",
    "encode_text",
    "encode_text_batch",
    "read_offer",
    "too_many_requests_answers",
]
