"""What the server sends, routed: each answer to the call awaiting it, each
server request to the application's handlers, each notification to its handler.

One :class:`Inbox` per client, read by one task. In the handshake era every
message goes through the core's :class:`ClientSession`, which says what it
means; in the stateless era answers are matched by id and notifications read
from their params.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import trio

from ..protocol.client import (
    ClientSession,
    HandshakeCompleted,
    HandshakeFailed,
    ListChanged,
    LogReceived,
    ProgressReceived,
    ReplyToServer,
    RequestFailed,
    ResourceUpdated,
    ResultReceived,
    ServerCancelled,
    ServerRequest,
)
from ..protocol.jsonrpc import (
    ErrorCode,
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
)
from ..protocol.stateless import META_SUBSCRIPTION_ID
from ._errors import ClientError
from ._handlers import Handlers, ProgressHandler, call_handler
from ._transport import Inbound, Lost, Transport

__all__ = ["SEND_DEADLINE", "Inbox", "Waiter"]

_log = logging.getLogger("scaled_mcp.client")

#: Seconds a notification or a reply to the server may take to send.
SEND_DEADLINE: Final = 5.0


class Waiter:
    """Where the answer to one request lands."""

    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.answer: object = None

    def settle(self, answer: object) -> None:
        if not self.done.is_set():
            self.answer = answer
            self.done.set()


class Inbox:
    """Routes what a transport delivers. ``session`` is the handshake era's
    machine (``None`` in the stateless era); ``nursery`` runs the handlers of
    server requests."""

    def __init__(self, handlers: Handlers, transport: Transport) -> None:
        self.session: ClientSession | None = None
        self.nursery: trio.Nursery | None = None
        #: The calls awaiting an answer, by request id.
        self.waiters: dict[RequestId, Waiter] = {}
        #: The progress handlers of calls in flight, by progress token.
        self.progress_handlers: dict[RequestId | str, ProgressHandler] = {}
        self._handlers = handlers
        self._transport = transport
        self._serving: dict[RequestId, trio.CancelScope] = {}
        #: Stateless era: the ``subscriptions/listen`` requests awaiting their acknowledgement.
        self.acknowledgements: dict[RequestId, trio.Event] = {}
        #: Stateless era: who hears ``notifications/tasks`` about each task, by task id.
        self.task_listeners: dict[str, Callable[[dict[str, Any]], None]] = {}

    def fail_all(self, reason: str) -> None:
        """End every waiting call: its answer will not come."""
        for waiter in self.waiters.values():
            waiter.settle(Lost(None, reason))

    async def read(self, receive: trio.MemoryReceiveChannel[Inbound]) -> None:
        async with receive:
            async for item in receive:
                if isinstance(item, Lost):
                    ids = item.request_ids if item.request_ids is not None else list(self.waiters)
                    for request_id in ids:
                        waiter = self.waiters.get(request_id)
                        if waiter is not None:
                            waiter.settle(item)
                    continue
                try:
                    await self._route(item)
                except Exception:
                    _log.exception("a handler failed on %r", item)

    async def _route(self, message: Message) -> None:
        session = self.session
        if session is None:
            await self._route_stateless(message)
            return
        for event in session.receive(message):
            if isinstance(event, ResultReceived | RequestFailed):
                self._settle(event.request.id, event)
            elif isinstance(event, HandshakeCompleted | HandshakeFailed):
                assert type(message) in (Response, ErrorResponse)
                self._settle(message.id, event)  # type: ignore[union-attr]
            elif isinstance(event, ServerRequest):
                assert self.nursery is not None
                self.nursery.start_soon(self._serve, event.request)
            elif isinstance(event, ReplyToServer):
                assert self.nursery is not None
                self.nursery.start_soon(self._reply, event.message)
            elif isinstance(event, ServerCancelled):
                scope = self._serving.get(event.request_id)
                if scope is not None:
                    scope.cancel()
            elif isinstance(event, ProgressReceived):
                await self._progress(event.request.id, event.progress, event.total, event.message)
            else:
                await self._notified(event)

    def _settle(self, request_id: RequestId | None, answer: object) -> None:
        waiter = self.waiters.get(request_id) if request_id is not None else None
        if waiter is not None:
            waiter.settle(answer)

    async def _progress(
        self, key: RequestId | str, progress: float, total: float | None, message: str | None
    ) -> None:
        handler = self.progress_handlers.get(key)
        if handler is not None:
            await call_handler(handler, progress, total, message)

    async def _notified(self, event: object) -> None:
        handlers = self._handlers
        if isinstance(event, LogReceived) and handlers.log is not None:
            await call_handler(handlers.log, event.level, event.data, event.logger)
        elif isinstance(event, ListChanged) and handlers.list_changed is not None:
            await call_handler(handlers.list_changed, event.kind)
        elif isinstance(event, ResourceUpdated) and handlers.resource_updated is not None:
            await call_handler(handlers.resource_updated, event.uri)

    async def _route_stateless(self, message: Message) -> None:
        if type(message) is Response or type(message) is ErrorResponse:
            self._settle(message.id, message)
        elif type(message) is Notification:
            params = message.params or {}
            method = message.method
            if method == "notifications/progress":
                token = params.get("progressToken")
                progress = params.get("progress")
                if isinstance(token, str | int) and isinstance(progress, int | float):
                    total = params.get("total")
                    note = params.get("message")
                    await self._progress(
                        token,
                        progress,
                        total if isinstance(total, int | float) else None,
                        note if isinstance(note, str) else None,
                    )
            elif method == "notifications/message":
                level, logger = params.get("level"), params.get("logger")
                if isinstance(level, str):
                    await self._notified(
                        LogReceived(
                            level, params.get("data"), logger if isinstance(logger, str) else None
                        )
                    )
            elif method == "notifications/resources/updated":
                uri = params.get("uri")
                if isinstance(uri, str):
                    await self._notified(ResourceUpdated(uri))
            elif method == "notifications/tasks":
                task_id = params.get("taskId")
                listener = self.task_listeners.get(task_id) if isinstance(task_id, str) else None
                if listener is not None:
                    listener(params)
            elif method == "notifications/subscriptions/acknowledged":
                meta = params.get("_meta")
                listen = meta.get(META_SUBSCRIPTION_ID) if isinstance(meta, dict) else None
                event = self.acknowledgements.get(listen) if isinstance(listen, str | int) else None
                if event is not None:
                    event.set()
            elif method.endswith("/list_changed"):
                await self._notified(ListChanged(method.split("/")[1]))
        elif type(message) is Request:
            # The stateless era has no server requests: input-required results replace them.
            assert self.nursery is not None
            refusal = ErrorResponse(
                message.id, ErrorCode.METHOD_NOT_FOUND, f"Method not found: {message.method}"
            )
            self.nursery.start_soon(self._reply, refusal)

    async def _serve(self, request: Request) -> None:
        """Answer a server request with the handlers; not at all if the server cancels it."""
        session = self.session
        assert session is not None
        reply: Response | ErrorResponse
        with trio.CancelScope() as scope:
            self._serving[request.id] = scope
            try:
                result = await self._handlers.answer(request.method, request.params or {})
                reply = session.answer(request.id, result)
            except ClientError as exc:
                reply = session.answer_error(request.id, exc.code, exc.message, exc.data)
            except Exception:
                _log.exception("the %s handler failed", request.method)
                reply = session.answer_error(
                    request.id, ErrorCode.INTERNAL_ERROR, "the client's handler failed"
                )
            finally:
                del self._serving[request.id]
            await self._reply(reply)

    async def _reply(self, message: Response | ErrorResponse) -> None:
        with trio.move_on_after(SEND_DEADLINE):
            try:
                await self._transport.send(message)
            except ClientError as exc:
                _log.info("an answer to the server was not sent: %s", exc.message)
