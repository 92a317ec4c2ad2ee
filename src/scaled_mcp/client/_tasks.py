"""Tasks on the client: the handle of a tool call the server runs as a task.

``await client.call_tool(name, args, task=True)`` returns a :class:`ClientTask`
when the server chose to answer with a task (else the ``CallToolResult``):

- on the 2026-07-28 wire the request declares the tasks extension
  (``io.modelcontextprotocol/tasks``) in its own capabilities; :meth:`ClientTask.get`
  is ``tasks/get`` (a :class:`~scaled_mcp.protocol.client.TaskSnapshot`),
  :meth:`ClientTask.update` is ``tasks/update`` with ``inputResponses``,
  :meth:`ClientTask.cancel` is ``tasks/cancel``;
- on a 2025-11-25 session the call is task-augmented (its ``task`` param) when
  the server declares ``tasks.requests.tools.call``; ``tasks/get`` and
  ``tasks/cancel`` as above, the outcome through ``tasks/result``.

:meth:`ClientTask.result` waits for the outcome within a deadline, polling
``tasks/get`` every ``pollIntervalMs`` (bounded: :func:`~scaled_mcp.protocol.client.poll_delay`);
on 2026-07-28 it answers the task's ``inputRequests`` with the client's
elicitation, sampling and roots handlers (each key once: "Clients SHOULD track
inputRequests keys to avoid responding to requests more than once"), on
2025-11-25 ``tasks/result`` carries the server's questions to the same handlers.
What a task message means is the core's (:mod:`scaled_mcp.protocol.client`).
"""

# Calls take a per-call ``timeout`` applied with ``trio.fail_after``.
# ruff: noqa: ASYNC109

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import trio

from ..protocol.client import TaskSnapshot, parse_task, poll_delay
from ..protocol.jsonrpc import ErrorCode, RemoteProtocolError
from ..protocol.tasks import TASKS_EXTENSION, TaskStatus
from ..protocol.types import CallToolResult, from_wire
from ._errors import ClientError

__all__ = ["ClientTask", "TaskPeer", "read_task"]

#: Seconds spent at most closing a task's listen stream once its outcome is known.
_UNWATCH_DEADLINE: Final = 5.0


class TaskPeer(Protocol):
    """What a :class:`ClientTask` needs of its client."""

    @property
    def stateless(self) -> bool:
        """Whether the client speaks the 2026-07-28 wire."""
        ...

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request (declaring ``extensions`` too); its result object
        (an error raises :class:`ClientError`)."""
        ...

    async def _answer_inputs(self, questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The client's answers to input requests, by key (its handlers')."""
        ...

    async def _watch_task(self, task_id: str, listener: Callable[[dict[str, Any]], None]) -> None:
        """Hear ``notifications/tasks`` about ``task_id`` (2026-07-28)."""
        ...

    async def _unwatch_task(self, task_id: str) -> None:
        """Stop hearing about ``task_id``."""
        ...


def read_task(data: object, *, handshake: bool) -> TaskSnapshot:
    """The task in a server's answer; :class:`ClientError` if it is none."""
    try:
        return parse_task(data, handshake=handshake)
    except RemoteProtocolError as exc:
        raise ClientError(exc.code, exc.message) from None


def _tool_result(data: object) -> CallToolResult:
    try:
        return from_wire(CallToolResult, data)
    except RemoteProtocolError as exc:
        raise ClientError(ErrorCode.INTERNAL_ERROR, f"the task's result: {exc.message}") from None


class ClientTask:
    """One task on the server behind ``client``: ``task.task_id``, ``task.last``
    (the snapshot seen last), and the methods of the module docstring.
    ``ClientTask(client, task_id)`` takes up a task known by its id (a client
    "SHOULD persist task IDs ... so that polling can resume after a crash")."""

    def __init__(self, client: TaskPeer, task: TaskSnapshot | str) -> None:
        self._client = client
        if isinstance(task, str):
            task = TaskSnapshot(task_id=task, status=TaskStatus.WORKING)
        self.task_id = task.task_id
        #: The task as the server described it last.
        self.last = task
        self._answered: set[str] = set()
        self._wake = trio.Event()

    def __repr__(self) -> str:
        return f"ClientTask({self.task_id!r}, status={self.last.status.value!r})"

    @property
    def _handshake(self) -> bool:
        return not self._client.stateless

    async def _send(self, method: str, params: dict[str, Any], timeout: float | None) -> Any:
        # tasks: "Servers MUST return this error [-32021] for non-declaring
        # clients issuing tasks/get, tasks/update, and tasks/cancel requests".
        extensions: dict[str, Any] | None = None if self._handshake else {TASKS_EXTENSION: {}}
        return await self._client.request(method, params, timeout=timeout, extensions=extensions)

    async def get(self, *, timeout: float | None = None) -> TaskSnapshot:
        """``tasks/get``: the task now."""
        result = await self._send("tasks/get", {"taskId": self.task_id}, timeout)
        self.last = read_task(result, handshake=self._handshake)
        if self.last.task_id != self.task_id:
            raise ClientError(ErrorCode.INTERNAL_ERROR, "tasks/get answered about another task")
        return self.last

    async def update(
        self, input_responses: Mapping[str, Any], *, timeout: float | None = None
    ) -> None:
        """``tasks/update``: answers to the task's ``inputRequests``, by key
        (2026-07-28; a 2025-11-25 task asks through ``tasks/result`` instead)."""
        if self._handshake:
            raise ClientError(ErrorCode.METHOD_NOT_FOUND, "tasks/update is not a 2025-11-25 method")
        params = {"taskId": self.task_id, "inputResponses": dict(input_responses)}
        await self._send("tasks/update", params, timeout)
        self._answered.update(input_responses)

    async def cancel(self, *, timeout: float | None = None) -> None:
        """``tasks/cancel``: ask the server to stop the task (cooperative: it
        may still end otherwise)."""
        result = await self._send("tasks/cancel", {"taskId": self.task_id}, timeout)
        if self._handshake:
            self.last = read_task(result, handshake=True)

    async def result(self, *, timeout: float | None = None, listen: bool = False) -> CallToolResult:
        """Wait for the task's outcome, ``timeout`` seconds at most (``None``:
        unbounded; the deadline covers every poll and answer): its
        ``CallToolResult``; a task that failed raises its JSON-RPC error, one
        cancelled a :class:`ClientError` saying so, and running out of time a
        :class:`ClientError` (-32001; the task goes on: :meth:`cancel` it).

        ``listen`` (2026-07-28): also hear the task's ``notifications/tasks``
        on a ``subscriptions/listen`` stream while waiting, so that a change
        is read at once rather than at the next poll."""
        deadline = math.inf if timeout is None else timeout
        try:
            with trio.fail_after(deadline):
                if not listen or self._handshake:
                    return await self._outcome()
                await self._client._watch_task(self.task_id, self._notified)
                try:
                    return await self._outcome()
                finally:
                    with trio.CancelScope(shield=True), trio.move_on_after(_UNWATCH_DEADLINE):
                        await self._client._unwatch_task(self.task_id)
        except trio.TooSlowError:
            raise ClientError(
                ErrorCode.REQUEST_TIMEOUT,
                f"task {self.task_id[:32]} did not finish within {deadline:g} s",
                {"taskId": self.task_id},
            ) from None

    def _notified(self, params: dict[str, Any]) -> None:
        # A push only wakes the poll: what counts is what tasks/get says.
        self._wake.set()

    async def _outcome(self) -> CallToolResult:
        task = await self.get()
        while not task.terminal:
            if task.status is TaskStatus.INPUT_REQUIRED:
                if self._handshake:
                    break  # tasks/result asks the questions on its own stream
                fresh = {k: v for k, v in task.input_requests.items() if k not in self._answered}
                if fresh:
                    await self.update(await self._client._answer_inputs(fresh))
                    task = await self.get()
                    continue
            with trio.move_on_after(poll_delay(task)):
                await self._wake.wait()  # a notifications/tasks, when listening
            self._wake = trio.Event()
            task = await self.get()
        if self._handshake:
            # "tasks/result MUST return exactly what the underlying request would have returned".
            payload = await self._send("tasks/result", {"taskId": self.task_id}, math.inf)
            return _tool_result(payload)
        if task.status is TaskStatus.COMPLETED:
            return _tool_result(task.result)
        if task.status is TaskStatus.FAILED and task.error is not None:
            error = task.error
            raise ClientError(int(error["code"]), str(error.get("message", "")), error.get("data"))
        raise ClientError(
            ErrorCode.INTERNAL_ERROR,
            f"task {self.task_id[:32]} was {task.status.value}",
            {"taskId": self.task_id, "status": task.status.value},
        )
