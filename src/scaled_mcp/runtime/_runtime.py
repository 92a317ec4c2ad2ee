"""The trio runtime: drives the protocol core for an :class:`Application`.

One :class:`Runtime` serves every transport of a node: the HTTP fronts hand it
requests through :meth:`Runtime.handle_http`, stdio (``serve_stdio``) feeds
its session's messages to :meth:`Runtime.receive_messages` and
:meth:`Runtime.call`. Protocol decisions are the core's; the runtime
schedules handlers, keeps each request's cancel scope, and moves messages
between the handlers, the client and the cluster ports.

This module holds the node's settings, its lifetime, the routing of HTTP
requests and the handshake-era session POST; its parts hold the rest (they
share a :class:`~scaled_mcp.runtime._node.Node`):

* ``_outlets``: where a request's messages go (its POST's JSON body or SSE
  stream; handshake-era stream events are logged first, so that a client can
  resume the stream on any node);
* ``_application``: what the runtime asks of the application it serves;
* ``_exchanges``: what a handler's context reaches, in each era;
* ``_streams``: GET streams, served from the event log, and the broadcasts
  (``list_changed``, ``resources/updated``) copied into them;
* ``_session_start``: a POST of ``initialize`` starting a session;
* ``_legacy``: the 2024-11-05 ``GET /sse`` and ``POST /messages``;
* ``_stateless_wire``: 2026-07-28 requests and ``subscriptions/listen``;
* ``_peers``: what other nodes forward to the work running here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any, Final

import trio

from ..cluster import Backend, BackendUnavailable, MemoryBackend
from ..protocol.http import (
    Headers,
    HttpDecision,
    HttpRequest,
    NeedSession,
    OpenLegacyStream,
    OpenStream,
    Preflight,
    ProcessMessages,
    Reject,
    ResponseMode,
    ServeProbe,
    TerminateSession,
    cors_headers,
    decide,
    decide_with_session,
    precheck,
    preflight_reply,
    service_unavailable,
    terminated_reply,
)
from ..protocol.jsonrpc import (
    ErrorResponse,
    Message,
    RemoteProtocolError,
    Request,
    error_response_for,
    internal_error,
    request_id_of,
)
from ..protocol.nodes import forward_channel
from ..protocol.notifications import list_changed_notification, resource_updated_notification
from ..protocol.oauth import Principal
from ..protocol.session import (
    ErrorReceived,
    ReplyReady,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
)
from ..protocol.versions import Era, primes_sse_streams
from ._admission import admit_messages
from ._answers import reject, reject_quietly, respond
from ._application import Application, InputNeeded, McpError, StartupError
from ._auth import current_principal, principal_key
from ._exchanges import SessionExchange
from ._front import ClientGone, Responder
from ._legacy import LegacyTransport
from ._logs import serving_request
from ._metered import MeteredApplication, MeteredBackend
from ._metrics import Metrics
from ._node import LEGACY_STREAM, Node
from ._operations import Operations
from ._outlets import Outlet, PostOutlet
from ._peers import Peers
from ._rate_limit import RateLimiter
from ._runtime_config import RuntimeConfig, protocol_configs
from ._session_start import initialize_session
from ._sessions import LiveSession
from ._state_keys import SharedStateKeys
from ._stateless_wire import StatelessWire
from ._streams import GetStreams
from ._timeouts import handler_deadline, timed_out, timeout_of
from ._tracing import TracedApplication, with_trace_headers

__all__ = ["Runtime"]

_log = logging.getLogger("scaled_mcp.runtime")


#: Decisions answered without a token or a rate limit: refusals, CORS preflights
#: and the operator's probes (a Kubernetes probe carries no token).
_OPEN_TO_ALL: Final = frozenset({Reject, Preflight, ServeProbe})


class Runtime:
    """Serves ``app`` (any :class:`Application`, such as an ``MCPServer``) over
    every transport of one node.

    Use ``async with runtime.run():`` around the fronts: it enters the
    application's lifespan, connects the backend, runs the background work
    (broadcasts, expiry), and on exit drains, then leaves the lifespan.
    """

    def __init__(
        self,
        app: Application[Any],
        *,
        backend: Backend | None = None,
        config: RuntimeConfig | None = None,
    ) -> None:
        self.config = config or RuntimeConfig()
        self.backend: Backend = backend if backend is not None else MemoryBackend()
        metrics = None
        if self.config.metrics:
            metrics = Metrics(self.config.node_id, share_dir=self.config.metrics_dir)
            app = MeteredApplication.wrap(app, metrics)
            self.backend = MeteredBackend(self.backend, metrics)
        if self.config.tracing:
            app = TracedApplication.wrap(app, self.config.tracer_provider)
            # Requests carry their HTTP trace headers to the handler's span.
            self.handle_http = with_trace_headers(self.handle_http)  # type: ignore[method-assign,assignment]
        self.app = app
        # Each request's context: made by the application, from its exchange.
        self._new_context = app.new_context
        self.node_id = self.config.node_id
        self.server_config, self.dispatcher = protocol_configs(app, self.config)
        self._node = node = Node(
            app, self.config, self.backend, self.server_config, self.dispatcher
        )
        self._sessions = node.sessions
        self._streams = GetStreams(node)
        self._legacy = LegacyTransport(node, self._streams, self._process)
        self._stateless = StatelessWire(node)
        self._peers = Peers(node, self.receive_messages)
        # Without keys of its own, the node seals with its cluster's (from the store).
        self._shared_keys = None if self.config.request_state_keys else SharedStateKeys(node)
        self._changes_send, self._changes_receive = trio.open_memory_channel[tuple[str, Any]](1024)
        self._auth = auth = self.config.auth
        limit = self.config.rate_limit
        self._limiter = RateLimiter(limit) if limit is not None else None
        self._metadata_paths = (
            auth.metadata_paths(self.config.http.endpoint_path) if auth is not None else frozenset()
        )
        # The scopes each request needs, when the application names some.
        self._scopes_of = getattr(app, "required_scopes", None)
        # The seconds each request's handler may run.
        self._timeout_of = timeout_of(app, self.config.handler_timeout)
        self.operations = Operations(node, self.config, metrics)
        if metrics is not None:
            metrics.gauges.update(
                sessions=("Sessions live on the node", lambda: len(node.sessions)),
                streams=("Long-lived streams open (GET, legacy /sse)", lambda: node.streams_open),
                requests_in_flight=("Handlers running", node.in_flight),
            )

    # -- lifetime ---------------------------------------------------------------

    @asynccontextmanager
    async def run(self) -> AsyncIterator[Runtime]:
        """Run the node: lifespan, backend, broadcaster, expiry; drain and stop on
        exit, then leave the lifespan. Raises :class:`StartupError` (one line)
        if the lifespan fails on entry."""
        async with AsyncExitStack() as lifespan:
            try:
                self._node.lifespan = await lifespan.enter_async_context(self.app.running())
            except Exception as exc:
                detail = " ".join(str(exc).split()) or type(exc).__name__
                raise StartupError(f"the lifespan failed: {detail}") from exc
            # A verifier that keeps resources for the node's life (the
            # introspection verifier's HTTP client) holds them until it stops.
            verifier = self.config.auth.verifier if self.config.auth is not None else None
            verifier_running = getattr(verifier, "running", None)
            if verifier_running is not None:
                await lifespan.enter_async_context(verifier_running())
            try:
                async with self._serving() as runtime:
                    yield runtime
            finally:
                self._node.lifespan = None

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[Runtime]:
        self.app.add_listener(self._on_app_change)
        try:
            async with self.backend.run(), trio.open_nursery() as nursery:
                self._node.nursery = nursery
                nursery.start_soon(self._broadcaster)
                nursery.start_soon(self._expirer)
                nursery.start_soon(self._stateless.watch_slow_calls)
                nursery.start_soon(self._peers.heartbeat)
                nursery.start_soon(self._peers.keep_listening)
                nursery.start_soon(self.operations.watch_broker)
                nursery.start_soon(self.operations.share_metrics)
                if self._shared_keys is not None:
                    # Known before the fronts listen (within a deadline).
                    await self._shared_keys.start()
                    nursery.start_soon(self._shared_keys.keep_current)
                try:
                    yield self
                finally:
                    await self.drain()
                    nursery.cancel_scope.cancel()
        finally:
            self.app.remove_listener(self._on_app_change)
            self._node.nursery = None

    def begin_shutdown(self) -> None:
        """End long-lived streams (GET, ``subscriptions/listen``) so clients resume elsewhere."""
        self._node.begin_shutdown()

    async def drain(self) -> None:
        """Stop long-lived streams and give in-flight handlers ``shutdown_grace``
        seconds to finish; whatever still runs then is cancelled by the caller."""
        self.begin_shutdown()
        with trio.move_on_after(self.config.shutdown_grace):
            await self._node.wait_idle()

    @property
    def is_running(self) -> bool:
        """Whether the node runs (inside :meth:`run`, until it stopped)."""
        return self._node.nursery is not None

    @property
    def closing(self) -> bool:
        """Whether the node is shutting down."""
        return self._node.closing.is_set()

    def new_stream_id(self) -> str:
        """A stream id unique on this node and across nodes (it names the node)."""
        return self._node.new_stream_id()

    @property
    def node(self) -> Node:
        """What this node's transports share (its sessions, backend, closing)."""
        return self._node

    def _on_app_change(self, kind: str, value: Any) -> None:
        try:
            self._changes_send.send_nowait((kind, value))
        except trio.WouldBlock:
            _log.warning("dropped a %s notification: the broadcast queue is full", kind)

    async def _broadcaster(self) -> None:
        async for kind, value in self._changes_receive:
            if kind == "list_changed":
                message = list_changed_notification(value)
            else:
                message = resource_updated_notification(value)
            await self._node.publish(message)

    async def resource_updated(self, uri: str) -> None:
        """Tell every session subscribed to ``uri`` that it changed."""
        await self._node.resource_updated(uri)

    async def _expirer(self) -> None:
        timeout = self.config.session_idle_timeout
        while True:
            await trio.sleep(min(60.0, timeout / 2))
            self._sessions.expire(time.time() - timeout)

    # -- HTTP -------------------------------------------------------------------

    def rate_limit_wait(self) -> float:
        """With ``rate_limit``: take a token for the current caller (its
        principal, or everyone without authorization); 0 if it had one, else the
        seconds until it will. Without a limit, 0."""
        if self._limiter is None:
            return 0.0
        return self._limiter.take(principal_key() or "", trio.current_time())

    def precheck(self, request: HttpRequest) -> Reject | None:
        """The rejection the request head alone earns, or ``None`` (the core's
        :func:`~scaled_mcp.protocol.http.precheck`, knowing this node's other paths)."""
        if request.path in self._metadata_paths:
            return None
        return precheck(request, self.config.http)

    async def handle_http(self, request: HttpRequest, responder: Responder) -> None:
        """Answer one HTTP request through ``responder``."""
        http = self.config.http
        extra = cors_headers(request, http) if http.cors else ()
        auth = self._auth
        if auth is not None and request.path in self._metadata_paths:
            with suppress(ClientGone):
                await respond(responder, auth.metadata_reply(request.method), extra)
            return
        decision = decide(request, http)
        if auth is not None and type(decision) not in _OPEN_TO_ALL:
            # A valid token first: the principal is the request's from now on.
            principal = await auth.admit(request)
            if type(principal) is Principal:
                token = auth.enter(principal)
                try:
                    await self._answer(decision, request, responder, extra)
                finally:
                    auth.leave(token)
                return
            assert isinstance(principal, Reject)
            decision = principal
        await self._answer(decision, request, responder, extra)

    async def _answer(
        self, decision: HttpDecision, request: HttpRequest, responder: Responder, extra: Headers
    ) -> None:
        if self._limiter is not None and type(decision) not in _OPEN_TO_ALL:
            # Past its caller's rate limit: 429 before anything else is done for it.
            decision = self._limiter.admit(decision, principal_key() or "", trio.current_time())
        try:
            if type(decision) is NeedSession:
                decision = await self._with_session(decision)
            kind = type(decision)
            if self._auth is not None and kind is ProcessMessages:
                # The scopes its requests need, checked before any handler runs.
                principal = current_principal()
                assert isinstance(decision, ProcessMessages) and principal is not None
                refused = self._auth.refuse_scopes(principal, decision.messages, self._scopes_of)
                if refused is not None:
                    await reject(responder, refused, extra)
                    return
            if kind is ProcessMessages:
                assert isinstance(decision, ProcessMessages)
                if decision.era is Era.STATELESS:
                    await self._stateless.post(decision, responder, extra)
                elif decision.response_mode is ResponseMode.LEGACY_STREAM:
                    await self._legacy.post(decision, responder, extra)
                else:
                    await self._session_post(decision, responder, extra)
            elif kind is Reject:
                assert isinstance(decision, Reject)
                await reject(responder, decision, extra)
            elif kind is OpenStream:
                assert isinstance(decision, OpenStream)
                self._node.streams_open += 1
                try:
                    await self._streams.open(decision, responder, extra)
                finally:
                    self._node.streams_open -= 1
            elif kind is TerminateSession:
                assert isinstance(decision, TerminateSession)
                await self._sessions.terminate(decision.session_id)
                await respond(responder, terminated_reply(), extra)
            elif kind is OpenLegacyStream:
                self._node.streams_open += 1
                try:
                    await self._legacy.open_stream(request, responder, extra)
                finally:
                    self._node.streams_open -= 1
            elif kind is ServeProbe:
                assert isinstance(decision, ServeProbe)
                await self.operations.answer(decision, responder)
            else:
                assert isinstance(decision, Preflight)
                await responder.respond(*preflight_reply(decision))
        except BackendUnavailable as exc:
            unavailable = service_unavailable(str(exc), request_id_of(request.body))
            await reject_quietly(responder, unavailable, extra)
        except ClientGone:
            pass

    async def _with_session(
        self, need: NeedSession
    ) -> Reject | ProcessMessages | OpenStream | TerminateSession:
        state = await self.backend.sessions.load(need.session_id)
        if self._auth is not None:
            # A session answers only the principal that created it: to any other
            # it is unknown (404), on every node (its owner is in the store).
            owner = principal_key()
            live = self._sessions.get(need.session_id)
            if (state is not None and state.owner != owner) or (
                live is not None and live.session.owner != owner
            ):
                state = None
                if need.legacy:
                    return decide_with_session(need, None, legacy_stream_open=False)
        legacy_open = False
        if need.legacy:
            # The GET /sse stream may be held by any node: its log says it is open.
            legacy_open = need.session_id in self._sessions.legacy_open or (
                await self.backend.events.exists(need.session_id, LEGACY_STREAM)
            )
        return decide_with_session(need, state, legacy_stream_open=legacy_open)

    # -- the session POST (handshake era) ------------------------------------------

    async def _session_post(
        self, decision: ProcessMessages, responder: Responder, extra: Headers
    ) -> None:
        if decision.issue_session:
            await initialize_session(self._node, decision, responder, extra)
            return
        assert decision.session is not None
        live = self._sessions.take(decision.session)
        outlet = PostOutlet(
            self._node,
            responder,
            live.session.session_id,
            priming=primes_sse_streams(live.session.protocol_version or ""),
            extra_headers=extra,
            requests=tuple(m.id for m in decision.messages if type(m) is Request),
        )
        if decision.response_mode is ResponseMode.SSE:
            await outlet.begin_stream()
        await self._process(live, decision.messages, outlet, batch=decision.batch)

    def receive_messages(
        self, live: LiveSession, messages: tuple[Message | RemoteProtocolError, ...]
    ) -> tuple[list[Message], list[Request]]:
        """Feed a body's messages to the session: the replies the core made
        itself (and errors), and the requests whose handlers must run.

        Messages for work running on another node (the client's answer to a
        request that node sent, a cancellation of a request it runs) are
        queued in ``live.forward`` for :meth:`forward`."""
        session = live.session
        replies: list[Message] = []
        calls: list[Request] = []
        now = time.time()
        for item in messages:
            if type(item) is RemoteProtocolError:
                replies.append(error_response_for(item))
                continue
            assert not isinstance(item, RemoteProtocolError)
            try:
                events = session.receive(item, now=now)
            except RemoteProtocolError as exc:
                if type(item) is Request:
                    replies.append(error_response_for(exc))
                continue
            if not events:
                # Not for work running here: whichever node runs it must hear of it.
                channel = forward_channel(item, self.node_id)
                if channel is not None:
                    live.forward.append((channel, item))
            for event in events:
                kind = type(event)
                if kind is RequestReceived:
                    calls.append(event.request)  # type: ignore[union-attr]
                elif kind is ReplyReady:
                    replies.append(event.message)  # type: ignore[union-attr]
                elif kind is ResponseReceived or kind is ErrorReceived:
                    self._answered(live, event)  # type: ignore[arg-type]
                elif kind is RequestCancelled:
                    scope = live.running.get(event.request_id)  # type: ignore[union-attr]
                    if scope is not None:
                        scope.cancel()
        return replies, calls

    async def _process(
        self,
        live: LiveSession,
        messages: tuple[Message | RemoteProtocolError, ...],
        outlet: Outlet,
        *,
        batch: bool,
    ) -> None:
        """Feed a POST's messages to the session; run the requests; answer."""
        before = live.session.shared_fields()
        refused: list[Message] = []
        if self.app.admit is not None:
            messages, refused = await self.admit(live, messages)
        replies, calls = self.receive_messages(live, messages)
        if refused:
            replies = refused + replies
        if live.forward:
            await self._peers.forward(live)
        await self._sessions.save(live, before)
        if len(calls) == 1 and not batch:
            reply = await self.call(live, calls[0], outlet)
            if reply is not None:
                replies.append(reply)
        elif calls:
            replies.extend(await self.call_all(live, calls, outlet))
        await outlet.finish(replies, batch=batch, era=Era.HANDSHAKE)

    async def call_all(
        self, live: LiveSession, calls: list[Request], outlet: Outlet
    ) -> list[Message]:
        """Run the handlers of a batch's requests side by side; their replies, in
        the requests' order (a cancelled request has none)."""
        answers: list[Message | None] = [None] * len(calls)

        async def run(index: int, request: Request) -> None:
            answers[index] = await self.call(live, request, outlet)

        async with trio.open_nursery() as nursery:
            for index, request in enumerate(calls):
                nursery.start_soon(run, index, request)
        return [a for a in answers if a is not None]

    async def admit(
        self, live: LiveSession, messages: tuple[Message | RemoteProtocolError, ...]
    ) -> tuple[tuple[Message | RemoteProtocolError, ...], list[Message]]:
        """Show a body's requests and notifications to the application's ``admit``
        (set: it has middleware) before the session sees them: those it admits,
        and the errors answering the requests it refused."""
        assert self.app.admit is not None
        session = live.session
        return await admit_messages(
            self.app.admit, messages, session_id=session.session_id, client_info=session.client_info
        )

    def _answered(self, live: LiveSession, event: ResponseReceived | ErrorReceived) -> None:
        answer = event.response if type(event) is ResponseReceived else event.error  # type: ignore[union-attr]
        waiter = live.waiting.get(answer.id) if answer.id is not None else None
        if waiter is not None:
            waiter.answer = answer
            waiter.done.set()

    async def forward(self, live: LiveSession) -> None:
        """Publish what :meth:`receive_messages` queued for other nodes."""
        await self._peers.forward(live)

    async def call(self, live: LiveSession, request: Request, outlet: Outlet) -> Message | None:
        """Run the handler of one request; its reply (``None`` if cancelled)."""
        session = live.session
        exchange = SessionExchange(self._node, live, request, outlet)
        ctx = self._new_context(exchange, ask_timeout=self.config.ask_timeout)
        params = request.params if request.params is not None else {}
        result: dict[str, Any] | None = None
        error: ErrorResponse | None = None
        cancelled = False
        self._node.work_started()
        # Log lines written while it runs name the session and the request.
        serving = serving_request.set((session.session_id, request.id))
        try:
            try:
                if self.app.never_waits(request.method, params):
                    # Nothing could cancel it: the handler cannot yield to the
                    # event loop, so the cancel scope (a quarter of a quick
                    # call's cost) is spared.
                    result = await self.app.handle(request.method, params, ctx)
                else:
                    timeout = self._timeout_of(request.method, params)
                    deadline = handler_deadline(timeout)
                    with trio.CancelScope(deadline=deadline) as scope:
                        live.running[request.id] = scope
                        try:
                            result = await self.app.handle(request.method, params, ctx)
                        finally:
                            del live.running[request.id]
                    cancelled = scope.cancelled_caught
                    if cancelled and session.is_in_flight(request.id):
                        # Not the client's cancellation (that ends the request in
                        # the session): the handler ran out of time.
                        cancelled = False
                        error = timed_out(request.id, timeout)
            except McpError as exc:
                error = ErrorResponse(request.id, exc.code, exc.message, exc.data)
            except RemoteProtocolError as exc:
                error = error_response_for(exc.with_request_id(request.id))
            except InputNeeded:
                error = internal_error(request.id)
            except Exception:
                _log.exception("handler of %s failed", request.method)
                error = internal_error(request.id)
        finally:
            serving_request.reset(serving)
            self._node.work_done()
        if cancelled or not session.is_in_flight(request.id):
            # Cancelled: "Not send a response for the cancelled request".
            return None
        if error is not None:
            return session.send_error(request.id, error.code, error.message, error.data)
        assert result is not None
        return session.send_response(request.id, result)

    async def stateless_message(self, request: Request, outlet: Outlet) -> Message | None:
        """Answer one 2026-07-28 request that came without HTTP (stdio): its
        response, with its notifications emitted on ``outlet`` first. A
        ``subscriptions/listen`` stays open, delivering notifications, until
        cancelled (``notifications/cancelled``, which on stdio is how a client
        stops one) or the node shuts down."""
        return await self._stateless.message(request, outlet)
