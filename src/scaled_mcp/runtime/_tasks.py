"""The tasks of one node: creating them, running them here, answering about any.

A task's state lives in the cluster's task store, so that ``tasks/get``,
``tasks/update`` and ``tasks/cancel`` are answered by any node; every change is
a compare-and-set of the record, decided by the core
(:class:`~scaled_mcp.protocol.tasks.TaskRecord`). The work runs on the node
that created the task, in the node's nursery, under a cancel scope of its own:

* a ``tasks/update`` on any node writes the answers into the record and wakes
  the running node over the broker (:func:`~scaled_mcp.cluster.task_channel`);
* a ``tasks/cancel`` on any node writes ``cancelled`` and tells the running node,
  which cancels the work;
* the running node also re-reads the record every :data:`RECHECK_INTERVAL`
  seconds while it waits, so that a lost broker message only delays;
* a task whose node died (its heartbeat expired) is ended ``failed`` by the
  first node that reads it; a node shutting down fails its unfinished tasks.

Task ids are unguessable (``secrets``); each task is bound to its creator
(``owner``): a caller who is not its owner is told it does not exist.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson
import trio

from ..cluster import DEFAULT_MAX_TASK_RECORD, BackendUnavailable, TaskStore, task_channel
from ..protocol.jsonrpc import ErrorCode, Notification, RequestId
from ..protocol.nodes import BROADCAST_CHANNEL, Broadcast, encode_broadcast
from ..protocol.tasks import (
    DEFAULT_POLL_INTERVAL_MS,
    DEFAULT_TASK_TTL_MS,
    TaskFinished,
    TaskRecord,
    task_not_found,
    task_status_notification,
)
from ._application import McpError

if TYPE_CHECKING:
    from ._node import Node

__all__ = ["DEFAULT_MAX_RUNNING_TASKS", "RECHECK_INTERVAL", "TaskHost", "TaskRun"]

_log = logging.getLogger("scaled_mcp.runtime")

#: The most tasks one node runs at once (more: the call is refused with -32603).
DEFAULT_MAX_RUNNING_TASKS: Final = 10_000
#: Seconds between re-reads of a waiting task's record (beside the broker's wake-ups).
RECHECK_INTERVAL: Final = 1.0
#: Tries of one compare-and-set against concurrent writers.
_ATTEMPTS: Final = 16
#: Seconds a node shutting down spends marking its unfinished tasks failed.
_FAIL_GRACE: Final = 2.0
_CANCEL: Final = b"cancel"
_WAKE: Final = b"wake"


def _encode(record: TaskRecord) -> bytes:
    return orjson.dumps(record.to_json())


def _decode(data: bytes) -> TaskRecord | None:
    try:
        return TaskRecord.from_json(orjson.loads(data))
    except (ValueError, TypeError):
        return None


def _taker(keys: frozenset[str], into: dict[str, Any]) -> Callable[[TaskRecord], TaskRecord]:
    """A transition taking the delivered answers among ``keys`` out of the record
    into ``into``."""

    def take(record: TaskRecord) -> TaskRecord:
        found, rest = record.take_answers(keys)
        into.update(found)
        return rest

    return take


class TaskRun:
    """The handle of one task running on this node: its work asks the client
    through it, and ends it with :meth:`complete` or :meth:`fail`."""

    def __init__(self, host: TaskHost, record: TaskRecord) -> None:
        self._host = host
        self.task_id = record.task_id
        self.scope = trio.CancelScope()
        self._wake = trio.Event()
        self.finished = False

    def woken(self) -> None:
        """Something changed in the record (an answer came)."""
        self._wake.set()

    async def ask(
        self, questions: Mapping[str, Mapping[str, Any]], answer_within: float
    ) -> dict[str, Any]:
        """Put ``questions`` to the client (the task becomes ``input_required``)
        and wait up to ``answer_within`` seconds for every answer; the answers by
        key. Raises :class:`TimeoutError` if they do not all come in time."""
        now = time.time()
        await self._host.change(self.task_id, lambda r: r.ask(questions, now=now))
        wanted = set(questions)
        answers: dict[str, Any] = {}
        with trio.fail_after(answer_within):
            while wanted:
                with trio.move_on_after(RECHECK_INTERVAL):
                    await self._wake.wait()
                self._wake = trio.Event()
                record = await self._host.change(self.task_id, _taker(frozenset(wanted), answers))
                if record is None or record.status.terminal:
                    self.scope.cancel()  # cancelled (or gone) meanwhile
                    await trio.lowlevel.checkpoint()
                wanted -= set(answers)
        return answers

    async def complete(self, result: Mapping[str, Any]) -> None:
        """The work produced ``result``: the task is ``completed`` (``failed`` if
        the result is too large to keep: a finished task's footprint is bounded)."""
        now = time.time()
        limit = self._host.max_record

        def end(record: TaskRecord) -> TaskRecord:
            done = record.complete(result, now=now)
            if len(_encode(done)) > limit:
                message = "the task's result is too large to keep"
                return record.fail(ErrorCode.INTERNAL_ERROR, message, now=now)
            return done

        await self._host.change(self.task_id, end)
        self.finished = True

    async def fail(self, code: int, message: str, data: Any = None) -> None:
        """The work ended with a JSON-RPC error: the task is ``failed``."""
        now = time.time()
        await self._host.change(self.task_id, lambda r: r.fail(code, message, now=now, data=data))
        self.finished = True


class TaskHost:
    """The tasks of one node (see the module docstring)."""

    def __init__(
        self,
        node: Node,
        *,
        ttl_ms: int = DEFAULT_TASK_TTL_MS,
        poll_ms: int = DEFAULT_POLL_INTERVAL_MS,
        max_record: int = DEFAULT_MAX_TASK_RECORD,
        max_running: int = DEFAULT_MAX_RUNNING_TASKS,
    ) -> None:
        self._node = node
        self.ttl_ms = ttl_ms
        self.poll_ms = poll_ms
        self.max_record = max_record
        self.max_running = max_running
        self._running: dict[str, TaskRun] = {}

    @property
    def store(self) -> TaskStore:
        """The cluster's task store."""
        return self._node.backend.tasks

    def running(self) -> int:
        """How many tasks run on this node."""
        return len(self._running)

    # -- creating and running ------------------------------------------------------

    async def create(
        self,
        owner: str,
        work: Callable[[TaskRun], Awaitable[None]],
        *,
        ttl_ms: int | None = None,
    ) -> TaskRecord:
        """Create a task owned by ``owner``, stored before this returns (tasks: "A
        server MUST NOT return ``CreateTaskResult`` until the task is durably
        created"), and run ``work`` for it on this node."""
        node = self._node
        if len(self._running) >= self.max_running:
            raise McpError(
                ErrorCode.INTERNAL_ERROR, "this node runs too many tasks: try again later"
            )
        while True:
            # 192 bits from the OS's CSPRNG: tasks, "Servers MUST generate them
            # with sufficient entropy that a third party cannot ... guess them".
            task_id = secrets.token_urlsafe(24)
            record = TaskRecord.new(
                task_id,
                owner=owner,
                node_id=node.node_id,
                now=time.time(),
                ttl_ms=min(ttl_ms or self.ttl_ms, self.ttl_ms),
                poll_ms=self.poll_ms,
            )
            if await self.store.create(task_id, _encode(record), ttl=record.ttl_ms / 1000):
                break
        if owner:
            await self.store.index(owner, task_id, ttl=record.ttl_ms / 1000)
        run = TaskRun(self, record)
        self._running[task_id] = run
        node.start_soon(self._run, run, work)
        return record

    async def _run(self, run: TaskRun, work: Callable[[TaskRun], Awaitable[None]]) -> None:
        broker = self._node.backend.broker
        try:
            async with (
                broker.subscribe(task_channel(run.task_id)) as messages,
                trio.open_nursery() as nursery,
            ):
                nursery.start_soon(self._listen, run, messages)
                nursery.start_soon(self._watch, run)
                with run.scope:
                    await work(run)
                nursery.cancel_scope.cancel()
        except BackendUnavailable as exc:
            _log.warning("task %s lost the backend: %s", run.task_id[:8], exc)
        finally:
            del self._running[run.task_id]
            if not run.finished:
                with trio.CancelScope(shield=True), trio.move_on_after(_FAIL_GRACE):
                    await self._abandon(run.task_id, "the task's work stopped before it finished")

    async def _listen(self, run: TaskRun, messages: Any) -> None:
        async for payload in messages:
            if payload == _CANCEL:
                run.scope.cancel()
            else:
                run.woken()

    async def _watch(self, run: TaskRun) -> None:
        # The broker delivers at most once: re-read now and then, so that a lost
        # cancellation only delays.
        while True:
            await trio.sleep(RECHECK_INTERVAL * 2)
            try:
                held = await self.store.load(run.task_id)
            except BackendUnavailable:
                continue
            record = _decode(held.data) if held is not None else None
            if record is None or record.status.terminal:
                run.scope.cancel()

    async def _abandon(self, task_id: str, why: str) -> None:
        now = time.time()

        def fail(record: TaskRecord) -> TaskRecord:
            return record.fail(ErrorCode.INTERNAL_ERROR, why, now=now)

        try:
            await self.change(task_id, fail)
        except BackendUnavailable:
            _log.warning("could not mark task %s failed: the backend is unavailable", task_id[:8])

    # -- changing -----------------------------------------------------------------

    async def change(
        self, task_id: str, transition: Callable[[TaskRecord], TaskRecord]
    ) -> TaskRecord | None:
        """Apply ``transition`` to the stored task by compare-and-set; the record
        as stored after it (unchanged if the task had finished), or ``None`` if
        the task is gone."""
        for _ in range(_ATTEMPTS):
            held = await self.store.load(task_id)
            record = _decode(held.data) if held is not None else None
            if held is None or record is None:
                return None
            try:
                changed = transition(record)
            except TaskFinished:
                return record
            if changed == record:
                return record
            if await self.store.write(task_id, _encode(changed), version=held.version):
                if (changed.status, changed.input_requests) != (
                    record.status,
                    record.input_requests,
                ):
                    await self._announce(changed)
                return changed
        raise BackendUnavailable(f"task {task_id[:8]} changed too often to be written")

    async def _announce(self, record: TaskRecord) -> None:
        """``notifications/tasks`` to every ``subscriptions/listen`` stream of every
        node (those that asked for the task deliver it). Sent live, not logged: a
        listen stream does not resume, and a client may always poll ``tasks/get``."""
        notification = Notification("notifications/tasks", task_status_notification(record))
        try:
            await self._node.backend.broker.publish(
                BROADCAST_CHANNEL, encode_broadcast(Broadcast(0, notification))
            )
        except BackendUnavailable:
            _log.warning(
                "could not announce task %s: the backend is unavailable", record.task_id[:8]
            )

    # -- answering about any task ---------------------------------------------------

    async def _find(self, task_id: str, caller: str, request_id: RequestId | None) -> TaskRecord:
        held = await self.store.load(task_id)
        record = _decode(held.data) if held is not None else None
        if record is None or not record.visible_to(caller) or record.expires_at() <= time.time():
            raise task_not_found(task_id, request_id=request_id)
        if not record.status.terminal and not await self._is_running(record):
            # tasks: a task whose node died ends failed, "not working forever".
            await self._abandon(task_id, "the node running the task stopped")
            return await self._find(task_id, caller, request_id)
        return record

    async def _is_running(self, record: TaskRecord) -> bool:
        if record.node_id == self._node.node_id:
            return record.task_id in self._running
        return await self._node.backend.nodes.alive(record.node_id)

    async def get(
        self, task_id: str, caller: str, request_id: RequestId | None = None
    ) -> TaskRecord:
        """``tasks/get``: the task (-32602 if unknown, expired or not the caller's)."""
        return await self._find(task_id, caller, request_id)

    async def list(self, caller: str) -> list[TaskRecord]:
        """The tasks ``caller`` created that are still kept, oldest first (the
        2025-11-25 ``tasks/list``; nothing for a caller bound to no one)."""
        if not caller:
            return []
        found = []
        for task_id in await self.store.owned(caller):
            held = await self.store.load(task_id)
            record = _decode(held.data) if held is not None else None
            if record is not None and record.visible_to(caller):
                found.append(record)
        found.sort(key=lambda r: (r.created_at, r.task_id))
        return found

    async def update(
        self,
        task_id: str,
        caller: str,
        responses: Mapping[str, Any],
        request_id: RequestId | None = None,
    ) -> None:
        """``tasks/update``: deliver ``responses`` to the task and wake its node."""
        record = await self._find(task_id, caller, request_id)
        now = time.time()
        changed = await self.change(task_id, lambda r: r.answer(responses, now=now))
        if changed is not None and changed is not record:
            await self._tell(task_id, _WAKE)

    async def cancel(self, task_id: str, caller: str, request_id: RequestId | None = None) -> None:
        """``tasks/cancel``: the task is ``cancelled`` (a finished one stays as it
        is: the acknowledgement is the same) and its node stops the work."""
        await self._find(task_id, caller, request_id)
        now = time.time()
        await self.change(task_id, lambda r: r.cancel(now=now))
        await self._tell(task_id, _CANCEL)

    async def _tell(self, task_id: str, message: bytes) -> None:
        run = self._running.get(task_id)
        if run is not None:
            if message == _CANCEL:
                run.scope.cancel()
            else:
                run.woken()
            return
        await self._node.backend.broker.publish(task_channel(task_id), message)
