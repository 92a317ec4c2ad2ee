"""The tasks extension (``io.modelcontextprotocol/tasks``): the task state machine
(:class:`TaskRecord`), its wire shapes, the params of ``tasks/get``,
``tasks/update`` and ``tasks/cancel``, and the extension's negotiation."""

from __future__ import annotations

from ._tasks import (
    DEFAULT_POLL_INTERVAL_MS,
    DEFAULT_TASK_TTL_MS,
    MAX_TASK_ID_LENGTH,
    RESULT_TYPE_TASK,
    TASK_METHODS,
    TASKS_EXTENSION,
    TaskFinished,
    TaskRecord,
    TaskStatus,
    declares_tasks,
    iso_timestamp,
    parse_task_params,
    require_tasks_extension,
    task_ack,
    task_not_found,
    task_status_notification,
)

__all__ = [
    "DEFAULT_POLL_INTERVAL_MS",
    "DEFAULT_TASK_TTL_MS",
    "MAX_TASK_ID_LENGTH",
    "RESULT_TYPE_TASK",
    "TASKS_EXTENSION",
    "TASK_METHODS",
    "TaskFinished",
    "TaskRecord",
    "TaskStatus",
    "declares_tasks",
    "iso_timestamp",
    "parse_task_params",
    "require_tasks_extension",
    "task_ack",
    "task_not_found",
    "task_status_notification",
]
