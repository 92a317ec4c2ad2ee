"""Events a handshake-era :class:`~scaled_mcp.protocol.client.ClientSession` reports.

Each is a frozen, slotted value object built from a message the session has
already checked. :data:`ClientEvent` is their union.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from ._jsonrpc import ErrorResponse, Notification, Request, RequestId, Response

__all__ = [
    "ClientEvent",
    "HandshakeCompleted",
    "HandshakeFailed",
    "ListChanged",
    "LogReceived",
    "ProgressReceived",
    "ReplyToServer",
    "RequestFailed",
    "ResourceUpdated",
    "ResultReceived",
    "ServerCancelled",
    "ServerNotification",
    "ServerRequest",
    "SubscriptionAcknowledged",
]


@attrs.frozen(slots=True)
class HandshakeCompleted:
    """The server answered ``initialize`` with a revision the client speaks:
    send :meth:`ClientSession.initialized` next."""

    protocol_version: str
    server_info: dict[str, Any]
    server_capabilities: dict[str, Any]
    instructions: str | None = None


@attrs.frozen(slots=True)
class HandshakeFailed:
    """``initialize`` failed: an error answer (``error``), a revision the client
    does not speak or a malformed result (``error`` is ``None``). The session is closed."""

    reason: str
    error: ErrorResponse | None = None


@attrs.frozen(slots=True)
class ResultReceived:
    """The server answered ``request`` with ``result``; it is no longer in flight."""

    request: Request
    result: dict[str, Any]


@attrs.frozen(slots=True)
class RequestFailed:
    """The server answered ``request`` with a JSON-RPC error; it is no longer in flight."""

    request: Request
    error: ErrorResponse


@attrs.frozen(slots=True)
class ServerRequest:
    """A server request the client declared it can serve (sampling, elicitation,
    roots): answer it with :meth:`ClientSession.answer` or ``answer_error``."""

    request: Request


@attrs.frozen(slots=True)
class ReplyToServer:
    """Send ``message`` to the server now: the core answered a ping, or refused
    a server request (unknown method, undeclared capability, bad params)."""

    message: Response | ErrorResponse


@attrs.frozen(slots=True)
class ProgressReceived:
    """``notifications/progress`` for the in-flight ``request`` that asked for it."""

    request: Request
    progress: float
    total: float | None = None
    message: str | None = None


@attrs.frozen(slots=True)
class LogReceived:
    """``notifications/message``: a log message at ``level``."""

    level: str
    data: Any
    logger: str | None = None


@attrs.frozen(slots=True)
class ListChanged:
    """``notifications/<kind>/list_changed``: ``tools``, ``resources`` or ``prompts``."""

    kind: str


@attrs.frozen(slots=True)
class ResourceUpdated:
    """``notifications/resources/updated``: the subscribed resource at ``uri`` changed."""

    uri: str


@attrs.frozen(slots=True)
class ServerCancelled:
    """The server gave up its request ``request_id``: stop serving it, send no answer.

    cancellation: "The receiver SHOULD NOT send a response for the cancelled request"."""

    request_id: RequestId
    reason: str | None = None


@attrs.frozen(slots=True)
class ServerNotification:
    """Any other server notification (an extension's, ``elicitation/complete``, ...)."""

    notification: Notification


@attrs.frozen(slots=True)
class SubscriptionAcknowledged:
    """2026-07-28: the server opened the ``subscriptions/listen`` stream
    ``subscription_id`` and honours ``notifications`` (the filter it granted)."""

    subscription_id: RequestId
    notifications: dict[str, Any]


ClientEvent: TypeAlias = (
    HandshakeCompleted
    | HandshakeFailed
    | ResultReceived
    | RequestFailed
    | ServerRequest
    | ReplyToServer
    | ProgressReceived
    | LogReceived
    | ListChanged
    | ResourceUpdated
    | ServerCancelled
    | ServerNotification
    | SubscriptionAcknowledged
)
"""Anything :meth:`ClientSession.receive` reports."""
