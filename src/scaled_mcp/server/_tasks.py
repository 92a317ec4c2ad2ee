"""The tasks extension in the app API: a tool call that runs as a task, and the
``tasks/get``, ``tasks/update`` and ``tasks/cancel`` methods.

A tool registered with ``task="optional"`` or ``task="required"`` runs as a
task when the request declares the extension: the server creates the task,
answers with the flat ``CreateTaskResult`` at once, and the same handler runs
on in the background on this node with a :class:`Context` over a
:class:`TaskExchange`. There ``ctx.elicit()``, ``ctx.sample()`` and the other
questions make the task ``input_required``: the client reads them on
``tasks/get`` and answers with ``tasks/update`` (on any node); the handler's
``await`` returns the answer. Progress and log messages are not sent for a
task ("not supported on tasks in general in this specification").

Who may see a task is decided by :func:`task_caller`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..protocol.jsonrpc import ErrorCode, RemoteProtocolError
from ..protocol.stateless import InputRequest, missing_capability_error
from ..protocol.tasks import (
    TASKS_EXTENSION,
    declares_tasks,
    parse_task_params,
    require_tasks_extension,
    task_ack,
)
from ..protocol.versions import Era
from ..runtime import Exchange, McpError, SessionStateHandle, TaskHost, TaskRun

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["BecomeTask", "TaskExchange", "handle_task_method", "task_caller", "task_host"]


class BecomeTask(Exception):
    """Raised by ``ctx.become_task()`` in a request: the handler asks to go on as a
    task, with the answers it gathered so far (by key)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        super().__init__("become a task")
        self.answers = answers


def task_host(exchange: Exchange) -> TaskHost | None:
    """The node's tasks, if the runtime behind ``exchange`` runs any."""
    host = getattr(exchange, "tasks", None)
    return host if isinstance(host, TaskHost) else None


def task_caller(ctx: Context) -> str:
    """Who a task belongs to, and who may read, update or cancel it.

    On a handshake session, the session (which, when the server requires
    authorization, answers only the principal that created it). On the
    2026-07-28 wire there is no session: the caller is the authenticated
    principal (its stored key, a digest: the subject is not kept with the
    task); without authorization the task is bound to nobody but the holder
    of its unguessable id (tasks, Security Considerations: "Servers MUST
    perform authentication and authorization checks on each task-related
    request"; "A server MAY use task IDs as bearer tokens"). The owner is
    part of the stored task, so every node answers another caller's task
    exactly as an unknown one."""
    if ctx.session_id is not None:
        return f"session:{ctx.session_id}"
    principal = ctx.principal
    return f"principal:{principal.key}" if principal is not None else ""


def wants_task(ctx: Context) -> bool:
    """Whether this request may be answered with the extension's task (a 2026-07-28
    request that declared the extension; handshake sessions ask with ``task``)."""
    return (
        ctx.era is not Era.HANDSHAKE
        and declares_tasks(ctx.client_capabilities)
        and task_host(ctx._exchange) is not None
    )


def refuse_without_tasks() -> McpError:
    """-32021 for a tool that must run as a task, to a client without the
    extension: "If a server is unable to service a request to a client that does
    not declare this extension capability without returning CreateTaskResult,
    the server MUST return an error with the code -32021"."""
    error = missing_capability_error({"extensions": {TASKS_EXTENSION: {}}})
    return McpError(error.code, error.message, error.data)


class TaskExchange:
    """The exchange of a handler running as a task: the request's identity,
    questions put to the client through the task (``input_required``), and
    answers given before the task began (``BecomeTask``) returned at once."""

    def __init__(self, origin: Exchange, run: TaskRun, answers: Mapping[str, Any]) -> None:
        self._origin = origin
        self._run = run
        self._given = dict(answers)
        self.era: Era = origin.era
        self.request_id = origin.request_id
        self.protocol_version = origin.protocol_version
        self.session_id = origin.session_id
        self.client_info = origin.client_info
        self.client_capabilities = origin.client_capabilities
        self.progress_token: str | int | None = None
        self.tasks = task_host(origin)
        #: The task this exchange works for.
        self.task_id = run.task_id

    @property
    def lifespan(self) -> Any:
        """The value of the application's lifespan on this node."""
        return self._origin.lifespan

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        return  # tasks: progress "MUST NOT be sent ... for a task"

    async def log(self, level: str, data: Any, logger: str | None) -> None:
        return  # nor notifications/message

    async def ask(
        self, method: str, params: dict[str, Any], answer_within: float
    ) -> dict[str, Any]:
        answers = await self.ask_all({"request": InputRequest(method, params)}, answer_within)
        return dict(answers["request"])

    async def ask_all(
        self, questions: Mapping[str, InputRequest], answer_within: float
    ) -> dict[str, Any]:
        """Every question's answer by key: those given before the task began at
        once, the others through the task's ``input_required`` state."""
        found = {k: self._given[k] for k in questions if k in self._given}
        missing = {k: q.to_json() for k, q in questions.items() if k not in found}
        if missing:
            try:
                found.update(await self._run.ask(missing, answer_within))
            except TimeoutError:
                raise McpError(
                    ErrorCode.REQUEST_TIMEOUT, "the client did not answer the task's questions"
                ) from None
        return found

    def answer(self, key: str, question: InputRequest) -> dict[str, Any] | None:
        value = self._given.get(key)
        return value if isinstance(value, dict) else None

    def answered(self) -> dict[str, Any]:
        return dict(self._given)

    async def resource_updated(self, uri: str) -> None:
        await self._origin.resource_updated(uri)

    async def close_stream(self) -> None:
        return

    @property
    def session_state(self) -> SessionStateHandle:
        """The session's state, as for the request that started the task."""
        return self._origin.session_state


async def start_task(
    ctx: Context,
    work: Callable[[Context], Awaitable[dict[str, Any]]],
    answers: Mapping[str, Any],
    *,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """Create a task running ``work`` with a context over a :class:`TaskExchange`;
    the ``CreateTaskResult`` (2025-11-25's ``{"task": Task}`` on a handshake
    session, the extension's flat one on the stateless wire)."""
    origin = ctx._exchange
    host = task_host(origin)
    assert host is not None

    async def run(task: TaskRun) -> None:
        task_ctx = type(ctx)(TaskExchange(origin, task, answers), ask_timeout=ctx.ask_timeout)
        try:
            result = await work(task_ctx)
        except McpError as exc:
            await task.fail(exc.code, exc.message, exc.data)
        except RemoteProtocolError as exc:
            await task.fail(exc.code, exc.message, exc.data)
        else:
            await task.complete(result)

    record = await host.create(task_caller(ctx), run, ttl_ms=ttl_ms)
    if ctx.era is Era.HANDSHAKE:
        return record.created_result_v1()
    return record.created_result()


async def handle_task_method(method: str, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``tasks/get``, ``tasks/update`` or ``tasks/cancel`` (and on handshake
    sessions, 2025-11-25's ``tasks/get``, ``tasks/result``, ``tasks/list`` and
    ``tasks/cancel``)."""
    if ctx.era is Era.HANDSHAKE:
        from ._tasks_handshake import handle_handshake_task_method

        return await handle_handshake_task_method(method, params, ctx)
    # tasks: "Servers MUST return this error [-32021] for non-declaring clients
    # issuing tasks/get, tasks/update, and tasks/cancel requests".
    require_tasks_extension(ctx.client_capabilities)
    task_id, responses = parse_task_params(method, params)
    host = task_host(ctx._exchange)
    if host is None:
        raise McpError(ErrorCode.INTERNAL_ERROR, "this server runs no tasks")
    caller = task_caller(ctx)
    if method == "tasks/get":
        record = await host.get(task_id, caller)
        return record.get_result()
    if method == "tasks/update":
        await host.update(task_id, caller, responses)
    else:
        await host.cancel(task_id, caller)
    return task_ack()
