"""The 2025-11-25 revision's experimental tasks, on handshake sessions: the same
tasks in the same store as the tasks extension's, in that revision's shapes.

basic/utilities/tasks (2025-11-25): a request is *task-augmented* by its
``task`` param (``TaskMetadata``); the receiver answers ``{"task": Task}`` and
the requestor polls ``tasks/get``, reads the outcome with ``tasks/result``
(which "MUST block" until the task is terminal), lists with ``tasks/list`` and
cancels with ``tasks/cancel``. A task needing input: ``tasks/result`` is where
the receiver sends its requests to the requestor, tagged with the task
(``io.modelcontextprotocol/related-task``); their answers go to the task as a
``tasks/update`` would. A session's tasks are the session's alone.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Final

import trio

from ..protocol.jsonrpc import ErrorCode
from ..protocol.tasks import RELATED_TASK_META, TaskRecord, TaskStatus, parse_task_params
from ..runtime import McpError, TaskHost
from ._tasks import task_caller, task_host

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["handle_handshake_task_method"]

#: Tasks on one page of ``tasks/list``.
_PAGE: Final = 50
#: Seconds between reads of a task ``tasks/result`` waits on.
_POLL: Final = 0.1


def _host(ctx: Context) -> TaskHost:
    host = task_host(ctx._exchange)
    if host is None:
        raise McpError(ErrorCode.INTERNAL_ERROR, "this server runs no tasks")
    return host


async def handle_handshake_task_method(
    method: str, params: dict[str, Any], ctx: Context
) -> dict[str, Any]:
    """``tasks/get``, ``tasks/result``, ``tasks/list`` or ``tasks/cancel`` of 2025-11-25."""
    host = _host(ctx)
    caller = task_caller(ctx)
    if method == "tasks/list":
        return await _list(host, caller, params)
    task_id, _ = parse_task_params("tasks/get", params)
    if method == "tasks/get":
        return (await host.get(task_id, caller)).task_v1()
    if method == "tasks/cancel":
        record = await host.get(task_id, caller)
        if record.status.terminal:
            # "Receivers MUST reject cancellation requests for tasks already in a
            # terminal status with error code -32602 (Invalid params)."
            raise McpError(
                ErrorCode.INVALID_PARAMS,
                f"Cannot cancel task: already in terminal status '{record.status.value}'",
            )
        await host.cancel(task_id, caller)
        return (await host.get(task_id, caller)).task_v1()
    if method == "tasks/result":
        return await _result(host, caller, task_id, ctx)
    raise McpError(ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method}")


async def _list(host: TaskHost, caller: str, params: dict[str, Any]) -> dict[str, Any]:
    cursor = params.get("cursor")
    start = 0
    if cursor is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(cursor).encode()).decode())
        except ValueError:
            raise McpError(ErrorCode.INVALID_PARAMS, "Invalid params: invalid cursor") from None
    records = await host.list(caller)
    page = records[start : start + _PAGE]
    result: dict[str, Any] = {"tasks": [record.task_v1() for record in page]}
    if start + _PAGE < len(records):
        result["nextCursor"] = base64.urlsafe_b64encode(str(start + _PAGE).encode()).decode()
    return result


async def _result(host: TaskHost, caller: str, task_id: str, ctx: Context) -> dict[str, Any]:
    """Wait for the task to end (asking the client what it asks meanwhile); its
    result, or its error: "tasks/result MUST return exactly what the underlying
    request would have returned"."""
    record = await host.get(task_id, caller)
    with trio.fail_after(ctx.ask_timeout):
        while not record.status.terminal:
            if record.status is TaskStatus.INPUT_REQUIRED:
                await _relay_questions(host, caller, record, ctx)
            else:
                await trio.sleep(_POLL)
            record = await host.get(task_id, caller)
    if record.status is TaskStatus.COMPLETED:
        return record.payload_v1()
    if record.status is TaskStatus.FAILED and record.error is not None:
        error = record.error
        raise McpError(int(error["code"]), str(error["message"]), error.get("data"))
    raise McpError(ErrorCode.INVALID_PARAMS, f"Task {task_id} was {record.status.value}")


async def _relay_questions(host: TaskHost, caller: str, record: TaskRecord, ctx: Context) -> None:
    """Send the task's pending questions to the client on this request's stream,
    tagged with the task, and give the task their answers."""
    for key, question in record.input_requests.items():
        params = dict(question.get("params") or {})
        meta = dict(params.get("_meta") or {})
        meta[RELATED_TASK_META] = {"taskId": record.task_id}
        params["_meta"] = meta
        answer = await ctx._exchange.ask(str(question["method"]), params, ctx.ask_timeout)
        await host.update(record.task_id, caller, {key: answer})
