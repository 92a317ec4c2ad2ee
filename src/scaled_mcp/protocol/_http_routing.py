"""The HTTP transport rules of MCP, as pure decisions: where a request goes.

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
* :class:`Preflight` -- a CORS preflight (``OPTIONS``) from an allowed origin;
* :class:`ServeProbe` -- a ``GET`` of an operator endpoint (``/healthz``,
  ``/readyz``, ``/metrics``): it answers any ``Host``, an orchestrator's
  probe naming the node by its address;
* :class:`NeedSession` -- the request names a session: the caller loads its
  :class:`~scaled_mcp.protocol.session.SessionState` from its store (that is I/O) and
  calls :func:`decide_with_session`, which returns one of the decisions above.

New session ids are never made here: a decision that needs one says so
(``ProcessMessages.issue_session``, :class:`OpenLegacyStream`), the caller
mints it (it must be visible ASCII, see :func:`is_valid_session_id`) and
passes it to :func:`response_start` or :func:`legacy_endpoint_url`.

Every rejection is a 4xx with a JSON-RPC error body; nothing a client sends
makes these functions raise. This module runs the checks of the request head
(Origin and Host, path and method, framing, ``Accept``, ``Content-Type``) and
answers CORS preflights; what each endpoint makes of a request that passed is
in the endpoints module.
"""

from __future__ import annotations

from typing import Final

from ._errors import LocalProtocolError, RemoteProtocolError
from ._http_config import HttpConfig, ResponseMode, _Route
from ._http_decisions import (
    HttpDecision,
    NeedSession,
    OpenLegacyStream,
    OpenStream,
    Preflight,
    ProcessMessages,
    Reject,
    TerminateSession,
    _method_not_allowed,
    _Stop,
    _stop,
    body_too_large,
    reject_for,
)
from ._http_endpoints import _legacy_post, _mcp_delete, _mcp_get, _mcp_post, _request_id
from ._http_probes import ProbeKind, ServeProbe
from ._http_request import (
    _DUPLICATE,
    _EVENT_STREAM,
    _JSON,
    HttpRequest,
    _acceptable,
    _header_chars_ok,
    _HeaderView,
    _media_type,
)
from ._state import SessionPhase, SessionState
from ._versions import Era, allows_batches

__all__ = ["decide", "decide_with_session", "precheck"]


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


def _probe(request: HttpRequest, kind: ProbeKind, config: HttpConfig) -> ServeProbe:
    """An operator endpoint: ``GET`` and ``HEAD``; no Host check (a probe names the
    node by its address), but a browser's Origin is still checked (DNS rebinding)."""
    if config.allowed_origins is not None:
        origin = _HeaderView(request.headers).one("origin")
        if origin is _DUPLICATE or (origin is not None and not config.origin_allowed(origin)):
            raise _stop(403, "Forbidden: Origin not allowed")
    # RFC 9110 section 9.3.2: "The HEAD method is identical to GET except that the
    # server MUST NOT send content in the response"; the front leaves the body out.
    if request.method != "GET" and request.method != "HEAD":
        raise _method_not_allowed("GET, HEAD")
    return ServeProbe(kind)


def _checked_head(request: HttpRequest, config: HttpConfig) -> tuple[_HeaderView, _Route]:
    """The header view and route of a head that passes :func:`_check_head`
    (which raises :class:`_Stop` otherwise); the config remembers the heads
    that passed."""
    key = (request.method, request.path, request.headers)
    hit = config._checked_heads.entries.get(key)
    if hit is not None:
        return hit
    view = _HeaderView(request.headers)
    route = _check_head(request, view, config)
    config._checked_heads.remember(key, (view, route))
    return view, route


def precheck(request: HttpRequest, config: HttpConfig) -> Reject | None:
    """The rejection the request head alone earns, or ``None``.

    Runs the checks that need no body: Origin and Host, path, method,
    ``Content-Length`` against ``max_body_size`` (413 before the body is read),
    ``Accept`` and ``Content-Type``. :func:`decide` repeats them, so calling
    this first is only a way to refuse early; ``request.body`` is ignored.
    """
    try:
        probe = config._probes.get(request.path)
        if probe is not None:
            _probe(request, probe, config)
        elif request.method == "OPTIONS" and config.cors:
            _preflight(request, _HeaderView(request.headers), config)
        else:
            _checked_head(request, config)
    except _Stop as stop:
        return stop.reject
    return None


# Request headers a browser client of MCP sends beyond the CORS-safelisted ones.
_CORS_REQUEST_HEADERS: Final = (
    "accept, authorization, content-type, last-event-id, mcp-method, mcp-name, "
    "mcp-protocol-version, mcp-session-id"
)


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


def decide(request: HttpRequest, config: HttpConfig) -> HttpDecision:
    """Decide what to do with ``request``.

    Never raises for anything the client sent: every problem is a
    :class:`Reject` with a 4xx status. A :class:`NeedSession` asks the caller to
    load the named session and to finish with :func:`decide_with_session`.
    """
    try:
        if request.method == "OPTIONS" and config.cors:
            return _preflight(request, _HeaderView(request.headers), config)
        probe = config._probes.get(request.path)
        if probe is not None:
            return _probe(request, probe, config)
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
