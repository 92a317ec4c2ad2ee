"""What the HTTP transport rules decide, and the rejections they answer with.

:func:`~scaled_mcp.protocol.http.decide` returns one of the decisions here: a
:class:`Reject` (a 4xx or 5xx with a JSON-RPC error body) or what the caller
must do next. The named rejections are those a caller needs outside a decision:
a body found too large while reading, a second GET stream, an expired stream,
a node that cannot serve now.
"""

from __future__ import annotations

import math
from typing import Any, Final, TypeAlias

import attrs

from ._errors import ErrorCode, RemoteProtocolError
from ._http_config import HttpConfig, ResponseMode
from ._http_probes import ServeProbe
from ._http_request import _JSON, Headers
from ._jsonrpc import DecodedBody, Message, RequestId, encode_message, error_response_for
from ._state import SessionState
from ._versions import Era

__all__ = [
    "HttpDecision",
    "NeedSession",
    "OpenLegacyStream",
    "OpenStream",
    "Preflight",
    "ProcessMessages",
    "Reject",
    "TerminateSession",
    "body_too_large",
    "reject_for",
    "service_unavailable",
    "stream_conflict",
    "stream_expired",
    "too_many_requests",
]

#: Longest header or body value quoted back in an error message.
_QUOTE_LIMIT: Final = 80


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
    | ServeProbe
)
"""Everything :func:`decide` can return."""


class _Stop(Exception):
    """Internal: end the decision with this rejection."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(reject.message)
        self.reject = reject


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


def too_many_requests(retry_after: float, request_id: RequestId | None = None) -> Reject:
    """The 429 answer to a caller past its rate limit (RFC 6585, 4: "The response
    representations SHOULD include details explaining the condition, and MAY
    include a Retry-After header indicating how long to wait before making a new
    request"). ``retry_after`` seconds are rounded up to whole ones, at least 1."""
    seconds = max(1, math.ceil(retry_after))
    return _stop(
        429,
        f"Too many requests: retry after {seconds} s",
        code=ErrorCode.INTERNAL_ERROR,
        request_id=request_id,
        headers=(("retry-after", str(seconds)),),
    ).reject
