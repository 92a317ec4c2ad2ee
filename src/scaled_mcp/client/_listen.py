"""The stateless era's change notifications on the client: one
``subscriptions/listen`` stream, reopened with what the client wants to hear (list
changes its handlers want, the resources subscribed to, the tasks watched).

The 2026-07-28 spec has the client open the stream with the notifications it
wants; the server acknowledges it (``notifications/subscriptions/acknowledged``)
with what it grants. Changing what the client wants closes the stream (which
cancels it) and opens another.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from typing import Any

import trio

from ..protocol.client import StatelessClient, with_tasks_extension
from ..protocol.jsonrpc import Request
from ..protocol.stateless import SubscriptionFilter
from ._errors import ClientError
from ._handlers import Handlers
from ._inbox import Inbox
from ._transport import ParamHeaders

__all__ = ["ListenStreams"]

_log = logging.getLogger("scaled_mcp.client")


class _Listen:
    """One ``subscriptions/listen`` stream: acknowledged (or over), and how it failed."""

    __slots__ = ("acknowledged", "error")

    def __init__(self) -> None:
        self.acknowledged = trio.Event()
        self.error: ClientError | None = None


class ListenStreams(abc.ABC):
    """The :class:`~scaled_mcp.client.Client`'s listen stream (stateless era)."""

    # What the client holds (set in its ``__init__``).
    _handlers: Handlers
    _inbox: Inbox
    _capabilities: dict[str, Any]
    _server_capabilities: dict[str, Any]
    _stateless: StatelessClient | None
    _nursery: trio.Nursery | None
    _timeout: float
    _closed: bool

    def __init__(self) -> None:
        #: The resources subscribed to (in order), and the listen stream.
        self._subscribed: dict[str, None] = {}
        self._listening: trio.CancelScope | None = None
        self._relistening = trio.Lock()

    @abc.abstractmethod
    async def _await_answer(self, request: Request, param_headers: ParamHeaders | None) -> Any:
        """Send ``request`` and wait for its answer."""

    async def _change_subscription(self, uri: str, *, subscribe: bool) -> None:
        if subscribe:
            self._subscribed[uri] = None
        else:
            self._subscribed.pop(uri, None)
        await self._relisten()

    async def _watch_task(self, task_id: str, listener: Callable[[dict[str, Any]], None]) -> None:
        """Stateless era: hear ``notifications/tasks`` about ``task_id`` (the listen
        stream is reopened with it, if the server runs tasks)."""
        self._inbox.task_listeners[task_id] = listener
        await self._relisten()

    async def _unwatch_task(self, task_id: str) -> None:
        """Stop hearing about ``task_id``."""
        if self._inbox.task_listeners.pop(task_id, None) is not None and not self._closed:
            await self._relisten()

    async def _relisten(self) -> None:
        """(Re)open the ``subscriptions/listen`` stream for the list changes the
        handlers want, the resources subscribed to and the tasks watched; wait
        (bounded) for its acknowledgement. The previous stream is closed (which
        cancels it). One reopening at a time."""
        async with self._relistening:
            await self._reopen_listen()

    async def _reopen_listen(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            self._listening = None
        wanted = self._handlers.list_changed is not None
        notifications = SubscriptionFilter(
            tools_list_changed=wanted,
            prompts_list_changed=wanted,
            resources_list_changed=wanted,
            resource_subscriptions=tuple(self._subscribed),
            task_ids=tuple(self._inbox.task_listeners),
        ).granted_by(self._server_capabilities)
        if not notifications.to_json():
            return
        assert self._nursery is not None
        listen: _Listen = await self._nursery.start(self._listen, notifications)
        with trio.fail_after(self._timeout):
            await listen.acknowledged.wait()
        if listen.error is not None:
            raise listen.error

    async def _listen(
        self, notifications: SubscriptionFilter, *, task_status: trio.TaskStatus[_Listen]
    ) -> None:
        stateless = self._stateless
        assert stateless is not None
        # tasks: a listen for task ids must declare the extension (else -32021).
        capabilities = with_tasks_extension(self._capabilities) if notifications.task_ids else None
        request = stateless.request(
            "subscriptions/listen",
            {"notifications": notifications.to_json()},
            capabilities=capabilities,
        )
        listen = _Listen()
        self._inbox.acknowledgements[request.id] = listen.acknowledged
        try:
            with trio.CancelScope() as scope:
                self._listening = scope
                task_status.started(listen)
                await self._await_answer(request, None)
        except ClientError as exc:
            listen.error = exc
            _log.info("subscriptions/listen ended: %s", exc.message)
        finally:
            del self._inbox.acknowledgements[request.id]
            listen.acknowledged.set()
