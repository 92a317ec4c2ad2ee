"""Everything an HTTP front needs: MCP's HTTP transport rules as pure decisions, and the replies.

A front hands over an :class:`HttpRequest` (its :class:`Headers`) and gets a
decision from :func:`precheck`, :func:`decide` or :func:`decide_with_session`
(:class:`Reject`, :class:`ProcessMessages`, :class:`OpenStream`, ...) under an
:class:`HttpConfig`; :func:`response_start`, :func:`post_reply` and the other
reply builders say how the answer looks. The ``Mcp-Param-*`` header checks of
the stateless era are here too. Reading HTTP/1.1 bytes is :mod:`.http1`.
"""

from __future__ import annotations

from ._http_config import (
    DEFAULT_ALLOWED_HOSTS,
    DEFAULT_ALLOWED_ORIGINS,
    DEFAULT_MAX_BODY_SIZE,
    HttpConfig,
    ResponseMode,
)
from ._http_decisions import (
    HttpDecision,
    NeedSession,
    OpenLegacyStream,
    OpenStream,
    Preflight,
    ProcessMessages,
    Reject,
    TerminateSession,
    body_too_large,
    reject_for,
    service_unavailable,
    stream_conflict,
    stream_expired,
    too_many_requests,
)
from ._http_params import PARAM_HEADER_METHODS, param_header_paths, validate_param_headers
from ._http_probes import ProbeKind, ServeProbe, liveness_reply, metrics_reply, readiness_reply
from ._http_request import Headers, HttpRequest, decode_header_value, is_valid_session_id
from ._http_responses import (
    LEGACY_ENDPOINT_EVENT,
    cors_headers,
    legacy_endpoint_url,
    response_start,
    resume_point,
    status_for_error,
)
from ._http_routing import decide, decide_with_session, precheck
from ._replies import (
    HttpReply,
    legacy_post_reply,
    post_reply,
    preflight_reply,
    streams_replies,
    terminated_reply,
)

__all__ = [
    "PARAM_HEADER_METHODS",
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_ALLOWED_ORIGINS",
    "DEFAULT_MAX_BODY_SIZE",
    "LEGACY_ENDPOINT_EVENT",
    "Headers",
    "HttpConfig",
    "HttpDecision",
    "HttpReply",
    "HttpRequest",
    "NeedSession",
    "OpenLegacyStream",
    "OpenStream",
    "Preflight",
    "ProbeKind",
    "ProcessMessages",
    "Reject",
    "ServeProbe",
    "ResponseMode",
    "TerminateSession",
    "body_too_large",
    "cors_headers",
    "decide",
    "decide_with_session",
    "decode_header_value",
    "is_valid_session_id",
    "legacy_endpoint_url",
    "legacy_post_reply",
    "liveness_reply",
    "metrics_reply",
    "param_header_paths",
    "post_reply",
    "precheck",
    "preflight_reply",
    "readiness_reply",
    "reject_for",
    "response_start",
    "resume_point",
    "service_unavailable",
    "status_for_error",
    "stream_conflict",
    "stream_expired",
    "streams_replies",
    "terminated_reply",
    "too_many_requests",
    "validate_param_headers",
]
