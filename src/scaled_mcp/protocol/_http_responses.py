"""How a response begins: status and headers, where a stream resumes.

The status and headers of each :class:`ResponseMode`, the CORS headers every
response to a browser carries, the stream a ``Last-Event-ID`` resumes, the
endpoint URL a 2024-11-05 stream announces, and the HTTP status of a JSON
error answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import quote

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._event_ids import parse_event_id
from ._http_config import HttpConfig, ResponseMode
from ._http_decisions import OpenStream, Reject, reject_for
from ._http_request import (
    _EVENT_STREAM,
    _JSON,
    _LEGACY_QUERY_KEY,
    _SESSION_HEADER,
    Headers,
    HttpRequest,
    _HeaderView,
    _visible_ascii,
)
from ._versions import Era

__all__ = [
    "LEGACY_ENDPOINT_EVENT",
    "cors_headers",
    "legacy_endpoint_url",
    "response_start",
    "resume_point",
    "status_for_error",
]

#: The SSE event name of the first event on a 2024-11-05 ``GET /sse`` stream.
LEGACY_ENDPOINT_EVENT: Final = "endpoint"

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


# Response headers a browser client must be allowed to read.
_CORS_EXPOSED_HEADERS: Final = "mcp-session-id, mcp-protocol-version, www-authenticate"


def cors_headers(request: HttpRequest, config: HttpConfig) -> Headers:
    """The CORS headers every response to ``request`` carries (none when CORS is off
    or the request has no Origin): the origin it may be read from, and the MCP
    headers the browser may show the client (``Mcp-Session-Id`` above all, and
    ``WWW-Authenticate``, which a browser client reads to find the authorization server)."""
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
