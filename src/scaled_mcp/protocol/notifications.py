"""Notifications both eras send the same way: progress, log messages, list and resource changes.

The notifications' builders, the syslog severities of ``notifications/message``
(:data:`LOG_LEVELS`) and the rule that a request's progress only increases
(:class:`ProgressOrder`).
"""

from __future__ import annotations

from ._notifications import (
    LOG_LEVELS,
    LogLevel,
    list_changed_notification,
    log_notification,
    progress_notification_for,
    resource_updated_notification,
)
from ._progress import ProgressOrder

__all__ = [
    "LOG_LEVELS",
    "LogLevel",
    "ProgressOrder",
    "list_changed_notification",
    "log_notification",
    "progress_notification_for",
    "resource_updated_notification",
]
