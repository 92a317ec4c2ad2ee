"""The tasks extension (``io.modelcontextprotocol/tasks``): the task state machine
(:class:`TaskRecord`), its wire shapes, the params of ``tasks/get``,
``tasks/update`` and ``tasks/cancel``, and the extension's negotiation; and the
2025-11-25 revision's experimental tasks on handshake sessions (``task_v1``)."""

from __future__ import annotations

from ._tasks import (
    DEFAULT_POLL_INTERVAL_MS,
    DEFAULT_TASK_TTL_MS,
    HANDSHAKE_TASK_METHODS,
    HANDSHAKE_TASKS_CAPABILITY,
    MAX_TASK_ID_LENGTH,
    RELATED_TASK_META,
    RESULT_TYPE_TASK,
    TASK_METHODS,
    TASKS_EXTENSION,
    TaskFinished,
    TaskRecord,
    TaskStatus,
    declares_tasks,
    iso_timestamp,
    parse_task_augmentation,
    parse_task_params,
    require_tasks_extension,
    task_ack,
    task_not_found,
    task_status_notification,
)

__all__ = [
    "DEFAULT_POLL_INTERVAL_MS",
    "DEFAULT_TASK_TTL_MS",
    "HANDSHAKE_TASKS_CAPABILITY",
    "HANDSHAKE_TASK_METHODS",
    "MAX_TASK_ID_LENGTH",
    "RELATED_TASK_META",
    "RESULT_TYPE_TASK",
    "TASKS_EXTENSION",
    "TASK_METHODS",
    "TaskFinished",
    "TaskRecord",
    "TaskStatus",
    "declares_tasks",
    "iso_timestamp",
    "parse_task_augmentation",
    "parse_task_params",
    "require_tasks_extension",
    "task_ack",
    "task_not_found",
    "task_status_notification",
]
