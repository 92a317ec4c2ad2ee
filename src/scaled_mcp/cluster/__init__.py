"""The cluster layer: the ports a node shares with its peers, and the in-memory backend."""

from ._memory import (
    DEFAULT_MAX_STREAM_EVENTS,
    DEFAULT_STREAM_TTL,
    DEFAULT_SUBSCRIBER_BUFFER,
    LocalFanout,
    MemoryBackend,
    MemoryBroker,
    MemoryEventLog,
    MemoryNodeRegistry,
    MemorySessionStore,
)
from ._ports import (
    Backend,
    BackendUnavailable,
    Broker,
    EventLog,
    EventRead,
    NodeRegistry,
    SessionNotFound,
    SessionStore,
    StoredDocument,
)
from ._tasks import (
    DEFAULT_MAX_TASK_RECORD,
    MAX_OWNED_TASKS,
    MemoryTaskStore,
    StoredTask,
    TaskStore,
    task_channel,
)

__all__ = [
    "DEFAULT_MAX_STREAM_EVENTS",
    "DEFAULT_MAX_TASK_RECORD",
    "DEFAULT_STREAM_TTL",
    "DEFAULT_SUBSCRIBER_BUFFER",
    "MAX_OWNED_TASKS",
    "Backend",
    "BackendUnavailable",
    "Broker",
    "EventLog",
    "EventRead",
    "LocalFanout",
    "MemoryBackend",
    "MemoryBroker",
    "MemoryEventLog",
    "MemoryNodeRegistry",
    "MemorySessionStore",
    "MemoryTaskStore",
    "NodeRegistry",
    "SessionNotFound",
    "SessionStore",
    "StoredDocument",
    "StoredTask",
    "TaskStore",
    "task_channel",
]
