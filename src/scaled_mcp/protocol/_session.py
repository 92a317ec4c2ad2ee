"""The handshake-era session machine (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25).

One :class:`ServerSession` is the server side of one session: it takes the
client's messages one at a time, decides what each means in the session's
phase, and says what to do (events) or what is wrong (:class:`RemoteProtocolError`
carrying the JSON-RPC code, with the request's id). It owns the table of
requests in flight each way, keyed by JSON-RPC id, like h2's streams.

Phases move only through :data:`TRANSITIONS` (in :mod:`._state`). A message
whose (phase, kind) is not in the table is a protocol error answered on its
own: JSON-RPC messages stand alone, so one bad message does not end a session
(only ``close`` does).

One instance per session per node: the outgoing request ids it mints count
up from 1 and carry the node id, and its in-flight tables are node-local work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from ._content_revisions import downgrade_result, downgrade_sampling_params
from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._events import (
    ErrorReceived,
    Event,
    NotificationReceived,
    ReplyReady,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    SessionInitialized,
)
from ._jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    _response,
)
from ._notifications import (
    _LOG_RANK,
    list_changed_notification,
    log_notification,
    progress_notification_for,
    resource_updated_notification,
)
from ._params import _PARAMS_CHECKED, _check_params, check_tool_call_params
from ._progress import ProgressOrder
from ._session_config import ServerConfig, _session_methods
from ._state import TRANSITIONS, SessionInput, SessionPhase, SessionState
from ._trusted import trusted_constructor
from ._versions import (
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    has_elicitation,
    negotiate_version,
)

__all__ = [
    "ServerSession",
    "node_of_request_id",
]


_OPERATING: Final = SessionPhase.OPERATING
# The hot path skips the table lookup for this move, which the table itself decides.
_REQUEST_KEEPS_OPERATING: Final = TRANSITIONS[(_OPERATING, SessionInput.REQUEST)] is _OPERATING

_CLIENT_NOTIFICATIONS: Final = frozenset(
    {"notifications/progress", "notifications/roots/list_changed"}
)
_NO_PARAMS: Final[Mapping[str, Any]] = {}
_LIST_KINDS: Final = frozenset({"tools", "resources", "prompts"})


def _error(message: str, code: int, request_id: RequestId | None) -> RemoteProtocolError:
    return RemoteProtocolError(message, code=code, http_status=400, request_id=request_id)


def _params_error(message: str, request_id: RequestId) -> RemoteProtocolError:
    return _error(f"Invalid params: {message}", ErrorCode.INVALID_PARAMS, request_id)


def node_of_request_id(request_id: object) -> str | None:
    """The node that minted a server→client request id, or ``None`` if it is not one of ours.

    Ids are ``"<node_id>.<n>"``: the node that awaits the client's answer is
    named in the id, so a cluster routes the answer without a lookup.
    """
    if type(request_id) is not str:
        return None
    node, dot, number = request_id.partition(".")
    if not node or not dot or not number.isdigit() or not number.isascii():
        return None
    return node


# What the application gets of a request the session has checked (the hot path).
_request_received: Callable[[Request], RequestReceived] = trusted_constructor(RequestReceived)

_NO_SUBSCRIPTIONS: Final[frozenset[str]] = frozenset()


class ServerSession:
    """The server side of one handshake-era MCP session. See the module docstring."""

    # Slots: a node keeps one of these per live session.
    __slots__ = (
        "_app_methods",
        "_incoming",
        "_methods",
        "_next_number",
        "_outgoing",
        "_progress",
        "client_capabilities",
        "client_info",
        "config",
        "created_at",
        "last_activity",
        "log_level",
        "node_id",
        "owner",
        "phase",
        "protocol_version",
        "session_id",
        "subscriptions",
    )

    def __init__(self, config: ServerConfig, *, session_id: str, node_id: str) -> None:
        if not node_id or "." in node_id:
            raise LocalProtocolError(f"a node id must be non-empty without '.': {node_id!r}")
        self.config = config
        self.session_id = session_id
        self.node_id = node_id
        self.phase = SessionPhase.NEW
        self.protocol_version: str | None = None
        self.client_info: dict[str, Any] = {}
        self.client_capabilities: dict[str, Any] = {}
        self.log_level: str | None = None
        # The resources the client subscribed to: an immutable (shared, empty)
        # frozenset until the first subscription, so idle sessions cost nothing here.
        self.subscriptions: set[str] | frozenset[str] = _NO_SUBSCRIPTIONS
        self.created_at: float | None = None
        self.last_activity = 0.0
        # The key of the principal that created the session (authorization on).
        self.owner: str | None = None
        # Client requests in flight, each with its progress token (or None).
        self._incoming: dict[RequestId, str | int | None] = {}
        # The progress sent for a request, once there is some.
        self._progress: dict[RequestId, ProgressOrder] = {}
        self._outgoing: dict[RequestId, Request] = {}
        self._next_number = 1
        self._methods: frozenset[str] = frozenset()
        # The methods whose requests go to the application (a subset of _methods).
        self._app_methods: frozenset[str] = frozenset()

    @classmethod
    def from_state(
        cls, config: ServerConfig, state: SessionState, *, node_id: str
    ) -> ServerSession:
        """Rebuild a session from the plain data another node wrote."""
        session = cls(config, session_id=state.session_id, node_id=node_id)
        session.created_at = state.created_at
        session.last_activity = state.last_activity
        session.owner = state.owner
        session.refresh(state)
        return session

    def refresh(self, state: SessionState) -> None:
        """Take the shared data another node (or an expiry) wrote for this
        session, keeping the requests in flight here in both directions.

        A session still new here that was initialized elsewhere takes the
        version negotiated there; a negotiated version never changes.
        """
        if state.session_id != self.session_id:
            raise LocalProtocolError(
                f"the state of session {state.session_id!r} is not {self.session_id!r}'s"
            )
        if self.phase is SessionPhase.NEW and state.phase is not SessionPhase.NEW:
            # Initialized on another node: nothing ran here yet.
            self.created_at = state.created_at
            self.last_activity = state.last_activity
            self._negotiated(state.protocol_version)
        self.phase = state.phase
        self.client_info = state.client_info
        self.client_capabilities = state.client_capabilities
        self.log_level = state.log_level
        self.subscriptions = state.subscriptions

    @property
    def state(self) -> SessionState:
        """The session's shared plain data, as of the last message."""
        return SessionState(
            session_id=self.session_id,
            protocol_version=self.protocol_version or "",
            phase=self.phase,
            client_info=self.client_info,
            client_capabilities=self.client_capabilities,
            log_level=self.log_level,
            subscriptions=frozenset(self.subscriptions),
            created_at=self.created_at if self.created_at is not None else self.last_activity,
            last_activity=self.last_activity,
            owner=self.owner,
        )

    def shared_fields(self) -> tuple[object, ...]:
        """The part of :attr:`state` a message can change, cheap to take: when it
        is equal before and after some messages, the stored state needs no
        write for them. Client info and capabilities change only with
        ``initialize``, which moves the phase; the activity times change with
        every message and are the store's to refresh now and then."""
        return (self.phase, self.log_level, self.subscriptions, self.protocol_version)

    def _negotiated(self, version: str) -> None:
        self.protocol_version = version
        self._methods, self._app_methods = _session_methods(self.config, version)

    # -- the table -------------------------------------------------------------

    def _move(self, kind: SessionInput, request_id: RequestId | None = None) -> None:
        next_phase = TRANSITIONS.get((self.phase, kind))
        if next_phase is None:
            if self.phase is SessionPhase.NEW:
                why = "the session is not initialized yet"
            elif self.phase is SessionPhase.CLOSED:
                why = "the session is closed"
            else:
                why = "the session is already initialized"
            raise _error(
                f"Invalid request: {kind.value} not allowed: {why}",
                ErrorCode.INVALID_REQUEST,
                request_id,
            )
        self.phase = next_phase

    # -- receiving -------------------------------------------------------------

    def receive(self, message: Message, *, now: float) -> list[Event]:
        """Take one message from the client; return what it means.

        Raises :class:`RemoteProtocolError` (with the request's id for a
        request) when the message is not allowed: answer a request with
        ``error_response_for(exc)``; a bad notification or response has no
        answer on the wire.
        """
        self.last_activity = now
        kind = type(message)
        if kind is Request:
            return self._receive_request(message)  # type: ignore[arg-type]
        if kind is Notification:
            return self._receive_notification(message)  # type: ignore[arg-type]
        if kind is Response or kind is ErrorResponse:
            return self._receive_response(message)  # type: ignore[arg-type]
        raise LocalProtocolError(f"not a message: {message!r}")

    def _receive_request(self, request: Request) -> list[Event]:
        method = request.method
        request_id = request.id
        if request_id in self._incoming:
            # "The request ID MUST NOT match the ID of any other request the sender
            # has issued and not yet received a response for": whoever would answer it.
            raise _error(
                f"Invalid request: id {request_id!r} is already in flight",
                ErrorCode.INVALID_REQUEST,
                request_id,
            )
        if method not in self._app_methods:
            return self._receive_core_request(request)
        # The hot path: a request the application answers.
        phase = self.phase
        if phase is not _OPERATING or not _REQUEST_KEEPS_OPERATING:
            self._move(SessionInput.REQUEST, request_id)
        params = request.params if request.params is not None else _NO_PARAMS
        try:
            if method == "tools/call":
                check_tool_call_params(params, request_id)
            elif method in _PARAMS_CHECKED:
                _check_params(request, params)
            if len(self._incoming) >= self.config.max_in_flight:
                raise _error(
                    "Invalid request: too many requests in flight",
                    ErrorCode.INVALID_REQUEST,
                    request_id,
                )
            meta = params.get("_meta")
            token = None
            if meta is not None:
                if type(meta) is not dict:
                    raise _params_error('"_meta" must be an object', request_id)
                token = meta.get("progressToken")
                if token is not None and type(token) is not str and type(token) is not int:
                    raise _params_error(
                        '"progressToken" must be a string or an integer', request_id
                    )
        except RemoteProtocolError:
            self.phase = phase
            raise
        self._incoming[request_id] = token
        return [_request_received(request)]

    def _receive_core_request(self, request: Request) -> list[Event]:
        """Requests the core answers itself, and those that do not exist."""
        method = request.method
        request_id = request.id
        if method == "initialize":
            return self._initialize(request)
        if method == "ping":
            self._move(SessionInput.PING, request_id)
            return [ReplyReady(Response(id=request_id, result={}))]
        phase = self.phase
        self._move(SessionInput.REQUEST, request_id)
        try:
            if method not in self._methods:
                raise _error(f"Method not found: {method}", ErrorCode.METHOD_NOT_FOUND, request_id)
            params = request.params if request.params is not None else _NO_PARAMS
            _check_params(request, params)
            if method == "logging/setLevel":
                return self._set_level(request, params)
            return self._subscribe(request, params)
        except RemoteProtocolError:
            self.phase = phase
            raise

    def _initialize(self, request: Request) -> list[Event]:
        params = request.params or {}
        requested = params.get("protocolVersion")
        capabilities = params.get("capabilities")
        client_info = params.get("clientInfo")
        if type(requested) is not str:
            raise _params_error('initialize needs a string "protocolVersion"', request.id)
        if type(capabilities) is not dict:
            raise _params_error('initialize needs a "capabilities" object', request.id)
        if type(client_info) is not dict or type(client_info.get("name")) is not str:
            raise _params_error('initialize needs a "clientInfo" with a "name"', request.id)
        self._move(SessionInput.INITIALIZE, request.id)
        version = negotiate_version(requested)
        self._negotiated(version)
        self.client_info = client_info
        self.client_capabilities = capabilities
        if self.created_at is None:
            self.created_at = self.last_activity
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": self.config.capabilities,
            "serverInfo": self.config.server_info,
        }
        if self.config.instructions is not None:
            result["instructions"] = self.config.instructions
        return [ReplyReady(Response(id=request.id, result=result))]

    def _set_level(self, request: Request, params: Mapping[str, Any]) -> list[Event]:
        level = params.get("level")
        if type(level) is not str or level not in _LOG_RANK:
            raise _params_error(f"unknown log level {level!r}", request.id)
        self.log_level = level
        return [ReplyReady(Response(id=request.id, result={}))]

    def _subscribe(self, request: Request, params: Mapping[str, Any]) -> list[Event]:
        uri: str = params["uri"]
        if request.method == "resources/subscribe":
            self.subscriptions = self.subscriptions | {uri}
        else:
            self.subscriptions = self.subscriptions - {uri}
        return [ReplyReady(Response(id=request.id, result={}))]

    def _receive_notification(self, notification: Notification) -> list[Event]:
        method = notification.method
        if method == "notifications/initialized":
            before = self.phase
            self._move(SessionInput.INITIALIZED)
            return [SessionInitialized()] if before is SessionPhase.INITIALIZING else []
        self._move(SessionInput.NOTIFICATION)
        if method == "notifications/cancelled":
            return self._cancelled(notification.params or {})
        if method in _CLIENT_NOTIFICATIONS:
            return [NotificationReceived(notification)]
        # Unknown notifications are ignored: nobody expects an answer to them.
        return []

    def _cancelled(self, params: Mapping[str, Any]) -> list[Event]:
        request_id = params.get("requestId")
        reason = params.get("reason")
        # "The receiver MAY ignore the cancellation notification if the request is
        # unknown, already completed, or cannot be cancelled"; "The initialize
        # request MUST NOT be cancelled by clients" (it is never in flight here).
        if (type(request_id) is not str and type(request_id) is not int) or (
            request_id not in self._incoming
        ):
            return []
        del self._incoming[request_id]
        self._progress.pop(request_id, None)
        return [RequestCancelled(request_id, reason if type(reason) is str else None)]

    def _receive_response(self, response: Response | ErrorResponse) -> list[Event]:
        self._move(SessionInput.RESPONSE)
        request = self._outgoing.pop(response.id, None) if response.id is not None else None
        if request is None:
            # An answer to nothing we asked (or already answered): ignored.
            return []
        if type(response) is Response:
            return [ResponseReceived(response, request)]
        return [ErrorReceived(response, request)]  # type: ignore[arg-type]

    # -- answering -------------------------------------------------------------

    def _finish(self, request_id: RequestId) -> None:
        if request_id not in self._incoming:
            raise LocalProtocolError(
                f"no request {request_id!r} is in flight (answered or cancelled)"
            )
        if self._incoming.pop(request_id) is not None:
            self._progress.pop(request_id, None)

    def send_response(self, request_id: RequestId, result: dict[str, Any]) -> Response:
        """Answer the client request ``request_id`` with ``result``."""
        if type(result) is not dict:
            raise LocalProtocolError(f"a result must be a JSON object, not {result!r}")
        incoming = self._incoming
        if request_id in incoming and incoming[request_id] is None:
            del incoming[request_id]  # the hot path: no progress was promised
        else:
            self._finish(request_id)
        version = self.protocol_version
        if version is not None and version < V2025_06_18:
            # Content a revision does not define is downgraded to what it does
            # (audio before 2025-03-26, resource links before 2025-06-18).
            result = downgrade_result(result, version)
        return _response(request_id, result)

    def send_error(
        self, request_id: RequestId, code: int, message: str, data: Any = None
    ) -> ErrorResponse:
        """Answer the client request ``request_id`` with a JSON-RPC error."""
        self._finish(request_id)
        return ErrorResponse(id=request_id, code=int(code), message=message, data=data)

    def progress_token(self, request_id: RequestId) -> str | int | None:
        """The ``progressToken`` the client request ``request_id`` carries, if any."""
        return self._incoming.get(request_id)

    def is_in_flight(self, request_id: RequestId) -> bool:
        """Whether a client request still awaits its answer (not answered nor cancelled)."""
        return request_id in self._incoming

    # -- server → client -------------------------------------------------------

    def send_request(self, method: str, params: dict[str, Any] | None = None) -> Request:
        """A request to the client, with a fresh id that names this node.

        Lifecycle: "The server SHOULD NOT send requests other than pings and
        logging before receiving the initialized notification." Sampling,
        roots and elicitation need the capability the client declared.
        """
        if method != "ping" and self.phase is not SessionPhase.OPERATING:
            raise LocalProtocolError(
                f"cannot send {method} while the session is {self.phase.value}"
            )
        if method == "ping" and self.phase not in (
            SessionPhase.INITIALIZING,
            SessionPhase.OPERATING,
        ):
            raise LocalProtocolError(f"cannot ping while the session is {self.phase.value}")
        self._check_client_capability(method, params or {})
        if len(self._outgoing) >= self.config.max_pending:
            raise LocalProtocolError("too many requests to the client await an answer")
        request_id = f"{self.node_id}.{self._next_number}"
        self._next_number += 1
        if method == "sampling/createMessage" and params is not None:
            # Sampling content of a later revision, in the session's terms.
            params = downgrade_sampling_params(params, self.protocol_version or "")
        request = Request(id=request_id, method=method, params=params)
        self._outgoing[request_id] = request
        return request

    def _check_client_capability(self, method: str, params: Mapping[str, Any]) -> None:
        capabilities = self.client_capabilities
        if method == "sampling/createMessage":
            if "sampling" not in capabilities:
                raise LocalProtocolError("the client did not declare sampling")
            if params.get("tools") and "tools" not in (capabilities["sampling"] or {}):
                raise LocalProtocolError("the client did not declare sampling with tools")
        elif method == "roots/list":
            if "roots" not in capabilities:
                raise LocalProtocolError("the client did not declare roots")
        elif method == "elicitation/create":
            version = self.protocol_version or ""
            if not has_elicitation(version):
                raise LocalProtocolError(f"elicitation does not exist in {version}")
            if "elicitation" not in capabilities:
                raise LocalProtocolError("the client did not declare elicitation")
            mode = params.get("mode", "form")
            declared = capabilities["elicitation"] or {}
            # 2025-11-25: an empty elicitation object means form mode only.
            supported = {"form"} if not declared else set(declared)
            if version >= V2025_11_25 and mode not in supported:
                raise LocalProtocolError(f"the client did not declare {mode} mode elicitation")
        elif method != "ping":
            raise LocalProtocolError(f"{method} is not a server-to-client request")

    def cancel_request(self, request_id: RequestId, reason: str | None = None) -> Notification:
        """Give up on a server→client request; send the returned notification."""
        if self._outgoing.pop(request_id, None) is None:
            raise LocalProtocolError(f"no request {request_id!r} awaits the client")
        params: dict[str, Any] = {"requestId": request_id}
        if reason is not None:
            params["reason"] = reason
        return Notification(method="notifications/cancelled", params=params)

    def progress(
        self,
        request_id: RequestId,
        progress: float,
        total: float | None = None,
        message: str | None = None,
    ) -> Notification | None:
        """A progress notification for the client request ``request_id``,
        or ``None`` when that request asked for none (no ``progressToken``).

        Progress: "The progress value MUST increase with each notification."
        """
        if request_id not in self._incoming:
            raise LocalProtocolError(f"no request {request_id!r} is in flight")
        token = self._incoming[request_id]
        if token is None:
            return None
        if (self.protocol_version or "") < V2025_03_26:
            message = None  # the message field exists from 2025-03-26
        notification = progress_notification_for(token, progress, total, message)
        order = self._progress.get(request_id)
        if order is None:
            order = self._progress[request_id] = ProgressOrder()
        order.advance(progress)
        return notification

    def log(self, level: str, data: Any, logger: str | None = None) -> Notification | None:
        """A ``notifications/message``, or ``None`` below the client's level."""
        rank = _LOG_RANK.get(level)
        if rank is None:
            raise LocalProtocolError(f"unknown log level {level!r}")
        if "logging" not in self.config.capabilities:
            raise LocalProtocolError("the server did not declare the logging capability")
        if self.log_level is not None and rank < _LOG_RANK[self.log_level]:
            return None
        return log_notification(level, data, logger)

    def resource_updated(self, uri: str) -> Notification | None:
        """``notifications/resources/updated`` if the client subscribed to ``uri``."""
        if uri not in self.subscriptions:
            return None
        return resource_updated_notification(uri)

    def list_changed(self, kind: str) -> Notification:
        """``notifications/<kind>/list_changed`` for ``tools``, ``resources`` or ``prompts``."""
        if kind not in _LIST_KINDS:
            raise LocalProtocolError(f"no list_changed notification for {kind!r}")
        if not (self.config.capabilities.get(kind) or {}).get("listChanged"):
            raise LocalProtocolError(f"the server did not declare {kind}.listChanged")
        return list_changed_notification(kind)

    def wants_broadcast(self, notification: Notification) -> bool:
        """Whether a change notification sent to every session goes to this one:
        once it operates, every ``list_changed``, and ``resources/updated`` for
        a resource the client subscribed to (resources: "the server SHOULD send
        notifications/resources/updated" to subscribers)."""
        if self.phase is not SessionPhase.OPERATING:
            return False
        method = notification.method
        if method == "notifications/resources/updated":
            uri = (notification.params or _NO_PARAMS).get("uri")
            return type(uri) is str and uri in self.subscriptions
        return method.endswith("/list_changed")

    def close(self) -> None:
        """End the session (HTTP DELETE, expiry, shutdown); every later message is refused."""
        self._move(SessionInput.CLOSE)
        self._incoming.clear()
        self._progress.clear()
        self._outgoing.clear()
