"""The stateless wire (2026-07-28): each POST stands alone.

No handshake, no session: every request carries its ``_meta`` envelope, and
the dispatcher decides what it gets. A handler's question to the client ends
the round with an input-required result, its answers sealed in
``requestState`` for the client's next round. ``subscriptions/listen`` holds
a stream open for the change notifications it asked for. A client cancels a
request by closing its stream. Stdio brings the same requests with no HTTP
(:meth:`StatelessWire.message`).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Final

import trio

from ..cluster import BackendUnavailable
from ..protocol.http import (
    PARAM_HEADER_METHODS,
    Headers,
    ProcessMessages,
    ResponseMode,
    post_reply,
    reject_for,
    response_start,
    validate_param_headers,
)
from ..protocol.jsonrpc import (
    ErrorCode,
    ErrorResponse,
    Message,
    Notification,
    RemoteProtocolError,
    Request,
    encode_message,
    error_response_for,
    internal_error,
)
from ..protocol.nodes import BROADCAST_CHANNEL, decode_broadcast
from ..protocol.sse import encode_comment, encode_message_event
from ..protocol.stateless import (
    CoreAnswer,
    EarlierRounds,
    InputRequest,
    StatelessRequest,
    Subscription,
)
from ..protocol.versions import Era
from ._admission import refusal, stateless_client_info
from ._answers import cancel_when, reject, respond
from ._application import InputNeeded, McpError
from ._auth import principal_key
from ._exchanges import StatelessExchange
from ._front import ClientGone, Responder
from ._logs import serving_request
from ._node import Node
from ._outlets import Outlet, OutletState, PostOutlet
from ._timeouts import timed_out, timeout_of

__all__ = ["StatelessWire"]

_log = logging.getLogger("scaled_mcp.runtime")


#: Seconds a call answered in JSON runs before its connection is watched for a
#: disconnect (how a 2026-07-28 client cancels it).
_SLOW_CALL: Final = 0.25


class _Call:
    """A call in progress: its nursery, and whether its disconnect is watched."""

    __slots__ = ("nursery", "responder", "watched")

    def __init__(self, nursery: trio.Nursery, responder: Responder) -> None:
        self.nursery = nursery
        self.responder = responder
        self.watched = False

    def watch(self) -> None:
        """Cancel the call when its client disconnects (once)."""
        if not self.watched:
            self.watched = True
            self.nursery.start_soon(
                cancel_when, self.responder.wait_disconnected, self.nursery.cancel_scope
            )


class StatelessWire:
    """The 2026-07-28 requests of one node (see the module docstring)."""

    __slots__ = (
        "_app",
        "_backend",
        "_config",
        "_dispatcher",
        "_new_context",
        "_node",
        "_running",
        "_timeout_of",
    )

    def __init__(self, node: Node) -> None:
        self._node = node
        self._app = node.app
        self._new_context = node.app.new_context
        self._backend = node.backend
        self._config = node.config
        self._dispatcher = node.dispatcher
        # The seconds each request's handler may run.
        self._timeout_of = timeout_of(node.app, node.config.handler_timeout)
        # Calls answered in JSON that no one watches for a disconnect yet, with the
        # trio time each began (see :meth:`watch_slow_calls`).
        self._running: dict[_Call, float] = {}

    async def post(self, decision: ProcessMessages, responder: Responder, extra: Headers) -> None:
        """Answer a 2026-07-28 POST (one message: a notification or a request)."""
        message = decision.messages[0]
        if type(message) is Notification:
            if self._app.admit is None or await self._refusal(message) is None:
                self._dispatcher.handle_notification(message)
            await respond(responder, post_reply((), batch=False, era=Era.STATELESS), extra)
            return
        assert isinstance(message, Request)
        try:
            handled = self._dispatcher.handle_request(message)
            if type(handled) is StatelessRequest and handled.method in PARAM_HEADER_METHODS:
                self._check_param_headers(handled, decision.param_headers)
        except RemoteProtocolError as exc:
            await reject(responder, reject_for(exc), extra)
            return
        refused = None
        if self._app.admit is not None and type(handled) is not StatelessRequest:
            refused = await self._refusal(message)
        if type(handled) is Subscription and refused is None:
            await self._listen(handled, responder, extra)
            return
        if type(handled) is not StatelessRequest:
            answer = refused or handled.response  # type: ignore[union-attr]
            await respond(responder, post_reply((answer,), batch=False, era=Era.STATELESS), extra)
            return
        # The stream begins with the first message the handler emits, not
        # before: an error found first keeps its HTTP status (2026-07-28: -32021
        # and others "MUST" be 400), which a begun stream could no longer carry.
        outlet = PostOutlet(
            self._node,
            responder,
            None,
            priming=False,
            prefer_stream=decision.response_mode is ResponseMode.SSE,
            extra_headers=extra,
        )
        reply = await self._call(handled, outlet, responder)
        if reply is not None:
            await outlet.finish([reply], batch=False, era=Era.STATELESS)

    async def _refusal(self, message: Request | Notification) -> ErrorResponse | None:
        """The application's refusal of a message the core answers (its middleware
        sees it first), or ``None``."""
        assert self._app.admit is not None
        return await refusal(
            self._app.admit,
            message,
            era=Era.STATELESS,
            session_id=None,
            client_info=stateless_client_info(message.params),
        )

    def _check_param_headers(self, request: StatelessRequest, headers: Headers) -> None:
        name = request.target
        paths = self._app.tool_param_headers(name) if name is not None else None
        if not paths and not headers:
            return
        validate_param_headers(
            headers, request.params.get("arguments"), paths or {}, request_id=request.request_id
        )

    def _earlier_rounds(self, request: StatelessRequest) -> EarlierRounds:
        """What earlier rounds got, from the request's sealed ``requestState``."""
        if request.request_state is None:
            return EarlierRounds()
        if self._node.request_state_pending is not None:
            # Not opened with a key of this node's own: 503 until the cluster's are read.
            raise BackendUnavailable(self._node.request_state_pending)
        # Sealed for the principal it was given to: another one's retry fails
        # the integrity check.
        opened = self._dispatcher.open_state(request, now=time.time(), principal=principal_key())
        return EarlierRounds.from_state(opened)

    async def _call(
        self, request: StatelessRequest, outlet: PostOutlet, responder: Responder
    ) -> Message | None:
        try:
            earlier = self._earlier_rounds(request)
        except RemoteProtocolError as exc:
            return error_response_for(exc)
        exchange = StatelessExchange(self._node, request, outlet, earlier)
        ctx = self._new_context(exchange, ask_timeout=self._config.ask_timeout)
        self._node.work_started()
        try:
            if self._app.never_waits(request.method, request.params):
                # It cannot wait, so it cannot stream, and nothing could stop it
                # midway: no disconnect watcher is needed.
                return await self._answer(request, exchange, ctx)
            return await self._run(request, outlet, responder, exchange, ctx)
        finally:
            self._node.work_done()

    async def message(self, request: Request, outlet: Outlet) -> Message | None:
        """Answer one 2026-07-28 request that came without HTTP (stdio): its
        response, with its notifications emitted on ``outlet`` first. A
        ``subscriptions/listen`` stays open, delivering notifications, until
        cancelled (``notifications/cancelled``, which on stdio is how a client
        stops one) or the node shuts down."""
        try:
            handled = self._dispatcher.handle_request(request)
        except RemoteProtocolError as exc:
            return error_response_for(exc)
        if self._app.admit is not None and type(handled) is not StatelessRequest:
            refused = await self._refusal(request)
            if refused is not None:
                return refused
        if type(handled) is CoreAnswer:
            return handled.response
        if type(handled) is Subscription:
            await outlet.emit(handled.acknowledgement())
            async with self._backend.broker.subscribe(BROADCAST_CHANNEL) as messages:
                with trio.CancelScope() as scope:
                    self._node.closing_scopes.add(scope)
                    try:
                        async for payload in messages:
                            broadcast = decode_broadcast(payload)
                            delivered = handled.deliver(broadcast.notification)
                            if delivered is not None:
                                await outlet.emit(delivered)
                    finally:
                        self._node.closing_scopes.discard(scope)
            return handled.closing_response()
        assert type(handled) is StatelessRequest
        try:
            earlier = self._earlier_rounds(handled)
        except RemoteProtocolError as exc:
            return error_response_for(exc)
        except BackendUnavailable as exc:
            return _unavailable(handled, str(exc))
        exchange = StatelessExchange(self._node, handled, outlet, earlier)
        self._node.work_started()
        try:
            return await self._within_timeout(
                handled, exchange, self._new_context(exchange, ask_timeout=self._config.ask_timeout)
            )
        finally:
            self._node.work_done()

    async def _within_timeout(
        self, request: StatelessRequest, exchange: StatelessExchange, ctx: object
    ) -> Message:
        """:meth:`_answer`, cancelled with a ``REQUEST_TIMEOUT`` error when the
        handler runs past its timeout."""
        timeout = self._timeout_of(request.method, request.params)
        with trio.move_on_after(math.inf if timeout is None else timeout):
            return await self._answer(request, exchange, ctx)
        return timed_out(request.request_id, timeout)

    async def _answer(
        self, request: StatelessRequest, exchange: StatelessExchange, ctx: object
    ) -> Message:
        """Run the handler; its final or input-required response, or its error."""
        serving = serving_request.set((None, request.request_id))
        try:
            result = await self._app.handle(request.method, request.params, ctx)
            return self._dispatcher.complete(request, result)
        except InputNeeded as needed:
            return self._input_required(request, needed, exchange.next_round(needed.answered))
        except McpError as exc:
            return ErrorResponse(request.request_id, exc.code, exc.message, exc.data)
        except RemoteProtocolError as exc:
            return error_response_for(exc.with_request_id(request.request_id))
        except Exception:
            _log.exception("handler of %s failed", request.method)
            return internal_error(request.request_id)
        finally:
            serving_request.reset(serving)

    async def _run(
        self,
        request: StatelessRequest,
        outlet: PostOutlet,
        responder: Responder,
        exchange: StatelessExchange,
        ctx: object,
    ) -> Message | None:
        async with trio.open_nursery() as nursery:
            call = _Call(nursery, responder)

            def watch() -> None:
                # 2026-07-28: the client cancels a request by closing its stream.
                # Watching needs a task, so it starts once the response streams,
                # or once the call has run for a while (watch_slow_calls).
                self._running.pop(call, None)
                call.watch()

            outlet.on_stream = watch
            if outlet.state is not OutletState.PENDING:
                watch()
            else:
                self._running[call] = trio.current_time()
            try:
                return await self._within_timeout(request, exchange, ctx)
            finally:
                self._running.pop(call, None)
                outlet.on_stream = None
                nursery.cancel_scope.cancel()
        # Cancelled: the client went away.
        return None  # type: ignore[unreachable]

    async def watch_slow_calls(self) -> None:
        """Watch for a disconnect the calls that have run ``_SLOW_CALL`` seconds
        without streaming: a quick call costs no watcher task, and a client that
        closes its connection still cancels a long one."""
        running = self._running
        while True:
            await trio.sleep(_SLOW_CALL)
            cutoff = trio.current_time() - _SLOW_CALL
            for call, began in list(running.items()):
                if began <= cutoff:
                    del running[call]
                    call.watch()

    def _input_required(
        self, request: StatelessRequest, needed: InputNeeded, rounds: EarlierRounds
    ) -> Message:
        questions: dict[str, InputRequest] = needed.requests
        if self._node.request_state_pending is not None:
            # Sealed with a key of this node's own, the retry would fail on every
            # other node: an error now, until the cluster's keys are read.
            return _unavailable(request, self._node.request_state_pending)
        state = self._dispatcher.seal_state(
            request,
            rounds.to_state(),
            now=time.time(),
            ttl=self._config.request_state_ttl,
            principal=principal_key(),
        )
        try:
            return self._dispatcher.input_required(request, questions, request_state=state)
        except RemoteProtocolError as exc:
            return error_response_for(exc)

    async def _listen(
        self, subscription: Subscription, responder: Responder, extra: Headers
    ) -> None:
        status, headers = response_start(ResponseMode.SSE)
        await responder.start(status, (*headers, *extra))
        await responder.send(encode_message_event(encode_message(subscription.acknowledgement())))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_when, responder.wait_disconnected, nursery.cancel_scope)

                async def closing() -> None:
                    await self._node.closing.wait()
                    # Shutdown ends the subscription with its response.
                    await responder.send(
                        encode_message_event(encode_message(subscription.closing_response()))
                    )
                    nursery.cancel_scope.cancel()

                nursery.start_soon(closing)
                async with self._backend.broker.subscribe(BROADCAST_CHANNEL) as messages:
                    while True:
                        payload = None
                        with trio.move_on_after(self._config.heartbeat_interval):
                            payload = await messages.__anext__()
                        if payload is None:
                            await responder.send(encode_comment())
                            continue
                        broadcast = decode_broadcast(payload)
                        delivered = subscription.deliver(broadcast.notification)
                        if delivered is not None:
                            await responder.send(encode_message_event(encode_message(delivered)))
        except* ClientGone:
            pass  # the client went away (seen by any of the tasks): nothing more to send


def _unavailable(request: StatelessRequest, reason: str) -> ErrorResponse:
    """The error a request gets when the node cannot serve it now."""
    return ErrorResponse(
        request.request_id, int(ErrorCode.INTERNAL_ERROR), f"Service unavailable: {reason}"
    )
