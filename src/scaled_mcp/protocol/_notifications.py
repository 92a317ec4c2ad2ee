"""Notifications both eras send the same way: progress, log messages, changes.

The era decides *whether* one is sent (a session's log level or a request's
``_meta``; a session's in-flight table or a request's envelope); this module
owns what the notification looks like, and the log levels with their order.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

from ._errors import LocalProtocolError
from ._jsonrpc import Notification

__all__ = [
    "LOG_LEVELS",
    "LogLevel",
    "list_changed_notification",
    "log_notification",
    "progress_notification_for",
    "resource_updated_notification",
]

LogLevel: TypeAlias = Literal[
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"
]
"""A ``LoggingLevel``: the syslog severities of ``notifications/message``, least severe first."""

#: The syslog severities of ``notifications/message``, least severe first.
LOG_LEVELS: Final[tuple[LogLevel, ...]] = typing.get_args(LogLevel)

# Each level's rank in that order: a client that asks for a level gets it and
# every more severe one (logging: "at or above the requested level").
_LOG_RANK: Final[Mapping[str, int]] = {level: rank for rank, level in enumerate(LOG_LEVELS)}


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LocalProtocolError(f"{name} must be a number, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise LocalProtocolError(f"{name} must be finite, not {value!r}")


def progress_notification_for(
    token: str | int, progress: float, total: float | None = None, message: str | None = None
) -> Notification:
    """``notifications/progress`` carrying "The original progress token"."""
    _check_number("progress", progress)
    params: dict[str, Any] = {"progressToken": token, "progress": progress}
    if total is not None:
        _check_number("total", total)
        params["total"] = total
    if message is not None:
        if type(message) is not str:
            raise LocalProtocolError(f"message must be a string, not {message!r}")
        params["message"] = message
    return Notification("notifications/progress", params)


def log_notification(level: str, data: Any, logger: str | None = None) -> Notification:
    """``notifications/message`` with ``level``, ``data`` and the optional ``logger`` name."""
    params: dict[str, Any] = {"level": level, "data": data}
    if logger is not None:
        if type(logger) is not str:
            raise LocalProtocolError(f"logger must be a string, not {logger!r}")
        params["logger"] = logger
    return Notification("notifications/message", params)


def list_changed_notification(kind: str) -> Notification:
    """``notifications/<kind>/list_changed`` (``tools``, ``resources``, ``prompts``)."""
    return Notification(f"notifications/{kind}/list_changed")


def resource_updated_notification(uri: str) -> Notification:
    """``notifications/resources/updated`` for the resource at ``uri``."""
    return Notification("notifications/resources/updated", {"uri": uri})
