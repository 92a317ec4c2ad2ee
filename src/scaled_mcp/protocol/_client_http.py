"""What a client sends and reads over MCP's HTTP transports, as pure decisions.

This module owns the headers of the client's requests (:func:`post_headers`,
:func:`get_headers`, :func:`delete_headers`), the encoding of the values of
``Mcp-Name`` and ``Mcp-Param-*`` (:func:`encode_header_value`,
:func:`param_header_value`), the ``x-mcp-header`` annotations of a tool as
the client reads them (:func:`tool_param_headers`, :func:`valid_tools`),
what an HTTP answer means (:func:`classify_http_response`,
:func:`error_in_body`) and where the 2024-11-05 HTTP+SSE transport posts
(:func:`legacy_post_url`). What it produces is what the server side
(:mod:`._http_endpoints`, :mod:`._http_params`) accepts.
"""

from __future__ import annotations

import base64
import enum
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import orjson

from ._errors import RemoteProtocolError
from ._jsonrpc import ErrorResponse, Message, Notification, Request, message_from_json
from ._meta import META_PROTOCOL_VERSION

__all__ = [
    "ACCEPT_POST",
    "HttpAnswer",
    "classify_http_response",
    "delete_headers",
    "encode_header_value",
    "error_in_body",
    "get_headers",
    "legacy_post_url",
    "param_header_value",
    "post_headers",
    "tool_param_headers",
    "valid_tools",
    "wants_standalone_stream",
]

#: streamable-http: "The client MUST include an Accept header, listing both
#: application/json and text/event-stream as supported content types."
ACCEPT_POST: Final = "application/json, text/event-stream"
_ACCEPT_STREAM: Final = "text/event-stream"

# Mcp-Name: "params.name or params.uri" per method (2026-07-28, Standard
# Request Headers), the same table the server checks.
_NAME_SOURCE: Final[Mapping[str, str]] = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    # tasks: "the client MUST set the Mcp-Name header to the value of params.taskId".
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}
_B64_PREFIX: Final = "=?base64?"
_B64_SUFFIX: Final = "?="
# RFC 9110 section 5.6.2: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PRIMITIVE_TYPES: Final = frozenset({"string", "integer", "boolean"})
_MAX_SCHEMA_DEPTH: Final = 32


# -- header values --------------------------------------------------------------


def _plain_safe(text: str) -> bool:
    # Value Encoding: plain when every character is visible ASCII or an inner
    # space; control characters (tab included), non-ASCII characters and
    # leading or trailing whitespace need Base64. A plain value that looks
    # encoded is encoded, or the server would decode it.
    if not text:
        return True
    if text[0] == " " or text[-1] == " ":
        return False
    if not all(" " <= ch <= "~" for ch in text):
        return False
    return not (text.startswith(_B64_PREFIX) and text.endswith(_B64_SUFFIX))


def encode_header_value(text: str) -> str:
    """An ``Mcp-Name`` / ``Mcp-Param-*`` value: ``text`` itself when it is safe
    visible ASCII, else ``=?base64?<Base64 of its UTF-8>?=``.

    transports, Value Encoding: values with "non-ASCII characters", control
    characters or "leading or trailing whitespace" are sent Base64-encoded.
    """
    if _plain_safe(text):
        return text
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"{_B64_PREFIX}{encoded}{_B64_SUFFIX}"


def param_header_value(value: Any) -> str | None:
    """The ``Mcp-Param-*`` value mirroring an argument, ``None`` when no header is sent.

    Booleans are ``true`` / ``false``, numbers their JSON text, strings
    encoded by :func:`encode_header_value`; ``null``, an absent argument and
    anything else send no header ("If the value is null or the parameter is
    omitted, the client MUST omit the header").
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return encode_header_value(value)
    return None


# -- x-mcp-header annotations -------------------------------------------------------


def _primitive(schema: Mapping[str, Any]) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    if isinstance(declared, str):
        return declared in _PRIMITIVE_TYPES
    if isinstance(declared, list):
        kinds = [kind for kind in declared if kind != "null"]
        return bool(kinds) and all(kind in _PRIMITIVE_TYPES for kind in kinds)
    return False


def tool_param_headers(tool: Mapping[str, Any]) -> dict[str, tuple[str, ...]] | None:
    """The ``x-mcp-header`` annotations of ``tool``'s ``inputSchema``: header
    name suffix to the argument path it mirrors; ``None`` when they are invalid.

    tools, x-mcp-header: the name "MUST NOT be empty", MUST be a valid header
    field name (RFC 9110 token characters: no space, colon, non-ASCII or
    control character), "MUST be unique" case-insensitively among the tool's
    annotations, and may only annotate primitive properties (string, integer,
    boolean). Only properties reachable from the root through ``properties``
    count.
    """
    schema = tool.get("inputSchema")
    found: dict[str, tuple[str, ...]] = {}
    if not isinstance(schema, Mapping):
        return found
    seen: set[str] = set()
    stack: list[tuple[Mapping[str, Any], tuple[str, ...]]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        properties = node.get("properties")
        if not isinstance(properties, Mapping) or len(path) >= _MAX_SCHEMA_DEPTH:
            continue
        for key, sub in properties.items():
            if not isinstance(key, str) or not isinstance(sub, Mapping):
                continue
            if "x-mcp-header" in sub:
                name = sub["x-mcp-header"]
                if not isinstance(name, str) or not _TOKEN.fullmatch(name):
                    return None
                if name.lower() in seen or not _primitive(sub):
                    return None
                seen.add(name.lower())
                found[name] = (*path, key)
            stack.append((sub, (*path, key)))
    return found


def valid_tools(tools: Sequence[Any]) -> list[Any]:
    """``tools`` without those whose ``x-mcp-header`` annotations are invalid
    ("Clients MUST reject" such tool definitions: they are never called)."""
    return [
        tool for tool in tools if isinstance(tool, Mapping) and tool_param_headers(tool) is not None
    ]


# -- request headers -----------------------------------------------------------------


def _argument_at(arguments: Any, path: Sequence[str]) -> Any:
    value = arguments
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _common(protocol_version: str | None, session_id: str | None) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    if protocol_version is not None:
        # streamable-http: "the client MUST include the MCP-Protocol-Version:
        # <protocol-version> HTTP header on all subsequent requests".
        headers.append(("mcp-protocol-version", protocol_version))
    if session_id is not None:
        # "it MUST include it in the Mcp-Session-Id header on all of its
        # subsequent HTTP requests".
        headers.append(("mcp-session-id", session_id))
    return headers


def post_headers(
    message: Message,
    *,
    protocol_version: str | None,
    session_id: str | None = None,
    param_headers: Mapping[str, Sequence[str]] | None = None,
) -> list[tuple[str, str]]:
    """The headers of the POST carrying ``message``.

    ``protocol_version`` is ``None`` only for ``initialize`` (nothing is
    negotiated yet); with 2026-07-28 it is on every request, and a request
    carrying the ``_meta`` envelope always sends the envelope's revision. ``Mcp-Method``
    goes on every request and notification and ``Mcp-Name`` on
    ``tools/call``, ``prompts/get``, ``resources/read`` and the tasks
    extension's ``tasks/get``, ``tasks/update`` and ``tasks/cancel`` (2026-07-28,
    Standard Request Headers; harmless before it). ``param_headers`` are the
    called tool's annotations (:func:`tool_param_headers`): each argument
    present and not null is mirrored in ``Mcp-Param-{Name}`` on a
    ``tools/call``.
    """
    params = (message.params or {}) if isinstance(message, Request | Notification) else {}
    meta = params.get("_meta")
    envelope_version = meta.get(META_PROTOCOL_VERSION) if isinstance(meta, Mapping) else None
    if isinstance(envelope_version, str):
        # 2026-07-28: "The header value MUST match the
        # io.modelcontextprotocol/protocolVersion field" of the body's _meta.
        protocol_version = envelope_version
    headers = [("accept", ACCEPT_POST), ("content-type", "application/json")]
    headers += _common(protocol_version, session_id)
    if not isinstance(message, Request | Notification):
        return headers
    method = message.method
    if _plain_safe(method):
        headers.append(("mcp-method", method))
    source = _NAME_SOURCE.get(method)
    if source is not None and isinstance(params.get(source), str):
        headers.append(("mcp-name", encode_header_value(params[source])))
    if method == "tools/call" and param_headers:
        arguments = params.get("arguments")
        for name, path in param_headers.items():
            value = param_header_value(_argument_at(arguments, path))
            if value is not None:
                headers.append((f"mcp-param-{name.lower()}", value))
    return headers


def get_headers(
    *,
    protocol_version: str | None,
    session_id: str | None = None,
    last_event_id: str | None = None,
) -> list[tuple[str, str]]:
    """The headers of a GET opening (or resuming, with ``last_event_id``) an SSE stream.

    streamable-http: "The client MUST include an Accept header, listing
    text/event-stream"; resuming, "it SHOULD include the Last-Event-ID header".
    """
    headers = [("accept", _ACCEPT_STREAM), *_common(protocol_version, session_id)]
    if last_event_id is not None:
        headers.append(("last-event-id", last_event_id))
    return headers


def delete_headers(*, protocol_version: str | None, session_id: str) -> list[tuple[str, str]]:
    """The headers of the DELETE ending a session ("Clients that no longer need a
    particular session ... SHOULD send an HTTP DELETE")."""
    return _common(protocol_version, session_id)


def wants_standalone_stream(
    server_capabilities: Mapping[str, Any], client_capabilities: Mapping[str, Any]
) -> bool:
    """Whether a handshake-era client opens the GET stream once the session is ready.

    streamable-http: "The client MAY issue an HTTP GET to the MCP endpoint"
    to receive messages unrelated to its requests. Only some can come that
    way: list changes and resource updates the server declared
    (``listChanged``, ``resources.subscribe``), log messages (``logging``),
    and ``roots/list`` after the client announces its roots changed
    (``roots.listChanged``). Without any of them the stream would carry
    nothing, and a client that opens one anyway looks, to a server that
    closes a request's stream for polling, like a reconnection made before
    the ``retry`` time.
    """
    return (
        any(_declares(server_capabilities, kind, "listChanged") for kind in _LISTS)
        or _declares(server_capabilities, "resources", "subscribe")
        or _declares(server_capabilities, "logging")
        or _declares(client_capabilities, "roots", "listChanged")
    )


_LISTS: Final = ("tools", "resources", "prompts")


def _declares(capabilities: Mapping[str, Any], name: str, flag: str | None = None) -> bool:
    value = capabilities.get(name)
    if not isinstance(value, Mapping):
        return False
    return flag is None or value.get(flag) is True


# -- answers ---------------------------------------------------------------------------


class HttpAnswer(enum.Enum):
    """What an HTTP answer to a client request means."""

    #: 200 with ``application/json``: one JSON-RPC message (or a batch) in the body.
    JSON = "json"
    #: 200 with ``text/event-stream``: messages come as SSE events.
    SSE = "sse"
    #: 202: the notification or response was accepted; nothing follows.
    ACCEPTED = "accepted"
    #: 404 on a request carrying a session id: the session is gone.
    #: streamable-http: "When a client receives HTTP 404 in response to a
    #: request containing an Mcp-Session-Id, it MUST start a new session by
    #: sending a new InitializeRequest without a session ID attached."
    SESSION_GONE = "session gone"
    #: 401: authorization is required (OAuth).
    UNAUTHORIZED = "unauthorized"
    #: 403: forbidden, or a scope is missing (OAuth step-up).
    FORBIDDEN = "forbidden"
    #: 405: the server offers no such endpoint (a GET stream, DELETE).
    NOT_ALLOWED = "not allowed"
    #: Anything else: an error; its body may carry a JSON-RPC error (:func:`error_in_body`).
    ERROR = "error"


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip(" \t").lower()


def classify_http_response(
    status: int, content_type: str | None, *, has_session: bool
) -> HttpAnswer:
    """What an HTTP answer (status and ``Content-Type``) to a client request means;
    ``has_session`` says whether the request carried an ``Mcp-Session-Id``."""
    if status == 202:
        return HttpAnswer.ACCEPTED
    if 200 <= status < 300:
        media = _media_type(content_type)
        if media == "text/event-stream":
            return HttpAnswer.SSE
        if media == "application/json":
            return HttpAnswer.JSON
        return HttpAnswer.ERROR
    if status == 404 and has_session:
        return HttpAnswer.SESSION_GONE
    if status == 401:
        return HttpAnswer.UNAUTHORIZED
    if status == 403:
        return HttpAnswer.FORBIDDEN
    if status == 405:
        return HttpAnswer.NOT_ALLOWED
    return HttpAnswer.ERROR


def error_in_body(body: bytes) -> ErrorResponse | None:
    """The JSON-RPC error an error answer's body carries, if it is one."""
    try:
        message = message_from_json(orjson.loads(body))
    except (orjson.JSONDecodeError, RemoteProtocolError):
        return None
    return message if isinstance(message, ErrorResponse) else None


def legacy_post_url(stream_url: str, endpoint: str) -> str | None:
    """Where the 2024-11-05 HTTP+SSE transport posts: the ``endpoint`` event's
    URI resolved against the SSE stream's URL; ``None`` when it names another
    origin (never post the session's messages elsewhere)."""
    resolved = urljoin(stream_url, endpoint.strip())
    base, target = urlsplit(stream_url), urlsplit(resolved)
    if (base.scheme, base.netloc) != (target.scheme, target.netloc):
        return None
    return resolved
