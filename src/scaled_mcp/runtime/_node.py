"""What the parts of one node's runtime share.

A :class:`~scaled_mcp.runtime.Runtime` is made of parts, each one
responsibility: the session POST, the GET streams, the 2024-11-05 transport,
the stateless wire, the link to the other nodes. A :class:`Node` holds what
they share: the application, the settings, the cluster backend, the sessions
served here, the node's lifetime (its closing, its work in flight, its
nursery), the numbering of its streams, and its broadcasts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import orjson
import trio

from ..cluster import Backend, BackendUnavailable
from ..protocol.jsonrpc import Notification, encode_message
from ..protocol.nodes import BROADCAST_CHANNEL, Broadcast, encode_broadcast, stream_id_for
from ..protocol.notifications import resource_updated_notification
from ..protocol.session import ServerConfig
from ..protocol.stateless import StatelessDispatcher
from ._application import Application
from ._sessions import LiveSessions
from ._tasks import TaskHost

if TYPE_CHECKING:
    from ._runtime_config import RuntimeConfig

__all__ = ["BROADCAST_LOG", "BROADCAST_STREAM", "GET_STREAM", "LEGACY_STREAM", "Node"]

_log = logging.getLogger("scaled_mcp.runtime")

#: The event-log stream of a session's standalone GET stream.
GET_STREAM: Final = "get"
#: The event-log stream of a 2024-11-05 session's ``GET /sse`` stream.
LEGACY_STREAM: Final = "legacy"
#: The event-log stream every broadcast is numbered in (a session id no client has).
BROADCAST_LOG: Final = "*"
BROADCAST_STREAM: Final = "broadcast"


class Node:
    """The pieces every part of one node's runtime shares (see the module docstring).

    ``closing`` is set when the node begins to shut down; ``closing_scopes``
    are the scopes of long-lived work with no client connection (stdio
    listens), cancelled then. ``nursery`` runs background work while the node
    runs.
    """

    __slots__ = (
        "_idle",
        "_in_flight",
        "_stream_counter",
        "app",
        "backend",
        "closing",
        "closing_scopes",
        "config",
        "dispatcher",
        "lifespan",
        "node_id",
        "nursery",
        "request_state_pending",
        "server_config",
        "sessions",
        "streams_open",
        "tasks",
    )

    def __init__(
        self,
        app: Application[Any],
        config: RuntimeConfig,
        backend: Backend,
        server_config: ServerConfig,
        dispatcher: StatelessDispatcher,
    ) -> None:
        self.app = app
        self.config = config
        self.backend = backend
        self.node_id = config.node_id
        self.server_config = server_config
        self.dispatcher = dispatcher
        #: Why the node cannot seal ``requestState`` yet (the cluster's keys were
        #: not read from the store), or ``None`` once it can.
        self.request_state_pending: str | None = None
        self.sessions = LiveSessions(
            server_config, config.node_id, backend, config.session_idle_timeout
        )
        self.closing = trio.Event()
        self.closing_scopes: set[trio.CancelScope] = set()
        self.nursery: trio.Nursery | None = None
        #: What the application's lifespan gave, while the node runs.
        self.lifespan: Any = None
        self._stream_counter = 0
        #: Long-lived streams (GET, legacy ``/sse``) open on this node now.
        self.streams_open = 0
        self._in_flight = 0
        self._idle = trio.Event()
        self._idle.set()
        #: The tasks extension's tasks: those running here, and any in the store.
        self.tasks = TaskHost(
            self,
            ttl_ms=max(1, round(config.task_ttl * 1000)),
            poll_ms=max(1, round(config.task_poll_interval * 1000)),
            max_running=config.max_running_tasks,
        )

    def new_stream_id(self) -> str:
        """A stream id unique on this node and across nodes (it names the node)."""
        self._stream_counter += 1
        return stream_id_for(self.node_id, self._stream_counter)

    def start_soon(self, task: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``task`` in the background while the node runs."""
        assert self.nursery is not None, "the node is not running"
        self.nursery.start_soon(task, *args)

    # -- work in flight ---------------------------------------------------------

    def work_started(self) -> None:
        """A handler began; :meth:`wait_idle` waits for it."""
        self._in_flight += 1
        if self._in_flight == 1:
            self._idle = trio.Event()

    def work_done(self) -> None:
        """A handler ended."""
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    def in_flight(self) -> int:
        """How many handlers run now."""
        return self._in_flight

    def status(self) -> bytes:
        """What the node says of itself with its heartbeat (JSON)."""
        return orjson.dumps(
            {
                "sessions": len(self.sessions),
                "streams": self.streams_open,
                "in_flight": self._in_flight,
            }
        )

    async def wait_idle(self) -> None:
        """Return once no handler runs."""
        await self._idle.wait()

    def begin_shutdown(self) -> None:
        """End long-lived streams (GET, ``subscriptions/listen``) so clients resume elsewhere."""
        self.closing.set()
        for scope in tuple(self.closing_scopes):
            scope.cancel()

    # -- broadcasts -------------------------------------------------------------

    async def publish(self, message: Notification) -> None:
        """Log a broadcast in the broadcast stream, then publish it with its number:
        a session's GET stream that moves to another node catches up from the log."""
        body = encode_message(message)
        try:
            seq = await self.backend.events.append(BROADCAST_LOG, BROADCAST_STREAM, body)
            await self.backend.broker.publish(
                BROADCAST_CHANNEL, encode_broadcast(Broadcast(seq, message))
            )
        except BackendUnavailable:
            _log.warning("could not broadcast %s: the backend is unavailable", message.method)

    async def resource_updated(self, uri: str) -> None:
        """Tell every session subscribed to ``uri`` that it changed."""
        await self.publish(resource_updated_notification(uri))
