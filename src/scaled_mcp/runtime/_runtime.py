"""The trio runtime: drives the protocol core for an :class:`MCPServer`.

One :class:`Runtime` serves every transport of a node: the HTTP fronts hand it
requests through :meth:`Runtime.handle_http`, stdio through
:meth:`Runtime.handle_stdio_message`. Protocol decisions are the core's; the
runtime schedules handlers, keeps each request's cancel scope, and moves
messages between the handlers, the client and the cluster ports.

Where messages go:

* a request's own messages (progress, logs, server-to-client requests, its
  response) go on the POST that carried it: a JSON body when the handler
  finishes without emitting anything, else an SSE stream (begun the moment the
  handler first emits). Handshake-era stream events are appended to the event
  log first, so a client can resume the stream on any node;
* messages of no request (``list_changed``, ``resources/updated``) go to the
  session's GET stream (handshake era) or every ``subscriptions/listen``
  stream (stateless era), through the broker;
* 2024-11-05 sessions get everything on their ``GET /sse`` stream.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, Final, Protocol

import attrs
import trio

from ..cluster import Backend, BackendUnavailable, MemoryBackend
from ..protocol import (
    BROADCAST_CHANNEL,
    CANCEL_CHANNEL,
    LEGACY_ENDPOINT_EVENT,
    Broadcast,
    CoreAnswer,
    Era,
    ErrorCode,
    ErrorReceived,
    ErrorResponse,
    ForwardedMessage,
    Headers,
    HttpConfig,
    HttpReply,
    HttpRequest,
    InputRequest,
    LocalProtocolError,
    Message,
    NeedSession,
    Notification,
    OpenLegacyStream,
    OpenStream,
    Preflight,
    ProcessMessages,
    ProgressOrder,
    Reject,
    RemoteProtocolError,
    ReplyReady,
    Request,
    RequestCancelled,
    RequestId,
    RequestReceived,
    RequestStateSealer,
    Response,
    ResponseMode,
    ResponseReceived,
    ServerConfig,
    ServerSentEvent,
    ServerSession,
    SessionState,
    StatelessDispatcher,
    StatelessRequest,
    StatelessServerConfig,
    Subscription,
    TerminateSession,
    closes_sse_streams_early,
    cors_headers,
    decide,
    decide_with_session,
    decode_broadcast,
    decode_forwarded,
    encode_broadcast,
    encode_comment,
    encode_event,
    encode_forwarded,
    encode_message,
    encode_message_event,
    encode_priming_event,
    error_response_for,
    format_event_id,
    forward_channel,
    internal_error,
    legacy_endpoint_url,
    legacy_post_reply,
    list_changed_notification,
    logged_broadcast,
    node_channel,
    node_of_stream_id,
    orphaned_replies,
    post_reply,
    preflight_reply,
    primes_sse_streams,
    reject_for,
    resource_updated_notification,
    response_start,
    resume_point,
    service_unavailable,
    stream_conflict,
    stream_expired,
    stream_id_for,
    streams_replies,
    terminated_reply,
    validate_param_headers,
)
from ..server import Context, InputNeeded, McpError, MCPServer
from ._front import ClientGone, Responder

__all__ = ["LiveSession", "LogOutlet", "Outlet", "Runtime", "RuntimeConfig"]

_log = logging.getLogger("scaled_mcp.runtime")

#: The event-log stream of a session's standalone GET stream.
GET_STREAM: Final = "get"
#: The event-log stream of a 2024-11-05 session's ``GET /sse`` stream.
LEGACY_STREAM: Final = "legacy"
#: The event-log stream every broadcast is numbered in (a session id no client has).
BROADCAST_LOG: Final = "*"
BROADCAST_STREAM: Final = "broadcast"


def _new_node_id() -> str:
    return "n" + secrets.token_hex(4)


@attrs.frozen(slots=True, kw_only=True)
class RuntimeConfig:
    """Settings of a node, each with its default.

    * ``node_id`` -- names this node in server-to-client request ids (unique
      per node; default: random);
    * ``http`` -- the HTTP transport rules (endpoint paths, allowed hosts and
      origins, body limit, response mode …);
    * ``session_idle_timeout`` -- seconds after which an unused session expires;
    * ``max_sessions`` -- sessions this node keeps live at once; an
      ``initialize`` beyond it is answered 503;
    * ``heartbeat_interval`` -- seconds between SSE comment lines on idle streams;
    * ``ask_timeout`` -- seconds a server-to-client request waits for its answer;
    * ``shutdown_grace`` -- seconds in-flight handlers get to finish on shutdown;
    * ``request_state_keys`` -- ``{key_id: secret}`` sealing ``requestState``
      (the first is used to seal; share them between nodes); random if empty;
    * ``request_state_ttl`` -- seconds a sealed ``requestState`` stays valid;
    * ``sse_retry_ms`` -- the ``retry`` field of priming events;
    * ``node_heartbeat_ttl`` -- seconds after its last heartbeat (sent every third of
      it) a node counts as dead, and its unfinished streams are answered with errors.
    """

    node_id: str = attrs.field(factory=_new_node_id)
    http: HttpConfig = attrs.field(factory=HttpConfig)
    session_idle_timeout: float = 30 * 60.0
    max_sessions: int = 100_000
    heartbeat_interval: float = 15.0
    ask_timeout: float = 300.0
    shutdown_grace: float = 10.0
    request_state_keys: dict[str, bytes] = attrs.field(factory=dict)
    request_state_ttl: float = 600.0
    sse_retry_ms: int = 1000
    node_heartbeat_ttl: float = 6.0


class _Outlet:
    """Where one POST's messages go: a JSON body, or an SSE stream begun on demand.

    ``log_session`` names the session whose event log records the stream
    (handshake era); ``None`` on the stateless wire, whose streams "are not
    resumable". Once the client has gone, events still go to the log.
    """

    __slots__ = (
        "_extra_headers",
        "_lock",
        "_priming",
        "_requests",
        "_responder",
        "_runtime",
        "_stream_id",
        "gone",
        "log_session",
        "on_stream",
        "prefer_stream",
        "streaming",
    )

    def __init__(
        self,
        runtime: Runtime,
        responder: Responder,
        log_session: str | None,
        *,
        priming: bool,
        extra_headers: Headers = (),
        requests: tuple[RequestId, ...] = (),
    ) -> None:
        self._runtime = runtime
        self._requests = requests
        self._responder = responder
        self.log_session = log_session
        self._priming = priming
        self._extra_headers = extra_headers
        # Made when the stream begins: most answers are one JSON body, sent once.
        self._lock: trio.Lock | None = None
        self._stream_id: str | None = None
        self.streaming = False
        self.gone = False
        #: Called when the stream begins (the stateless wire starts watching for
        #: a disconnect then).
        self.on_stream: Callable[[], None] | None = None
        #: Answer on a stream even when nothing was emitted before the reply.
        self.prefer_stream = False

    async def begin_stream(self) -> None:
        """Start the SSE response (idempotent)."""
        if self.streaming:
            return
        if self._lock is None:
            self._lock = trio.Lock()
        async with self._lock:
            if self._stream_id is not None:  # another task began it meanwhile
                return
            self.streaming = True
            if self.on_stream is not None:
                self.on_stream()
            status, headers = response_start(ResponseMode.SSE)
            self._stream_id = self._runtime.new_stream_id()
            if self.log_session is not None:
                await self._runtime.backend.events.open(
                    self.log_session, self._stream_id, self._requests
                )
            try:
                await self._responder.start(status, (*headers, *self._extra_headers))
                if self._priming and self.log_session is not None:
                    # "The server SHOULD immediately send an SSE event consisting
                    # of an event ID and an empty data field".
                    priming = encode_priming_event(
                        format_event_id(self._stream_id, 0),
                        retry=self._runtime.config.sse_retry_ms,
                    )
                    await self._responder.send(priming)
            except ClientGone:
                self.gone = True

    async def emit(self, message: Message) -> None:
        """Send one message on the stream (beginning it if need be)."""
        await self.begin_stream()
        body = encode_message(message)
        assert self._lock is not None
        async with self._lock:
            event_id = None
            if self.log_session is not None:
                assert self._stream_id is not None
                seq = await self._runtime.backend.events.append(
                    self.log_session, self._stream_id, body
                )
                event_id = format_event_id(self._stream_id, seq)
            if self.gone:
                return
            try:
                await self._responder.send(encode_message_event(body, event_id=event_id))
            except ClientGone:
                self.gone = True

    async def close_stream(self) -> None:
        """End the HTTP response now; later events go to the log only, and the
        client resumes them with a GET and ``Last-Event-ID`` (2025-11-25: the
        server "MAY close the connection" after the priming event; the client
        "SHOULD" reconnect after the ``retry`` time)."""
        await self.begin_stream()
        assert self._lock is not None
        async with self._lock:
            if not self.gone:
                self.gone = True
                with suppress(ClientGone):
                    await self._responder.end()

    async def finish(self, replies: list[Message], *, batch: bool, era: Era) -> None:
        """Send the replies: as the JSON body, or as the last events of the stream."""
        if not self.streaming and self.prefer_stream and streams_replies(replies, era):
            await self.begin_stream()
        if not self.streaming:
            status, headers, body = post_reply(replies, batch=batch, era=era)
            await self._responder.respond(status, (*headers, *self._extra_headers), body)
            return
        for reply in replies:
            await self.emit(reply)
        if self.log_session is not None and self._stream_id is not None:
            await self._runtime.backend.events.end(self.log_session, self._stream_id)


class LogOutlet:
    """Messages for a stream that lives only in the event log (the legacy
    ``GET /sse`` stream, a session's GET stream): whoever holds the stream
    connection delivers them."""

    __slots__ = ("_runtime", "_session_id", "_stream_id")

    def __init__(self, runtime: Runtime, session_id: str, stream_id: str) -> None:
        self._runtime = runtime
        self._session_id = session_id
        self._stream_id = stream_id

    async def begin_stream(self) -> None:
        return

    async def close_stream(self) -> None:
        return

    async def emit(self, message: Message) -> None:
        await self._runtime.backend.events.append(
            self._session_id, self._stream_id, encode_message(message)
        )

    async def finish(self, replies: list[Message], *, batch: bool, era: Era) -> None:
        for reply in replies:
            await self.emit(reply)


class Outlet(Protocol):
    """Where the messages of one request (or one body of messages) go."""

    async def begin_stream(self) -> None: ...
    async def close_stream(self) -> None: ...
    async def emit(self, message: Message) -> None: ...
    async def finish(self, replies: list[Message], *, batch: bool, era: Era) -> None: ...


@attrs.define(slots=True, eq=False)
class _Waiter:
    """A server-to-client request awaiting the client's answer."""

    done: trio.Event = attrs.field(factory=trio.Event)
    answer: Response | ErrorResponse | None = None


class LiveSession:
    """This node's view of one handshake-era session: the core's machine plus
    the work running here (handlers' cancel scopes, requests to the client)."""

    __slots__ = (
        "forward",
        "running",
        "saved",
        "saved_at",
        "session",
        "waiting",
    )

    def __init__(self, session: ServerSession) -> None:
        self.session = session
        self.running: dict[RequestId, trio.CancelScope] = {}
        self.waiting: dict[RequestId, _Waiter] = {}
        self.saved: SessionState | None = None
        self.saved_at = 0.0
        # (channel, message) for work on other nodes, published after receiving.
        self.forward: list[tuple[str, Message]] = []

    def shared_fields(self) -> tuple[Any, ...]:
        s = self.session
        return (s.phase, s.log_level, s.subscriptions, s.protocol_version)


class _SessionExchange:
    """:class:`~scaled_mcp.server.Exchange` of a handshake-era request."""

    era = Era.HANDSHAKE

    def __init__(
        self, runtime: Runtime, live: LiveSession, request: Request, outlet: Outlet
    ) -> None:
        self._runtime = runtime
        self._live = live
        self._outlet = outlet
        self.request_id: RequestId = request.id
        session = live.session
        self.protocol_version = session.protocol_version or ""
        self.session_id: str | None = session.session_id
        self.client_info = session.client_info
        self.client_capabilities = session.client_capabilities
        self.progress_token: str | int | None = session.progress_token(request.id)

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
        waiter = _Waiter()
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
        await self._runtime.resource_updated(uri)

    async def close_stream(self) -> None:
        if closes_sse_streams_early(self._live.session.protocol_version or ""):
            await self._outlet.close_stream()


class _StatelessExchange:
    """:class:`~scaled_mcp.server.Exchange` of a 2026-07-28 request."""

    era = Era.STATELESS
    session_id = None

    def __init__(
        self, runtime: Runtime, request: StatelessRequest, outlet: Outlet, sealed: dict[str, Any]
    ) -> None:
        self._runtime = runtime
        self._request = request
        self._outlet = outlet
        # Answers of earlier rounds (from requestState), and those read this round.
        self._sealed = sealed
        self._used: dict[str, Any] = {}
        self.request_id: RequestId = request.request_id
        self.protocol_version = request.meta.protocol_version
        self.client_info = request.meta.client_info or {}
        self.client_capabilities = request.meta.client_capabilities
        self.progress_token: str | int | None = request.meta.progress_token
        # Made with the first progress notification: most requests send none.
        self._progress: ProgressOrder | None = None

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        notification = self._runtime.dispatcher.progress(
            self._request, progress, total=total, message=message
        )
        if notification is not None:
            if self._progress is None:
                self._progress = ProgressOrder()
            self._progress.advance(progress)
            await self._outlet.emit(notification)

    async def log(self, level: str, data: Any, logger: str | None) -> None:
        notification = self._runtime.dispatcher.log(self._request, level, data, logger=logger)
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

    async def resource_updated(self, uri: str) -> None:
        await self._runtime.resource_updated(uri)

    async def close_stream(self) -> None:
        return  # "streams are not resumable" on the stateless wire


class Runtime:
    """Serves ``app`` over every transport of one node.

    Use ``async with runtime.run():`` around the fronts: it connects the
    backend, runs the background work (broadcasts, expiry) and drains on exit.
    """

    def __init__(
        self,
        app: MCPServer,
        *,
        backend: Backend | None = None,
        config: RuntimeConfig | None = None,
    ) -> None:
        self.app = app
        self.config = config or RuntimeConfig()
        self.backend: Backend = backend if backend is not None else MemoryBackend()
        self.node_id = self.config.node_id
        capabilities = app.capabilities
        self.server_config = ServerConfig(
            server_info=app.server_info,
            capabilities=capabilities,
            instructions=app.instructions,
        )
        keys = self.config.request_state_keys or {"k0": secrets.token_bytes(32)}
        self.dispatcher = StatelessDispatcher(
            StatelessServerConfig(
                server_info=app.server_info,
                capabilities=capabilities,
                instructions=app.instructions,
            ),
            sealer=RequestStateSealer(list(keys.items())),
        )
        self._live: dict[str, LiveSession] = {}
        self._legacy_open: set[str] = set()
        self._stream_counter = 0
        self._in_flight = 0
        self._idle = trio.Event()
        self._idle.set()
        self._closing = trio.Event()
        self._changes_send, self._changes_receive = trio.open_memory_channel[tuple[str, Any]](1024)
        self._nursery: trio.Nursery | None = None
        # Scopes of long-lived work without a client connection (stdio listens).
        self._closing_scopes: set[trio.CancelScope] = set()

    # -- lifetime ---------------------------------------------------------------

    @asynccontextmanager
    async def run(self) -> AsyncIterator[Runtime]:
        """Run the node: backend, broadcaster, expiry; drain and stop on exit."""
        self.app.add_listener(self._on_app_change)
        try:
            async with self.backend.run(), trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._broadcaster)
                nursery.start_soon(self._expirer)
                nursery.start_soon(self._heartbeat)
                nursery.start_soon(self._keep_listening_to_peers)
                try:
                    yield self
                finally:
                    await self.drain()
                    nursery.cancel_scope.cancel()
        finally:
            self.app.remove_listener(self._on_app_change)
            self._nursery = None

    def begin_shutdown(self) -> None:
        """End long-lived streams (GET, ``subscriptions/listen``) so clients resume elsewhere."""
        self._closing.set()
        for scope in tuple(self._closing_scopes):
            scope.cancel()

    async def drain(self) -> None:
        """Stop long-lived streams and give in-flight handlers ``shutdown_grace``
        seconds to finish; whatever still runs then is cancelled by the caller."""
        self.begin_shutdown()
        with trio.move_on_after(self.config.shutdown_grace):
            await self._idle.wait()

    @property
    def closing(self) -> bool:
        """Whether the node is shutting down."""
        return self._closing.is_set()

    def new_stream_id(self) -> str:
        """A stream id unique on this node and across nodes (it names the node)."""
        self._stream_counter += 1
        return stream_id_for(self.node_id, self._stream_counter)

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
            await self._publish(message)

    async def _publish(self, message: Notification) -> None:
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
        await self._publish(resource_updated_notification(uri))

    async def _heartbeat(self) -> None:
        """Tell the other nodes this one is alive (a dead node's streams are
        then recovered by whichever node a client resumes them on)."""
        ttl = self.config.node_heartbeat_ttl
        while True:
            try:
                await self.backend.nodes.heartbeat(self.node_id, ttl=ttl)
            except BackendUnavailable as exc:
                _log.warning("heartbeat failed: %s", exc)
            await trio.sleep(ttl / 3)

    async def _keep_listening_to_peers(self) -> None:
        while True:
            try:
                await self._listen_to_peers()
            except BackendUnavailable as exc:
                _log.warning("lost the peers' channel: %s", exc)
                await trio.sleep(1.0)

    async def _expirer(self) -> None:
        timeout = self.config.session_idle_timeout
        while True:
            await trio.sleep(min(60.0, timeout / 2))
            cutoff = time.time() - timeout
            for session_id, live in list(self._live.items()):
                if not live.running and not live.waiting and live.session.last_activity < cutoff:
                    del self._live[session_id]

    def _work_started(self) -> None:
        self._in_flight += 1
        if self._in_flight == 1:
            self._idle = trio.Event()

    def _work_done(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    # -- HTTP -------------------------------------------------------------------

    async def handle_http(self, request: HttpRequest, responder: Responder) -> None:
        """Answer one HTTP request through ``responder``."""
        http = self.config.http
        extra = cors_headers(request, http) if http.cors else ()
        try:
            decision = decide(request, http)
            if type(decision) is NeedSession:
                decision = await self._with_session(decision)
            kind = type(decision)
            if kind is ProcessMessages:
                assert isinstance(decision, ProcessMessages)
                if decision.era is Era.STATELESS:
                    await self._stateless_post(decision, responder, extra)
                elif decision.response_mode is ResponseMode.LEGACY_STREAM:
                    await self._legacy_post(decision, responder, extra)
                else:
                    await self._session_post(decision, responder, extra)
            elif kind is Reject:
                assert isinstance(decision, Reject)
                await _answer(responder, decision, extra)
            elif kind is OpenStream:
                assert isinstance(decision, OpenStream)
                await self._get_stream(decision, responder, extra)
            elif kind is TerminateSession:
                assert isinstance(decision, TerminateSession)
                await self._terminate(decision.session_id)
                await _respond(responder, terminated_reply(), extra)
            elif kind is OpenLegacyStream:
                await self._legacy_stream(request, responder, extra)
            else:
                assert isinstance(decision, Preflight)
                await responder.respond(*preflight_reply(decision))
        except BackendUnavailable as exc:
            await _answer_quietly(responder, service_unavailable(str(exc)), extra)
        except ClientGone:
            pass

    async def _with_session(
        self, need: NeedSession
    ) -> Reject | ProcessMessages | OpenStream | TerminateSession:
        state = await self.backend.sessions.load(need.session_id)
        legacy_open = False
        if need.legacy:
            # The GET /sse stream may be held by any node: its log says it is open.
            legacy_open = need.session_id in self._legacy_open or await self.backend.events.exists(
                need.session_id, LEGACY_STREAM
            )
        return decide_with_session(need, state, legacy_stream_open=legacy_open)

    async def _live_session(self, state: SessionState) -> LiveSession:
        live = self._live.get(state.session_id)
        if live is None:
            session = ServerSession.from_state(self.server_config, state, node_id=self.node_id)
            live = LiveSession(session)
            live.saved = state
            self._live[state.session_id] = live
        elif live.saved is not state:
            # Another node (or an expiry) wrote the shared data: take it.
            live.session.refresh(state)
            live.saved = state
        return live

    async def _save(self, live: LiveSession, before: tuple[Any, ...] | None) -> None:
        now = time.time()
        # Unchanged: write only now and then, to keep the session from expiring.
        refresh = min(60.0, self.config.session_idle_timeout / 10)
        if before == live.shared_fields() and now - live.saved_at < refresh:
            return
        state = live.session.state
        await self.backend.sessions.save(state, ttl=self.config.session_idle_timeout)
        live.saved = state
        live.saved_at = now

    def _new_session_id(self) -> str:
        return secrets.token_urlsafe(24)

    async def _session_post(
        self, decision: ProcessMessages, responder: Responder, extra: Headers
    ) -> None:
        if decision.issue_session:
            await self._initialize(decision, responder, extra)
            return
        assert decision.session is not None
        live = await self._live_session(decision.session)
        outlet = _Outlet(
            self,
            responder,
            live.session.session_id,
            priming=primes_sse_streams(live.session.protocol_version or ""),
            extra_headers=extra,
            requests=tuple(m.id for m in decision.messages if type(m) is Request),
        )
        if decision.response_mode is ResponseMode.SSE:
            await outlet.begin_stream()
        await self._process(live, decision.messages, outlet, batch=decision.batch)

    async def _initialize(
        self, decision: ProcessMessages, responder: Responder, extra: Headers
    ) -> None:
        message = decision.messages[0]
        if len(self._live) >= self.config.max_sessions:
            full = service_unavailable(
                "this node serves too many sessions",
                message.id if type(message) is Request else None,
            )
            await _answer(responder, full, extra)
            return
        session_id = self._new_session_id()
        session = ServerSession(self.server_config, session_id=session_id, node_id=self.node_id)
        assert isinstance(message, Request)
        try:
            events = session.receive(message, now=time.time())
        except RemoteProtocolError as exc:
            await _respond(
                responder,
                post_reply([error_response_for(exc)], batch=False, era=Era.HANDSHAKE),
                extra,
            )
            return
        reply = events[0]
        assert type(reply) is ReplyReady
        live = LiveSession(session)
        self._live[session_id] = live
        await self._save(live, None)
        await _respond(
            responder,
            post_reply([reply.message], batch=False, era=Era.HANDSHAKE, session_id=session_id),
            extra,
        )

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
        before = live.shared_fields()
        replies, calls = self.receive_messages(live, messages)
        if live.forward:
            await self.forward(live)
        await self._save(live, before)
        if len(calls) == 1 and not batch:
            reply = await self.call(live, calls[0], outlet)
            if reply is not None:
                replies.append(reply)
        elif calls:
            answers: list[Message | None] = [None] * len(calls)

            async def run(index: int, request: Request) -> None:
                answers[index] = await self.call(live, request, outlet)

            async with trio.open_nursery() as nursery:
                for index, request in enumerate(calls):
                    nursery.start_soon(run, index, request)
            replies.extend(a for a in answers if a is not None)
        await outlet.finish(replies, batch=batch, era=Era.HANDSHAKE)

    def _answered(self, live: LiveSession, event: ResponseReceived | ErrorReceived) -> None:
        answer = event.response if type(event) is ResponseReceived else event.error  # type: ignore[union-attr]
        waiter = live.waiting.get(answer.id) if answer.id is not None else None
        if waiter is not None:
            waiter.answer = answer
            waiter.done.set()

    async def forward(self, live: LiveSession) -> None:
        """Publish what :meth:`receive_messages` queued for other nodes."""
        while live.forward:
            channel, message = live.forward.pop(0)
            payload = encode_forwarded(ForwardedMessage(live.session.session_id, message))
            await self.backend.broker.publish(channel, payload)

    async def _listen_to_peers(self) -> None:
        """Take the messages other nodes forward to the work running here."""
        broker = self.backend.broker
        async with (
            broker.subscribe(node_channel(self.node_id)) as answers,
            broker.subscribe(CANCEL_CHANNEL) as cancels,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(self._take_forwarded, cancels)
            await self._take_forwarded(answers)

    async def _take_forwarded(self, messages: AsyncIterator[bytes]) -> None:
        async for payload in messages:
            try:
                forwarded = decode_forwarded(payload)
            except LocalProtocolError:
                _log.warning("dropped a malformed message from another node")
                continue
            live = self._live.get(forwarded.session_id)
            if live is None:
                continue
            message = forwarded.message
            if type(message) is Notification and forwarded.cancelled_request not in live.running:
                continue  # not running here either
            self.receive_messages(live, (message,))
            live.forward.clear()  # never forwarded twice

    async def call(self, live: LiveSession, request: Request, outlet: Outlet) -> Message | None:
        """Run the handler of one request; its reply (``None`` if cancelled)."""
        session = live.session
        exchange = _SessionExchange(self, live, request, outlet)
        ctx = Context(exchange, ask_timeout=self.config.ask_timeout)
        params = request.params if request.params is not None else {}
        result: dict[str, Any] | None = None
        error: ErrorResponse | None = None
        cancelled = False
        self._work_started()
        try:
            try:
                if self.app.never_waits(request.method, params):
                    # Nothing could cancel it: the handler cannot yield to the
                    # event loop, so the cancel scope (a quarter of a quick
                    # call's cost) is spared.
                    result = await self.app.handle(request.method, params, ctx)
                else:
                    with trio.CancelScope() as scope:
                        live.running[request.id] = scope
                        try:
                            result = await self.app.handle(request.method, params, ctx)
                        finally:
                            del live.running[request.id]
                    cancelled = scope.cancelled_caught
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
            self._work_done()
        if cancelled or not session.is_in_flight(request.id):
            # Cancelled: "Not send a response for the cancelled request".
            return None
        if error is not None:
            return session.send_error(request.id, error.code, error.message, error.data)
        assert result is not None
        return session.send_response(request.id, result)

    async def _terminate(self, session_id: str) -> None:
        live = self._live.pop(session_id, None)
        if live is not None:
            for scope in live.running.values():
                scope.cancel()
        await self.backend.sessions.delete(session_id)
        await self.backend.events.drop_session(session_id)

    # -- GET streams ------------------------------------------------------------

    async def _get_stream(self, decision: OpenStream, responder: Responder, extra: Headers) -> None:
        live = await self._live_session(decision.session)
        start = resume_point(decision)
        if type(start) is Reject:
            await _answer(responder, start, extra)
            return
        assert type(start) is tuple
        resumed, after = start
        stream_id = GET_STREAM if resumed is None else resumed
        standalone = stream_id == GET_STREAM
        session_id = decision.session_id
        lease = f"get:{session_id}"
        owner = f"{self.node_id}/{self.new_stream_id()}"
        if standalone:
            # One GET stream per session, on whichever node: a second one would
            # split the messages. A dead node's stream is taken over.
            held_by = await self.backend.nodes.claim(lease, owner, ttl=self._lease_ttl)
            if held_by is not None and not await self.backend.nodes.alive(
                held_by.partition("/")[0]
            ):
                held_by = await self.backend.nodes.claim(
                    lease, owner, ttl=self._lease_ttl, replace=held_by
                )
            if held_by is not None:
                await _answer(responder, stream_conflict(), extra)
                return
            await self.backend.events.open(session_id, GET_STREAM)
        elif not await self.backend.events.exists(session_id, stream_id):
            await _answer(responder, stream_expired(), extra)
            return
        else:
            await self._recover_if_orphaned(session_id, stream_id)
        try:
            status, headers = response_start(ResponseMode.SSE)
            await responder.start(status, (*headers, *extra))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_when, responder.wait_disconnected, nursery.cancel_scope)
                nursery.start_soon(_cancel_when, self._closing.wait, nursery.cancel_scope)
                if standalone:
                    nursery.start_soon(
                        self._hold_lease, session_id, lease, owner, nursery.cancel_scope
                    )
                    nursery.start_soon(self._forward_broadcasts, live, GET_STREAM)
                    if after < 0:
                        # A fresh GET stream: what the log holds was delivered on
                        # earlier ones; prime it so that the client can resume it.
                        earlier = await self.backend.events.read(session_id, GET_STREAM, 0, wait=0)
                        after = earlier.events[-1][0] if earlier.events else 0
                        await responder.send(
                            encode_priming_event(
                                format_event_id(GET_STREAM, after), retry=self.config.sse_retry_ms
                            )
                        )
                await self._tail(session_id, stream_id, after, responder, resumed=not standalone)
                nursery.cancel_scope.cancel()
        finally:
            if standalone:
                with trio.CancelScope(shield=True), suppress(BackendUnavailable):
                    with trio.move_on_after(2):
                        await self.backend.nodes.release(lease, owner)

    @property
    def _lease_ttl(self) -> float:
        return max(self.config.node_heartbeat_ttl, 3 * self.config.heartbeat_interval)

    async def _hold_lease(
        self, session_id: str, lease: str, owner: str, stream: trio.CancelScope
    ) -> None:
        """Renew a GET stream's lease while it is open (and keep its session from
        expiring: a client listening is not idle); end the stream if lost."""
        ttl = self._lease_ttl
        while True:
            await trio.sleep(ttl / 3)
            try:
                held_by = await self.backend.nodes.claim(lease, owner, ttl=ttl)
                await self.backend.sessions.touch(session_id, ttl=self.config.session_idle_timeout)
            except BackendUnavailable:
                continue
            if held_by is not None:
                stream.cancel()
                return

    async def _recover_if_orphaned(self, session_id: str, stream_id: str) -> None:
        """A client resumes a stream whose node died before finishing it: answer
        its requests with an error here, instead of leaving the client waiting."""
        node = node_of_stream_id(stream_id)
        if node is None or node == self.node_id or await self.backend.nodes.alive(node):
            return
        events = self.backend.events
        logged = await events.read(session_id, stream_id, 0, wait=0)
        if logged.ended:
            return
        held_by = await self.backend.nodes.claim(
            f"recover:{session_id}:{stream_id}", self.node_id, ttl=self._lease_ttl
        )
        if held_by is not None:
            return  # another node is answering them
        requests = await events.requests(session_id, stream_id)
        for lost in orphaned_replies(node, requests, (data for _, data in logged.events)):
            with suppress(ValueError):
                await events.append(session_id, stream_id, encode_message(lost))
        await events.end(session_id, stream_id)

    async def _forward_broadcasts(self, live: LiveSession, stream_id: str) -> None:
        """Copy the broadcasts meant for this session into the log of the stream
        that carries its messages of no request, each once: the stream keeps the
        number of the last broadcast it took (its cursor), so that a stream taken
        over by another node first catches up from the broadcast log."""
        session = live.session
        events = self.backend.events
        async with self.backend.broker.subscribe(BROADCAST_CHANNEL) as live_messages:
            # The stream keeps (last broadcast taken + 1): 0 means a new stream.
            stored = await events.cursor(session.session_id, stream_id)
            if stored == 0:
                # A new stream starts from now, not from the broadcasts before it.
                logged = await events.read(BROADCAST_LOG, BROADCAST_STREAM, 0, wait=0)
                cursor = logged.events[-1][0] if logged.events else 0
            else:
                cursor = stored - 1
                logged = await events.read(BROADCAST_LOG, BROADCAST_STREAM, cursor, wait=0)
                for seq, body in logged.events:
                    broadcast = logged_broadcast(seq, body)
                    cursor = await self._take_broadcast(live, stream_id, broadcast, cursor)
            await events.set_cursor(session.session_id, stream_id, cursor + 1)
            async for payload in live_messages:
                broadcast = decode_broadcast(payload)
                cursor = await self._take_broadcast(live, stream_id, broadcast, cursor)

    async def _take_broadcast(
        self, live: LiveSession, stream_id: str, broadcast: Broadcast, cursor: int
    ) -> int:
        """Append ``broadcast`` to the stream if it is new and meant for the
        session; the new cursor."""
        seq = broadcast.seq
        if seq <= cursor:
            return cursor
        session = live.session
        events = self.backend.events
        if session.wants_broadcast(broadcast.notification):
            # The event and the cursor in one step: a node killed in between
            # must neither lose the broadcast nor leave it to be copied twice.
            body = encode_message(broadcast.notification)
            await events.append(session.session_id, stream_id, body, cursor=seq + 1)
        else:
            await events.set_cursor(session.session_id, stream_id, seq + 1)
        return seq

    async def _tail(
        self,
        session_id: str,
        stream_id: str,
        after: int,
        responder: Responder,
        *,
        resumed: bool = False,
    ) -> None:
        """Send the events of a logged stream after ``after``, then live ones,
        with heartbeats, until the stream ends or the client goes. A resumed
        request stream is checked for a dead writer whenever it is idle."""
        events = self.backend.events
        heartbeat = self.config.heartbeat_interval
        if resumed:
            heartbeat = min(heartbeat, self.config.node_heartbeat_ttl / 2)
        while True:
            read = await events.read(session_id, stream_id, after, wait=heartbeat)
            if resumed and not read.events and not read.ended:
                await self._recover_if_orphaned(session_id, stream_id)
                await responder.send(encode_comment())
                continue
            if read.events:
                chunk = b"".join(
                    encode_message_event(data, event_id=format_event_id(stream_id, seq))
                    for seq, data in read.events
                )
                await responder.send(chunk)
                after = read.events[-1][0]
            elif read.ended:
                return
            else:
                await responder.send(encode_comment())
            if read.ended and not read.events:
                return

    # -- the 2024-11-05 HTTP+SSE transport ---------------------------------------

    async def _legacy_stream(
        self, request: HttpRequest, responder: Responder, extra: Headers
    ) -> None:
        session_id = self._new_session_id()
        session = ServerSession(self.server_config, session_id=session_id, node_id=self.node_id)
        live = LiveSession(session)
        self._live[session_id] = live
        self._legacy_open.add(session_id)
        await self.backend.events.open(session_id, LEGACY_STREAM)
        try:
            status, headers = response_start(ResponseMode.SSE)
            await responder.start(status, (*headers, *extra))
            url = legacy_endpoint_url(session_id, self.config.http)
            await responder.send(
                encode_event(ServerSentEvent(data=url, event=LEGACY_ENDPOINT_EVENT))
            )
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_when, responder.wait_disconnected, nursery.cancel_scope)
                nursery.start_soon(_cancel_when, self._closing.wait, nursery.cancel_scope)
                nursery.start_soon(self._forward_broadcasts, live, LEGACY_STREAM)
                await self._tail(session_id, LEGACY_STREAM, 0, responder)
                nursery.cancel_scope.cancel()
        finally:
            self._legacy_open.discard(session_id)
            await self._terminate(session_id)

    async def _legacy_post(
        self, decision: ProcessMessages, responder: Responder, extra: Headers
    ) -> None:
        assert decision.session_id is not None
        session_id = decision.session_id
        live = self._live.get(session_id)
        if decision.session is not None:
            live = await self._live_session(decision.session)
        elif live is None:
            # The stream is held by another node and initialize is yet to come.
            session = ServerSession(self.server_config, session_id=session_id, node_id=self.node_id)
            live = LiveSession(session)
            self._live[session_id] = live
        await _respond(responder, legacy_post_reply(), extra)
        assert self._nursery is not None
        outlet = LogOutlet(self, session_id, LEGACY_STREAM)
        self._nursery.start_soon(self._legacy_process, live, decision, outlet)

    async def _legacy_process(
        self, live: LiveSession, decision: ProcessMessages, outlet: LogOutlet
    ) -> None:
        try:
            await self._process(live, decision.messages, outlet, batch=decision.batch)
        except BackendUnavailable:
            _log.warning("a legacy message was not answered: the backend is unavailable")

    # -- the stateless wire (2026-07-28) -------------------------------------------

    async def _stateless_post(
        self, decision: ProcessMessages, responder: Responder, extra: Headers
    ) -> None:
        message = decision.messages[0]
        if type(message) is Notification:
            self.dispatcher.handle_notification(message)
            await _respond(responder, post_reply((), batch=False, era=Era.STATELESS), extra)
            return
        assert isinstance(message, Request)
        try:
            handled = self.dispatcher.handle_request(message)
            if type(handled) is StatelessRequest and handled.method == "tools/call":
                self._check_param_headers(handled, decision.param_headers)
        except RemoteProtocolError as exc:
            await _answer(responder, reject_for(exc), extra)
            return
        if type(handled) is Subscription:
            await self._listen(handled, responder, extra)
            return
        if type(handled) is not StatelessRequest:
            answer = handled.response  # type: ignore[union-attr]
            await _respond(responder, post_reply((answer,), batch=False, era=Era.STATELESS), extra)
            return
        outlet = _Outlet(self, responder, None, priming=False, extra_headers=extra)
        # The stream begins with the first message the handler emits, not
        # before: an error found first keeps its HTTP status (2026-07-28: -32021
        # and others "MUST" be 400), which a begun stream could no longer carry.
        outlet.prefer_stream = decision.response_mode is ResponseMode.SSE
        reply = await self._stateless_call(handled, outlet, responder)
        if reply is not None:
            await outlet.finish([reply], batch=False, era=Era.STATELESS)

    def _check_param_headers(self, request: StatelessRequest, headers: Headers) -> None:
        name = request.target
        paths = self.app.tool_param_headers(name) if name is not None else None
        if not paths and not headers:
            return
        validate_param_headers(
            headers, request.params.get("arguments"), paths or {}, request_id=request.request_id
        )

    def _sealed_answers(self, request: StatelessRequest) -> dict[str, Any]:
        """The answers of earlier rounds, from the request's sealed ``requestState``."""
        if request.request_state is None:
            return {}
        opened = self.dispatcher.open_state(request, now=time.time())
        return opened if isinstance(opened, dict) else {}

    async def _stateless_call(
        self, request: StatelessRequest, outlet: _Outlet, responder: Responder
    ) -> Message | None:
        try:
            answers = self._sealed_answers(request)
        except RemoteProtocolError as exc:
            return error_response_for(exc)
        exchange = _StatelessExchange(self, request, outlet, answers)
        ctx = Context(exchange, ask_timeout=self.config.ask_timeout)
        self._work_started()
        try:
            if self.app.never_waits(request.method, request.params):
                # It cannot wait, so it cannot stream, and nothing could stop it
                # midway: no disconnect watcher is needed.
                return await self._stateless_answer(request, ctx)
            return await self._stateless_run(request, outlet, responder, ctx)
        finally:
            self._work_done()

    async def stateless_message(self, request: Request, outlet: Outlet) -> Message | None:
        """Answer one 2026-07-28 request that came without HTTP (stdio): its
        response, with its notifications emitted on ``outlet`` first. A
        ``subscriptions/listen`` stays open, delivering notifications, until
        cancelled (``notifications/cancelled``, which on stdio is how a client
        stops one) or the node shuts down."""
        try:
            handled = self.dispatcher.handle_request(request)
        except RemoteProtocolError as exc:
            return error_response_for(exc)
        if type(handled) is CoreAnswer:
            return handled.response
        if type(handled) is Subscription:
            await outlet.emit(handled.acknowledgement())
            async with self.backend.broker.subscribe(BROADCAST_CHANNEL) as messages:
                with trio.CancelScope() as scope:
                    self._closing_scopes.add(scope)
                    try:
                        async for payload in messages:
                            broadcast = decode_broadcast(payload)
                            delivered = handled.deliver(broadcast.notification)
                            if delivered is not None:
                                await outlet.emit(delivered)
                    finally:
                        self._closing_scopes.discard(scope)
            return handled.closing_response()
        assert type(handled) is StatelessRequest
        try:
            answers = self._sealed_answers(handled)
        except RemoteProtocolError as exc:
            return error_response_for(exc)
        exchange = _StatelessExchange(self, handled, outlet, answers)
        self._work_started()
        try:
            return await self._stateless_answer(
                handled, Context(exchange, ask_timeout=self.config.ask_timeout)
            )
        finally:
            self._work_done()

    async def _stateless_answer(self, request: StatelessRequest, ctx: Context) -> Message:
        """Run the handler; its final or input-required response, or its error."""
        try:
            result = await self.app.handle(request.method, request.params, ctx)
            return self.dispatcher.complete(request, result)
        except InputNeeded as needed:
            return self._input_required(request, needed)
        except McpError as exc:
            return ErrorResponse(request.request_id, exc.code, exc.message, exc.data)
        except RemoteProtocolError as exc:
            return error_response_for(exc.with_request_id(request.request_id))
        except Exception:
            _log.exception("handler of %s failed", request.method)
            return internal_error(request.request_id)

    async def _stateless_run(
        self, request: StatelessRequest, outlet: _Outlet, responder: Responder, ctx: Context
    ) -> Message | None:
        async with trio.open_nursery() as nursery:
            scope = nursery.cancel_scope

            def watch() -> None:
                # 2026-07-28: the client cancels a request by closing its stream.
                # Watching needs a task, so it starts once the response streams.
                nursery.start_soon(_cancel_when, responder.wait_disconnected, scope)

            outlet.on_stream = watch
            if outlet.streaming:
                watch()
            try:
                return await self._stateless_answer(request, ctx)
            finally:
                outlet.on_stream = None
                scope.cancel()
        # Cancelled: the client went away.
        return None  # type: ignore[unreachable]

    def _input_required(self, request: StatelessRequest, needed: InputNeeded) -> Message:
        questions: dict[str, InputRequest] = needed.requests
        state = self.dispatcher.seal_state(
            request, needed.answered, now=time.time(), ttl=self.config.request_state_ttl
        )
        try:
            return self.dispatcher.input_required(request, questions, request_state=state)
        except RemoteProtocolError as exc:
            return error_response_for(exc)

    async def _listen(
        self, subscription: Subscription, responder: Responder, extra: Headers
    ) -> None:
        status, headers = response_start(ResponseMode.SSE)
        await responder.start(status, (*headers, *extra))
        await responder.send(encode_message_event(encode_message(subscription.acknowledgement())))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_when, responder.wait_disconnected, nursery.cancel_scope)

            async def closing() -> None:
                await self._closing.wait()
                # Shutdown ends the subscription with its response.
                await responder.send(
                    encode_message_event(encode_message(subscription.closing_response()))
                )
                nursery.cancel_scope.cancel()

            nursery.start_soon(closing)
            async with self.backend.broker.subscribe(BROADCAST_CHANNEL) as messages:
                while True:
                    payload = None
                    with trio.move_on_after(self.config.heartbeat_interval):
                        payload = await messages.__anext__()
                    if payload is None:
                        await responder.send(encode_comment())
                        continue
                    broadcast = decode_broadcast(payload)
                    delivered = subscription.deliver(broadcast.notification)
                    if delivered is not None:
                        await responder.send(encode_message_event(encode_message(delivered)))


async def _cancel_when(wait: Callable[[], Any], scope: trio.CancelScope) -> None:
    await wait()
    scope.cancel()


async def _respond(responder: Responder, reply: HttpReply, extra: Headers) -> None:
    """Send a complete answer the core framed, plus the ``extra`` headers (CORS)."""
    status, headers, body = reply
    await responder.respond(status, (*headers, *extra), body)


async def _answer(responder: Responder, reject: Reject, extra: Headers) -> None:
    """Answer with a rejection the core decided, plus the ``extra`` headers (CORS)."""
    await responder.respond(reject.status, (*reject.headers, *extra), reject.body)


async def _answer_quietly(responder: Responder, reject: Reject, extra: Headers) -> None:
    if responder.started:
        return  # too late for a status: the stream just ends
    with suppress(ClientGone):
        await _answer(responder, reject, extra)
