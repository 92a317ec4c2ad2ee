"""The stateless era (2026-07-28): no handshake, no session, every request stands alone.

basic/index, Statelessness: "all the information needed to process a request
is contained in the request itself ... Servers MUST NOT rely on prior requests
over the same connection to establish context (e.g., capabilities, protocol
version, client identity). Every request supplies this metadata in its
``_meta`` field."

This module owns every stateless-era protocol decision that needs no I/O:

- the per-request envelope: :func:`parse_request_meta` turns ``params._meta``
  into a :class:`RequestMeta`; :func:`check_protocol_version` and
  :func:`require_client_capabilities` answer with the errors the spec names;
- dispatch: :class:`StatelessDispatcher` decides, request by request, whether
  the core answers (``server/discover``), the request is refused (unknown,
  removed or undeclared method), a ``subscriptions/listen`` stream opens
  (:class:`Subscription`), or the application handles it
  (:class:`StatelessRequest`);
- results: ``resultType``, ``io.modelcontextprotocol/serverInfo`` and cache
  hints (:func:`complete_result`, :class:`CacheHint`); request-scoped log and
  progress notifications (:func:`log_message`, :func:`progress_notification`);
- multi round-trip requests: :class:`InputRequest`,
  :func:`input_required_result`, and the retry's :class:`InputResponses` and
  ``requestState`` (sealed by :mod:`._request_state`).

Where HTTP statuses matter, errors carry them: a malformed envelope is -32602
/ 400, an unsupported version -32022 / 400, a missing client capability
-32021 / 400 and an unknown method -32601 / 404 (streamable-http: "If the
server does not implement the requested RPC method, it MUST respond with
``404 Not Found`` and a JSON-RPC error with code ``-32601``").
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._jsonrpc import Notification, Request, RequestId, Response, _response, _slot_setters
from ._notifications import log_notification, progress_notification_for
from ._request_state import RequestBinding, RequestStateSealer
from ._state import LOG_LEVELS
from ._versions import STATELESS_VERSIONS

__all__ = [
    "CACHEABLE_METHODS",
    "INPUT_REQUIRED_METHODS",
    "MAX_INPUT_KEY_LENGTH",
    "MAX_INPUT_REQUESTS",
    "MAX_INPUT_RESPONSES",
    "MAX_RESOURCE_SUBSCRIPTIONS",
    "META_CLIENT_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_PROGRESS_TOKEN",
    "META_PROTOCOL_VERSION",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION_ID",
    "RESULT_TYPE_COMPLETE",
    "RESULT_TYPE_INPUT_REQUIRED",
    "STATELESS_METHODS",
    "CacheHint",
    "CancelRequested",
    "CoreAnswer",
    "InputRequest",
    "InputResponses",
    "RequestMeta",
    "StatelessDispatcher",
    "StatelessRequest",
    "StatelessServerConfig",
    "Subscription",
    "SubscriptionFilter",
    "check_protocol_version",
    "complete_result",
    "input_required_result",
    "log_message",
    "missing_client_capabilities",
    "parse_input_responses",
    "parse_request_meta",
    "parse_request_state",
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

#: ``resultType`` of an ordinary, final result.
RESULT_TYPE_COMPLETE: Final = "complete"
#: ``resultType`` of an :func:`input_required_result`.
RESULT_TYPE_INPUT_REQUIRED: Final = "input_required"

#: The syslog levels of ``notifications/message``, least severe first.
_LOG_RANK: Final[Mapping[str, int]] = {level: rank for rank, level in enumerate(LOG_LEVELS)}

# -- limits --------------------------------------------------------------------

#: Most entries accepted in a retry's ``inputResponses`` (more: -32602).
MAX_INPUT_RESPONSES: Final = 64
#: Most input requests one :func:`input_required_result` may carry.
MAX_INPUT_REQUESTS: Final = 32
#: Longest key of ``inputRequests`` / ``inputResponses``, in characters.
MAX_INPUT_KEY_LENGTH: Final = 256
#: Most URIs one ``subscriptions/listen`` may watch (more: -32602).
MAX_RESOURCE_SUBSCRIPTIONS: Final = 1024

# -- methods -------------------------------------------------------------------

#: Every client request method of 2026-07-28, with the server capability that
#: must be declared for it to exist (``None``: always there). ``initialize``,
#: ``ping``, ``logging/setLevel``, ``resources/subscribe`` and
#: ``resources/unsubscribe`` are gone: changelog, "Remove ``ping``,
#: ``logging/setLevel``" and "Replace ... ``resources/subscribe``/
#: ``resources/unsubscribe`` with ``subscriptions/listen``".
STATELESS_METHODS: Final[Mapping[str, str | None]] = {
    "server/discover": None,
    "subscriptions/listen": None,
    "tools/list": "tools",
    "tools/call": "tools",
    "prompts/list": "prompts",
    "prompts/get": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resources",
    "resources/read": "resources",
    "completion/complete": "completions",
}

#: mrtr, Supported Requests: "Servers MUST NOT send ``InputRequiredResult``
#: responses on any other client requests."
INPUT_REQUIRED_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})

#: caching: "Servers MUST include caching hints on results with ``resultType:
#: "complete"`` returned by" these operations.
CACHEABLE_METHODS: Final = frozenset(
    {
        "server/discover",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
    }
)

_PAGINATED_METHODS: Final = frozenset(
    {"tools/list", "prompts/list", "resources/list", "resources/templates/list"}
)
_NAMED_METHODS: Final[Mapping[str, str]] = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
}
_INPUT_REQUEST_METHODS: Final = frozenset(
    {"elicitation/create", "sampling/createMessage", "roots/list"}
)
_REMOVED_METHODS: Final = frozenset(
    {
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
    }
)
_CLIENT_CAPABILITY_OBJECTS: Final = (
    "elicitation",
    "sampling",
    "roots",
    "experimental",
    "extensions",
)
_SERVER_CAPABILITY_OBJECTS: Final = (
    "tools",
    "prompts",
    "resources",
    "logging",
    "completions",
    "experimental",
    "extensions",
)

#: List-changed notifications and the filter field that opts into each one.
_LIST_CHANGED: Final[Mapping[str, str]] = {
    "notifications/tools/list_changed": "tools_list_changed",
    "notifications/prompts/list_changed": "prompts_list_changed",
    "notifications/resources/list_changed": "resources_list_changed",
}
_RESOURCE_UPDATED: Final = "notifications/resources/updated"


_ABSENT: Final[Any] = object()


def _invalid_params(reason: str, request_id: RequestId | None = None) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"Invalid params: {reason}",
        code=ErrorCode.INVALID_PARAMS,
        http_status=400,
        request_id=request_id,
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


_REQUEST_META_SETTERS: Final = _slot_setters(
    RequestMeta,
    "protocol_version",
    "client_capabilities",
    "client_info",
    "log_level",
    "progress_token",
    "raw",
)


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
    # Every field is checked: fill the frozen instance through its slots (hot path).
    request_meta: RequestMeta = object.__new__(RequestMeta)
    for setter, value in zip(
        _REQUEST_META_SETTERS,
        (version, capabilities, client_info, log_level, token, meta),
        strict=True,
    ):
        setter(request_meta, value)
    return request_meta


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
        raise RemoteProtocolError(
            f"Missing required client capability: {', '.join(sorted(missing))}",
            code=ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY,
            http_status=400,
            data={"requiredCapabilities": missing},
            request_id=request_id,
        )


# -- results -----------------------------------------------------------------------


@attrs.frozen(slots=True)
class CacheHint:
    """The caching hints of a cacheable result (caching: ``ttlMs``, ``cacheScope``).

    ``ttl_ms`` is how long, in milliseconds, the client may consider the
    result fresh ("Servers MUST provide a ``ttlMs`` value that is ``>= 0``";
    0 means immediately stale). ``scope`` is ``"public"`` (no user-specific
    data: any cache may share it) or ``"private"`` (reusable only within the
    same authorization context).
    """

    ttl_ms: int
    scope: str = "private"

    def __attrs_post_init__(self) -> None:
        if type(self.ttl_ms) is not int or self.ttl_ms < 0:
            raise LocalProtocolError(f"ttl_ms must be an integer >= 0, not {self.ttl_ms!r}")
        if self.scope not in ("public", "private"):
            raise LocalProtocolError(f'scope must be "public" or "private", not {self.scope!r}')

    def to_json(self) -> dict[str, Any]:
        """The two result fields."""
        return {"ttlMs": self.ttl_ms, "cacheScope": self.scope}

    @classmethod
    def of(cls, result: Mapping[str, Any]) -> CacheHint | None:
        """The valid hints ``result`` already carries, or ``None``."""
        ttl = result.get("ttlMs")
        scope = result.get("cacheScope")
        if type(ttl) is int and ttl >= 0 and scope in ("public", "private"):
            return cls(ttl_ms=ttl, scope=scope)
        return None


#: Hints that forbid reuse: for results that "MUST NOT be cached".
_NO_STORE: Final = CacheHint(ttl_ms=0, scope="private")


def _result_meta(result: dict[str, Any]) -> dict[str, Any]:
    meta = result.get("_meta")
    if meta is None:
        return {}
    if type(meta) is not dict:
        raise LocalProtocolError(f"a result's _meta must be a dict, not {meta!r}")
    return dict(meta)


def complete_result(
    result: Mapping[str, Any],
    *,
    server_info: Mapping[str, Any] | None = None,
    cache: CacheHint | None = None,
) -> dict[str, Any]:
    """A copy of ``result`` as a 2026-07-28 final result.

    Adds ``resultType: "complete"`` ("The ``result`` MUST include a
    ``resultType`` field"), ``_meta["io.modelcontextprotocol/serverInfo"]``
    when ``server_info`` is given (servers "SHOULD include" it "in every
    result's ``_meta``"; a value the result already has wins) and the
    ``cache`` hints. A result that says it is not complete is a
    :class:`LocalProtocolError`.
    """
    if type(result) is not dict and not isinstance(result, Mapping):
        raise LocalProtocolError(f"a result must be a dict, not {result!r}")
    out = dict(result)
    result_type = out.get("resultType", RESULT_TYPE_COMPLETE)
    if result_type != RESULT_TYPE_COMPLETE:
        raise LocalProtocolError(f"a complete result cannot have resultType {result_type!r}")
    out["resultType"] = RESULT_TYPE_COMPLETE
    if server_info is not None:
        meta = _result_meta(out)
        meta.setdefault(META_SERVER_INFO, dict(server_info))
        out["_meta"] = meta
    if cache is not None:
        out.update(cache.to_json())
    return out


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


# -- multi round-trip requests --------------------------------------------------------


@attrs.frozen(slots=True)
class InputRequest:
    """One server-to-client request embedded in an input-required result.

    mrtr: values of ``inputRequests`` "MUST be one of ``ElicitRequest``,
    ``CreateMessageRequest``, or ``ListRootsRequest``". Build them with
    :meth:`elicit`, :meth:`elicit_url`, :meth:`create_message` or
    :meth:`list_roots`; the constructor checks the method and the params the
    schema requires.
    """

    method: str
    params: dict[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        if self.method not in _INPUT_REQUEST_METHODS:
            raise LocalProtocolError(
                f"an input request is elicitation/create, sampling/createMessage or "
                f"roots/list, not {self.method!r}"
            )
        params = self.params
        if params is not None and type(params) is not dict:
            raise LocalProtocolError("input request params must be a dict or None")
        if self.method == "elicitation/create":
            if params is None or type(params.get("message")) is not str:
                raise LocalProtocolError("elicitation/create needs a string message")
            mode = params.get("mode", "form")
            if mode == "form":
                if type(params.get("requestedSchema")) is not dict:
                    raise LocalProtocolError("form elicitation needs a requestedSchema object")
            elif mode == "url":
                if type(params.get("url")) is not str:
                    raise LocalProtocolError("url elicitation needs a string url")
            else:
                raise LocalProtocolError(f'elicitation mode is "form" or "url", not {mode!r}')
        elif self.method == "sampling/createMessage" and (
            params is None
            or type(params.get("messages")) is not list
            or type(params.get("maxTokens")) is not int
        ):
            raise LocalProtocolError("sampling/createMessage needs messages and maxTokens")

    @classmethod
    def elicit(cls, message: str, requested_schema: Mapping[str, Any]) -> InputRequest:
        """A form-mode ``elicitation/create``."""
        return cls(
            "elicitation/create",
            {"mode": "form", "message": message, "requestedSchema": dict(requested_schema)},
        )

    @classmethod
    def elicit_url(cls, message: str, url: str) -> InputRequest:
        """A URL-mode ``elicitation/create`` (for anything sensitive)."""
        return cls("elicitation/create", {"mode": "url", "message": message, "url": url})

    @classmethod
    def create_message(
        cls, messages: Sequence[Mapping[str, Any]], max_tokens: int, **fields: Any
    ) -> InputRequest:
        """A ``sampling/createMessage``; ``fields`` are further params by their
        wire names (``systemPrompt``, ``modelPreferences``, ``tools`` ...)."""
        params = {"messages": [dict(m) for m in messages], "maxTokens": max_tokens}
        params.update(fields)
        return cls("sampling/createMessage", params)

    @classmethod
    def list_roots(cls) -> InputRequest:
        """A ``roots/list``."""
        return cls("roots/list", None)

    def required_capabilities(self) -> dict[str, Any]:
        """The client capabilities this request needs.

        mrtr: "Servers MUST NOT send an ``inputRequests`` that the client has
        not declared support for in its capabilities"; elicitation: "Servers
        MUST NOT send elicitation requests with modes that are not supported
        by the client"; sampling: tool-enabled requests need
        ``sampling.tools``, and without ``sampling.context`` servers "SHOULD
        only use ``includeContext: "none"``".
        """
        params = self.params or {}
        if self.method == "elicitation/create":
            return {"elicitation": {params.get("mode", "form"): {}}}
        if self.method == "roots/list":
            return {"roots": {}}
        sampling: dict[str, Any] = {}
        if "tools" in params or "toolChoice" in params:
            sampling["tools"] = {}
        if params.get("includeContext", "none") != "none":
            sampling["context"] = {}
        return {"sampling": sampling}

    def to_json(self) -> dict[str, Any]:
        """The request object as it appears in ``inputRequests``."""
        out: dict[str, Any] = {"method": self.method}
        if self.params is not None:
            out["params"] = self.params
        return out


def _merge_capabilities(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    for name, value in more.items():
        slot = into.setdefault(name, {})
        slot.update(value)


def input_required_result(
    input_requests: Mapping[str, InputRequest] | None = None,
    request_state: str | None = None,
    *,
    client_capabilities: Mapping[str, Any] | None = None,
    server_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An ``InputRequiredResult``: the questions, and the state to echo back.

    mrtr: "Servers MUST include at least one of ``inputRequests`` or
    ``requestState``"; ``inputRequests`` "keys are server assigned
    identifiers". When ``client_capabilities`` is given, requests the client
    did not declare support for raise the -32021 error
    :func:`require_client_capabilities` describes. Input-required results
    "are not cacheable and carry no caching hints".
    """
    requests = dict(input_requests or {})
    if len(requests) > MAX_INPUT_REQUESTS:
        raise LocalProtocolError(f"more than {MAX_INPUT_REQUESTS} input requests")
    if not requests and request_state is None:
        raise LocalProtocolError("an input-required result needs inputRequests or requestState")
    if request_state is not None and (type(request_state) is not str or not request_state):
        raise LocalProtocolError("requestState must be a non-empty string")
    needed: dict[str, Any] = {}
    for key, request in requests.items():
        if type(key) is not str or not key or len(key) > MAX_INPUT_KEY_LENGTH:
            raise LocalProtocolError(
                f"input request keys are non-empty strings of at most "
                f"{MAX_INPUT_KEY_LENGTH} characters, not {key!r}"
            )
        if not isinstance(request, InputRequest):
            raise LocalProtocolError(f"input request {key!r} must be an InputRequest")
        _merge_capabilities(needed, request.required_capabilities())
    if client_capabilities is not None and needed:
        missing = missing_client_capabilities(client_capabilities, needed)
        if missing:
            raise RemoteProtocolError(
                f"Missing required client capability: {', '.join(sorted(missing))}",
                code=ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY,
                http_status=400,
                data={"requiredCapabilities": missing},
            )
    out: dict[str, Any] = {"resultType": RESULT_TYPE_INPUT_REQUIRED}
    if requests:
        out["inputRequests"] = {key: request.to_json() for key, request in requests.items()}
    if request_state is not None:
        out["requestState"] = request_state
    if server_info is not None:
        out["_meta"] = {META_SERVER_INFO: dict(server_info)}
    return out


_ELICIT_ACTIONS: Final = frozenset({"accept", "decline", "cancel"})


@attrs.frozen(slots=True)
class InputResponses:
    """A retry's ``inputResponses``: the client's answers, keyed like the questions.

    mrtr: "If additional, unexpected parameters are provided ... the server
    SHOULD ignore any information it does not recognize or need", so only
    the entries the server reads are checked in depth, when read. A key that
    is absent means the client did not answer: the server "SHOULD respond with
    a new ``InputRequiredResult`` requesting the missing information again,
    rather than returning an error". A malformed answer raises
    :class:`RemoteProtocolError` (-32602) naming ``request_id``.
    """

    responses: dict[str, dict[str, Any]]
    request_id: RequestId | None = None

    def __contains__(self, key: object) -> bool:
        return key in self.responses

    def __len__(self) -> int:
        return len(self.responses)

    def __iter__(self) -> Iterator[str]:
        return iter(self.responses)

    def get(self, key: str) -> dict[str, Any] | None:
        """The raw answer under ``key``, or ``None``."""
        return self.responses.get(key)

    def _bad(self, key: str, reason: str) -> RemoteProtocolError:
        return _invalid_params(f"inputResponses[{key!r}] {reason}", self.request_id)

    def elicit_result(self, key: str) -> dict[str, Any] | None:
        """The ``ElicitResult`` under ``key``, checked, or ``None`` if absent."""
        value = self.responses.get(key)
        if value is None:
            return None
        if value.get("action") not in _ELICIT_ACTIONS:
            raise self._bad(key, 'is not an ElicitResult: "action" is accept, decline or cancel')
        content = value.get("content")
        if content is not None:
            if type(content) is not dict:
                raise self._bad(key, 'is not an ElicitResult: "content" must be an object')
            for item in content.values():
                if type(item) is list:
                    if any(type(x) is not str for x in item):
                        raise self._bad(key, "has a list value that is not all strings")
                elif type(item) not in (str, int, bool, float):
                    raise self._bad(key, "has a value that is not a primitive")
        return value

    def create_message_result(self, key: str) -> dict[str, Any] | None:
        """The ``CreateMessageResult`` under ``key``, checked, or ``None`` if absent."""
        value = self.responses.get(key)
        if value is None:
            return None
        if value.get("role") not in ("user", "assistant"):
            raise self._bad(key, 'is not a CreateMessageResult: bad "role"')
        if type(value.get("model")) is not str:
            raise self._bad(key, 'is not a CreateMessageResult: "model" must be a string')
        content = value.get("content")
        if type(content) is list:
            if any(type(block) is not dict for block in content):
                raise self._bad(key, "is not a CreateMessageResult: bad content block")
        elif type(content) is not dict:
            raise self._bad(key, 'is not a CreateMessageResult: "content" is missing')
        return value

    def list_roots_result(self, key: str) -> dict[str, Any] | None:
        """The ``ListRootsResult`` under ``key``, checked, or ``None`` if absent."""
        value = self.responses.get(key)
        if value is None:
            return None
        roots = value.get("roots")
        if type(roots) is not list or any(
            type(root) is not dict or type(root.get("uri")) is not str for root in roots
        ):
            raise self._bad(key, 'is not a ListRootsResult: "roots" must list objects with a uri')
        return value

    def result_for(self, key: str, request: InputRequest) -> dict[str, Any] | None:
        """The answer under ``key`` to ``request``, checked by the request's kind."""
        if request.method == "elicitation/create":
            return self.elicit_result(key)
        if request.method == "sampling/createMessage":
            return self.create_message_result(key)
        return self.list_roots_result(key)


def parse_input_responses(
    value: object,
    *,
    request_id: RequestId | None = None,
    max_entries: int = MAX_INPUT_RESPONSES,
) -> InputResponses | None:
    """Read a retry's ``params.inputResponses`` (``None`` when absent).

    It must be an object of objects with at most ``max_entries`` keys of at
    most :data:`MAX_INPUT_KEY_LENGTH` characters; anything else is -32602
    (mrtr: "Servers SHOULD validate that the data provided by the client is a
    valid ``InputResponses`` object").
    """
    if value is None:
        return None
    if type(value) is not dict:
        raise _invalid_params("inputResponses must be an object", request_id)
    if len(value) > max_entries:
        raise _invalid_params(f"inputResponses has more than {max_entries} entries", request_id)
    for key, item in value.items():
        if type(key) is not str or len(key) > MAX_INPUT_KEY_LENGTH:
            raise _invalid_params("an inputResponses key is too long", request_id)
        if type(item) is not dict:
            raise _invalid_params(f"inputResponses[{key!r}] must be an object", request_id)
    return InputResponses(responses=value, request_id=request_id)


def parse_request_state(value: object, *, request_id: RequestId | None = None) -> str | None:
    """Read a retry's ``params.requestState`` (``None`` when absent); it must
    be a string (its contents are checked when it is opened)."""
    if value is None:
        return None
    if type(value) is not str:
        raise _invalid_params("requestState must be a string", request_id)
    return value


# -- subscriptions/listen --------------------------------------------------------------


@attrs.frozen(slots=True)
class SubscriptionFilter:
    """Which change notifications a ``subscriptions/listen`` stream carries.

    subscriptions, Notification Filter: ``toolsListChanged``,
    ``promptsListChanged``, ``resourcesListChanged`` (booleans) and
    ``resourceSubscriptions`` (the URIs whose
    ``notifications/resources/updated`` the client wants). "Omitting a field
    is equivalent to not subscribing to that notification type."
    """

    tools_list_changed: bool = False
    prompts_list_changed: bool = False
    resources_list_changed: bool = False
    resource_subscriptions: tuple[str, ...] = ()
    _uris: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        for name in ("tools_list_changed", "prompts_list_changed", "resources_list_changed"):
            if type(getattr(self, name)) is not bool:
                raise LocalProtocolError(f"{name} must be a bool")
        uris = self.resource_subscriptions
        if type(uris) is not tuple or any(type(uri) is not str for uri in uris):
            raise LocalProtocolError("resource_subscriptions must be a tuple of strings")
        object.__setattr__(self, "_uris", frozenset(uris))

    @classmethod
    def from_json(
        cls,
        value: object,
        *,
        request_id: RequestId | None = None,
        max_resource_subscriptions: int = MAX_RESOURCE_SUBSCRIPTIONS,
    ) -> SubscriptionFilter:
        """Read the ``notifications`` param of ``subscriptions/listen`` (-32602 if malformed).

        Duplicate URIs are kept once, in their first position.
        """
        if type(value) is not dict:
            raise _invalid_params("subscriptions/listen needs a notifications object", request_id)
        flags: dict[str, bool] = {}
        for wire, name in (
            ("toolsListChanged", "tools_list_changed"),
            ("promptsListChanged", "prompts_list_changed"),
            ("resourcesListChanged", "resources_list_changed"),
        ):
            flag = value.get(wire, False)
            if type(flag) is not bool:
                raise _invalid_params(f"notifications.{wire} must be a boolean", request_id)
            flags[name] = flag
        uris = value.get("resourceSubscriptions", [])
        if type(uris) is not list or any(type(uri) is not str for uri in uris):
            raise _invalid_params(
                "notifications.resourceSubscriptions must be a list of strings", request_id
            )
        if len(uris) > max_resource_subscriptions:
            raise _invalid_params(
                f"notifications.resourceSubscriptions lists more than "
                f"{max_resource_subscriptions} URIs",
                request_id,
            )
        return cls(resource_subscriptions=tuple(dict.fromkeys(uris)), **flags)

    def to_json(self) -> dict[str, Any]:
        """The wire form, with only the types subscribed to."""
        out: dict[str, Any] = {}
        if self.tools_list_changed:
            out["toolsListChanged"] = True
        if self.prompts_list_changed:
            out["promptsListChanged"] = True
        if self.resources_list_changed:
            out["resourcesListChanged"] = True
        if self.resource_subscriptions:
            out["resourceSubscriptions"] = list(self.resource_subscriptions)
        return out

    def granted_by(self, capabilities: Mapping[str, Any]) -> SubscriptionFilter:
        """The subset a server with ``capabilities`` honours.

        subscriptions: the acknowledgment "reflects the subset the server
        agreed to honor. Notification types the server does not support are
        omitted": list changes need ``<kind>.listChanged``, resource updates
        need ``resources.subscribe``.
        """

        def declares(kind: str, feature: str) -> bool:
            value = capabilities.get(kind)
            return isinstance(value, Mapping) and value.get(feature) is True

        return SubscriptionFilter(
            tools_list_changed=self.tools_list_changed and declares("tools", "listChanged"),
            prompts_list_changed=self.prompts_list_changed and declares("prompts", "listChanged"),
            resources_list_changed=self.resources_list_changed
            and declares("resources", "listChanged"),
            resource_subscriptions=self.resource_subscriptions
            if declares("resources", "subscribe")
            else (),
        )

    def wants(self, notification: Notification) -> bool:
        """Whether ``notification`` belongs on a stream with this filter.

        subscriptions: "The server MUST NOT send notification types the client
        has not explicitly requested"; request-scoped notifications
        (progress, log messages) never go on a listen stream.
        """
        field = _LIST_CHANGED.get(notification.method)
        if field is not None:
            return bool(getattr(self, field))
        if notification.method == _RESOURCE_UPDATED:
            uri = (notification.params or {}).get("uri")
            return type(uri) is str and uri in self._uris
        return False


def _with_meta(params: Mapping[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    out = dict(params or {})
    meta = out.get("_meta")
    meta = dict(meta) if type(meta) is dict else {}
    meta[key] = value
    out["_meta"] = meta
    return out


@attrs.frozen(slots=True)
class Subscription:
    """A ``subscriptions/listen`` request the server accepted: a long-lived stream.

    subscriptions: "Each subscription is identified by the JSON-RPC request ID
    of its ``subscriptions/listen`` request". ``requested`` is what the client
    asked for, ``granted`` what this server honours. Send
    :meth:`acknowledgement` first, then every notification :meth:`deliver`
    returns; end with :meth:`closing_response` (graceful server-side end) or,
    on stdio, :meth:`cancellation`.
    """

    request_id: RequestId
    meta: RequestMeta
    requested: SubscriptionFilter
    granted: SubscriptionFilter
    server_info: dict[str, Any] | None = None

    @property
    def subscription_id(self) -> RequestId:
        """The id notifications carry: "the JSON-RPC ID of the ``subscriptions/listen`` request"."""
        return self.request_id

    def acknowledgement(self) -> Notification:
        """``notifications/subscriptions/acknowledged``.

        "The server MUST send ``notifications/subscriptions/acknowledged`` as
        the first message carrying the subscription's ID in ``_meta`` under
        ``io.modelcontextprotocol/subscriptionId``, and MUST NOT send any
        notification on the subscription before it."
        """
        return Notification(
            "notifications/subscriptions/acknowledged",
            {
                "_meta": {META_SUBSCRIPTION_ID: self.request_id},
                "notifications": self.granted.to_json(),
            },
        )

    def deliver(self, notification: Notification) -> Notification | None:
        """``notification`` tagged for this stream, or ``None`` if the filter excludes it.

        basic/index: "On notifications delivered via a ``subscriptions/listen``
        stream, the server MUST include ``io.modelcontextprotocol/subscriptionId``
        in ``_meta``".
        """
        if not self.granted.wants(notification):
            return None
        return Notification(
            notification.method,
            _with_meta(notification.params, META_SUBSCRIPTION_ID, self.request_id),
        )

    def closing_response(self) -> Response:
        """The result that ends the subscription gracefully.

        subscriptions, Graceful Closure: the server "SHOULD respond to the
        original ``subscriptions/listen`` request with a completion result
        before closing the stream"; it carries the subscription id in ``_meta``.
        """
        meta: dict[str, Any] = {META_SUBSCRIPTION_ID: self.request_id}
        if self.server_info is not None:
            meta[META_SERVER_INFO] = dict(self.server_info)
        return Response(self.request_id, {"resultType": RESULT_TYPE_COMPLETE, "_meta": meta})

    def cancellation(self, reason: str | None = None) -> Notification:
        """The ``notifications/cancelled`` a server sends when it tears the stream down (stdio).

        cancellation: "A server MUST send ``notifications/cancelled``
        referencing a ``subscriptions/listen`` request ID when it tears down
        that subscription stream ... Servers MUST NOT send
        ``notifications/cancelled`` for any other purpose."
        """
        params: dict[str, Any] = {"requestId": self.request_id}
        if reason is not None:
            params["reason"] = reason
        return Notification("notifications/cancelled", params)


# -- dispatch ----------------------------------------------------------------------


@attrs.frozen(slots=True)
class CoreAnswer:
    """The core answered the request itself (``server/discover``): send ``response``."""

    response: Response


@attrs.frozen(slots=True)
class CancelRequested:
    """The client cancelled request ``request_id`` (``notifications/cancelled``, stdio).

    "Servers receiving cancellation notifications SHOULD: Stop processing the
    cancelled request ... Not send a response for the cancelled request"; an
    unknown or finished id is ignored.
    """

    request_id: RequestId
    reason: str | None = None


@attrs.frozen(slots=True)
class StatelessRequest:
    """A valid request for the application to handle.

    ``params`` is the request's params (``_meta`` included), ``meta`` the
    parsed envelope. On ``tools/call``, ``prompts/get`` and
    ``resources/read``, ``input_responses`` and ``request_state`` hold what a
    multi round-trip retry carried (``None`` when absent).
    """

    request_id: RequestId
    method: str
    params: dict[str, Any]
    meta: RequestMeta
    input_responses: InputResponses | None = None
    request_state: str | None = None

    @property
    def is_retry(self) -> bool:
        """Whether this request carries ``inputResponses`` or ``requestState``."""
        return self.input_responses is not None or self.request_state is not None

    @property
    def target(self) -> str | None:
        """The tool or prompt name, or resource URI, the request is about (``Mcp-Name``)."""
        key = _NAMED_METHODS.get(self.method)
        if key is None:
            return None
        value = self.params.get(key)
        return value if type(value) is str else None

    def binding(
        self, *, principal: str | None = None, bind_arguments: bool = True
    ) -> RequestBinding:
        """The :class:`RequestBinding` that seals this request's ``requestState``."""
        return RequestBinding.for_request(
            self.method, self.params, principal=principal, bind_arguments=bind_arguments
        )


def _check_server_info(value: object) -> dict[str, Any]:
    if (
        type(value) is not dict
        or type(value.get("name")) is not str
        or type(value.get("version")) is not str
    ):
        raise LocalProtocolError("server_info must be a dict with string name and version")
    return value


_STATELESS_REQUEST_SETTERS: Final = _slot_setters(
    StatelessRequest,
    "request_id",
    "method",
    "params",
    "meta",
    "input_responses",
    "request_state",
)


@attrs.frozen(slots=True)
class StatelessServerConfig:
    """What the stateless dispatcher needs to know about the server.

    ``server_info`` is the ``Implementation`` object (``name``, ``version``
    ...), ``capabilities`` the ``ServerCapabilities`` object: it decides
    which methods exist (``tools/*`` need ``tools`` and so on) and which
    subscriptions are honoured. ``supported_versions`` are the revisions
    served per request (listed by ``server/discover`` and in -32022 errors;
    handshake revisions are negotiated by ``initialize``, not here).
    ``discover_cache`` are the hints of ``server/discover`` and
    ``default_cache`` those of other cacheable results when the application
    gives none (``ttlMs: 0``, ``private``: never wrong, never shared).
    ``extension_methods`` are further methods passed to the application (for
    extensions it declares). ``include_server_info`` puts
    ``io.modelcontextprotocol/serverInfo`` in every result's ``_meta``.
    """

    server_info: dict[str, Any] = attrs.field(converter=_check_server_info)
    capabilities: dict[str, Any] = attrs.field(factory=dict)
    instructions: str | None = None
    supported_versions: tuple[str, ...] = attrs.field(default=STATELESS_VERSIONS, converter=tuple)
    discover_cache: CacheHint = CacheHint(ttl_ms=300_000, scope="public")
    default_cache: CacheHint = CacheHint(ttl_ms=0, scope="private")
    extension_methods: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    include_server_info: bool = True
    max_input_responses: int = MAX_INPUT_RESPONSES
    max_resource_subscriptions: int = MAX_RESOURCE_SUBSCRIPTIONS

    def __attrs_post_init__(self) -> None:
        if type(self.capabilities) is not dict:
            raise LocalProtocolError("capabilities must be a dict")
        for name in _SERVER_CAPABILITY_OBJECTS:
            if name in self.capabilities and type(self.capabilities[name]) is not dict:
                raise LocalProtocolError(f"server capability {name!r} must be a dict")
        if self.instructions is not None and type(self.instructions) is not str:
            raise LocalProtocolError("instructions must be a string or None")
        if not self.supported_versions or any(
            v not in STATELESS_VERSIONS for v in self.supported_versions
        ):
            raise LocalProtocolError(
                f"supported_versions must be non-empty and within {STATELESS_VERSIONS}"
            )
        clash = self.extension_methods & set(STATELESS_METHODS)
        if clash:
            raise LocalProtocolError(f"extension methods clash with core methods: {sorted(clash)}")


def _method_available(method: str, capabilities: Mapping[str, Any]) -> bool:
    if method == "subscriptions/listen":
        # Nothing can be delivered on a listen stream unless the server
        # declares a list-changed or subscribe capability.
        return any(
            type(capabilities.get(kind)) is dict and capabilities[kind].get(feature) is True
            for kind, feature in (
                ("tools", "listChanged"),
                ("prompts", "listChanged"),
                ("resources", "listChanged"),
                ("resources", "subscribe"),
            )
        )
    gate = STATELESS_METHODS[method]
    return gate is None or gate in capabilities


class StatelessDispatcher:
    """Decides what each 2026-07-28 request gets; no session, no state between calls.

    :meth:`handle_request` turns a decoded :class:`Request` into a
    :class:`CoreAnswer`, a :class:`Subscription` or a
    :class:`StatelessRequest` for the application, or raises
    :class:`RemoteProtocolError` naming the request. The application answers
    through :meth:`complete` or :meth:`input_required`, and emits request-
    scoped notifications with :meth:`log` and :meth:`progress`. With a
    ``sealer``, :meth:`seal_state` / :meth:`open_state` protect
    ``requestState``.
    """

    __slots__ = ("_available", "_config", "_sealer", "_server_info")

    def __init__(
        self, config: StatelessServerConfig, *, sealer: RequestStateSealer | None = None
    ) -> None:
        if not isinstance(config, StatelessServerConfig):
            raise LocalProtocolError("config must be a StatelessServerConfig")
        self._config = config
        self._sealer = sealer
        self._server_info = config.server_info if config.include_server_info else None
        available = {m for m in STATELESS_METHODS if _method_available(m, config.capabilities)}
        self._available = frozenset(available | config.extension_methods)

    @property
    def config(self) -> StatelessServerConfig:
        """The server configuration."""
        return self._config

    def method_exists(self, method: str) -> bool:
        """Whether this server serves ``method`` on the stateless wire."""
        return method in self._available

    # -- requests ------------------------------------------------------------

    def handle_request(
        self, request: Request, *, meta: RequestMeta | None = None
    ) -> CoreAnswer | Subscription | StatelessRequest:
        """Decide what ``request`` gets.

        ``meta`` is the envelope if the caller already parsed it (to compare
        it with HTTP headers first). Checks, in order: envelope (-32602),
        version (-32022), method (-32601, HTTP 404), then the params the core
        reads (-32602). Every error names ``request.id``.
        """
        if type(request) is not Request:
            raise LocalProtocolError(f"handle_request takes a Request, not {request!r}")
        try:
            return self._handle(request, meta)
        except RemoteProtocolError as exc:
            if exc.request_id is None:
                raise exc.with_request_id(request.id) from None
            raise

    def _handle(
        self, request: Request, meta: RequestMeta | None
    ) -> CoreAnswer | Subscription | StatelessRequest:
        if meta is None:
            meta = _parse_request_meta(request.params)
        config = self._config
        check_protocol_version(meta.protocol_version, config.supported_versions)
        method = request.method
        if method not in self._available:
            raise self._method_not_found(method)
        params: dict[str, Any] = request.params or {}
        if method == "server/discover":
            return CoreAnswer(Response(request.id, self.discover_result()))
        if method == "subscriptions/listen":
            requested = SubscriptionFilter.from_json(
                params.get("notifications"),
                max_resource_subscriptions=config.max_resource_subscriptions,
            )
            return Subscription(
                request_id=request.id,
                meta=meta,
                requested=requested,
                granted=requested.granted_by(config.capabilities),
                server_info=self._server_info,
            )
        name_key = _NAMED_METHODS.get(method)
        if name_key is not None:
            target = params.get(name_key)
            if type(target) is not str or not target:
                raise _invalid_params(f"{method} needs a string {name_key!r}")
            arguments = params.get("arguments")
            if arguments is not None and type(arguments) is not dict:
                raise _invalid_params("arguments must be an object")
        elif method in _PAGINATED_METHODS:
            cursor = params.get("cursor")
            if cursor is not None and type(cursor) is not str:
                raise _invalid_params("cursor must be a string")
        input_responses: InputResponses | None = None
        request_state: str | None = None
        if method in INPUT_REQUIRED_METHODS:
            input_responses = parse_input_responses(
                params.get("inputResponses"),
                request_id=request.id,
                max_entries=config.max_input_responses,
            )
            request_state = parse_request_state(params.get("requestState"))
        # Every field is checked above: fill the frozen instance through its slots.
        handled: StatelessRequest = object.__new__(StatelessRequest)
        for setter, value in zip(
            _STATELESS_REQUEST_SETTERS,
            (request.id, method, params, meta, input_responses, request_state),
            strict=True,
        ):
            setter(handled, value)
        return handled

    def _method_not_found(self, method: str) -> RemoteProtocolError:
        supported = list(self._config.supported_versions)
        if method in _REMOVED_METHODS:
            # versioning: a modern server "SHOULD name the protocol versions it
            # supports in any error it returns to an ``initialize`` request".
            return RemoteProtocolError(
                f"Method not found: {method} does not exist in protocol versions "
                f"{', '.join(supported)}",
                code=ErrorCode.METHOD_NOT_FOUND,
                http_status=404,
                data={"method": method, "supported": supported},
            )
        if method in STATELESS_METHODS:
            return RemoteProtocolError(
                f"Method not found: {method} (not offered by this server)",
                code=ErrorCode.METHOD_NOT_FOUND,
                http_status=404,
            )
        return RemoteProtocolError(
            f"Method not found: {method}",
            code=ErrorCode.METHOD_NOT_FOUND,
            http_status=404,
        )

    def handle_notification(self, notification: Notification) -> CancelRequested | None:
        """What a client notification means: a cancellation, or nothing.

        2026-07-28 defines one client notification, ``notifications/cancelled``
        ("used only on the stdio transport"; on HTTP closing the stream
        cancels). "Invalid cancellation notifications SHOULD be ignored", and
        so is any other notification: ``None``.
        """
        if type(notification) is not Notification:
            raise LocalProtocolError(
                f"handle_notification takes a Notification, not {notification!r}"
            )
        if notification.method != "notifications/cancelled":
            return None
        params = notification.params or {}
        request_id = params.get("requestId")
        if type(request_id) is not str and type(request_id) is not int:
            return None
        reason = params.get("reason")
        return CancelRequested(request_id, reason if type(reason) is str else None)

    # -- results --------------------------------------------------------------

    def discover_result(self) -> dict[str, Any]:
        """The ``DiscoverResult`` of this server.

        discover: "supportedVersions", "capabilities",
        ``_meta['io.modelcontextprotocol/serverInfo']`` ("Servers SHOULD
        include this field"), "instructions"; and, being cacheable, caching
        hints.
        """
        config = self._config
        result: dict[str, Any] = {
            "resultType": RESULT_TYPE_COMPLETE,
            "supportedVersions": list(config.supported_versions),
            "capabilities": copy.deepcopy(config.capabilities),
        }
        if config.instructions is not None:
            result["instructions"] = config.instructions
        if self._server_info is not None:
            result["_meta"] = {META_SERVER_INFO: dict(self._server_info)}
        result.update(config.discover_cache.to_json())
        return result

    def complete(
        self,
        request: StatelessRequest,
        result: Mapping[str, Any],
        *,
        cache: CacheHint | None = None,
    ) -> Response:
        """The final response to ``request`` with the application's ``result``.

        On a cacheable method the hints are ``cache``, else those the result
        carries, else the configured default; on a multi round-trip retry
        they are always ``ttlMs: 0``, ``private`` (caching: results of
        requests "carrying ``inputResponses`` or ``requestState`` MUST NOT be
        cached"). Hints on other methods are a :class:`LocalProtocolError`.
        """
        hint: CacheHint | None = None
        if request.method in CACHEABLE_METHODS:
            if request.is_retry:
                hint = _NO_STORE
            else:
                hint = cache or CacheHint.of(result) or self._config.default_cache
        elif cache is not None:
            raise LocalProtocolError(f"{request.method} results carry no caching hints")
        # complete_result builds a new dict: the response needs no further checks.
        return _response(
            request.request_id,
            complete_result(result, server_info=self._server_info, cache=hint),
        )

    def input_required(
        self,
        request: StatelessRequest,
        input_requests: Mapping[str, InputRequest] | None = None,
        *,
        request_state: str | None = None,
    ) -> Response:
        """An input-required response to ``request`` (see :func:`input_required_result`).

        Only ``tools/call``, ``prompts/get`` and ``resources/read`` may get
        one (:class:`LocalProtocolError` otherwise). Questions the client
        cannot answer raise -32021 naming the request.
        """
        if request.method not in INPUT_REQUIRED_METHODS:
            raise LocalProtocolError(
                f"{request.method} cannot answer with an input-required result"
            )
        try:
            result = input_required_result(
                input_requests,
                request_state,
                client_capabilities=request.meta.client_capabilities,
                server_info=self._server_info,
            )
        except RemoteProtocolError as exc:
            raise exc.with_request_id(request.request_id) from None
        return Response(request.request_id, result)

    def _require_sealer(self) -> RequestStateSealer:
        if self._sealer is None:
            raise LocalProtocolError("this dispatcher has no requestState sealer")
        return self._sealer

    def seal_state(
        self,
        request: StatelessRequest,
        state: Any,
        *,
        now: float,
        ttl: float,
        principal: str | None = None,
        bind_arguments: bool = True,
    ) -> str:
        """Seal ``state`` for the retry of ``request`` (expires ``ttl`` seconds after ``now``)."""
        binding = request.binding(principal=principal, bind_arguments=bind_arguments)
        return self._require_sealer().seal(state, binding=binding, now=now, ttl=ttl)

    def open_state(
        self,
        request: StatelessRequest,
        *,
        now: float,
        principal: str | None = None,
        bind_arguments: bool = True,
    ) -> Any:
        """The state sealed in ``request``'s ``requestState``.

        A retry without ``requestState`` is a :class:`LocalProtocolError`
        (check :attr:`StatelessRequest.request_state` first); a state that
        does not verify raises -32602 naming the request.
        """
        if request.request_state is None:
            raise LocalProtocolError("the request carries no requestState")
        sealer = self._require_sealer()
        try:
            binding = request.binding(principal=principal, bind_arguments=bind_arguments)
            return sealer.open(request.request_state, binding=binding, now=now)
        except RemoteProtocolError as exc:
            raise exc.with_request_id(request.request_id) from None

    # -- request-scoped notifications ------------------------------------------

    def log(
        self, request: StatelessRequest, level: str, data: Any, *, logger: str | None = None
    ) -> Notification | None:
        """A log message for ``request``, or ``None`` when it must not be sent.

        ``None`` unless the request asked for ``level`` or lower, and unless
        the server declares ``logging`` (logging: "Servers that emit log
        message notifications MUST declare the ``logging`` capability").
        """
        if "logging" not in self._config.capabilities:
            return None
        return log_message(request.meta, level, data, logger=logger)

    def progress(
        self,
        request: StatelessRequest,
        progress: float,
        *,
        total: float | None = None,
        message: str | None = None,
    ) -> Notification | None:
        """A progress notification for ``request``, or ``None`` if it asked for none."""
        return progress_notification(request.meta, progress, total=total, message=message)
