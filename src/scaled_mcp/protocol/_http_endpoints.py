"""What each endpoint makes of a request whose head passed the checks.

The MCP endpoint's POST (handshake era or stateless era, by the
``MCP-Protocol-Version`` header and the body's ``_meta``), GET and DELETE, and
the 2024-11-05 ``POST /messages``: the session, version and standard headers
they read, and the decision or the session to look up that follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl

from ._errors import RemoteProtocolError
from ._http_config import HttpConfig, ResponseMode
from ._http_decisions import (
    HttpDecision,
    NeedSession,
    ProcessMessages,
    _header_mismatch,
    _method_not_allowed,
    _quoted,
    _Stop,
    _stop,
    reject_for,
)
from ._http_request import (
    _DUPLICATE,
    _LAST_EVENT_ID,
    _LEGACY_QUERY_KEY,
    _METHOD_HEADER,
    _NAME_HEADER,
    _SESSION_HEADER,
    _VERSION_HEADER,
    HttpRequest,
    _header_chars_ok,
    _HeaderView,
    decode_header_value,
    is_valid_session_id,
)
from ._jsonrpc import (
    _ABSENT,
    DecodedBody,
    Message,
    Notification,
    Request,
    RequestId,
    decode_body,
)
from ._meta import META_PROTOCOL_VERSION, check_protocol_version
from ._versions import HANDSHAKE_VERSIONS, STATELESS_VERSIONS, Era, allows_batches

__all__: list[str] = []

#: The most query fields a legacy ``POST /messages`` may carry (bounds parsing).
_MAX_QUERY_FIELDS: Final = 32

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


# --- the endpoints ----------------------------------------------------------------


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
