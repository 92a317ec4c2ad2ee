"""The ``_meta`` envelope of a 2026-07-28 request: version, client capabilities, identity.

basic/index: "Every request supplies this metadata in its ``_meta`` field."
This module owns the ``_meta`` keys the spec reserves; :func:`parse_request_meta`,
which turns ``params._meta`` into a :class:`RequestMeta`;
:func:`check_protocol_version`; the client-capability checks
(:func:`missing_client_capabilities`, :func:`require_client_capabilities`);
and the request-scoped notifications the envelope opts into
(:func:`log_message`, :func:`progress_notification`).

Errors carry their HTTP statuses: a malformed envelope is -32602 / 400, an
unsupported version -32022 / 400 and a missing client capability -32021 / 400.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._jsonrpc import _ABSENT, Notification, Request, RequestId
from ._notifications import _LOG_RANK, log_notification, progress_notification_for
from ._params import _invalid_params
from ._trusted import trusted_constructor

__all__ = [
    "META_CLIENT_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_PROGRESS_TOKEN",
    "META_PROTOCOL_VERSION",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION_ID",
    "RequestMeta",
    "check_protocol_version",
    "log_message",
    "missing_capability_error",
    "missing_client_capabilities",
    "parse_request_meta",
    "progress_notification",
    "require_client_capabilities",
]

# -- names the spec reserves -------------------------------------------------

#: ``_meta`` key: the protocol version of this request (required).
META_PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
#: ``_meta`` key: the client capabilities relevant to this request (required).
META_CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
#: ``_meta`` key: the client's name and version (optional, SHOULD be sent).
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
#: ``_meta`` key: the lowest log level the client wants for this request.
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
#: ``_meta`` key opting a request into progress notifications.
META_PROGRESS_TOKEN: Final = "progressToken"
#: Result ``_meta`` key: the server's name and version.
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"
#: Notification/result ``_meta`` key: the id of the ``subscriptions/listen`` request.
META_SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"

_CLIENT_CAPABILITY_OBJECTS: Final = (
    "elicitation",
    "sampling",
    "roots",
    "experimental",
    "extensions",
)


# -- the envelope ------------------------------------------------------------------


@attrs.frozen(slots=True)
class RequestMeta:
    """The per-request protocol fields of a request's ``params._meta``.

    ``client_info`` is ``None`` when the client did not identify itself
    (allowed: clients "SHOULD include" it), ``log_level`` is ``None`` when
    the client did not ask for log messages and ``progress_token`` is
    ``None`` when it did not ask for progress. ``raw`` is the whole ``_meta``
    object, other keys (trace context, extensions) included. The dicts are
    the parsed JSON and must not be mutated.
    """

    protocol_version: str
    client_capabilities: dict[str, Any]
    client_info: dict[str, Any] | None = None
    log_level: str | None = None
    progress_token: str | int | None = None
    raw: dict[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if type(self.protocol_version) is not str:
            raise LocalProtocolError("protocol_version must be a string")
        if type(self.client_capabilities) is not dict:
            raise LocalProtocolError("client_capabilities must be a dict")
        if self.client_info is not None and type(self.client_info) is not dict:
            raise LocalProtocolError("client_info must be a dict or None")
        if self.log_level is not None and self.log_level not in _LOG_RANK:
            raise LocalProtocolError(f"unknown log level {self.log_level!r}")
        if self.progress_token is not None and type(self.progress_token) not in (str, int):
            raise LocalProtocolError("progress_token must be a string, an integer or None")
        if type(self.raw) is not dict:
            raise LocalProtocolError("raw must be a dict")

    def wants_log(self, level: str) -> bool:
        """Whether a message at ``level`` may be sent for this request.

        logging: "The server MUST NOT emit ``notifications/message`` for a
        request that does not include this field"; when present, "at or above
        the requested level".
        """
        rank = _LOG_RANK.get(level)
        if rank is None:
            raise LocalProtocolError(f"unknown log level {level!r}")
        return self.log_level is not None and rank >= _LOG_RANK[self.log_level]

    def has_client_capabilities(self, required: Mapping[str, Any]) -> bool:
        """Whether the client declared everything in ``required`` (see
        :func:`missing_client_capabilities`)."""
        return not missing_client_capabilities(self.client_capabilities, required)


def _check_client_capabilities(value: object) -> dict[str, Any]:
    if type(value) is not dict:
        raise _invalid_params(f"_meta {META_CLIENT_CAPABILITIES} must be an object")
    if not value:  # the common case: a client that declares nothing for this request
        return value
    for name in _CLIENT_CAPABILITY_OBJECTS:
        if name in value and type(value[name]) is not dict:
            raise _invalid_params(f"client capability {name!r} must be an object")
    for name, subkeys in (("elicitation", ("form", "url")), ("sampling", ("context", "tools"))):
        declared = value.get(name)
        if declared is not None:
            for sub in subkeys:
                if sub in declared and type(declared[sub]) is not dict:
                    raise _invalid_params(f"client capability {name}.{sub} must be an object")
    for name in ("experimental", "extensions"):
        declared = value.get(name)
        if declared is not None and any(type(v) is not dict for v in declared.values()):
            raise _invalid_params(f"every entry of client capability {name!r} must be an object")
    return value


# _parse_request_meta checks every field before it builds one (the hot path).
_request_meta: Callable[
    [str, dict[str, Any], dict[str, Any] | None, str | None, str | int | None, dict[str, Any]],
    RequestMeta,
] = trusted_constructor(RequestMeta)


def parse_request_meta(request: Request) -> RequestMeta:
    """Read the per-request protocol fields of ``request``'s ``params._meta``.

    basic/index: "A request missing any required field is malformed; the
    server MUST reject it with JSON-RPC error code ``-32602`` (Invalid params).
    On HTTP, the response status MUST be ``400 Bad Request``." Fields of the
    wrong type are rejected the same way, an unknown log level too (logging:
    "Invalid log level: ``-32602``"). Known client capabilities must be
    objects; what they contain is not inspected further. The version is *not*
    checked here
    (:func:`check_protocol_version` does it) so that a transport can first
    compare it with its ``MCP-Protocol-Version`` header.

    Raises :class:`RemoteProtocolError` naming ``request.id``.
    """
    try:
        return _parse_request_meta(request.params)
    except RemoteProtocolError as exc:
        raise exc.with_request_id(request.id) from None


def _parse_request_meta(params: dict[str, Any] | None) -> RequestMeta:
    if params is None:
        raise _invalid_params("a 2026-07-28 request must carry params._meta")
    meta = params.get("_meta")
    if type(meta) is not dict:
        raise _invalid_params(
            f"params._meta must be an object carrying {META_PROTOCOL_VERSION} "
            f"and {META_CLIENT_CAPABILITIES}"
        )
    if META_PROTOCOL_VERSION not in meta or META_CLIENT_CAPABILITIES not in meta:
        missing = [k for k in (META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES) if k not in meta]
        raise _invalid_params(f"params._meta is missing {' and '.join(missing)}")
    version = meta[META_PROTOCOL_VERSION]
    if type(version) is not str:
        raise _invalid_params(f"_meta {META_PROTOCOL_VERSION} must be a string")
    capabilities = _check_client_capabilities(meta[META_CLIENT_CAPABILITIES])
    # Optional fields may be absent, but when present must have their type
    # (a JSON null is not an Implementation, a LoggingLevel or a ProgressToken).
    client_info = meta.get(META_CLIENT_INFO, _ABSENT)
    if client_info is _ABSENT:
        client_info = None
    elif (
        type(client_info) is not dict
        or type(client_info.get("name")) is not str
        or type(client_info.get("version")) is not str
    ):
        raise _invalid_params(
            f"_meta {META_CLIENT_INFO} must be an object with string name and version"
        )
    log_level = meta.get(META_LOG_LEVEL, _ABSENT)
    if log_level is _ABSENT:
        log_level = None
    elif type(log_level) is not str or log_level not in _LOG_RANK:
        raise _invalid_params(f"_meta {META_LOG_LEVEL} is not a log level: {log_level!r}")
    token = meta.get(META_PROGRESS_TOKEN, _ABSENT)
    if token is _ABSENT:
        token = None
    elif type(token) is float and token.is_integer() and abs(token) <= 2**53:
        # JSON has one number type: 7.0 is the integer 7.
        token = int(token)
    elif type(token) is not str and type(token) is not int:
        raise _invalid_params("_meta progressToken must be a string or an integer")
    return _request_meta(version, capabilities, client_info, log_level, token, meta)


def check_protocol_version(
    version: str, supported: Sequence[str], *, request_id: RequestId | None = None
) -> None:
    """Refuse a ``version`` this server does not serve per request.

    versioning: "If the server does not implement the requested version ...
    it MUST respond with an ``UnsupportedProtocolVersionError`` listing the
    versions it does support" (-32022, ``data: {requested, supported}``,
    HTTP 400).
    """
    if version not in supported:
        raise RemoteProtocolError(
            f"Unsupported protocol version: {version!r} (supported: {', '.join(supported)})",
            code=ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
            http_status=400,
            data={"requested": version, "supported": list(supported)},
            request_id=request_id,
        )


# -- client capabilities -----------------------------------------------------------


def _declared(capabilities: Mapping[str, Any], name: str) -> Any:
    value = capabilities.get(name)
    # elicitation: "an empty capabilities object is equivalent to declaring
    # support for ``form`` mode only".
    if name == "elicitation" and type(value) is dict and "form" not in value and "url" not in value:
        return {"form": {}}
    return value


def missing_client_capabilities(
    declared: Mapping[str, Any], required: Mapping[str, Any]
) -> dict[str, Any]:
    """The part of ``required`` that ``declared`` lacks, as a ClientCapabilities object.

    A capability is present when declared as an object; a required
    sub-capability (``{"sampling": {"tools": {}}}``, ``{"elicitation":
    {"url": {}}}``, ``{"extensions": {"com.example/x": {}}}``) when its key
    is declared under it. An empty ``elicitation`` object declares form mode.
    """
    missing: dict[str, Any] = {}
    for name, wanted in required.items():
        have = _declared(declared, name)
        if type(have) is not dict:
            missing[name] = copy.deepcopy(wanted) if isinstance(wanted, dict) else {}
            continue
        if isinstance(wanted, Mapping):
            lacking = {
                key: copy.deepcopy(value) for key, value in wanted.items() if key not in have
            }
            if lacking:
                missing[name] = lacking
    return missing


def require_client_capabilities(
    meta: RequestMeta, required: Mapping[str, Any], *, request_id: RequestId | None = None
) -> None:
    """Refuse a request whose processing needs capabilities the client did not declare.

    basic/index: "If processing a request requires a capability the client
    did not include in ``io.modelcontextprotocol/clientCapabilities``, the
    server MUST return a ``MissingRequiredClientCapabilityError`` (``-32021``)
    whose ``data.requiredCapabilities`` lists the missing capabilities. On
    HTTP, the response status MUST be ``400 Bad Request``."
    """
    missing = missing_client_capabilities(meta.client_capabilities, required)
    if missing:
        raise missing_capability_error(missing, request_id=request_id)


def missing_capability_error(
    missing: dict[str, Any], *, request_id: RequestId | None = None
) -> RemoteProtocolError:
    """The ``MissingRequiredClientCapabilityError`` (-32021, HTTP 400) naming
    ``missing`` (from :func:`missing_client_capabilities`) in
    ``data.requiredCapabilities``."""
    return RemoteProtocolError(
        f"Missing required client capability: {', '.join(sorted(missing))}",
        code=ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY,
        http_status=400,
        data={"requiredCapabilities": missing},
        request_id=request_id,
    )


# -- request-scoped notifications ----------------------------------------------------


def log_message(
    meta: RequestMeta, level: str, data: Any, *, logger: str | None = None
) -> Notification | None:
    """The ``notifications/message`` for a request, or ``None`` when it must not be sent.

    logging: "The server MUST NOT emit ``notifications/message`` for a request
    that does not include this field. When the field is present, the server
    MAY send ``notifications/message`` notifications at or above the
    requested level on the response stream of that request". It is
    request-scoped: never send it on a ``subscriptions/listen`` stream.
    """
    if not meta.wants_log(level):
        return None
    return log_notification(level, data, logger)


def progress_notification(
    meta: RequestMeta,
    progress: float,
    *,
    total: float | None = None,
    message: str | None = None,
) -> Notification | None:
    """The ``notifications/progress`` for a request, or ``None`` if it asked for none.

    progress: the client opts in with ``progressToken`` in ``_meta``; the
    notification carries "The original progress token". "The ``progress``
    value MUST increase with each notification": the caller keeps that order.
    """
    if meta.progress_token is None:
        return None
    return progress_notification_for(meta.progress_token, progress, total, message)
