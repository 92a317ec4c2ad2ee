"""Counting what a node does, without touching the parts that do it.

With metrics on, the runtime serves a :class:`MeteredApplication` in place of
the application (each handler's method, tool, outcome and duration go to the
:class:`~scaled_mcp.runtime._metrics.Metrics`) and talks to a
:class:`MeteredBackend` in place of the backend (each round trip, each
failure, each event appended or read). With metrics off neither exists: the
hot path is the one it was.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

import trio

from ..cluster import (
    Backend,
    BackendUnavailable,
    Broker,
    EventLog,
    NodeRegistry,
    SessionStore,
    TaskStore,
)
from ._application import Application, InputNeeded
from ._metrics import Metrics

__all__ = ["ApplicationProxy", "MeteredApplication", "MeteredBackend"]


class ApplicationProxy:
    """Stands for ``app``: every attribute is ``app``'s. Those the runtime reads on
    every request are found directly (a miss through ``__getattr__`` costs an
    exception each time); a subclass replaces :meth:`handle`."""

    def __init__(self, app: Application[Any]) -> None:
        self._app = app
        self._handle = app.handle
        self.never_waits = app.never_waits
        self.new_context = app.new_context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    @property
    def admit(self) -> Any:
        """The application's ``admit`` (it may change as middleware is added)."""
        return self._app.admit


class MeteredApplication(ApplicationProxy):
    """``app``, its :meth:`handle` timed and counted; every other attribute is ``app``'s."""

    def __init__(self, app: Application[Any], metrics: Metrics) -> None:
        super().__init__(app)
        self._metrics = metrics

    async def handle(self, method: str, params: dict[str, Any], context: Any) -> dict[str, Any]:
        """Run the application's handler; count it by method, tool and outcome."""
        tool = params.get("name") if method == "tools/call" else None
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self._handle(method, params, context)
            # A tool that failed answers with a result all the same ("isError").
            outcome = "tool_error" if tool is not None and result.get("isError") else "ok"
            return result
        except InputNeeded:
            outcome = "input_required"
            raise
        except trio.Cancelled:
            outcome = "cancelled"
            raise
        finally:
            self._metrics.observe(
                method,
                tool if isinstance(tool, str) else None,
                outcome,
                time.perf_counter() - started,
            )

    @staticmethod
    def wrap(app: Application[Any], metrics: Metrics) -> Application[Any]:
        """``app`` metered, as the runtime sees applications."""
        return cast(Application[Any], MeteredApplication(app, metrics))


class _MeteredPort:
    """One port of a backend: each of its coroutine methods counted as a round trip."""

    def __init__(self, port: object, name: str, metrics: Metrics) -> None:
        self._port = port
        self._name = name
        self._metrics = metrics

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._port, attr)
        if not inspect.iscoroutinefunction(value):
            return value
        counted = self._counted(f"{self._name}.{attr}", value)
        setattr(self, attr, counted)  # found directly next time
        return counted

    def _counted(
        self, operation: str, call: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        metrics = self._metrics
        appends = operation == "events.append"
        reads = operation == "events.read"

        async def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await call(*args, **kwargs)
            except BackendUnavailable:
                metrics.backend_call(operation, True)
                raise
            metrics.backend_call(operation, False)
            if appends:
                metrics.events_appended += 1
            elif reads:
                metrics.events_read += len(result.events)
            return result

        return counted


class MeteredBackend:
    """``backend`` with every round trip counted (see :class:`_MeteredPort`)."""

    def __init__(self, backend: Backend, metrics: Metrics) -> None:
        self._backend = backend
        self._sessions = cast(SessionStore, _MeteredPort(backend.sessions, "sessions", metrics))
        self._events = cast(EventLog, _MeteredPort(backend.events, "events", metrics))
        self._broker = cast(Broker, _MeteredPort(backend.broker, "broker", metrics))
        self._nodes = cast(NodeRegistry, _MeteredPort(backend.nodes, "nodes", metrics))
        self._tasks = cast(TaskStore, _MeteredPort(backend.tasks, "tasks", metrics))

    @property
    def sessions(self) -> SessionStore:
        """The session store, counted."""
        return self._sessions

    @property
    def events(self) -> EventLog:
        """The event log, counted."""
        return self._events

    @property
    def broker(self) -> Broker:
        """The broker, counted (its subscriptions are not round trips)."""
        return self._broker

    @property
    def nodes(self) -> NodeRegistry:
        """The node registry, counted."""
        return self._nodes

    @property
    def tasks(self) -> TaskStore:
        """The task store, counted."""
        return self._tasks

    def run(self) -> AbstractAsyncContextManager[Backend]:
        """The backend's own lifetime."""
        return self._backend.run()
