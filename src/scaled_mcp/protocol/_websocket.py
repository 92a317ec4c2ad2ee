"""MCP over WebSocket (SEP-1288, draft) as pure decisions, for servers and clients.

SEP-1288: "All messages MUST be sent as UTF-8 encoded text frames. Binary
frames are not supported and MUST result in connection termination with close
code 1003 (Unsupported Data)." The client offers the ``mcp`` subprotocol (and,
since "headers are not directly accessible in the JavaScript WebSockets API",
may smuggle its bearer token as ``mcp.auth.<token>`` and its revision as
``mcp.version.<version>``); the server answers ``mcp``. Sessions are named in
the messages, not in headers: an optional top-level ``mcpSessionId`` member.
A client of the official SDK 1.x names none: its connection is its session.

What this module decides, a transport (``wsproto`` on either side) does:

* the opening handshake: :func:`client_subprotocols` (what a client offers),
  :func:`read_offer` (what a server learns from the offer: the subprotocol to
  answer, the smuggled token and version; a refusal as
  :class:`RemoteProtocolError` with its HTTP status);
* the upgrade request (server): :func:`is_websocket_upgrade` (does it ask for
  one), :func:`check_upgrade` (Origin, Host, path, method and the offer, as any
  request of the endpoint is checked: a :class:`Reject` to answer instead of
  upgrading, or the :class:`WebSocketOffer` with the request to authorize);
* incoming data: a :class:`MessageAssembler` per connection takes each text or
  binary chunk as the transport delivers it and returns ``None`` (more to come)
  or one decision: :class:`IncomingMessages` (the messages of one text message,
  and the session it names), :class:`AnswerError` (a text message that is not
  JSON-RPC: answer it with that error, keep the connection) or
  :class:`CloseConnection` (the close code and reason to send);
  :func:`close_for_failure` turns a framing failure the transport reports
  (invalid UTF-8: 1007; a malformed frame: 1002) into a close decision;
* outgoing data: :func:`encode_text` (one message, optionally naming its
  session, as the text of one frame), :func:`encode_text_batch` (a batch's answer).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
import orjson

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._http_config import HttpConfig
from ._http_decisions import Reject, _Stop, _stop
from ._http_request import HttpRequest, _HeaderView, is_valid_session_id
from ._http_routing import _check_origin_and_host
from ._jsonrpc import (
    ErrorResponse,
    Message,
    Request,
    error_response_for,
    message_from_json,
    message_to_json,
)
from ._lines import DEFAULT_MAX_MESSAGE_LINE_SIZE
from ._versions import SUPPORTED_VERSIONS

__all__ = [
    "AUTH_SUBPROTOCOL_PREFIX",
    "DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE",
    "RECONNECTED_REASON",
    "SESSION_ID_MEMBER",
    "SUBPROTOCOL",
    "VERSION_SUBPROTOCOL_PREFIX",
    "AnswerError",
    "CloseCode",
    "CloseConnection",
    "IncomingMessages",
    "MessageAssembler",
    "WebSocketDecision",
    "WebSocketOffer",
    "check_upgrade",
    "client_subprotocols",
    "close_for_failure",
    "is_websocket_upgrade",
    "encode_text",
    "encode_text_batch",
    "read_offer",
    "too_many_requests_answers",
    "refusal_answers",
    "unknown_session_answers",
]

#: The subprotocol of MCP over WebSocket, offered by the client and answered by the server.
SUBPROTOCOL: Final = "mcp"
#: ``mcp.auth.<token>``: a bearer token carried in the subprotocol list.
AUTH_SUBPROTOCOL_PREFIX: Final = "mcp.auth."
#: ``mcp.version.<version>``: the protocol revision the client speaks.
VERSION_SUBPROTOCOL_PREFIX: Final = "mcp.version."
#: The optional top-level member naming the session a message belongs to.
SESSION_ID_MEMBER: Final = "mcpSessionId"
#: The largest text message accepted by default, in UTF-8 bytes (as a stdio line).
DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE: Final = DEFAULT_MAX_MESSAGE_LINE_SIZE
#: The close reason of a connection whose session moved to another connection.
RECONNECTED_REASON: Final = "MCP session reconnected on another connection"
# RFC 6455, 5.5: a control frame's payload is at most 125 bytes, 2 of them the code.
_MAX_REASON_BYTES: Final = 123


class CloseCode(enum.IntEnum):
    """The WebSocket close codes (RFC 6455, 7.4.1) MCP over WebSocket uses."""

    #: The purpose of the connection is fulfilled (or its session moved elsewhere).
    NORMAL = 1000
    #: The server is shutting down, or the peer stopped answering pings.
    GOING_AWAY = 1001
    #: The peer broke the WebSocket framing.
    PROTOCOL_ERROR = 1002
    #: SEP-1288: "Binary frames are not supported and MUST result in ... 1003".
    UNSUPPORTED_DATA = 1003
    #: A text frame that is not UTF-8.
    INVALID_PAYLOAD = 1007
    #: The connection's session is not the peer's (a policy the endpoint enforces).
    POLICY_VIOLATION = 1008
    #: A message larger than the endpoint accepts.
    MESSAGE_TOO_BIG = 1009
    #: The server met a failure of its own.
    INTERNAL_ERROR = 1011
    #: The server cannot take the connection's session now (it serves too many).
    TRY_AGAIN_LATER = 1013


@attrs.frozen(slots=True)
class WebSocketOffer:
    """What a server learns from a client's ``Sec-WebSocket-Protocol`` offer.

    ``subprotocol`` is the one to answer with (always :data:`SUBPROTOCOL`);
    ``bearer_token`` the token smuggled as ``mcp.auth.<token>`` (``None`` when
    none); ``protocol_version`` the revision named by ``mcp.version.<v>``;
    ``request`` (from :func:`check_upgrade`) the upgrade request to authorize.
    """

    subprotocol: str
    bearer_token: str | None
    protocol_version: str | None
    request: HttpRequest | None = None


def _refusal(reason: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"Invalid request: {reason}", code=ErrorCode.INVALID_REQUEST, http_status=400
    )


def read_offer(offered: Iterable[str]) -> WebSocketOffer:
    """Read the subprotocols a client offers, in its order.

    Raises :class:`RemoteProtocolError` (HTTP 400, answered before upgrading)
    when ``mcp`` is not offered, or when a token or version is offered twice or
    empty.
    """
    has_mcp = False
    token: str | None = None
    version: str | None = None
    for raw in offered:
        name = raw.strip()
        if name == SUBPROTOCOL:
            has_mcp = True
        elif name.startswith(AUTH_SUBPROTOCOL_PREFIX):
            value = name[len(AUTH_SUBPROTOCOL_PREFIX) :]
            if not value or token is not None:
                raise _refusal("one non-empty mcp.auth subprotocol at most")
            token = value
        elif name.startswith(VERSION_SUBPROTOCOL_PREFIX):
            value = name[len(VERSION_SUBPROTOCOL_PREFIX) :]
            if not value or version is not None:
                raise _refusal("one non-empty mcp.version subprotocol at most")
            version = value
    if not has_mcp:
        raise _refusal(
            f"a WebSocket client of this endpoint offers the {SUBPROTOCOL!r} subprotocol"
        )
    return WebSocketOffer(subprotocol=SUBPROTOCOL, bearer_token=token, protocol_version=version)


def is_websocket_upgrade(request: HttpRequest) -> bool:
    """Whether ``request`` asks to upgrade to WebSocket (``Upgrade: websocket``)."""
    for name, value in request.headers:
        if name == "upgrade" and any(
            token.strip().lower() == "websocket" for token in value.split(",")
        ):
            return True
    return False


def check_upgrade(request: HttpRequest, config: HttpConfig) -> WebSocketOffer | Reject:
    """Check a WebSocket upgrade of the MCP endpoint as any of its requests is
    checked, before upgrading: "Servers MUST validate the Origin header on all
    incoming connections" (403), the Host (421), the path (404), ``GET`` (405),
    ``Sec-WebSocket-Version: 13``, a ``Sec-WebSocket-Key`` and no body (400,
    RFC 6455 4.2.1), the subprotocol offer and the revision it names (400).
    The offer's ``request`` is the one to authorize: a token offered as
    ``mcp.auth.<token>`` becomes its ``Authorization`` header when it has none.
    """
    view = _HeaderView(request.headers)
    try:
        _check_origin_and_host(view, config)
        if request.path != config.endpoint_path:
            raise _stop(404, "Not Found")
        if request.method != "GET":
            raise _stop(405, "Method Not Allowed: a WebSocket upgrade is a GET")
        if view.one("content-length") not in (None, "0") or view.all("transfer-encoding"):
            raise _stop(400, "Bad Request: a WebSocket upgrade has no body")
        if view.one("sec-websocket-version") != "13":
            raise _stop(400, "Bad Request: Sec-WebSocket-Version must be 13")
        key = view.one("sec-websocket-key")
        if not isinstance(key, str) or not key:
            raise _stop(400, "Bad Request: one Sec-WebSocket-Key is required")
        offered = [
            token for value in view.all("sec-websocket-protocol") for token in value.split(",")
        ]
        try:
            offer = read_offer(offered)
        except RemoteProtocolError as exc:
            raise _stop(400, f"Bad Request: {exc.message}") from None
        version = offer.protocol_version
        if version is not None and version not in SUPPORTED_VERSIONS:
            raise _stop(400, f"Bad Request: unsupported protocol version {version[:64]!r}")
    except _Stop as stop:
        return stop.reject
    if offer.bearer_token is not None and view.one("authorization") is None:
        headers = (*request.headers, ("authorization", f"Bearer {offer.bearer_token}"))
        request = HttpRequest(request.method, request.path, request.query, headers, request.body)
    return attrs.evolve(offer, request=request)


def client_subprotocols(
    *, bearer_token: str | None = None, protocol_version: str | None = None
) -> list[str]:
    """The subprotocols a client offers: ``mcp`` first, then its revision and
    token when it passes them this way (a client that can set headers should
    rather send ``Authorization``)."""
    offer = [SUBPROTOCOL]
    if protocol_version is not None:
        offer.append(VERSION_SUBPROTOCOL_PREFIX + protocol_version)
    if bearer_token is not None:
        offer.append(AUTH_SUBPROTOCOL_PREFIX + bearer_token)
    return offer


@attrs.frozen(slots=True)
class IncomingMessages:
    """One text message: its messages (an item that is not a valid message is
    the error to answer it with), whether it was a batch, and the session it
    names (``mcpSessionId``; ``None`` when it names none)."""

    items: tuple[Message | RemoteProtocolError, ...]
    batch: bool
    session_id: str | None


@attrs.frozen(slots=True)
class AnswerError:
    """A text message that is not JSON-RPC: answer with ``error``; the connection stays."""

    error: RemoteProtocolError


@attrs.frozen(slots=True)
class CloseConnection:
    """End the connection: send a close frame with ``code`` and ``reason``."""

    code: CloseCode
    reason: str


#: Every decision a :class:`MessageAssembler` returns.
WebSocketDecision = IncomingMessages | AnswerError | CloseConnection


def _close(code: CloseCode, reason: str) -> CloseConnection:
    encoded = reason.encode()
    if len(encoded) > _MAX_REASON_BYTES:
        reason = encoded[:_MAX_REASON_BYTES].decode(errors="ignore")
    return CloseConnection(code=code, reason=reason)


def close_for_failure(code: int | None, reason: str = "") -> CloseConnection:
    """The close to send when the transport's framing failed with ``code``
    (wsproto's ``ParseFailed.code``): 1007 and 1009 kept, anything else 1002."""
    if code == CloseCode.INVALID_PAYLOAD:
        return _close(CloseCode.INVALID_PAYLOAD, reason or "text frames must be UTF-8")
    if code == CloseCode.MESSAGE_TOO_BIG:
        return _close(CloseCode.MESSAGE_TOO_BIG, reason or "message too big")
    return _close(CloseCode.PROTOCOL_ERROR, reason or "WebSocket protocol error")


def _session_id(obj: Any) -> str | RemoteProtocolError | None:
    if type(obj) is not dict or SESSION_ID_MEMBER not in obj:
        return None
    value = obj[SESSION_ID_MEMBER]
    if type(value) is not str or not is_valid_session_id(value):
        return _refusal(f'"{SESSION_ID_MEMBER}" must be a string of visible ASCII characters')
    return value


def _decode(data: bytes, *, allow_batch: bool, max_batch_size: int) -> WebSocketDecision:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return AnswerError(
            RemoteProtocolError(f"Parse error: {exc}", code=ErrorCode.PARSE_ERROR, request_id=None)
        )
    elements = obj if type(obj) is list else [obj]
    if type(obj) is list:
        if not allow_batch:
            return AnswerError(_refusal("JSON-RPC batches are not supported by this revision"))
        if not obj:
            return AnswerError(_refusal("an empty batch"))
        if len(obj) > max_batch_size:
            return AnswerError(_refusal(f"a batch longer than {max_batch_size} messages"))
    session: str | None = None
    items: list[Message | RemoteProtocolError] = []
    for element in elements:
        named = _session_id(element)
        if isinstance(named, RemoteProtocolError):
            return AnswerError(named)
        if named is not None:
            if session is not None and named != session:
                return AnswerError(_refusal("the messages of one batch name two sessions"))
            session = named
        try:
            items.append(message_from_json(element))
        except RemoteProtocolError as exc:
            if type(obj) is not list:
                return AnswerError(exc)
            items.append(exc)
    return IncomingMessages(items=tuple(items), batch=type(obj) is list, session_id=session)


class MessageAssembler:
    """Turns the chunks of a connection's data messages into decisions.

    A transport calls :meth:`text` / :meth:`binary` with each chunk it reads
    (``finished`` on the last chunk of a message). A text message larger than
    ``max_message_size`` UTF-8 bytes ends the connection with 1009 as soon as
    it is known to be too big (it is never held whole); a binary message ends
    it with 1003 at its first chunk. After a :class:`CloseConnection` the
    assembler is closed and returns ``None`` for anything more (the closing
    handshake is under way). Memory held: at most one message's
    ``max_message_size`` bytes.
    """

    __slots__ = ("_parts", "_size", "closed", "max_batch_size", "max_message_size")

    def __init__(
        self,
        *,
        max_message_size: int = DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE,
        max_batch_size: int = 256,
    ) -> None:
        if type(max_message_size) is not int or max_message_size < 1:
            raise LocalProtocolError(f"max_message_size must be positive: {max_message_size!r}")
        #: The largest text message accepted, in UTF-8 bytes.
        self.max_message_size = max_message_size
        #: The most messages a batch may hold (for revisions that allow batches).
        self.max_batch_size = max_batch_size
        #: Whether a close was decided: nothing more is read.
        self.closed = False
        self._parts: list[bytes] = []
        self._size = 0

    def _end(self, code: CloseCode, reason: str) -> CloseConnection:
        self.closed = True
        self._parts.clear()
        self._size = 0
        return _close(code, reason)

    def text(
        self, data: str | bytes, *, finished: bool, allow_batch: bool = False
    ) -> WebSocketDecision | None:
        """Take a chunk of a text message (``str`` as decoded by the transport,
        or its UTF-8 bytes); return the decision once the message is finished
        (``allow_batch``: the session's revision allows JSON-RPC batches)."""
        if self.closed:
            return None
        chunk = data.encode() if isinstance(data, str) else bytes(data)
        self._size += len(chunk)
        if self._size > self.max_message_size:
            return self._end(
                CloseCode.MESSAGE_TOO_BIG, f"a message exceeds {self.max_message_size} bytes"
            )
        self._parts.append(chunk)
        if not finished:
            return None
        body = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts = []
        self._size = 0
        return _decode(body, allow_batch=allow_batch, max_batch_size=self.max_batch_size)

    def binary(self, data: bytes, *, finished: bool) -> CloseConnection | None:
        """Take a chunk of a binary message: the connection ends (1003)."""
        del data, finished
        if self.closed:
            return None
        return self._end(CloseCode.UNSUPPORTED_DATA, "MCP messages are sent as text frames")

    def failed(self, code: int | None, reason: str = "") -> CloseConnection | None:
        """The transport's framing failed (see :func:`close_for_failure`)."""
        if self.closed:
            return None
        decision = close_for_failure(code, reason)
        self._end(decision.code, decision.reason)
        return decision


def encode_text(message: Message, *, session_id: str | None = None) -> str:
    """One message as the text of one frame; ``session_id`` adds ``mcpSessionId``."""
    obj = message_to_json(message)
    if session_id is not None:
        if not is_valid_session_id(session_id):
            raise LocalProtocolError(f"not a session id: {session_id!r}")
        obj[SESSION_ID_MEMBER] = session_id
    return orjson.dumps(obj).decode()


def encode_text_batch(messages: Sequence[Message]) -> str:
    """The answer to a batch as the text of one frame."""
    return orjson.dumps([message_to_json(m) for m in messages]).decode()


def refusal_answers(
    items: Iterable[Message | RemoteProtocolError],
    message: str,
    *,
    code: int = ErrorCode.INVALID_REQUEST,
    data: Any = None,
) -> tuple[ErrorResponse, ...]:
    """A message refused whole on a connection: one error per request it carries,
    as its POST's refusal would say; notifications and responses get none (a
    client's ``notifications/cancelled`` or its answer to the server's own request
    is not a request). The connection stays open."""
    return tuple(
        error_response_for(RemoteProtocolError(message, code=code, request_id=item.id, data=data))
        for item in items
        if type(item) is Request
    )


def unknown_session_answers(
    items: Iterable[Message | RemoteProtocolError],
) -> tuple[ErrorResponse, ...]:
    """The answers to a message naming (``mcpSessionId``) a session no node knows."""
    return refusal_answers(items, "Invalid request: no such session (initialize a new one)")


def too_many_requests_answers(
    items: Iterable[Message | RemoteProtocolError], retry_after: float
) -> tuple[ErrorResponse, ...]:
    """The answers to a message whose caller is past its rate limit: what a POST of
    it gets as its 429 (RFC 6585, 4), the seconds to wait (rounded up, at least 1)
    in the message and as ``data.retryAfter``."""
    seconds = max(1, math.ceil(retry_after))
    return refusal_answers(
        items,
        f"Too many requests: retry after {seconds} s",
        code=ErrorCode.INTERNAL_ERROR,
        data={"retryAfter": seconds},
    )
