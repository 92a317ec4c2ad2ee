"""The HTTP transport rules of MCP, as pure decisions.

One MCP endpoint (``/mcp`` by default) serves both eras of the protocol:

* the handshake era (2025-03-26 through 2025-11-25) of Streamable HTTP: a POST
  per message batch, ``Mcp-Session-Id`` issued on ``initialize``, a GET stream
  for server messages, DELETE to end a session;
* the stateless era (2026-07-28): a POST per request, no session, the
  ``MCP-Protocol-Version`` / ``Mcp-Method`` / ``Mcp-Name`` headers checked
  against the body;

and, next to it, the deprecated HTTP+SSE transport of 2024-11-05 (``GET /sse``
opens a stream whose first event names the ``POST /messages?sessionId=...``
endpoint).

Nothing here performs I/O, reads a clock or draws random bytes. The caller
hands over an :class:`HttpRequest` and gets back a decision:

* :class:`Reject` -- answer with this status, these headers and this body;
* :class:`ProcessMessages` -- a POST whose messages the session or stateless
  machinery must handle, and how the HTTP answer must look;
* :class:`OpenStream` -- a GET stream of a session (resuming after
  ``Last-Event-ID`` when given);
* :class:`TerminateSession` -- a DELETE of a session;
* :class:`OpenLegacyStream` -- the 2024-11-05 ``GET /sse``;
* :class:`NeedSession` -- the request names a session: the caller loads its
  :class:`~scaled_mcp.protocol.SessionState` from its store (that is I/O) and
  calls :func:`decide_with_session`, which returns one of the decisions above.

New session ids are never made here: a decision that needs one says so
(``ProcessMessages.issue_session``, :class:`OpenLegacyStream`), the caller
mints it (it must be visible ASCII, see :func:`is_valid_session_id`) and
passes it to :func:`response_start` or :func:`legacy_endpoint_url`.

Every rejection is a 4xx with a JSON-RPC error body; nothing a client sends
makes these functions raise.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import enum
import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias
from urllib.parse import parse_qsl, quote

import attrs

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._jsonrpc import (
    DecodedBody,
    Message,
    Notification,
    Request,
    RequestId,
    _trusted,
    decode_body,
    encode_message,
    error_response_for,
)
from ._sse import parse_event_id
from ._state import SessionPhase, SessionState
from ._stateless import META_PROTOCOL_VERSION, check_protocol_version
from ._versions import (
    HANDSHAKE_VERSIONS,
    STATELESS_VERSIONS,
    SUPPORTED_VERSIONS,
    Era,
    allows_batches,
)

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_ALLOWED_ORIGINS",
    "DEFAULT_MAX_BODY_SIZE",
    "LEGACY_ENDPOINT_EVENT",
    "Headers",
    "HttpConfig",
    "HttpDecision",
    "HttpRequest",
    "NeedSession",
    "OpenLegacyStream",
    "OpenStream",
    "Preflight",
    "ProcessMessages",
    "Reject",
    "ResponseMode",
    "TerminateSession",
    "body_too_large",
    "cors_headers",
    "decide",
    "decide_with_session",
    "decode_header_value",
    "is_valid_session_id",
    "legacy_endpoint_url",
    "param_header_paths",
    "precheck",
    "reject_for",
    "response_start",
    "resume_point",
    "service_unavailable",
    "status_for_error",
    "stream_conflict",
    "stream_expired",
    "validate_param_headers",
]

Headers: TypeAlias = tuple[tuple[str, str], ...]
"""HTTP header fields as ``(name, value)`` pairs, names lower-cased."""

#: Hosts a local server answers by default (any port): DNS rebinding protection.
DEFAULT_ALLOWED_HOSTS: Final[tuple[str, ...]] = ("localhost", "127.0.0.1", "[::1]")
#: Browser origins a local server accepts by default (any port).
DEFAULT_ALLOWED_ORIGINS: Final[tuple[str, ...]] = tuple(
    f"{scheme}://{host}" for scheme in ("http", "https") for host in DEFAULT_ALLOWED_HOSTS
)
#: Default limit on a request body: 4 MiB.
DEFAULT_MAX_BODY_SIZE: Final = 4 * 1024 * 1024
#: The SSE event name of the first event on a 2024-11-05 ``GET /sse`` stream.
LEGACY_ENDPOINT_EVENT: Final = "endpoint"

_JSON: Final = "application/json"
_EVENT_STREAM: Final = "text/event-stream"
_SESSION_HEADER: Final = "mcp-session-id"
_VERSION_HEADER: Final = "mcp-protocol-version"
_METHOD_HEADER: Final = "mcp-method"
_NAME_HEADER: Final = "mcp-name"
_PARAM_PREFIX: Final = "mcp-param-"
_LAST_EVENT_ID: Final = "last-event-id"
_LEGACY_QUERY_KEY: Final = "sessionId"
#: The most query fields a legacy ``POST /messages`` may carry (bounds parsing).
_MAX_QUERY_FIELDS: Final = 32
#: Longest header or body value quoted back in an error message.
_QUOTE_LIMIT: Final = 80

# Mcp-Name: "params.name or params.uri" per method (2026-07-28, Standard Request
# Headers); "Required For: tools/call, resources/read, prompts/get requests".
# The tasks extension carries its task id the same way; it is compared when sent.
_NAME_SOURCE: Final[Mapping[str, str]] = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}
_NAME_REQUIRED: Final = frozenset({"tools/call", "prompts/get", "resources/read"})

#: How many distinct Host values :meth:`HttpConfig.host_allowed` remembers.
_MAX_REMEMBERED_HOSTS: Final = 1024

_PORT = re.compile(r"[0-9]{1,5}")
_ZERO_Q = re.compile(r"0(\.0{0,3})?")
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_B64_PREFIX: Final = "=?base64?"
_B64_SUFFIX: Final = "?="


class ResponseMode(enum.Enum):
    """How the HTTP response to a POST carries the server's answer."""

    #: ``200`` with ``Content-Type: application/json``: one JSON object (an array
    #: answering a batch).
    JSON = "json"
    #: ``200`` with ``Content-Type: text/event-stream``: an SSE stream that ends
    #: after the last response.
    SSE = "sse"
    #: ``202 Accepted`` with no body: the POST held no requests ("If the input is
    #: a JSON-RPC response or notification ... the server MUST return HTTP status
    #: code 202 Accepted with no body").
    ACCEPTED = "accepted"
    #: ``202 Accepted`` now; the answers go out on the session's 2024-11-05
    #: ``GET /sse`` stream.
    LEGACY_STREAM = "legacy-stream"


def _lower_names(headers: Iterable[tuple[str, str]]) -> Headers:
    return tuple((name.lower(), value) for name, value in headers)


def _latin1(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


@attrs.frozen(slots=True)
class HttpRequest:
    """One HTTP request as the transport rules see it.

    ``path`` excludes the query string, ``query`` is the raw text after ``?``
    (without it). Header names are lower-cased on construction (field names are
    case-insensitive; values are kept as they are, optional whitespace around
    them is ignored when they are read). An HTTP/2 front passes ``:authority``
    as ``host``. ``body`` may be empty when only the head is known (see
    :func:`precheck`).
    """

    method: str
    path: str
    query: str = ""
    headers: Headers = attrs.field(default=(), converter=_lower_names)
    body: bytes = b""

    @classmethod
    def from_wire(
        cls,
        method: bytes | str,
        target: bytes | str,
        headers: Iterable[tuple[bytes | str, bytes | str]],
        body: bytes = b"",
    ) -> HttpRequest:
        """Build a request from what an HTTP parser hands over: a request target
        (``/mcp?x=1``) and header bytes, decoded as ISO-8859-1 as HTTP defines."""
        path, _, query = _latin1(target).partition("?")
        lowered = tuple(
            [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                if type(name) is bytes and type(value) is bytes
                else (_latin1(name).lower(), _latin1(value))
                for name, value in headers
            ]
        )
        # Every field is already in its final form: skip the converter.
        request: HttpRequest = _trusted(
            cls, method=_latin1(method), path=path, query=query, headers=lowered, body=body
        )
        return request

    @classmethod
    def from_parsed(
        cls, method: str, target: str, headers: Headers, body: bytes = b""
    ) -> HttpRequest:
        """Like :meth:`from_wire`, for a parser that has decoded the head as
        ISO-8859-1 and lower-cased the header names already."""
        path, _, query = target.partition("?")
        request: HttpRequest = _trusted(
            cls, method=method, path=path, query=query, headers=headers, body=body
        )
        return request


def _split_authority(value: str) -> tuple[str, str | None] | None:
    """``host[:port]`` (``[v6]`` literals included) to ``(host, port)``, or ``None``."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[: end + 1], value[end + 1 :]
        if not rest:
            return host.lower(), None
        if rest[0] != ":":
            return None
        port = rest[1:]
    else:
        host, colon, port = value.partition(":")
        if not colon:
            return (value.lower(), None) if value else None
    if not host or not _PORT.fullmatch(port):
        return None
    return host.lower(), port


def _split_origin(value: str) -> tuple[str, str, str | None] | None:
    scheme, sep, authority = value.partition("://")
    if not sep or not scheme:
        return None
    parts = _split_authority(authority)
    if parts is None:
        return None
    return scheme.lower(), parts[0], parts[1]


def _to_tuple(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _versions_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _check_path(name: str, value: str) -> None:
    if not value.startswith("/"):
        raise LocalProtocolError(f"{name} must start with '/', not {value!r}")


@attrs.frozen(slots=True)
class HttpConfig:
    """Every setting of the HTTP transport rules, each with a documented default.

    Paths:
      ``endpoint_path`` -- the MCP endpoint (``"/mcp"``), both eras.
      ``legacy_sse_path`` / ``legacy_messages_path`` -- the 2024-11-05 HTTP+SSE
      transport (``"/sse"``, ``"/messages"``); ``legacy_sse_path=None`` turns
      that transport off (both paths then answer 404), as does serving no
      handshake-era version.

    DNS rebinding protection ("Servers MUST validate the Origin header on all
    incoming connections to prevent DNS rebinding attacks"):
      ``allowed_hosts`` -- accepted ``Host`` values: ``"name"`` (any port) or
      ``"name:port"``; default localhost, 127.0.0.1 and [::1] on any port.
      ``None`` turns the check off (a server behind a proxy that checks it).
      A request that is not allowed gets 421 Misdirected Request.
      ``allowed_origins`` -- accepted ``Origin`` values: ``"scheme://name"``
      (any port) or ``"scheme://name:port"``, or the literal ``"null"``;
      default http/https on the same local hosts. ``None`` turns the check
      off. A request without ``Origin`` (not sent by a browser) is accepted;
      one with an origin not allowed gets 403 Forbidden.

    Limits:
      ``max_body_size`` -- bytes of a POST body (4 MiB); larger gets 413.
      ``max_batch_size`` -- messages in a 2025-03-26 batch (256); more gets 413.
      ``max_session_id_length`` -- characters of an ``Mcp-Session-Id`` (256);
      longer ones cannot be ours and get 400.
      ``max_event_id_length`` -- characters of a ``Last-Event-ID`` (256).

    Behaviour:
      ``response_mode`` -- :attr:`ResponseMode.JSON` (default) or
      :attr:`ResponseMode.SSE`: how a POST holding requests is answered
      (``subscriptions/listen`` is always a stream).
      ``supported_versions`` -- the protocol revisions served (all by
      default); a header naming another one gets 400 with
      ``UnsupportedProtocolVersionError`` (listing :attr:`retry_versions`).
      ``enable_get_stream`` -- offer the handshake-era GET stream (otherwise
      GET gets 405, as the spec allows).
      ``allow_session_delete`` -- let clients end sessions with DELETE
      (otherwise 405, as the spec allows).
      ``cors`` -- serve browser clients on other origins: answer CORS
      preflights (``OPTIONS``) from origins that pass the Origin check, and
      let :func:`cors_headers` name the headers every response then carries
      (off by default: ``OPTIONS`` gets 405).
      ``cors_max_age`` -- seconds a browser may cache a preflight (600).

    A setting that makes no sense raises :class:`LocalProtocolError`.
    """

    endpoint_path: str = "/mcp"
    legacy_sse_path: str | None = "/sse"
    legacy_messages_path: str = "/messages"
    allowed_hosts: tuple[str, ...] | None = attrs.field(
        default=DEFAULT_ALLOWED_HOSTS, converter=_to_tuple
    )
    allowed_origins: tuple[str, ...] | None = attrs.field(
        default=DEFAULT_ALLOWED_ORIGINS, converter=_to_tuple
    )
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    max_batch_size: int = 256
    max_session_id_length: int = 256
    max_event_id_length: int = 256
    response_mode: ResponseMode = ResponseMode.JSON
    supported_versions: tuple[str, ...] = attrs.field(
        default=SUPPORTED_VERSIONS, converter=_versions_tuple
    )
    enable_get_stream: bool = True
    allow_session_delete: bool = True
    cors: bool = False
    cors_max_age: int = 600
    _hosts: frozenset[tuple[str, str | None]] | None = attrs.field(
        init=False, default=None, repr=False, eq=False
    )
    _origins: frozenset[tuple[str, str, str | None]] | None = attrs.field(
        init=False, default=None, repr=False, eq=False
    )
    _mcp_allow: str = attrs.field(init=False, default="", repr=False, eq=False)
    _host_verdicts: dict[str, bool] = attrs.field(init=False, factory=dict, repr=False, eq=False)
    _mcp_methods: frozenset[str] = attrs.field(
        init=False, default=frozenset(), repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        _check_path("endpoint_path", self.endpoint_path)
        _check_path("legacy_messages_path", self.legacy_messages_path)
        if self.legacy_sse_path is not None:
            _check_path("legacy_sse_path", self.legacy_sse_path)
            paths = {self.endpoint_path, self.legacy_sse_path, self.legacy_messages_path}
            if len(paths) != 3:
                raise LocalProtocolError("the MCP endpoint and the legacy paths must differ")
        for name in ("max_body_size", "max_batch_size", "max_session_id_length"):
            if getattr(self, name) < 1:
                raise LocalProtocolError(f"{name} must be positive")
        if self.max_event_id_length < 1:
            raise LocalProtocolError("max_event_id_length must be positive")
        if self.cors_max_age < 0:
            raise LocalProtocolError("cors_max_age cannot be negative")
        if self.response_mode not in (ResponseMode.JSON, ResponseMode.SSE):
            raise LocalProtocolError("response_mode must be ResponseMode.JSON or ResponseMode.SSE")
        if not self.supported_versions or not set(self.supported_versions) <= set(
            SUPPORTED_VERSIONS
        ):
            raise LocalProtocolError(
                f"supported_versions must be a non-empty subset of {SUPPORTED_VERSIONS}"
            )
        if self.allowed_hosts is not None:
            hosts: set[tuple[str, str | None]] = set()
            for entry in self.allowed_hosts:
                parts = _split_authority(entry)
                if parts is None:
                    raise LocalProtocolError(f"not a host[:port]: {entry!r}")
                hosts.add(parts)
            object.__setattr__(self, "_hosts", frozenset(hosts))
        if self.allowed_origins is not None:
            origins: set[tuple[str, str, str | None]] = set()
            for entry in self.allowed_origins:
                if entry == "null":
                    continue
                origin = _split_origin(entry)
                if origin is None:
                    raise LocalProtocolError(f"not a scheme://host[:port] origin: {entry!r}")
                origins.add(origin)
            object.__setattr__(self, "_origins", frozenset(origins))
        methods: list[str] = []
        if self.handshake_enabled and self.enable_get_stream:
            methods.append("GET")
        methods.append("POST")
        if self.handshake_enabled and self.allow_session_delete:
            methods.append("DELETE")
        object.__setattr__(self, "_mcp_allow", ", ".join(methods))
        object.__setattr__(self, "_mcp_methods", frozenset(methods))

    @property
    def handshake_enabled(self) -> bool:
        """Whether any handshake-era revision is served (sessions, GET, DELETE)."""
        return any(version in HANDSHAKE_VERSIONS for version in self.supported_versions)

    @property
    def retry_versions(self) -> tuple[str, ...]:
        """The versions an ``UnsupportedProtocolVersionError`` lists: those a
        request can be retried with as it stands -- the stateless-era ones
        served (the same list ``server/discover`` gives), or every served
        version when no stateless-era one is."""
        modern = tuple(v for v in self.supported_versions if v in STATELESS_VERSIONS)
        return modern or self.supported_versions

    @property
    def legacy_enabled(self) -> bool:
        """Whether the 2024-11-05 HTTP+SSE transport is served: it has a path and
        handshake-era sessions are served."""
        return self.legacy_sse_path is not None and self.handshake_enabled

    def host_allowed(self, host: str) -> bool:
        """Whether a ``Host`` header value passes DNS rebinding protection."""
        if self._hosts is None:
            return True
        known = self._host_verdicts.get(host)
        if known is not None:
            return known
        verdict = self._host_allowed(host)
        if len(self._host_verdicts) < _MAX_REMEMBERED_HOSTS:
            self._host_verdicts[host] = verdict
        return verdict

    def _host_allowed(self, host: str) -> bool:
        assert self._hosts is not None
        parts = _split_authority(host)
        if parts is None:
            return False
        return parts in self._hosts or (parts[0], None) in self._hosts

    def origin_allowed(self, origin: str) -> bool:
        """Whether an ``Origin`` header value passes DNS rebinding protection."""
        if self._origins is None or self.allowed_origins is None:
            return True
        if origin == "null":
            return "null" in self.allowed_origins
        parts = _split_origin(origin)
        if parts is None:
            return False
        return parts in self._origins or (parts[0], parts[1], None) in self._origins


# --- decisions ---------------------------------------------------------------


@attrs.frozen(slots=True)
class Reject:
    """Answer the request with ``status``, ``headers`` and ``body``; nothing else.

    ``body`` is a JSON-RPC error response (no ``id`` unless the request's id
    could be read); ``code`` and ``message`` repeat its error for logs.
    """

    status: int
    headers: Headers
    body: bytes
    code: int
    message: str


@attrs.frozen(slots=True)
class ProcessMessages:
    """A POST whose messages must be handled.

    ``era`` says which machinery handles them. ``protocol_version`` is the
    revision in force: the header's or the session's (handshake era), the
    header's (stateless era); ``None`` for an ``initialize`` (the handshake
    negotiates it) and for a legacy session not yet initialized.

    ``session_id`` / ``session`` name the session the messages belong to
    (``None`` for ``initialize`` and in the stateless era). On the legacy
    transport ``session_id`` is the stream's id and ``session`` is ``None``
    until ``initialize`` has been answered.

    ``messages`` are the body's items in order; an item that was not a valid
    message is the :class:`RemoteProtocolError` to answer it with. ``batch``
    says whether the body was a JSON array (answer with an array).

    ``response_mode`` says how to answer: see :class:`ResponseMode` and
    :func:`response_start`. The caller may turn ``JSON`` into ``SSE`` (both are
    allowed: "the server MUST either return Content-Type: text/event-stream
    ... or Content-Type: application/json"), e.g. to stream progress.

    ``issue_session`` -- the body is an ``initialize``: mint a new session id
    and send it in ``Mcp-Session-Id`` on the response (pass it to
    :func:`response_start`).

    ``param_headers`` -- stateless era: the ``Mcp-Param-*`` headers, for
    :func:`validate_param_headers` once the tool's schema is known.
    """

    era: Era
    protocol_version: str | None
    session_id: str | None
    session: SessionState | None
    messages: tuple[Message | RemoteProtocolError, ...]
    batch: bool
    response_mode: ResponseMode
    issue_session: bool = False
    param_headers: Headers = ()


@attrs.frozen(slots=True)
class OpenStream:
    """A handshake-era GET: open the session's server-to-client SSE stream.

    ``last_event_id`` is the ``Last-Event-ID`` the client resumes after
    (``None`` for a fresh stream): replay what followed it on the stream it
    belongs to, then go on live. Answer with ``response_start(ResponseMode.SSE)``.
    """

    session_id: str
    session: SessionState
    protocol_version: str
    last_event_id: str | None


@attrs.frozen(slots=True)
class TerminateSession:
    """A handshake-era DELETE: close the session, then answer ``200`` with no body.

    "After which it MUST respond to requests containing that session ID with
    HTTP 404 Not Found": store the session as closed or remove it.
    """

    session_id: str
    session: SessionState


@attrs.frozen(slots=True)
class OpenLegacyStream:
    """A 2024-11-05 ``GET /sse``: mint a session id, open an SSE stream
    (``response_start(ResponseMode.SSE)``) and send first an
    :data:`LEGACY_ENDPOINT_EVENT` event whose data is
    :func:`legacy_endpoint_url` ("When a client connects, the server MUST send
    an endpoint event containing a URI for the client to use for sending
    messages"). Server messages follow as ``message`` events."""


@attrs.frozen(slots=True)
class NeedSession:
    """The request names session ``session_id``: load it and call
    :func:`decide_with_session`.

    ``method`` is the HTTP method (``"POST"``, ``"GET"`` or ``"DELETE"``);
    ``legacy`` marks a 2024-11-05 ``POST /messages``. The other fields carry
    what the first step already read: the version header, the decoded body,
    the response mode and the ``Last-Event-ID``.
    """

    session_id: str
    method: str
    legacy: bool
    protocol_version: str | None
    body: DecodedBody | None
    response_mode: ResponseMode | None
    last_event_id: str | None


@attrs.frozen(slots=True)
class Preflight:
    """A CORS preflight from an allowed origin: answer ``204`` with ``headers``."""

    headers: Headers


HttpDecision: TypeAlias = (
    Reject
    | ProcessMessages
    | OpenStream
    | TerminateSession
    | OpenLegacyStream
    | NeedSession
    | Preflight
)
"""Everything :func:`decide` can return."""


# --- internals -----------------------------------------------------------------


class _Stop(Exception):
    """Internal: end the decision with this rejection."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(reject.message)
        self.reject = reject


class _Duplicate(enum.Enum):
    DUPLICATE = "duplicate"


_DUPLICATE: Final = _Duplicate.DUPLICATE


class _HeaderView:
    """The request's headers by name, each value stripped of optional whitespace
    ("a field parsing implementation MUST exclude such whitespace prior to
    evaluating the field value", RFC 9110 section 5.5)."""

    __slots__ = ("_fields", "param_headers")

    def __init__(self, headers: Headers) -> None:
        fields: dict[str, list[str]] = {}
        params: list[tuple[str, str]] = []
        for name, value in headers:
            stripped = value.strip(" \t")
            fields.setdefault(name, []).append(stripped)
            if name.startswith(_PARAM_PREFIX):
                params.append((name, stripped))
        self._fields = fields
        #: The ``Mcp-Param-*`` headers in their order (stateless era, ``x-mcp-header``).
        self.param_headers: Headers = tuple(params)

    def all(self, name: str) -> list[str]:
        return self._fields.get(name, [])

    def one(self, name: str) -> str | _Duplicate | None:
        """The field's value; repeated identical values count once (as RFC 9110
        allows for Content-Length), differing ones are :data:`_DUPLICATE`."""
        values = self._fields.get(name)
        if values is None:
            return None
        first = values[0]
        if len(values) > 1 and any(value != first for value in values):
            return _DUPLICATE
        return first


def _quoted(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 3] + "..."


def reject_for(error: RemoteProtocolError, headers: Headers = ()) -> Reject:
    """The rejection answering ``error``: its HTTP status and its JSON-RPC error
    response as the body, plus ``headers``."""
    return Reject(
        status=error.http_status,
        headers=(("content-type", _JSON), *headers),
        body=encode_message(error_response_for(error)),
        code=error.code,
        message=error.message,
    )


def _stop(
    status: int,
    message: str,
    *,
    code: int = ErrorCode.INVALID_REQUEST,
    request_id: RequestId | None = None,
    data: Any = None,
    headers: Headers = (),
) -> _Stop:
    error = RemoteProtocolError(
        message, code=code, http_status=status, data=data, request_id=request_id
    )
    return _Stop(reject_for(error, headers))


def _header_mismatch(message: str, request_id: RequestId | None) -> _Stop:
    # "servers MUST return HTTP status 400 Bad Request and MUST include a
    # JSON-RPC error response using the following error code: -32020".
    return _stop(
        400, f"Header mismatch: {message}", code=ErrorCode.HEADER_MISMATCH, request_id=request_id
    )


def body_too_large(config: HttpConfig) -> Reject:
    """The 413 rejection of a body over ``config.max_body_size``: a caller that
    reads a body in chunks answers with it as soon as the limit is passed."""
    return _stop(413, f"Request body exceeds the limit of {config.max_body_size} bytes").reject


def _method_not_allowed(allow: str, message: str = "Method Not Allowed") -> _Stop:
    # RFC 9110: "The origin server MUST generate an Allow header field in a 405
    # response containing a list of the target resource's currently supported
    # methods."
    return _stop(405, message, headers=(("allow", allow),))


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip(" \t").lower()


def _acceptable(values: list[str], wanted: str) -> bool:
    """Whether ``Accept`` accepts ``wanted``: the most specific matching media
    range decides, and ``q=0`` means "not acceptable" (RFC 9110 section 12.5.1)."""
    if len(values) == 1 and len(values[0]) <= _MAX_CACHED_ACCEPT:
        # Clients send the same Accept on every request: parse each one once.
        return _accepts_one(values[0], wanted)
    return _parse_accept(values, wanted)


#: The longest Accept value whose parse is remembered.
_MAX_CACHED_ACCEPT: Final = 256


@functools.lru_cache(maxsize=256)
def _accepts_one(value: str, wanted: str) -> bool:
    return _parse_accept([value], wanted)


def _parse_accept(values: list[str], wanted: str) -> bool:
    wanted_type, _, wanted_subtype = wanted.partition("/")
    best = -1
    best_ok = False
    for header in values:
        for item in header.split(","):
            media, *params = item.split(";")
            media_type, slash, subtype = media.strip(" \t").lower().partition("/")
            if not slash:
                continue
            if media_type == wanted_type and subtype == wanted_subtype:
                rank = 2
            elif media_type == wanted_type and subtype == "*":
                rank = 1
            elif media_type == "*" and subtype == "*":
                rank = 0
            else:
                continue
            if rank <= best:
                continue
            ok = True
            for param in params:
                key, _, value = param.partition("=")
                if key.strip(" \t").lower() == "q" and _ZERO_Q.fullmatch(value.strip(" \t")):
                    ok = False
            best, best_ok = rank, ok
    return best_ok


class _Route(enum.Enum):
    MCP = "mcp"
    LEGACY_SSE = "legacy-sse"
    LEGACY_MESSAGES = "legacy-messages"


def _check_origin_and_host(view: _HeaderView, config: HttpConfig) -> None:
    # "Servers MUST validate the Origin header on all incoming connections to
    # prevent DNS rebinding attacks. If the Origin header is present and
    # invalid, servers MUST respond with HTTP 403 Forbidden."
    if config.allowed_origins is not None:
        origin = view.one("origin")
        if origin is _DUPLICATE or (origin is not None and not config.origin_allowed(origin)):
            raise _stop(403, "Forbidden: Origin not allowed")
    # The Host check catches DNS rebinding from clients that send no Origin.
    if config.allowed_hosts is not None:
        host = view.one("host")
        if host is None or host is _DUPLICATE:
            raise _stop(400, "Bad Request: exactly one Host header is required")
        if not config.host_allowed(host):
            raise _stop(421, "Misdirected Request: Host not allowed")


def _check_head(request: HttpRequest, view: _HeaderView, config: HttpConfig) -> _Route:
    """Every check that needs only the request head; raises :class:`_Stop`."""
    _check_origin_and_host(view, config)
    method = request.method
    if request.path == config.endpoint_path:
        route = _Route.MCP
        if method not in config._mcp_methods:
            raise _method_not_allowed(config._mcp_allow)
    elif config.legacy_enabled and request.path == config.legacy_sse_path:
        route = _Route.LEGACY_SSE
        if method != "GET":
            raise _method_not_allowed("GET")
    elif config.legacy_enabled and request.path == config.legacy_messages_path:
        route = _Route.LEGACY_MESSAGES
        if method != "POST":
            raise _method_not_allowed("POST")
    else:
        raise _stop(404, "Not Found")

    lengths = view.all("content-length")
    if lengths:
        declared = lengths[0]
        if any(value != declared for value in lengths) or not (
            declared.isascii() and declared.isdigit()
        ):
            raise _stop(400, "Bad Request: invalid Content-Length")
        # Decide before reading: a declared length over the limit is refused at once.
        if len(declared.lstrip("0")) > 20 or int(declared) > config.max_body_size:
            raise _Stop(body_too_large(config))

    accept = view.all("accept")
    if route is _Route.MCP:
        if method == "POST":
            # "The client MUST include an Accept header, listing both
            # application/json and text/event-stream as supported content types."
            if not (_acceptable(accept, _JSON) and _acceptable(accept, _EVENT_STREAM)):
                raise _stop(
                    406,
                    "Not Acceptable: the client must accept both application/json "
                    "and text/event-stream",
                )
        elif method == "GET" and not _acceptable(accept, _EVENT_STREAM):
            # "The client MUST include an Accept header, listing text/event-stream
            # as a supported content type."
            raise _stop(406, "Not Acceptable: the client must accept text/event-stream")
    elif route is _Route.LEGACY_SSE and accept and not _acceptable(accept, _EVENT_STREAM):
        # 2024-11-05 predates the Accept rules: only an Accept that excludes
        # event streams is refused.
        raise _stop(406, "Not Acceptable: the client must accept text/event-stream")

    if method == "POST":
        content_type = view.one("content-type")
        if content_type is None or content_type is _DUPLICATE or _media_type(content_type) != _JSON:
            raise _stop(415, "Unsupported Media Type: Content-Type must be application/json")
    return route


#: Heads that passed :func:`_check_head`: ``(method, path, headers)`` -> the config
#: that checked them, the view and the route. The checks are a pure function of
#: these, and a client sends the same head request after request; bounded (emptied
#: when full), like any cache here.
_CHECKED: Final[dict[tuple[str, str, Headers], tuple[HttpConfig, _HeaderView, _Route]]] = {}
_CHECKED_LIMIT: Final = 1024


def _checked_head(request: HttpRequest, config: HttpConfig) -> tuple[_HeaderView, _Route]:
    """The header view and route of a head that passes :func:`_check_head`
    (which raises :class:`_Stop` otherwise)."""
    key = (request.method, request.path, request.headers)
    hit = _CHECKED.get(key)
    if hit is not None and hit[0] is config:
        return hit[1], hit[2]
    view = _HeaderView(request.headers)
    route = _check_head(request, view, config)
    if len(_CHECKED) >= _CHECKED_LIMIT:
        _CHECKED.clear()
    _CHECKED[key] = (config, view, route)
    return view, route


def precheck(request: HttpRequest, config: HttpConfig) -> Reject | None:
    """The rejection the request head alone earns, or ``None``.

    Runs the checks that need no body: Origin and Host, path, method,
    ``Content-Length`` against ``max_body_size`` (413 before the body is read),
    ``Accept`` and ``Content-Type``. :func:`decide` repeats them, so calling
    this first is only a way to refuse early; ``request.body`` is ignored.
    """
    try:
        if request.method == "OPTIONS" and config.cors:
            _preflight(request, _HeaderView(request.headers), config)
        else:
            _checked_head(request, config)
    except _Stop as stop:
        return stop.reject
    return None


def _visible_ascii(value: str) -> bool:
    return bool(value) and value.isascii() and value.isprintable() and " " not in value


def is_valid_session_id(value: str, max_length: int = 256) -> bool:
    """Whether ``value`` can be a session id: "The session ID MUST only contain
    visible ASCII characters (ranging from 0x21 to 0x7E)", at most ``max_length``."""
    return len(value) <= max_length and _visible_ascii(value)


def _session_header(
    view: _HeaderView, config: HttpConfig, request_id: RequestId | None
) -> str | None:
    value = view.one(_SESSION_HEADER)
    if value is _DUPLICATE:
        raise _stop(400, "Bad Request: more than one Mcp-Session-Id", request_id=request_id)
    if value is not None and not is_valid_session_id(value, config.max_session_id_length):
        # Ids we issue are visible ASCII and bounded: this one cannot name a session.
        raise _stop(400, "Bad Request: malformed Mcp-Session-Id", request_id=request_id)
    return value


def _require_session(view: _HeaderView, config: HttpConfig, request_id: RequestId | None) -> str:
    value = _session_header(view, config, request_id)
    if value is None:
        # "Servers that require a session ID SHOULD respond to requests without
        # an MCP-Session-Id header (other than initialization) with HTTP 400 Bad
        # Request."
        raise _stop(400, "Bad Request: Mcp-Session-Id header is required", request_id=request_id)
    return value


def _version_header(view: _HeaderView) -> str | None:
    value = view.one(_VERSION_HEADER)
    if value is _DUPLICATE:
        raise _header_mismatch("more than one MCP-Protocol-Version header", None)
    return value


class _Absent(enum.Enum):
    ABSENT = "absent"


_ABSENT: Final = _Absent.ABSENT


def _meta_version(message: Message | RemoteProtocolError | None) -> object:
    """The ``_meta`` protocol version a request or notification declares, any
    JSON value, or :data:`_ABSENT`."""
    if not isinstance(message, Request | Notification) or message.params is None:
        return _ABSENT
    meta = message.params.get("_meta")
    if type(meta) is not dict or META_PROTOCOL_VERSION not in meta:
        return _ABSENT
    return meta[META_PROTOCOL_VERSION]


def _is_initialize(message: Message | RemoteProtocolError | None) -> bool:
    return isinstance(message, Request) and message.method == "initialize"


def _request_id(message: Message | RemoteProtocolError | None) -> RequestId | None:
    return message.id if isinstance(message, Request) else None


def _mode_for(body: DecodedBody, config: HttpConfig) -> ResponseMode:
    # Requests (and invalid items, which are answered with errors) need an
    # answer; a body of notifications and responses only is acknowledged.
    for item in body.items:
        if isinstance(item, Request | RemoteProtocolError):
            return config.response_mode
    return ResponseMode.ACCEPTED


def _decode(body: bytes, config: HttpConfig, *, allow_batch: bool) -> DecodedBody:
    return decode_body(body, allow_batch=allow_batch, max_batch_size=config.max_batch_size)


def _header_chars_ok(value: str) -> bool:
    # RFC 9110 field values: visible ASCII, space and horizontal tab.
    return value.isascii() and value.replace("\t", " ").isprintable()


def decode_header_value(value: str, *, request_id: RequestId | None = None) -> str:
    """Decode an ``Mcp-Name`` / ``Mcp-Param-*`` value: ``=?base64?...?=`` is the
    Base64 of UTF-8 text, anything else is literal.

    "Servers MUST decode an encoded Mcp-Name or Mcp-Param-{Name} value before
    comparing it to the corresponding request body value." Invalid characters,
    bad Base64 (alphabet or padding) and bad UTF-8 raise
    :class:`RemoteProtocolError` -32020 (HTTP 400).
    """
    if not _header_chars_ok(value):
        raise RemoteProtocolError(
            "Header mismatch: header value contains invalid characters",
            code=ErrorCode.HEADER_MISMATCH,
            request_id=request_id,
        )
    if (
        len(value) >= len(_B64_PREFIX) + len(_B64_SUFFIX)
        and value.startswith(_B64_PREFIX)
        and value.endswith(_B64_SUFFIX)
    ):
        encoded = value[len(_B64_PREFIX) : -len(_B64_SUFFIX)]
        try:
            if len(encoded) % 4:
                raise ValueError("incorrect padding")
            return base64.b64decode(encoded, validate=True).decode("utf-8")
        except (ValueError, binascii.Error):
            raise RemoteProtocolError(
                "Header mismatch: invalid Base64 header value",
                code=ErrorCode.HEADER_MISMATCH,
                request_id=request_id,
            ) from None
    return value


def _check_standard_headers(view: _HeaderView, message: Request | Notification) -> None:
    """2026-07-28 "Server Validation" of ``Mcp-Method`` and ``Mcp-Name``."""
    request_id = _request_id(message)
    method = view.one(_METHOD_HEADER)
    if method is _DUPLICATE:
        raise _header_mismatch("more than one Mcp-Method header", request_id)
    if method is None:
        # "A required standard header (MCP-Protocol-Version, Mcp-Method,
        # Mcp-Name) is missing." Notification POSTs have no defined header
        # requirements in this revision.
        if isinstance(message, Request):
            raise _header_mismatch("the Mcp-Method header is required", request_id)
    elif not _header_chars_ok(method):
        raise _header_mismatch("Mcp-Method contains invalid characters", request_id)
    elif method != message.method:
        # "Header values (such as method names) are case-sensitive."
        raise _header_mismatch(
            f"Mcp-Method header value {_quoted(method)} does not match body value "
            f"{_quoted(message.method)}",
            request_id,
        )

    source = _NAME_SOURCE.get(message.method)
    if source is None:
        return
    body_value = message.params.get(source) if message.params is not None else None
    if type(body_value) is not str:
        body_value = None
    header = view.one(_NAME_HEADER)
    if header is _DUPLICATE:
        raise _header_mismatch("more than one Mcp-Name header", request_id)
    if header is None:
        if body_value is not None and message.method in _NAME_REQUIRED:
            raise _header_mismatch("the Mcp-Name header is required", request_id)
        return
    try:
        decoded = decode_header_value(header, request_id=request_id)
    except RemoteProtocolError as error:
        raise _Stop(reject_for(error)) from None
    if decoded != body_value:
        raise _header_mismatch(
            f"Mcp-Name header value {_quoted(decoded)} does not match body value "
            f"{_quoted(body_value)}",
            request_id,
        )


# --- the MCP endpoint ----------------------------------------------------------------


def _mcp_post(request: HttpRequest, view: _HeaderView, config: HttpConfig) -> HttpDecision:
    header_version = _version_header(view)
    # Batches exist only in 2025-03-26; with no header the session's version
    # decides later (the body is decoded leniently and checked then).
    may_batch = header_version is None or allows_batches(header_version)
    body = _decode(request.body, config, allow_batch=may_batch)
    single = None if body.batch else body.items[0]
    request_id = _request_id(single)
    meta_version = _meta_version(single)

    if header_version is None:
        # A request carrying modern per-request _meta is served statelessly,
        # and there "Every POST request to the MCP endpoint MUST include an
        # MCP-Protocol-Version header".
        if meta_version is not _ABSENT and meta_version not in HANDSHAKE_VERSIONS:
            raise _header_mismatch("the MCP-Protocol-Version header is required", request_id)
        if not config.handshake_enabled:
            # "A server that does not support such clients MUST reject a
            # request without the header" -- and SHOULD name its versions.
            raise _header_mismatch(
                "the MCP-Protocol-Version header is required; supported versions: "
                + ", ".join(config.supported_versions),
                request_id,
            )
        # "If the server does not receive an MCP-Protocol-Version header, and
        # has no other way to identify the version ... the server SHOULD assume
        # protocol version 2025-03-26": the handshake era; a session's own
        # negotiated version takes precedence (decide_with_session).
        return _handshake_post(view, config, body, None)

    if meta_version is not _ABSENT and meta_version != header_version:
        # "The header value MUST match the io.modelcontextprotocol/protocolVersion
        # field carried in the request body's _meta. If the values do not match,
        # the server MUST reject the request with 400 Bad Request and a
        # HeaderMismatch JSON-RPC error."
        raise _header_mismatch(
            f"MCP-Protocol-Version header value {_quoted(header_version)} does not match "
            f"_meta protocolVersion {_quoted(meta_version)}",
            request_id,
        )
    if header_version not in config.supported_versions:
        if meta_version is _ABSENT and _is_initialize(single) and config.handshake_enabled:
            # "An initialize request selects legacy semantics": the version is
            # negotiated in its body, the header plays no part.
            return _handshake_post(view, config, body, None)
        # "If the server does not implement the requested protocol version ...
        # it MUST respond with 400 Bad Request and an UnsupportedProtocolVersionError
        # listing its supported versions." (Raises: the retry versions are a
        # subset of the supported ones.)
        check_protocol_version(header_version, config.retry_versions, request_id=request_id)
    if header_version in STATELESS_VERSIONS:
        return _stateless_post(request, view, config, body, header_version)
    if _is_initialize(single):
        return _handshake_post(view, config, body, None)
    return _handshake_post(view, config, body, header_version)


def _handshake_post(
    view: _HeaderView, config: HttpConfig, body: DecodedBody, header_version: str | None
) -> HttpDecision:
    single = None if body.batch else body.items[0]
    request_id = _request_id(single)
    session_id = _session_header(view, config, request_id)
    if _is_initialize(single):
        if session_id is not None:
            # A new session starts "by sending a new InitializeRequest without a
            # session ID attached".
            raise _stop(
                400,
                "Bad Request: initialize must be sent without Mcp-Session-Id",
                request_id=request_id,
            )
        return ProcessMessages(
            era=Era.HANDSHAKE,
            protocol_version=None,
            session_id=None,
            session=None,
            messages=body.items,
            batch=False,
            response_mode=config.response_mode,
            issue_session=True,
        )
    if body.batch and any(_is_initialize(item) for item in body.items):
        # 2025-03-26 lifecycle: "The initialize request MUST NOT be part of a
        # JSON-RPC batch".
        raise _stop(400, "Invalid request: initialize must not be part of a batch")
    if session_id is None:
        # "Servers that require a session ID SHOULD respond to requests without
        # an MCP-Session-Id header (other than initialization) with HTTP 400 Bad
        # Request."
        raise _stop(400, "Bad Request: Mcp-Session-Id header is required", request_id=request_id)
    return NeedSession(
        session_id=session_id,
        method="POST",
        legacy=False,
        protocol_version=header_version,
        body=body,
        response_mode=_mode_for(body, config),
        last_event_id=None,
    )


def _stateless_post(
    request: HttpRequest, view: _HeaderView, config: HttpConfig, body: DecodedBody, version: str
) -> ProcessMessages:
    message = body.items[0]
    if not isinstance(message, Request | Notification):
        # "The body of the HTTP POST MUST be a single JSON-RPC request or
        # notification. The client MUST NOT send JSON-RPC responses."
        response_id = None if isinstance(message, RemoteProtocolError) else message.id
        raise _stop(
            400,
            "Invalid request: the body must be a JSON-RPC request or notification",
            request_id=response_id,
        )
    _check_standard_headers(view, message)
    # An Mcp-Session-Id or Last-Event-ID header is ignored: "do not mint or echo
    # session IDs"; "streams are not resumable".
    if isinstance(message, Notification):
        mode = ResponseMode.ACCEPTED
    elif message.method == "subscriptions/listen":
        # "The server's response is itself an SSE stream that stays open".
        mode = ResponseMode.SSE
    else:
        mode = config.response_mode
    return ProcessMessages(
        era=Era.STATELESS,
        protocol_version=version,
        session_id=None,
        session=None,
        messages=(message,),
        batch=False,
        response_mode=mode,
        param_headers=view.param_headers,
    )


def _session_version_header(view: _HeaderView, config: HttpConfig) -> str | None:
    """The version header of a GET or DELETE, which exist only in the handshake era."""
    version = _version_header(view)
    if version is None:
        return None
    if version not in config.supported_versions:
        # Raises: the retry versions are a subset of the supported ones.
        check_protocol_version(version, config.retry_versions)
    if version in STATELESS_VERSIONS:
        # 2026-07-28, Backward Compatibility: "HTTP GET or DELETE to the MCP
        # endpoint: respond with 405 Method Not Allowed."
        raise _method_not_allowed("POST", f"Method Not Allowed in protocol version {version}")
    return version


def _mcp_get(view: _HeaderView, config: HttpConfig) -> NeedSession:
    version = _session_version_header(view, config)
    session_id = _require_session(view, config, None)
    last_event_id = view.one(_LAST_EVENT_ID)
    if last_event_id is _DUPLICATE:
        raise _stop(400, "Bad Request: more than one Last-Event-ID")
    if last_event_id is not None and (
        len(last_event_id) > config.max_event_id_length or not _header_chars_ok(last_event_id)
    ):
        raise _stop(400, "Bad Request: malformed Last-Event-ID")
    return NeedSession(
        session_id=session_id,
        method="GET",
        legacy=False,
        protocol_version=version,
        body=None,
        response_mode=ResponseMode.SSE,
        last_event_id=last_event_id or None,
    )


def _mcp_delete(view: _HeaderView, config: HttpConfig) -> NeedSession:
    version = _session_version_header(view, config)
    session_id = _require_session(view, config, None)
    return NeedSession(
        session_id=session_id,
        method="DELETE",
        legacy=False,
        protocol_version=version,
        body=None,
        response_mode=None,
        last_event_id=None,
    )


def _legacy_post(request: HttpRequest, config: HttpConfig) -> NeedSession:
    try:
        fields = parse_qsl(request.query, keep_blank_values=True, max_num_fields=_MAX_QUERY_FIELDS)
    except ValueError:
        raise _stop(400, "Bad Request: malformed query string") from None
    ids = [value for key, value in fields if key == _LEGACY_QUERY_KEY]
    if not ids:
        raise _stop(400, "Bad Request: the sessionId query parameter is required")
    if len(ids) > 1 or not is_valid_session_id(ids[0], config.max_session_id_length):
        raise _stop(400, "Bad Request: malformed sessionId")
    # 2024-11-05 has no batches; a session that negotiated 2025-03-26 over this
    # transport may send them, which decide_with_session checks.
    body = _decode(request.body, config, allow_batch=True)
    return NeedSession(
        session_id=ids[0],
        method="POST",
        legacy=True,
        protocol_version=None,
        body=body,
        response_mode=ResponseMode.LEGACY_STREAM,
        last_event_id=None,
    )


# Request headers a browser client of MCP sends beyond the CORS-safelisted ones.
_CORS_REQUEST_HEADERS: Final = (
    "accept, authorization, content-type, last-event-id, mcp-method, mcp-name, "
    "mcp-protocol-version, mcp-session-id"
)
# Response headers a browser client must be allowed to read.
_CORS_EXPOSED_HEADERS: Final = "mcp-session-id, mcp-protocol-version"


def _preflight(request: HttpRequest, view: _HeaderView, config: HttpConfig) -> Preflight:
    _check_origin_and_host(view, config)
    origin = view.one("origin")
    if not isinstance(origin, str):
        raise _stop(400, "Bad Request: a CORS preflight carries one Origin header")
    if request.path == config.endpoint_path:
        allow = config._mcp_allow
    elif config.legacy_enabled and request.path == config.legacy_sse_path:
        allow = "GET"
    elif config.legacy_enabled and request.path == config.legacy_messages_path:
        allow = "POST"
    else:
        raise _stop(404, "Not Found")
    wanted = view.one("access-control-request-method")
    if isinstance(wanted, str) and wanted not in allow.split(", "):
        raise _method_not_allowed(allow)
    return Preflight(
        headers=(
            ("access-control-allow-origin", origin),
            ("access-control-allow-methods", allow),
            ("access-control-allow-headers", _CORS_REQUEST_HEADERS + _param_header_names(view)),
            ("access-control-max-age", str(config.cors_max_age)),
            ("vary", "origin"),
        )
    )


def _param_header_names(view: _HeaderView) -> str:
    # Custom Mcp-Param-* headers (2026-07-28) are named one by one in the preflight.
    requested = view.one("access-control-request-headers")
    if not isinstance(requested, str):
        return ""
    names = [
        name.strip().lower()
        for name in requested.split(",")
        if name.strip().lower().startswith("mcp-param-") and _header_chars_ok(name.strip())
    ]
    return "".join(f", {name}" for name in names[:64])


def cors_headers(request: HttpRequest, config: HttpConfig) -> Headers:
    """The CORS headers every response to ``request`` carries (none when CORS is off
    or the request has no Origin): the origin it may be read from, and the MCP
    headers the browser may show the client (``Mcp-Session-Id`` above all)."""
    if not config.cors:
        return ()
    origin = _HeaderView(request.headers).one("origin")
    if not isinstance(origin, str):
        return ()
    if config.allowed_origins is not None and not config.origin_allowed(origin):
        return ()
    return (
        ("access-control-allow-origin", origin),
        ("access-control-expose-headers", _CORS_EXPOSED_HEADERS),
        ("vary", "origin"),
    )


def decide(request: HttpRequest, config: HttpConfig) -> HttpDecision:
    """Decide what to do with ``request``.

    Never raises for anything the client sent: every problem is a
    :class:`Reject` with a 4xx status. A :class:`NeedSession` asks the caller to
    load the named session and to finish with :func:`decide_with_session`.
    """
    try:
        if request.method == "OPTIONS" and config.cors:
            return _preflight(request, _HeaderView(request.headers), config)
        view, route = _checked_head(request, config)
        if len(request.body) > config.max_body_size:
            return body_too_large(config)
        if route is _Route.LEGACY_SSE:
            return OpenLegacyStream()
        if route is _Route.LEGACY_MESSAGES:
            return _legacy_post(request, config)
        if request.method == "POST":
            return _mcp_post(request, view, config)
        if request.method == "GET":
            return _mcp_get(view, config)
        return _mcp_delete(view, config)
    except _Stop as stop:
        return stop.reject
    except RemoteProtocolError as error:
        return reject_for(error)


def decide_with_session(
    need: NeedSession, session: SessionState | None, *, legacy_stream_open: bool = False
) -> Reject | ProcessMessages | OpenStream | TerminateSession:
    """Finish a decision once the caller has looked up ``need.session_id``.

    ``session`` is the stored state, or ``None`` when there is none. For a
    legacy ``POST /messages`` the session id names a ``GET /sse`` stream: pass
    ``legacy_stream_open=True`` when that stream is open (its ``session`` is
    still ``None`` until ``initialize`` has been answered).
    """
    if session is not None and session.session_id != need.session_id:
        raise LocalProtocolError(
            f"looked up session {need.session_id!r} but got {session.session_id!r}"
        )
    body = need.body
    single = None if body is None or body.batch else body.items[0]
    request_id = _request_id(single)
    closed = session is not None and session.phase is SessionPhase.CLOSED
    try:
        if need.legacy:
            if body is None:
                raise LocalProtocolError("a legacy POST decision carries a body")
            if not legacy_stream_open or closed:
                raise _stop(404, "Not Found: no such session", request_id=request_id)
            version = session.protocol_version if session is not None else None
            if body.batch and (version is None or not allows_batches(version)):
                raise _stop(
                    400,
                    "Invalid request: JSON-RPC batches are not supported by this protocol revision",
                )
            return ProcessMessages(
                era=Era.HANDSHAKE,
                protocol_version=version,
                session_id=need.session_id,
                session=session,
                messages=body.items,
                batch=body.batch,
                response_mode=ResponseMode.LEGACY_STREAM,
            )
        if session is None or closed:
            # "The server MAY terminate the session at any time, after which it
            # MUST respond to requests containing that session ID with HTTP 404
            # Not Found."
            raise _stop(404, "Not Found: session not found", request_id=request_id)
        if need.protocol_version is not None and need.protocol_version != session.protocol_version:
            # "The protocol version sent by the client SHOULD be the one
            # negotiated during initialization"; a different one is refused.
            raise _stop(
                400,
                f"Bad Request: MCP-Protocol-Version {need.protocol_version} does not match "
                f"the version negotiated for this session ({session.protocol_version})",
                request_id=request_id,
            )
        version = session.protocol_version
        if need.method == "GET":
            return OpenStream(
                session_id=need.session_id,
                session=session,
                protocol_version=version,
                last_event_id=need.last_event_id,
            )
        if need.method == "DELETE":
            return TerminateSession(session_id=need.session_id, session=session)
        if body is None or need.response_mode is None:
            raise LocalProtocolError("a POST decision carries a body and a response mode")
        if body.batch and not allows_batches(version):
            # 2025-06-18 removed batches: "The body of the POST request MUST be
            # a single JSON-RPC request, notification, or response."
            raise _stop(
                400,
                "Invalid request: JSON-RPC batches are not supported by this protocol revision",
            )
        return ProcessMessages(
            era=Era.HANDSHAKE,
            protocol_version=version,
            session_id=need.session_id,
            session=session,
            messages=body.items,
            batch=body.batch,
            response_mode=need.response_mode,
        )
    except _Stop as stop:
        return stop.reject


# --- responses -------------------------------------------------------------------

_SSE_HEADERS: Final[Headers] = (
    ("content-type", _EVENT_STREAM),
    ("cache-control", "no-cache, no-transform"),
    # "servers SHOULD include the X-Accel-Buffering: no header in the HTTP
    # response. This instructs reverse proxies (such as nginx) to disable
    # response buffering".
    ("x-accel-buffering", "no"),
)


def response_start(mode: ResponseMode, session_id: str | None = None) -> tuple[int, Headers]:
    """The status and headers that begin a response of ``mode``.

    ``session_id`` is the id minted for an ``initialize`` response ("including
    it in an MCP-Session-Id header on the HTTP response containing the
    InitializeResult"); it must be visible ASCII or :class:`LocalProtocolError`
    is raised.
    """
    headers: Headers
    if mode is ResponseMode.JSON:
        status, headers = 200, (("content-type", _JSON),)
    elif mode is ResponseMode.SSE:
        status, headers = 200, _SSE_HEADERS
    else:
        status, headers = 202, ()
    if session_id is not None:
        if not _visible_ascii(session_id):
            raise LocalProtocolError(f"a session id must be visible ASCII: {session_id!r}")
        headers = (*headers, (_SESSION_HEADER, session_id))
    return status, headers


def resume_point(decision: OpenStream) -> tuple[str | None, int] | Reject:
    """Where a GET stream starts: ``(None, -1)`` for a new standalone stream, or
    the stream named by ``Last-Event-ID`` and the last sequence number the
    client saw; a malformed ``Last-Event-ID`` is a 400.

    "If the client wishes to resume after a disconnection, it SHOULD issue an
    HTTP GET to the MCP endpoint, and include the Last-Event-ID header to
    indicate the last event ID it received."
    """
    if decision.last_event_id is None:
        return None, -1
    try:
        event_id = parse_event_id(decision.last_event_id)
    except RemoteProtocolError as exc:
        return reject_for(exc)
    return event_id.stream_id, event_id.seq


def stream_conflict() -> Reject:
    """The 409 answer to a second standalone GET stream of a session.

    "The server MAY send JSON-RPC requests and notifications on the stream" --
    one stream per session, so that no message is split between two, or sent twice.
    """
    return _stop(409, "Conflict: this session already has a GET stream open").reject


def stream_expired() -> Reject:
    """The 404 answer to a ``Last-Event-ID`` whose stream is no longer kept."""
    return _stop(404, "Not Found: the stream to resume has expired").reject


def service_unavailable(reason: str, request_id: RequestId | None = None) -> Reject:
    """The 503 answer when the node cannot serve the request now (its session
    store is unreachable, or it serves as many sessions as it may); a client
    may retry, on this node or another."""
    return _stop(
        503,
        f"Service unavailable: {reason}",
        code=ErrorCode.INTERNAL_ERROR,
        request_id=request_id,
    ).reject


def legacy_endpoint_url(session_id: str, config: HttpConfig, *, root_path: str = "") -> str:
    """The data of the :data:`LEGACY_ENDPOINT_EVENT`: where the 2024-11-05 client
    POSTs its messages, e.g. ``/messages?sessionId=abc``. ``root_path`` is the
    prefix the application is mounted under, if any."""
    if not _visible_ascii(session_id):
        raise LocalProtocolError(f"a session id must be visible ASCII: {session_id!r}")
    query = f"{_LEGACY_QUERY_KEY}={quote(session_id, safe='')}"
    return f"{root_path}{config.legacy_messages_path}?{query}"


_STATELESS_STATUS: Final[Mapping[int, int]] = {
    # "If the server does not implement the requested RPC method, it MUST
    # respond with 404 Not Found and a JSON-RPC error with code -32601".
    ErrorCode.METHOD_NOT_FOUND: 404,
    ErrorCode.PARSE_ERROR: 400,
    ErrorCode.INVALID_REQUEST: 400,
    # "A request missing any required field is malformed; the server MUST reject
    # it with JSON-RPC error code -32602 (Invalid params). On HTTP, the response
    # status MUST be 400 Bad Request."
    ErrorCode.INVALID_PARAMS: 400,
    ErrorCode.HEADER_MISMATCH: 400,
    ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY: 400,
    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION: 400,
}


def status_for_error(era: Era, code: int) -> int:
    """The HTTP status of a JSON response whose body is an error with ``code``.

    Stateless era: 404 for -32601, 400 for the request errors the revision
    names (-32700, -32600, -32602, -32020, -32021, -32022), 200 otherwise.
    Handshake era: always 200 (errors are JSON-RPC responses like any other).
    An SSE response has already sent its status; this applies to JSON only.
    """
    if era is Era.STATELESS:
        return _STATELESS_STATUS.get(code, 200)
    return 200


# --- custom parameter headers (x-mcp-header) ---------------------------------------

#: How deep :func:`param_header_paths` follows nested ``properties``.
_MAX_SCHEMA_DEPTH: Final = 32


def param_header_paths(input_schema: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The ``x-mcp-header`` annotations of a tool's ``inputSchema``: header name
    suffix to the property path it mirrors.

    Only properties "statically reachable from the schema root: reachable via a
    chain consisting solely of properties keys" count. Two names equal but for
    case make the tool invalid (:class:`LocalProtocolError`).
    """
    found: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    stack: list[tuple[Mapping[str, Any], tuple[str, ...]]] = [(input_schema, ())]
    while stack:
        schema, path = stack.pop()
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or len(path) >= _MAX_SCHEMA_DEPTH:
            continue
        for key, sub in properties.items():
            if not isinstance(key, str) or not isinstance(sub, Mapping):
                continue
            name = sub.get("x-mcp-header")
            if isinstance(name, str):
                if name.lower() in seen:
                    raise LocalProtocolError(f"x-mcp-header {name!r} is not unique")
                seen.add(name.lower())
                found[name] = (*path, key)
            stack.append((sub, (*path, key)))
    return found


def _argument_at(arguments: Mapping[str, Any] | None, path: Sequence[str]) -> Any:
    value: Any = arguments
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _header_matches(header: str, value: Any) -> bool:
    if isinstance(value, bool):
        return header == ("true" if value else "false")
    if isinstance(value, int):
        # "servers SHOULD compare the header value and the body value
        # numerically rather than as strings (e.g., 42.0 and 42 are considered
        # equal)".
        if len(header) > 64 or not _JSON_NUMBER.fullmatch(header):
            return False
        return decimal.Decimal(header) == value
    if isinstance(value, float):
        if len(header) > 64 or not _JSON_NUMBER.fullmatch(header) or not math.isfinite(value):
            return False
        return float(header) == value
    return bool(header == value)


def validate_param_headers(
    param_headers: Headers,
    arguments: Mapping[str, Any] | None,
    annotations: Mapping[str, Sequence[str]],
    *,
    request_id: RequestId | None = None,
) -> None:
    """Check the ``Mcp-Param-*`` headers of a ``tools/call`` against its arguments.

    ``param_headers`` come from :attr:`ProcessMessages.param_headers`,
    ``annotations`` from :func:`param_header_paths` of the tool's schema.
    "Servers MUST reject requests with a 400 Bad Request HTTP status and
    JSON-RPC error code -32020 (HeaderMismatch) if any validation fails":
    a missing header whose value is in the body, a header whose (decoded)
    value differs, invalid characters or Base64 raise
    :class:`RemoteProtocolError`. Headers no annotation names are ignored
    ("MUST forward it and otherwise ignore it").
    """
    present: dict[str, str] = {}
    for name, value in param_headers:
        if present.get(name, value) != value:
            raise RemoteProtocolError(
                f"Header mismatch: more than one {name} header",
                code=ErrorCode.HEADER_MISMATCH,
                request_id=request_id,
            )
        present[name] = value
    for suffix, path in annotations.items():
        header_name = _PARAM_PREFIX + suffix.lower()
        raw = present.get(header_name)
        value = _argument_at(arguments, path)
        mirrored = value is not None and isinstance(value, str | int | float)
        if raw is None:
            if mirrored:
                raise RemoteProtocolError(
                    f"Header mismatch: the Mcp-Param-{suffix} header is required",
                    code=ErrorCode.HEADER_MISMATCH,
                    request_id=request_id,
                )
            continue
        decoded = decode_header_value(raw, request_id=request_id)
        if not mirrored or not _header_matches(decoded, value):
            raise RemoteProtocolError(
                f"Header mismatch: Mcp-Param-{suffix} header value {_quoted(decoded)} "
                f"does not match body value {_quoted(value)}",
                code=ErrorCode.HEADER_MISMATCH,
                request_id=request_id,
            )
