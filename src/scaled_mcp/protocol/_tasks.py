"""The tasks extension (``io.modelcontextprotocol/tasks``): a task's state machine
and the messages about it.

tasks (SEP-2663): "Tasks are durable state machines that carry information
about the underlying execution state of the request they augment". A
:class:`TaskRecord` is that state as plain data, kept in the cluster's task
store so that any node answers ``tasks/get``, ``tasks/update`` and
``tasks/cancel``; its transitions are the diagram of the specification::

    working -> input_required -> working ... -> completed | failed | cancelled

Terminal states are final: a transition out of one is refused
(:class:`TaskFinished`). This module also builds the wire shapes (the flat
``CreateTaskResult``, the ``DetailedTask`` of ``tasks/get`` and
``notifications/tasks``, the empty acknowledgements), reads the params of the
three methods, and decides whether a request declared the extension. It reads
no clock: every transition takes ``now`` (seconds since the epoch).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._jsonrpc import RequestId
from ._meta import missing_capability_error
from ._results import RESULT_TYPE_COMPLETE

__all__ = [
    "DEFAULT_POLL_INTERVAL_MS",
    "DEFAULT_TASK_TTL_MS",
    "HANDSHAKE_TASK_METHODS",
    "HANDSHAKE_TASKS_CAPABILITY",
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

#: The extension's identifier, under ``capabilities.extensions``.
TASKS_EXTENSION: Final = "io.modelcontextprotocol/tasks"
#: tasks: "Servers MUST set ``resultType`` to ``"task"`` when returning a ``CreateTaskResult``".
RESULT_TYPE_TASK: Final = "task"
#: The methods the extension adds (``tasks/result`` and ``tasks/list`` of
#: 2025-11-25 are gone: "There is no separate ``tasks/result`` method").
TASK_METHODS: Final = frozenset({"tasks/get", "tasks/update", "tasks/cancel"})
#: How long a task is kept after its creation unless the server says otherwise.
DEFAULT_TASK_TTL_MS: Final = 60 * 60 * 1000
#: The polling interval suggested to clients.
DEFAULT_POLL_INTERVAL_MS: Final = 500
#: The longest task id accepted from a client (ids this server mints are shorter).
MAX_TASK_ID_LENGTH: Final = 128

#: 2025-11-25 (experimental tasks, handshake sessions): the methods of the
#: receiver of task-augmented requests.
HANDSHAKE_TASK_METHODS: Final = frozenset(
    {"tasks/get", "tasks/result", "tasks/list", "tasks/cancel"}
)
#: 2025-11-25: the ``tasks`` server capability of a server running tool calls as
#: tasks ("list", "cancel", "requests.tools.call").
HANDSHAKE_TASKS_CAPABILITY: Final[Mapping[str, Any]] = {
    "list": {},
    "cancel": {},
    "requests": {"tools": {"call": {}}},
}
#: 2025-11-25: the ``_meta`` key tying a message to its task.
RELATED_TASK_META: Final = "io.modelcontextprotocol/related-task"


class TaskStatus(enum.StrEnum):
    """tasks, Task Status."""

    WORKING = "working"
    INPUT_REQUIRED = "input_required"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether no transition leaves this status."""
        return self in _TERMINAL


_TERMINAL: Final = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})


class TaskFinished(LocalProtocolError):
    """A transition was asked of a task in a terminal status (it stays as it is)."""


# -- timestamps ----------------------------------------------------------------------


def _civil_from_days(days: int) -> tuple[int, int, int]:
    # Howard Hinnant's days-to-civil, proleptic Gregorian calendar.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year + (month <= 2), month, day


def iso_timestamp(seconds: float) -> str:
    """``seconds`` since the epoch as an ISO 8601 UTC timestamp with milliseconds
    (``2026-07-28T10:30:00.000Z``): tasks, ``createdAt``: "ISO 8601 timestamp"."""
    millis = int(seconds * 1000)
    days, rest = divmod(millis, 86_400_000)
    year, month, day = _civil_from_days(days)
    hour, rest = divmod(rest, 3_600_000)
    minute, rest = divmod(rest, 60_000)
    second, milli = divmod(rest, 1000)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}Z"


# -- the record ----------------------------------------------------------------------


def _frozen_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


@attrs.frozen(slots=True, kw_only=True)
class TaskRecord:
    """One task as the store keeps it.

    ``owner`` is who may see the task: the session on a handshake session, the
    caller on the stateless wire (empty: whoever holds the unguessable id).
    ``node_id`` is the node running it. ``input_requests`` are the questions
    still unanswered (by key), ``answers`` the answers delivered but not yet
    taken by the running handler. ``result`` is set once ``completed``,
    ``error`` (a JSON-RPC error object) once ``failed``.
    """

    task_id: str
    owner: str
    node_id: str
    status: TaskStatus
    created_at: float
    updated_at: float
    ttl_ms: int
    poll_ms: int
    status_message: str | None = None
    input_requests: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict)
    answers: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @classmethod
    def new(
        cls,
        task_id: str,
        *,
        owner: str,
        node_id: str,
        now: float,
        ttl_ms: int = DEFAULT_TASK_TTL_MS,
        poll_ms: int = DEFAULT_POLL_INTERVAL_MS,
    ) -> TaskRecord:
        """A task just created: ``working`` ("typically ... with ``status: "working"``")."""
        if not task_id or len(task_id) > MAX_TASK_ID_LENGTH:
            raise LocalProtocolError("a task id is 1 to 128 characters")
        if ttl_ms <= 0 or poll_ms <= 0:
            raise LocalProtocolError("ttl_ms and poll_ms must be positive integers")
        return cls(
            task_id=task_id,
            owner=owner,
            node_id=node_id,
            status=TaskStatus.WORKING,
            created_at=now,
            updated_at=now,
            ttl_ms=int(ttl_ms),
            poll_ms=int(poll_ms),
        )

    # -- transitions -------------------------------------------------------------

    def _live(self) -> None:
        if self.status.terminal:
            raise TaskFinished(f"task {self.task_id} is {self.status.value}")

    def ask(self, requests: Mapping[str, Mapping[str, Any]], *, now: float) -> TaskRecord:
        """The handler asks the client: ``input_required`` with ``requests`` added.

        tasks: "Each request key in ``inputRequests`` MUST be unique over the
        lifetime of a single task": a key asked before is refused."""
        self._live()
        if not requests:
            raise LocalProtocolError("ask needs at least one request")
        reused = [k for k in requests if k in self.input_requests or k in self.answers]
        if reused:
            raise LocalProtocolError(f"input request keys already used: {sorted(reused)}")
        pending = {**self.input_requests, **{k: dict(v) for k, v in requests.items()}}
        return attrs.evolve(
            self, status=TaskStatus.INPUT_REQUIRED, input_requests=pending, updated_at=now
        )

    def answer(self, responses: Mapping[str, Any], *, now: float) -> TaskRecord:
        """``tasks/update``: the responses to outstanding keys are delivered.

        tasks: "A server SHOULD ignore any ``inputResponses`` responses mapped
        to a key that is not currently outstanding"; "in that case the task
        remains in ``input_required`` until the remaining responses arrive".
        A finished task ignores them all."""
        if self.status.terminal:
            return self
        taken = {k: v for k, v in responses.items() if k in self.input_requests}
        if not taken:
            return self
        pending = {k: v for k, v in self.input_requests.items() if k not in taken}
        status = TaskStatus.INPUT_REQUIRED if pending else TaskStatus.WORKING
        return attrs.evolve(
            self,
            status=status,
            input_requests=pending,
            answers={**self.answers, **taken},
            updated_at=now,
        )

    def take_answers(self, keys: frozenset[str] | set[str]) -> tuple[dict[str, Any], TaskRecord]:
        """The delivered answers among ``keys``, and the record without them."""
        found = {k: v for k, v in self.answers.items() if k in keys}
        if not found:
            return {}, self
        rest = {k: v for k, v in self.answers.items() if k not in found}
        return found, attrs.evolve(self, answers=rest)

    def complete(self, result: Mapping[str, Any], *, now: float) -> TaskRecord:
        """The request produced its result (a tool error included: "This includes
        tool calls that returned results with ``isError: true``")."""
        self._live()
        return self._end(TaskStatus.COMPLETED, now, result=dict(result))

    def fail(self, code: int, message: str, *, now: float, data: Any = None) -> TaskRecord:
        """The request ended with a JSON-RPC error: ``failed`` with it (and the
        ``statusMessage`` the specification recommends)."""
        self._live()
        error: dict[str, Any] = {"code": int(code), "message": message}
        if data is not None:
            error["data"] = data
        return self._end(TaskStatus.FAILED, now, error=error, status_message=message)

    def cancel(self, *, now: float) -> TaskRecord:
        """``tasks/cancel`` took effect."""
        self._live()
        return self._end(TaskStatus.CANCELLED, now, status_message="The task was cancelled.")

    def _end(
        self,
        status: TaskStatus,
        now: float,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        status_message: str | None = None,
    ) -> TaskRecord:
        # A finished task keeps only what tasks/get shows: its store footprint is bounded.
        return attrs.evolve(
            self,
            status=status,
            input_requests={},
            answers={},
            result=result,
            error=error,
            status_message=status_message,
            updated_at=now,
        )

    # -- reading -----------------------------------------------------------------

    def expires_at(self) -> float:
        """When the task may be discarded ("Time-to-live duration from creation")."""
        return self.created_at + self.ttl_ms / 1000

    def visible_to(self, caller: str) -> bool:
        """Whether ``caller`` may see this task (tasks, Security: "Servers MUST
        perform authentication and authorization checks on each task-related
        request")."""
        return self.owner == caller

    def task(self) -> dict[str, Any]:
        """The ``Task`` object."""
        task: dict[str, Any] = {
            "taskId": self.task_id,
            "status": self.status.value,
            "createdAt": iso_timestamp(self.created_at),
            "lastUpdatedAt": iso_timestamp(self.updated_at),
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": self.poll_ms,
        }
        if self.status_message is not None:
            task["statusMessage"] = self.status_message
        return task

    def detailed(self) -> dict[str, Any]:
        """The ``DetailedTask``: the task with ``inputRequests`` while
        ``input_required``, ``result`` once ``completed``, ``error`` once
        ``failed`` (``tasks/get`` and ``notifications/tasks``)."""
        task = self.task()
        if self.status is TaskStatus.INPUT_REQUIRED:
            task["inputRequests"] = dict(self.input_requests)
        elif self.status is TaskStatus.COMPLETED and self.result is not None:
            task["result"] = dict(self.result)
        elif self.status is TaskStatus.FAILED and self.error is not None:
            task["error"] = dict(self.error)
        return task

    def get_result(self) -> dict[str, Any]:
        """The ``GetTaskResult``: "``resultType`` ... MUST be set to ``"complete"``"."""
        return {"resultType": RESULT_TYPE_COMPLETE, **self.detailed()}

    def created_result(self) -> dict[str, Any]:
        """The flat ``CreateTaskResult`` (``Result & Task``, ``resultType: "task"``)."""
        return {"resultType": RESULT_TYPE_TASK, **self.task()}

    # -- 2025-11-25 (experimental tasks on handshake sessions) -------------------

    def task_v1(self) -> dict[str, Any]:
        """The 2025-11-25 ``Task``: ``ttl`` and ``pollInterval`` in milliseconds."""
        task: dict[str, Any] = {
            "taskId": self.task_id,
            "status": self.status.value,
            "createdAt": iso_timestamp(self.created_at),
            "lastUpdatedAt": iso_timestamp(self.updated_at),
            "ttl": self.ttl_ms,
            "pollInterval": self.poll_ms,
        }
        if self.status_message is not None:
            task["statusMessage"] = self.status_message
        return task

    def created_result_v1(self) -> dict[str, Any]:
        """The 2025-11-25 ``CreateTaskResult``: ``{"task": Task}``."""
        return {"task": self.task_v1()}

    def payload_v1(self) -> dict[str, Any]:
        """2025-11-25 ``tasks/result`` of a completed task: the request's result,
        with ``_meta["io.modelcontextprotocol/related-task"]`` ("MUST include")."""
        if self.status is not TaskStatus.COMPLETED or self.result is None:
            raise LocalProtocolError(f"task {self.task_id} has no result ({self.status.value})")
        result = dict(self.result)
        meta = dict(result.get("_meta") or {})
        meta[RELATED_TASK_META] = {"taskId": self.task_id}
        result["_meta"] = meta
        return result

    # -- storage -----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The record as the store keeps it (JSON-ready)."""
        out: dict[str, Any] = {
            "id": self.task_id,
            "owner": self.owner,
            "node": self.node_id,
            "status": self.status.value,
            "created": self.created_at,
            "updated": self.updated_at,
            "ttl": self.ttl_ms,
            "poll": self.poll_ms,
        }
        for key, value in (
            ("message", self.status_message),
            ("requests", self.input_requests or None),
            ("answers", self.answers or None),
            ("result", self.result),
            ("error", self.error),
        ):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskRecord:
        """A record from :meth:`to_json` (``ValueError`` if it is not one)."""
        try:
            return cls(
                task_id=str(data["id"]),
                owner=str(data["owner"]),
                node_id=str(data["node"]),
                status=TaskStatus(data["status"]),
                created_at=float(data["created"]),
                updated_at=float(data["updated"]),
                ttl_ms=int(data["ttl"]),
                poll_ms=int(data["poll"]),
                status_message=data.get("message"),
                input_requests=data.get("requests") or {},
                answers=data.get("answers") or {},
                result=data.get("result"),
                error=data.get("error"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a task record: {exc}") from None


# -- messages --------------------------------------------------------------------------


def declares_tasks(client_capabilities: Mapping[str, Any]) -> bool:
    """Whether the capabilities declare the extension ("A server MUST NOT return
    ``CreateTaskResult`` to a client that did not include the extension
    capability on its request")."""
    extensions = client_capabilities.get("extensions")
    return isinstance(extensions, Mapping) and isinstance(extensions.get(TASKS_EXTENSION), Mapping)


def require_tasks_extension(
    client_capabilities: Mapping[str, Any], *, request_id: RequestId | None = None
) -> None:
    """Refuse with -32021 unless the request declared the extension: "Servers
    MUST return this error for non-declaring clients issuing ``tasks/get``,
    ``tasks/update``, and ``tasks/cancel`` requests", and for a request that
    cannot be served without a ``CreateTaskResult``."""
    if not declares_tasks(client_capabilities):
        raise missing_capability_error({"extensions": {TASKS_EXTENSION: {}}}, request_id=request_id)


def _invalid(message: str, request_id: RequestId | None) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"Invalid params: {message}", code=ErrorCode.INVALID_PARAMS, request_id=request_id
    )


def parse_task_params(
    method: str, params: Mapping[str, Any] | None, *, request_id: RequestId | None = None
) -> tuple[str, dict[str, Any]]:
    """The ``taskId`` of a ``tasks/get``, ``tasks/update`` or ``tasks/cancel``,
    and (``tasks/update``) its ``inputResponses``; -32602 if malformed."""
    if method not in TASK_METHODS:
        raise LocalProtocolError(f"{method} is not a tasks method")
    params = params or {}
    task_id = params.get("taskId")
    if type(task_id) is not str or not task_id or len(task_id) > MAX_TASK_ID_LENGTH:
        raise _invalid(f"{method} needs a string taskId", request_id)
    responses: dict[str, Any] = {}
    if method == "tasks/update":
        raw = params.get("inputResponses")
        if type(raw) is not dict:
            raise _invalid("tasks/update needs an inputResponses object", request_id)
        responses = raw
    return task_id, responses


def parse_task_augmentation(
    params: Mapping[str, Any] | None, *, request_id: RequestId | None = None
) -> int | None:
    """2025-11-25: the ``task`` param of a task-augmented request (``TaskMetadata``):
    ``None`` when absent, else its requested ``ttl`` in milliseconds (0: none asked);
    -32602 if malformed."""
    task = (params or {}).get("task")
    if task is None:
        return None
    if type(task) is not dict:
        raise _invalid("task must be an object", request_id)
    ttl = task.get("ttl")
    if ttl is None:
        return 0
    if type(ttl) is not int or ttl <= 0:
        raise _invalid("task.ttl must be a positive integer", request_id)
    return ttl


def task_not_found(task_id: str, *, request_id: RequestId | None = None) -> RemoteProtocolError:
    """tasks, Protocol Errors: "Invalid or nonexistent ``taskId``: ``-32602``"
    (an expired task, and one another caller owns, look the same)."""
    return _invalid(f"Failed to retrieve task: Task not found ({task_id[:32]})", request_id)


def task_ack() -> dict[str, Any]:
    """The empty acknowledgement of ``tasks/update`` and ``tasks/cancel``."""
    return {"resultType": RESULT_TYPE_COMPLETE}


def task_status_notification(record: TaskRecord) -> dict[str, Any]:
    """The params of ``notifications/tasks``: "Each notification carries a
    complete ``DetailedTask`` for the current status"."""
    return record.detailed()
