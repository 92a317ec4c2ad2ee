"""The client side of a handshake-era session (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25).

One :class:`ClientSession` is the client's half of one session: it builds the
messages the client sends (``initialize``, ``notifications/initialized``,
requests with fresh ids, cancellations, answers to the server's requests) and
takes the server's messages one at a time, reporting what each means as
events (:mod:`._client_events`). It owns the tables of requests in flight each
way, keyed by JSON-RPC id, and maps progress tokens to the requests that
asked for progress.

Phases move only through :data:`CLIENT_TRANSITIONS` (in :mod:`._client_state`).
:meth:`ClientSession.receive` never raises on what the server sends: a server
request the client cannot serve is answered with a JSON-RPC error
(:class:`ReplyToServer`), a stray response or notification is dropped.
Refusing to *send* something is a :class:`LocalProtocolError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._client_events import (
    ClientEvent,
    HandshakeCompleted,
    HandshakeFailed,
    ProgressReceived,
    ReplyToServer,
    RequestFailed,
    ResultReceived,
    ServerCancelled,
    ServerRequest,
)
from ._client_notifications import notification_event, progress_update
from ._client_state import CLIENT_TRANSITIONS, ClientInput, ClientPhase
from ._errors import ErrorCode, LocalProtocolError
from ._jsonrpc import ErrorResponse, Message, Notification, Request, RequestId, Response
from ._versions import (
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    V2025_03_26,
    V2025_11_25,
    has_elicitation,
)

__all__ = [
    "DEFAULT_CLIENT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_SERVER_REQUESTS",
    "ClientSession",
    "server_capability_for",
]

#: Most of the client's own requests awaiting an answer at once.
DEFAULT_CLIENT_MAX_IN_FLIGHT: Final = 1024
#: Most server requests the client serves at once (more are refused with -32600).
DEFAULT_MAX_SERVER_REQUESTS: Final = 64

_NO_PARAMS: Final[Mapping[str, Any]] = {}

# Capabilities (server/*): the server capability a client request needs.
_METHOD_CAPABILITY: Final[Mapping[str, tuple[str, str | None]]] = {
    "tools/list": ("tools", None),
    "tools/call": ("tools", None),
    "resources/list": ("resources", None),
    "resources/templates/list": ("resources", None),
    "resources/read": ("resources", None),
    "resources/subscribe": ("resources", "subscribe"),
    "resources/unsubscribe": ("resources", "subscribe"),
    "prompts/list": ("prompts", None),
    "prompts/get": ("prompts", None),
    "logging/setLevel": ("logging", None),
    "completion/complete": ("completions", None),
}


def server_capability_for(method: str, version: str) -> tuple[str, str | None] | None:
    """The server capability (and sub-capability flag) a client request needs in
    ``version``, or ``None`` when it needs none.

    E.g. ``resources/subscribe`` needs ``resources.subscribe``; the
    ``completions`` capability exists from 2025-03-26 (before it,
    ``completion/complete`` needs nothing).
    """
    needed = _METHOD_CAPABILITY.get(method)
    if needed is not None and needed[0] == "completions" and version < V2025_03_26:
        return None
    return needed


def _refusal(request_id: RequestId, code: int, message: str) -> ReplyToServer:
    return ReplyToServer(ErrorResponse(id=request_id, code=int(code), message=message))


class ClientSession:
    """The client side of one handshake-era MCP session. See the module docstring.

    ``capabilities`` is the ``ClientCapabilities`` object sent in
    ``initialize``: server requests are served only for what it declares.
    ``protocol_version`` is the revision proposed (the newest by default);
    ``supported_versions`` those accepted in the server's answer.
    """

    __slots__ = (
        "_incoming",
        "_initialize_id",
        "_next_id",
        "_outgoing",
        "_progress",
        "capabilities",
        "client_info",
        "instructions",
        "max_in_flight",
        "max_server_requests",
        "negotiated_version",
        "phase",
        "protocol_version",
        "server_capabilities",
        "server_info",
        "session_id",
        "supported_versions",
    )

    def __init__(
        self,
        *,
        client_info: dict[str, Any],
        capabilities: dict[str, Any] | None = None,
        protocol_version: str = LATEST_HANDSHAKE_VERSION,
        supported_versions: tuple[str, ...] = HANDSHAKE_VERSIONS,
        max_in_flight: int = DEFAULT_CLIENT_MAX_IN_FLIGHT,
        max_server_requests: int = DEFAULT_MAX_SERVER_REQUESTS,
    ) -> None:
        if type(client_info) is not dict or type(client_info.get("name")) is not str:
            raise LocalProtocolError("client_info must be a dict with a string name")
        capabilities = {} if capabilities is None else capabilities
        if type(capabilities) is not dict:
            raise LocalProtocolError("capabilities must be a dict")
        supported = tuple(supported_versions)
        if not supported or any(v not in HANDSHAKE_VERSIONS for v in supported):
            raise LocalProtocolError(f"supported_versions must be within {HANDSHAKE_VERSIONS}")
        if protocol_version not in supported:
            raise LocalProtocolError(f"cannot propose {protocol_version!r}: not supported")
        if max_in_flight < 1 or max_server_requests < 1:
            raise LocalProtocolError("the in-flight limits must be at least 1")
        self.client_info = client_info
        self.capabilities = capabilities
        self.protocol_version = protocol_version
        self.supported_versions = supported
        self.max_in_flight = max_in_flight
        self.max_server_requests = max_server_requests
        self.phase = ClientPhase.NEW
        #: The revision the handshake settled on (``None`` before it).
        self.negotiated_version: str | None = None
        self.server_info: dict[str, Any] = {}
        self.server_capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        #: The ``Mcp-Session-Id`` the server assigned over HTTP (the transport sets it).
        self.session_id: str | None = None
        self._next_id = 1
        self._initialize_id: RequestId | None = None
        # Our requests awaiting an answer, and the progress tokens they carry.
        self._outgoing: dict[RequestId, Request] = {}
        self._progress: dict[str | int, RequestId] = {}
        # Server requests being served, by id: their method.
        self._incoming: dict[RequestId, str] = {}

    # -- moves -----------------------------------------------------------------

    def _can(self, kind: ClientInput) -> bool:
        return (self.phase, kind) in CLIENT_TRANSITIONS

    def _move(self, kind: ClientInput) -> None:
        target = CLIENT_TRANSITIONS.get((self.phase, kind))
        if target is None:
            raise LocalProtocolError(f"cannot {kind.value} while the session is {self.phase.value}")
        self.phase = target

    def _mint(self, method: str, params: dict[str, Any] | None) -> Request:
        if len(self._outgoing) >= self.max_in_flight:
            raise LocalProtocolError("too many requests to the server await an answer")
        request = Request(id=self._next_id, method=method, params=params)
        self._next_id += 1
        self._outgoing[request.id] = request
        return request

    # -- what the client sends ---------------------------------------------------

    def initialize(self) -> Request:
        """The ``initialize`` request, proposing :attr:`protocol_version`.

        Lifecycle: "The client MUST initiate this phase by sending an
        initialize request containing: Protocol version supported, Client
        capabilities, Client implementation information".
        """
        self._move(ClientInput.SEND_INITIALIZE)
        params = {
            "protocolVersion": self.protocol_version,
            "capabilities": self.capabilities,
            "clientInfo": self.client_info,
        }
        request = Request(id=self._next_id, method="initialize", params=params)
        self._next_id += 1
        self._initialize_id = request.id
        return request

    def initialized(self) -> Notification:
        """``notifications/initialized``, once the handshake completed."""
        self._move(ClientInput.SEND_INITIALIZED)
        return Notification(method="notifications/initialized")

    def send_request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        progress_token: bool = False,
    ) -> Request:
        """A request to the server with a fresh id, now in flight.

        ``ping`` may go in any phase but closed; other requests once the
        session is ready, and only when the server declared the capability
        they need (capabilities: "Both parties MUST only use capabilities
        that were successfully negotiated"). ``progress_token`` asks for
        progress, the token being the request's id.
        """
        if method == "initialize":
            raise LocalProtocolError("use initialize() to begin the session")
        if params is not None and type(params) is not dict:
            raise LocalProtocolError("params must be a dict or None")
        if method == "ping":
            self._move(ClientInput.SEND_PING)
        else:
            if not self._can(ClientInput.SEND_REQUEST):
                raise LocalProtocolError(
                    f"cannot send {method} while the session is {self.phase.value}"
                )
            self._check_server_capability(method)
            self._move(ClientInput.SEND_REQUEST)
        request_id = self._next_id
        if progress_token:
            params = dict(params or {})
            meta = params.get("_meta")
            params["_meta"] = {**(meta if type(meta) is dict else {}), "progressToken": request_id}
        request = self._mint(method, params)
        if progress_token:
            self._progress[request_id] = request_id
        return request

    def _check_server_capability(self, method: str) -> None:
        needed = server_capability_for(method, self.negotiated_version or "")
        if needed is None:
            return
        name, flag = needed
        declared = self.server_capabilities.get(name)
        if type(declared) is not dict:
            raise LocalProtocolError(f"the server did not declare the {name} capability")
        if flag is not None and declared.get(flag) is not True:
            raise LocalProtocolError(f"the server did not declare {name}.{flag}")

    def send_notification(self, method: str, params: dict[str, Any] | None = None) -> Notification:
        """A notification to the server (``notifications/roots/list_changed``, ...)."""
        if method in ("notifications/initialized", "notifications/cancelled"):
            raise LocalProtocolError(f"use initialized() or cancel() to send {method}")
        if method == "notifications/roots/list_changed" and not (
            type(self.capabilities.get("roots")) is dict
            and self.capabilities["roots"].get("listChanged") is True
        ):
            raise LocalProtocolError("the client did not declare roots.listChanged")
        self._move(ClientInput.SEND_NOTIFICATION)
        return Notification(method=method, params=params)

    def cancel(self, request_id: RequestId, reason: str | None = None) -> Notification | None:
        """``notifications/cancelled`` for our in-flight ``request_id``, now forgotten;
        ``None`` when it is not in flight (answered already: nothing to cancel).

        cancellation: "The initialize request MUST NOT be cancelled by clients".
        """
        if request_id == self._initialize_id and self.phase is ClientPhase.INITIALIZING:
            raise LocalProtocolError("the initialize request must not be cancelled")
        request = self._forget(request_id)
        if request is None or self.phase is ClientPhase.CLOSED:
            return None
        params: dict[str, Any] = {"requestId": request_id}
        if reason is not None:
            params["reason"] = reason
        return Notification(method="notifications/cancelled", params=params)

    def _forget(self, request_id: RequestId) -> Request | None:
        request = self._outgoing.pop(request_id, None)
        if request is not None:
            self._progress.pop(request_id, None)
        return request

    def answer(self, request_id: RequestId, result: dict[str, Any]) -> Response:
        """Answer the server request ``request_id`` (a :class:`ServerRequest`) with ``result``."""
        if type(result) is not dict:
            raise LocalProtocolError(f"a result must be a JSON object, not {result!r}")
        self._finish(request_id)
        return Response(id=request_id, result=result)

    def answer_error(
        self, request_id: RequestId, code: int, message: str, data: Any = None
    ) -> ErrorResponse:
        """Answer the server request ``request_id`` with a JSON-RPC error."""
        self._finish(request_id)
        return ErrorResponse(id=request_id, code=int(code), message=message, data=data)

    def _finish(self, request_id: RequestId) -> None:
        if self._incoming.pop(request_id, None) is None:
            raise LocalProtocolError(
                f"no server request {request_id!r} awaits an answer (answered or cancelled)"
            )

    def close(self) -> None:
        """End the session (closed by the client, or gone on the server); nothing
        more is sent. Requests still in flight are dropped: see :meth:`fail_all`."""
        if self.phase is not ClientPhase.CLOSED:
            self._move(ClientInput.CLOSE)
        self._incoming.clear()

    def fail_all(self) -> list[Request]:
        """Forget every request of ours still in flight and return them, for the
        caller to fail (the session or the transport is gone: never a hang)."""
        pending = list(self._outgoing.values())
        self._outgoing.clear()
        self._progress.clear()
        return pending

    # -- what the server sends ---------------------------------------------------

    @property
    def in_flight(self) -> tuple[RequestId, ...]:
        """The ids of our requests awaiting an answer."""
        return tuple(self._outgoing)

    @property
    def serving(self) -> tuple[RequestId, ...]:
        """The ids of server requests awaiting our answer."""
        return tuple(self._incoming)

    def request_for(self, request_id: RequestId) -> Request | None:
        """Our in-flight request ``request_id``, if it is."""
        return self._outgoing.get(request_id)

    def receive(self, message: Message) -> list[ClientEvent]:
        """What the server's ``message`` means. Never raises on the server's behalf."""
        if isinstance(message, Response | ErrorResponse):
            return self._receive_response(message)
        if isinstance(message, Request):
            return self._receive_request(message)
        if isinstance(message, Notification):
            return self._receive_notification(message)
        raise LocalProtocolError(f"not a JSON-RPC message: {message!r}")

    def _receive_response(self, response: Response | ErrorResponse) -> list[ClientEvent]:
        if self._can(ClientInput.INITIALIZE_RESULT) and (
            (response.id is not None and response.id == self._initialize_id)
            # An error without an id while initializing: the server could not
            # read the initialize request (JSON-RPC: "If there was an error in
            # detecting the id ... it MUST be Null"); nothing else is pending.
            or (response.id is None and not self._outgoing)
        ):
            return self._handshake(response)
        if not self._can(ClientInput.RESPONSE):
            return []
        self._move(ClientInput.RESPONSE)
        request = self._forget(response.id) if response.id is not None else None
        if request is None:
            # An answer to nothing we asked, or to a request we cancelled: dropped.
            return []
        if isinstance(response, Response):
            return [ResultReceived(request, response.result)]
        return [RequestFailed(request, response)]

    def _handshake(self, response: Response | ErrorResponse) -> list[ClientEvent]:
        if isinstance(response, ErrorResponse):
            self._move(ClientInput.INITIALIZE_FAILED)
            return [HandshakeFailed(f"initialize failed: {response.message}", response)]
        result = response.result
        version = result.get("protocolVersion")
        capabilities = result.get("capabilities")
        server_info = result.get("serverInfo", {})
        instructions = result.get("instructions")
        reason = None
        if type(version) is not str:
            reason = 'the initialize result has no string "protocolVersion"'
        elif version not in self.supported_versions:
            # Lifecycle: "If the client does not support the version in the
            # server's response, it SHOULD disconnect."
            reason = (
                f"the server answered with protocol version {version!r}, which this "
                f"client does not speak (it speaks {', '.join(self.supported_versions)})"
            )
        elif type(capabilities) is not dict:
            reason = 'the initialize result has no "capabilities" object'
        elif type(server_info) is not dict:
            reason = '"serverInfo" must be an object'
        elif instructions is not None and type(instructions) is not str:
            reason = '"instructions" must be a string'
        if reason is not None:
            self._move(ClientInput.INITIALIZE_FAILED)
            return [HandshakeFailed(reason)]
        assert type(version) is str and type(capabilities) is dict
        self._move(ClientInput.INITIALIZE_RESULT)
        self.negotiated_version = version
        self.server_capabilities = capabilities
        self.server_info = server_info
        self.instructions = instructions
        return [HandshakeCompleted(version, server_info, capabilities, instructions)]

    def _receive_request(self, request: Request) -> list[ClientEvent]:
        request_id = request.id
        if request.method == "ping":
            if not self._can(ClientInput.SERVER_PING):
                return [self._out_of_phase(request)]
            self._move(ClientInput.SERVER_PING)
            # ping: "The receiver MUST respond promptly with an empty response".
            return [ReplyToServer(Response(id=request_id, result={}))]
        if not self._can(ClientInput.SERVER_REQUEST):
            return [self._out_of_phase(request)]
        self._move(ClientInput.SERVER_REQUEST)
        refusal = self._check_server_request(request)
        if refusal is not None:
            return [refusal]
        if request_id in self._incoming:
            return [
                _refusal(
                    request_id,
                    ErrorCode.INVALID_REQUEST,
                    f"Invalid request: request id {request_id!r} is already in use",
                )
            ]
        if len(self._incoming) >= self.max_server_requests:
            return [
                _refusal(
                    request_id,
                    ErrorCode.INVALID_REQUEST,
                    "Invalid request: too many server requests in flight",
                )
            ]
        self._incoming[request_id] = request.method
        return [ServerRequest(request)]

    def _out_of_phase(self, request: Request) -> ReplyToServer:
        return _refusal(
            request.id,
            ErrorCode.INVALID_REQUEST,
            f"Invalid request: {request.method} is not allowed while the client "
            f"session is {self.phase.value}",
        )

    def _check_server_request(self, request: Request) -> ReplyToServer | None:
        """Whether the client serves this request: the capability it needs was
        declared, and the params the core relies on are there."""
        method = request.method
        params = request.params if request.params is not None else _NO_PARAMS
        capabilities = self.capabilities
        version = self.negotiated_version or ""

        def not_found(why: str) -> ReplyToServer:
            return _refusal(request.id, ErrorCode.METHOD_NOT_FOUND, f"Method not found: {why}")

        def invalid(why: str) -> ReplyToServer:
            return _refusal(request.id, ErrorCode.INVALID_PARAMS, f"Invalid params: {why}")

        if method == "sampling/createMessage":
            declared = capabilities.get("sampling")
            if type(declared) is not dict:
                return not_found("the client did not declare the sampling capability")
            if type(params.get("messages")) is not list:
                return invalid('sampling/createMessage needs a "messages" array')
            max_tokens = params.get("maxTokens")
            if isinstance(max_tokens, bool) or type(max_tokens) is not int:
                return invalid('sampling/createMessage needs an integer "maxTokens"')
            if params.get("tools") and type(declared.get("tools")) is not dict:
                return invalid("the client did not declare sampling with tools")
            return None
        if method == "roots/list":
            if type(capabilities.get("roots")) is not dict:
                return not_found("the client did not declare the roots capability")
            return None
        if method == "elicitation/create":
            declared = capabilities.get("elicitation")
            if not has_elicitation(version) or type(declared) is not dict:
                return not_found("the client did not declare the elicitation capability")
            if type(params.get("message")) is not str:
                return invalid('elicitation/create needs a string "message"')
            mode = params.get("mode", "form")
            # 2025-11-25: "an empty capabilities object is equivalent to
            # declaring support for form mode only".
            supported = {"form"} if not declared or version < V2025_11_25 else set(declared)
            if mode not in supported:
                return invalid(f"the client did not declare {mode!r} mode elicitation")
            if mode == "form" and type(params.get("requestedSchema")) is not dict:
                return invalid('form mode elicitation needs a "requestedSchema" object')
            if mode == "url" and (
                type(params.get("url")) is not str or type(params.get("elicitationId")) is not str
            ):
                return invalid('url mode elicitation needs string "url" and "elicitationId"')
            return None
        return not_found(method)

    def _receive_notification(self, notification: Notification) -> list[ClientEvent]:
        if not self._can(ClientInput.SERVER_NOTIFICATION):
            return []
        self._move(ClientInput.SERVER_NOTIFICATION)
        method = notification.method
        if method == "notifications/progress":
            return self._progress_of(notification)
        if method == "notifications/cancelled":
            params = notification.params if notification.params is not None else _NO_PARAMS
            request_id = params.get("requestId")
            reason = params.get("reason")
            # "The receiver MAY ignore the cancellation notification if the
            # request is unknown, already completed, or cannot be cancelled."
            if (type(request_id) is not str and type(request_id) is not int) or (
                self._incoming.pop(request_id, None) is None
            ):
                return []
            return [ServerCancelled(request_id, reason if type(reason) is str else None)]
        event = notification_event(notification)
        return [] if event is None else [event]

    def _progress_of(self, notification: Notification) -> list[ClientEvent]:
        update = progress_update(notification)
        if update is None:
            return []
        request_id = self._progress.get(update.token)
        request = self._outgoing.get(request_id) if request_id is not None else None
        if request is None:
            # Progress for no request of ours (finished, cancelled, never asked): dropped.
            return []
        return [ProgressReceived(request, update.progress, update.total, update.message)]
