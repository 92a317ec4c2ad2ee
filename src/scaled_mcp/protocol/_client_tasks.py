"""The client's side of tasks: reading what a server says about a task, and how
long to wait before asking again.

Two revisions: the tasks extension (``io.modelcontextprotocol/tasks``) on the
2026-07-28 wire, where a ``tools/call`` that declared the extension may be
answered with a flat ``CreateTaskResult`` (``resultType: "task"``) and
``tasks/get`` returns a ``DetailedTask`` (``inputRequests`` while
``input_required``, ``result`` once ``completed``, ``error`` once ``failed``);
and 2025-11-25's experimental tasks on handshake sessions (``{"task": Task}``,
``ttl`` and ``pollInterval``; outcomes through ``tasks/result``). Both are
read into one :class:`TaskSnapshot`. A server's answer that is not a task
raises :class:`~scaled_mcp.protocol.RemoteProtocolError` (-32603: the
client cannot use it).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._errors import ErrorCode, RemoteProtocolError
from ._input_required import MAX_INPUT_KEY_LENGTH, MAX_INPUT_REQUESTS
from ._tasks import DEFAULT_POLL_INTERVAL_MS, MAX_TASK_ID_LENGTH, TASKS_EXTENSION, TaskStatus

__all__ = [
    "MAX_POLL_INTERVAL",
    "MIN_POLL_INTERVAL",
    "TASK_AUGMENTABLE_METHODS",
    "TaskCreated",
    "TaskSnapshot",
    "parse_task",
    "poll_delay",
    "with_tasks_extension",
]

#: tasks: "The following methods currently support task-augmented execution:
#: ``tools/call``" (a ``CreateTaskResult`` to anything else is invalid).
TASK_AUGMENTABLE_METHODS: Final = frozenset({"tools/call"})
#: The shortest wait between two polls of a task, in seconds, whatever the server suggests.
MIN_POLL_INTERVAL: Final = 0.01
#: The longest wait between two polls, in seconds (a server may suggest more).
MAX_POLL_INTERVAL: Final = 30.0

_INPUT_METHODS: Final = frozenset({"elicitation/create", "sampling/createMessage", "roots/list"})


def _bad(why: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"the server's task is malformed: {why}", code=ErrorCode.INTERNAL_ERROR
    )


@attrs.frozen(slots=True, kw_only=True)
class TaskSnapshot:
    """A task as the server last described it.

    ``input_requests`` are the questions outstanding (2026-07-28, while
    ``input_required``: each a ``{"method", "params"}`` request to answer with
    ``tasks/update``), ``result`` the request's result once ``completed``
    (2026-07-28), ``error`` the JSON-RPC error object once ``failed``.
    ``poll_interval_ms`` and ``ttl_ms`` are the server's (``None``: not given;
    a ``ttl_ms`` of ``None`` also means unlimited).
    """

    task_id: str
    status: TaskStatus
    status_message: str | None = None
    created_at: str | None = None
    last_updated_at: str | None = None
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None
    input_requests: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        """Whether the task is over (``completed``, ``failed`` or ``cancelled``)."""
        return self.status.terminal


@attrs.frozen(slots=True)
class TaskCreated:
    """A :class:`~scaled_mcp.protocol.client.StatelessCall` outcome: the server
    answered with a ``CreateTaskResult`` (``result``, as received), read into
    ``task``; the call goes on as the task."""

    result: dict[str, Any]
    task: TaskSnapshot


def _optional_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise _bad(f"{key} must be a non-negative integer")
    return value


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and type(value) is not str:
        raise _bad(f"{key} must be a string")
    return value


def _input_requests(raw: object) -> dict[str, dict[str, Any]]:
    if type(raw) is not dict:
        raise _bad('"inputRequests" must be an object')
    if len(raw) > MAX_INPUT_REQUESTS:
        raise _bad(f"more than {MAX_INPUT_REQUESTS} input requests")
    checked: dict[str, dict[str, Any]] = {}
    for key, item in raw.items():
        if type(key) is not str or len(key) > MAX_INPUT_KEY_LENGTH:
            raise _bad("an inputRequests key is too long")
        if type(item) is not dict or item.get("method") not in _INPUT_METHODS:
            raise _bad(f"inputRequests[{key!r}] is not an elicitation, sampling or roots request")
        if item.get("params") is not None and type(item["params"]) is not dict:
            raise _bad(f"inputRequests[{key!r}].params must be an object")
        checked[key] = copy.deepcopy(item)
    return checked


def parse_task(data: object, *, handshake: bool = False) -> TaskSnapshot:
    """The task in ``data``: a 2026-07-28 ``CreateTaskResult``, ``GetTaskResult``
    or ``notifications/tasks`` params; with ``handshake``, a 2025-11-25 ``Task``
    (``{"task": Task}`` of a ``CreateTaskResult`` is unwrapped)."""
    if type(data) is not dict:
        raise _bad("not an object")
    if handshake and type(data.get("task")) is dict and "taskId" not in data:
        data = data["task"]
        assert type(data) is dict
    task_id = data.get("taskId")
    if type(task_id) is not str or not task_id or len(task_id) > MAX_TASK_ID_LENGTH:
        raise _bad("taskId must be a string of 1 to 128 characters")
    try:
        status = TaskStatus(str(data.get("status")))
    except ValueError:
        raise _bad(f"unknown status {str(data.get('status'))[:40]!r}") from None
    fields: dict[str, Any] = {
        "task_id": task_id,
        "status": status,
        "status_message": _optional_str(data, "statusMessage"),
        "created_at": _optional_str(data, "createdAt"),
        "last_updated_at": _optional_str(data, "lastUpdatedAt"),
        "ttl_ms": _optional_int(data, "ttl" if handshake else "ttlMs"),
        "poll_interval_ms": _optional_int(data, "pollInterval" if handshake else "pollIntervalMs"),
    }
    if not handshake:
        if status is TaskStatus.INPUT_REQUIRED and "inputRequests" in data:
            # A CreateTaskResult is a plain Task: its inputRequests come with tasks/get.
            fields["input_requests"] = _input_requests(data["inputRequests"])
        elif status is TaskStatus.COMPLETED and "result" in data:
            if type(data["result"]) is not dict:
                raise _bad('"result" must be an object')
            fields["result"] = copy.deepcopy(data["result"])
        elif status is TaskStatus.FAILED and "error" in data:
            error = data["error"]
            if type(error) is not dict or type(error.get("code")) is not int:
                raise _bad('"error" must be a JSON-RPC error object')
            fields["error"] = copy.deepcopy(error)
    return TaskSnapshot(**fields)


def poll_delay(task: TaskSnapshot) -> float:
    """Seconds to wait before the next ``tasks/get``: "Clients SHOULD respect
    the ``pollIntervalMs`` provided", kept within :data:`MIN_POLL_INTERVAL`
    and :data:`MAX_POLL_INTERVAL` (the server's default when it gave none)."""
    interval = task.poll_interval_ms
    seconds = (DEFAULT_POLL_INTERVAL_MS if interval is None else interval) / 1000
    return min(max(seconds, MIN_POLL_INTERVAL), MAX_POLL_INTERVAL)


def with_tasks_extension(capabilities: Mapping[str, Any]) -> dict[str, Any]:
    """``capabilities`` declaring the tasks extension too (tasks: "the client
    signals support by including the extension in its per-request
    capabilities")."""
    out = copy.deepcopy(dict(capabilities))
    extensions = out.get("extensions")
    out["extensions"] = {**(extensions if type(extensions) is dict else {}), TASKS_EXTENSION: {}}
    return out
