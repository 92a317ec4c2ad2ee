"""What a server notification means to a client, in both eras.

:func:`notification_event` reads log messages, list changes, resource
updates and any other notification into the client's events;
:func:`progress_update` reads ``notifications/progress`` (the caller maps its
token to the request that gave it: the handshake-era session does it with its
in-flight table, a stateless client with the token it put in ``_meta``).
Malformed notifications are dropped (``None``): "The receiver MUST NOT send a
response" to a notification, so there is nobody to tell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._client_events import (
    ClientEvent,
    ListChanged,
    LogReceived,
    ResourceUpdated,
    ServerNotification,
    SubscriptionAcknowledged,
)
from ._jsonrpc import Notification
from ._meta import META_SUBSCRIPTION_ID
from ._notifications import LOG_LEVELS

__all__ = ["ProgressUpdate", "notification_event", "progress_update"]

_LIST_KINDS: Final[Mapping[str, str]] = {
    "notifications/tools/list_changed": "tools",
    "notifications/resources/list_changed": "resources",
    "notifications/prompts/list_changed": "prompts",
}
_NO_PARAMS: Final[Mapping[str, Any]] = {}


@attrs.frozen(slots=True)
class ProgressUpdate:
    """A ``notifications/progress``, its token not yet mapped to a request."""

    token: str | int
    progress: float
    total: float | None = None
    message: str | None = None


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def progress_update(notification: Notification) -> ProgressUpdate | None:
    """The progress ``notification`` reports, or ``None`` if it is not a valid
    ``notifications/progress`` (a string or integer token, a finite number)."""
    if notification.method != "notifications/progress":
        return None
    params = notification.params if notification.params is not None else _NO_PARAMS
    token = params.get("progressToken")
    progress = params.get("progress")
    total = params.get("total")
    message = params.get("message")
    if (type(token) is not str and type(token) is not int) or not _is_number(progress):
        return None
    assert isinstance(progress, int | float)
    return ProgressUpdate(
        token,
        progress,
        total if _is_number(total) else None,
        message if type(message) is str else None,
    )


def notification_event(notification: Notification) -> ClientEvent | None:
    """What a server notification other than progress and cancellation means:
    :class:`LogReceived`, :class:`ListChanged`, :class:`ResourceUpdated`, or
    :class:`SubscriptionAcknowledged`, or :class:`ServerNotification` for any
    other; ``None`` when malformed."""
    method = notification.method
    params = notification.params if notification.params is not None else _NO_PARAMS
    if method == "notifications/message":
        level = params.get("level")
        logger = params.get("logger")
        if level not in LOG_LEVELS or "data" not in params:
            return None
        assert type(level) is str
        return LogReceived(level, params["data"], logger if type(logger) is str else None)
    kind = _LIST_KINDS.get(method)
    if kind is not None:
        return ListChanged(kind)
    if method == "notifications/resources/updated":
        uri = params.get("uri")
        return ResourceUpdated(uri) if type(uri) is str else None
    if method == "notifications/subscriptions/acknowledged":
        # subscriptions: the acknowledgement carries the subscription's id in
        # _meta and the filter the server honours.
        meta = params.get("_meta")
        subscription_id = meta.get(META_SUBSCRIPTION_ID) if type(meta) is dict else None
        granted = params.get("notifications", {})
        if (type(subscription_id) is not str and type(subscription_id) is not int) or (
            type(granted) is not dict
        ):
            return None
        return SubscriptionAcknowledged(subscription_id, granted)
    return ServerNotification(notification)
