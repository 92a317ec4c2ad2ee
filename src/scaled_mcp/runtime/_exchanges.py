"""The :class:`~scaled_mcp.runtime.Exchange` of each era: what one request can
do with the client, which the application's context reaches through.

On a handshake session a handler's progress, logs and questions to the
client are live messages on the request's outlet, answered through the
session machine. On the stateless wire there is no session: the dispatcher
makes the notifications, and a question is answered by the client's next
round (input-required results and ``requestState``). The application's
session state is the session's on a handshake session, and unavailable on the
stateless wire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from ..protocol.jsonrpc import (
    ErrorCode,
    ErrorResponse,
    LocalProtocolError,
    Request,
    RequestId,
    Response,
)
from ..protocol.notifications import ProgressOrder
from ..protocol.stateless import EarlierRounds, InputRequest, StatelessRequest
from ..protocol.versions import Era, closes_sse_streams_early
from ._application import McpError
from ._outlets import Outlet
from ._session_state import SessionStateHandle
from ._sessions import LiveSession, Waiter
from ._tasks import TaskHost

if TYPE_CHECKING:
    from ._node import Node

__all__ = ["SessionExchange", "StatelessExchange"]


class SessionExchange:
    """The :class:`~scaled_mcp.runtime.Exchange` of a handshake-era request."""

    era = Era.HANDSHAKE

    def __init__(self, node: Node, live: LiveSession, request: Request, outlet: Outlet) -> None:
        self._node = node
        self._live = live
        self._outlet = outlet
        self.request_id: RequestId = request.id
        session = live.session
        self.protocol_version = session.protocol_version or ""
        self.session_id: str | None = session.session_id
        self.client_info = session.client_info
        self.client_capabilities = session.client_capabilities
        self.progress_token: str | int | None = session.progress_token(request.id)
        self._state: SessionStateHandle | None = None
        #: The node's tasks (the tasks extension).
        self.tasks: TaskHost = node.tasks

    @property
    def session_state(self) -> SessionStateHandle:
        if self._state is None:
            live = self._live
            config = self._node.config
            store = live.store if live.store is not None else self._node.backend.sessions
            self._state = SessionStateHandle(
                store,
                live.session.session_id,
                limit=config.max_session_state,
                attempts=config.session_state_attempts,
            )
        return self._state

    @property
    def lifespan(self) -> Any:
        """The value of the application's lifespan on this node."""
        return self._node.lifespan

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        notification = self._live.session.progress(self.request_id, progress, total, message)
        if notification is not None:
            await self._outlet.emit(notification)

    async def log(self, level: str, data: Any, logger: str | None) -> None:
        notification = self._live.session.log(level, data, logger)
        if notification is not None:
            await self._outlet.emit(notification)

    async def ask(
        self, method: str, params: dict[str, Any], answer_within: float
    ) -> dict[str, Any]:
        session = self._live.session
        try:
            request = session.send_request(method, params)
        except LocalProtocolError as exc:
            raise McpError(ErrorCode.INTERNAL_ERROR, f"cannot send {method}: {exc}") from None
        waiter = Waiter()
        self._live.waiting[request.id] = waiter
        try:
            await self._outlet.emit(request)
            with trio.move_on_after(answer_within):
                await waiter.done.wait()
        finally:
            del self._live.waiting[request.id]
        answer = waiter.answer
        if answer is None:
            cancel = session.cancel_request(request.id, "timed out")
            await self._outlet.emit(cancel)
            raise McpError(ErrorCode.REQUEST_TIMEOUT, f"the client did not answer {method} in time")
        if type(answer) is ErrorResponse:
            raise McpError(answer.code, answer.message, answer.data)
        assert type(answer) is Response
        return answer.result

    def answer(self, key: str, question: InputRequest) -> dict[str, Any] | None:
        raise LocalProtocolError("a session request asks the client directly")

    def answered(self) -> dict[str, Any]:
        raise LocalProtocolError("a session request asks the client directly")

    async def resource_updated(self, uri: str) -> None:
        await self._node.resource_updated(uri)

    async def close_stream(self) -> None:
        if closes_sse_streams_early(self._live.session.protocol_version or ""):
            await self._outlet.close_stream()


class StatelessExchange:
    """The :class:`~scaled_mcp.runtime.Exchange` of a 2026-07-28 request."""

    era = Era.STATELESS
    session_id = None

    def __init__(
        self, node: Node, request: StatelessRequest, outlet: Outlet, earlier: EarlierRounds
    ) -> None:
        self._node = node
        self._request = request
        self._outlet = outlet
        # What earlier rounds got (from requestState), and the answers read this round.
        self._earlier = earlier
        self._sealed = earlier.answers
        self._used: dict[str, Any] = {}
        # The handler re-runs from the start each round: its reports so far this
        # round, the first ``earlier.reported`` of which the client already has.
        self._reports = 0
        self.request_id: RequestId = request.request_id
        self.protocol_version = request.meta.protocol_version
        self.client_info = request.meta.client_info or {}
        self.client_capabilities = request.meta.client_capabilities
        self.progress_token: str | int | None = request.meta.progress_token
        # Made with the first progress notification: most requests send none.
        self._progress: ProgressOrder | None = None
        #: The node's tasks (the tasks extension).
        self.tasks: TaskHost = node.tasks

    @property
    def lifespan(self) -> Any:
        """The value of the application's lifespan on this node."""
        return self._node.lifespan

    def _reported_before(self) -> bool:
        """Count one report of the handler; whether an earlier round sent it."""
        self._reports += 1
        return self._earlier.already_reported(self._reports)

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        sent_before = self._reported_before()
        notification = self._node.dispatcher.progress(
            self._request, progress, total=total, message=message
        )
        if notification is not None:
            if self._progress is None:
                self._progress = ProgressOrder()
            # Checked even when not sent again: it is part of the same sequence.
            self._progress.advance(progress)
            if not sent_before:
                await self._outlet.emit(notification)

    async def log(self, level: str, data: Any, logger: str | None) -> None:
        if self._reported_before():
            return
        notification = self._node.dispatcher.log(self._request, level, data, logger=logger)
        if notification is not None:
            await self._outlet.emit(notification)

    async def ask(
        self, method: str, params: dict[str, Any], answer_within: float
    ) -> dict[str, Any]:
        raise LocalProtocolError("a stateless request cannot ask the client directly")

    def answer(self, key: str, question: InputRequest) -> dict[str, Any] | None:
        fresh = self._request.input_responses
        if fresh is not None and key in fresh:
            value = fresh.result_for(key, question)
        else:
            value = self._sealed.get(key)
        if value is not None:
            self._used[key] = value
        return value

    def answered(self) -> dict[str, Any]:
        return dict(self._used)

    def next_round(self, answered: dict[str, Any]) -> EarlierRounds:
        """What the next round inherits, sealed into the input-required result's
        ``requestState``: ``answered`` and this round's reports."""
        return self._earlier.next_round(answered, self._reports)

    async def resource_updated(self, uri: str) -> None:
        await self._node.resource_updated(uri)

    async def close_stream(self) -> None:
        return  # "streams are not resumable" on the stateless wire

    @property
    def session_state(self) -> SessionStateHandle:
        return _NO_SESSION_STATE


_NO_SESSION_STATE = SessionStateHandle.unavailable(
    "session state is not available on the stateless 2026-07-28 wire: a request there"
    " belongs to no session (keep state in the application's own store, keyed by what"
    " the client sends)"
)
