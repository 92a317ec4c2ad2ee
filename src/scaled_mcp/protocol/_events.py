"""Events a handshake-era :class:`~scaled_mcp.protocol.ServerSession` reports.

Each is a frozen, slotted value object (h11 ``_events.py``): the session builds
them from messages it has already checked, so they carry no validation of their own.
"""

from __future__ import annotations

import attrs

from ._jsonrpc import ErrorResponse, Message, Notification, Request, RequestId, Response

__all__ = [
    "ErrorReceived",
    "Event",
    "NotificationReceived",
    "ReplyReady",
    "RequestCancelled",
    "RequestReceived",
    "ResponseReceived",
    "SessionInitialized",
]


@attrs.frozen(slots=True)
class RequestReceived:
    """A client request for the application to answer with
    ``send_response`` or ``send_error``; it stays in flight until then."""

    request: Request


@attrs.frozen(slots=True)
class NotificationReceived:
    """A client notification the core does not consume itself
    (``notifications/progress``, ``notifications/roots/list_changed``, …)."""

    notification: Notification


@attrs.frozen(slots=True)
class ResponseReceived:
    """The client's result for a request the server sent (sampling, elicitation, roots, ping)."""

    response: Response
    request: Request


@attrs.frozen(slots=True)
class ErrorReceived:
    """The client's error for a request the server sent."""

    error: ErrorResponse
    request: Request


@attrs.frozen(slots=True)
class RequestCancelled:
    """The client cancelled a request in flight: stop it and send no response
    (cancellation: receivers "SHOULD ... Not send a response for the cancelled request")."""

    request_id: RequestId
    reason: str | None


@attrs.frozen(slots=True)
class SessionInitialized:
    """The client sent ``notifications/initialized``: normal operation begins."""


@attrs.frozen(slots=True)
class ReplyReady:
    """A reply the core produced by itself (``initialize``, ``ping``,
    ``logging/setLevel``, ``resources/subscribe`` …): send it to the client."""

    message: Message


Event = (
    RequestReceived
    | NotificationReceived
    | ResponseReceived
    | ErrorReceived
    | RequestCancelled
    | SessionInitialized
    | ReplyReady
)
"""Any event of a handshake-era session."""
