"""The task store: where the tasks extension's tasks live, shared by every node.

A task (:class:`~scaled_mcp.protocol.tasks.TaskRecord`, encoded) is written
when it is created and at each transition, by compare-and-set on its version:
the node running it, and any node answering ``tasks/update`` or
``tasks/cancel``, never overwrite each other's change. A task expires with
its TTL (counted from its creation). Beside it, :func:`task_channel` names the
broker channel on which the node running a task hears that it changed.
"""

from __future__ import annotations

from typing import Final, Protocol

import attrs
import trio

__all__ = [
    "DEFAULT_MAX_TASK_RECORD",
    "MAX_OWNED_TASKS",
    "MemoryTaskStore",
    "StoredTask",
    "TaskStore",
    "task_channel",
]

#: The most bytes one encoded task may take in the store (its result included).
DEFAULT_MAX_TASK_RECORD: Final = 1024 * 1024
#: The most task ids an owner's index keeps (the oldest are dropped first).
MAX_OWNED_TASKS: Final = 1000


def task_channel(task_id: str) -> str:
    """The broker channel of ``task_id``: its running node listens there."""
    return f"task:{task_id}"


@attrs.frozen(slots=True)
class StoredTask:
    """A task as stored: its encoded record and its version (1 when created)."""

    version: int
    data: bytes


class TaskStore(Protocol):
    """Tasks by id, each with an expiry, written by compare-and-set."""

    async def create(self, task_id: str, data: bytes, *, ttl: float) -> bool:
        """Store a new task (version 1) expiring ``ttl`` seconds from now; whether
        it was created (``False``: the id exists)."""
        ...

    async def load(self, task_id: str) -> StoredTask | None:
        """The task, or ``None`` if it does not exist (or expired)."""
        ...

    async def write(self, task_id: str, data: bytes, *, version: int) -> int | None:
        """Replace the task if its version is still ``version``, keeping its expiry;
        the new version, or ``None`` if another write came first or it is gone."""
        ...

    async def index(self, owner: str, task_id: str, *, ttl: float) -> None:
        """Remember that ``owner`` created ``task_id``, for ``ttl`` seconds (the
        2025-11-25 ``tasks/list``); at most :data:`MAX_OWNED_TASKS` per owner."""
        ...

    async def owned(self, owner: str) -> list[str]:
        """The ids ``owner`` created and still indexed, in no set order (a task
        may have gone since)."""
        ...


class MemoryTaskStore:
    """Tasks in a dict, each with an expiry on the trio clock."""

    def __init__(self) -> None:
        self._tasks: dict[str, tuple[StoredTask, float]] = {}
        self._owned: dict[str, dict[str, float]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    async def create(self, task_id: str, data: bytes, *, ttl: float) -> bool:
        if await self.load(task_id) is not None:
            return False
        self._tasks[task_id] = (StoredTask(1, data), trio.current_time() + ttl)
        return True

    async def load(self, task_id: str) -> StoredTask | None:
        entry = self._tasks.get(task_id)
        if entry is None:
            return None
        if entry[1] <= trio.current_time():
            del self._tasks[task_id]
            return None
        return entry[0]

    async def write(self, task_id: str, data: bytes, *, version: int) -> int | None:
        held = await self.load(task_id)
        # No await between the comparison and the write: atomic on the trio loop.
        if held is None or held.version != version:
            return None
        self._tasks[task_id] = (StoredTask(version + 1, data), self._tasks[task_id][1])
        return version + 1

    async def index(self, owner: str, task_id: str, *, ttl: float) -> None:
        now = trio.current_time()
        ids = self._owned.setdefault(owner, {})
        ids[task_id] = now + ttl
        for gone in [k for k, expires in ids.items() if expires <= now]:
            del ids[gone]
        while len(ids) > MAX_OWNED_TASKS:
            del ids[next(iter(ids))]

    async def owned(self, owner: str) -> list[str]:
        now = trio.current_time()
        return [k for k, expires in self._owned.get(owner, {}).items() if expires > now]

    def sweep(self, now: float) -> None:
        """Drop expired tasks (and their owners' index entries)."""
        for key in [k for k, (_, expires) in self._tasks.items() if expires <= now]:
            del self._tasks[key]
        for owner, ids in list(self._owned.items()):
            for gone in [k for k, expires in ids.items() if expires <= now]:
                del ids[gone]
            if not ids:
                del self._owned[owner]
