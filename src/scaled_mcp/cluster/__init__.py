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

__all__ = [
    "DEFAULT_MAX_STREAM_EVENTS",
    "DEFAULT_STREAM_TTL",
    "DEFAULT_SUBSCRIBER_BUFFER",
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
    "NodeRegistry",
    "SessionNotFound",
    "SessionStore",
    "StoredDocument",
]
