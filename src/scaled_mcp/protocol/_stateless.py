"""The stateless era (2026-07-28): no handshake, no session, every request stands alone.

basic/index, Statelessness: "all the information needed to process a request
is contained in the request itself ... Servers MUST NOT rely on prior requests
over the same connection to establish context (e.g., capabilities, protocol
version, client identity). Every request supplies this metadata in its
``_meta`` field."

This module owns dispatch: :class:`StatelessDispatcher` decides, request by
request, whether the core answers (``server/discover``), the request is
refused (unknown, removed or undeclared method), a ``subscriptions/listen``
stream opens (:class:`Subscription`), or the application handles it
(:class:`StatelessRequest`); it builds the application's final and
input-required responses and its request-scoped notifications. The envelope
(:mod:`._meta`), results (:mod:`._results`), multi round-trip requests
(:mod:`._input_required`) and listen streams (:mod:`._subscriptions`) have
their own modules.

An unknown method is -32601 / 404 (streamable-http: "If the server does not
implement the requested RPC method, it MUST respond with ``404 Not Found``
and a JSON-RPC error with code ``-32601``").
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._input_required import (
    INPUT_REQUIRED_METHODS,
    MAX_INPUT_RESPONSES,
    InputRequest,
    InputResponses,
    input_required_result,
    parse_input_responses,
    parse_request_state,
)
from ._jsonrpc import Notification, Request, RequestId, Response, _response
from ._meta import (
    META_SERVER_INFO,
    RequestMeta,
    _parse_request_meta,
    check_protocol_version,
    log_message,
    progress_notification,
)
from ._params import _invalid_params, check_tool_call_params
from ._request_state import RequestBinding, RequestStateSealer
from ._results import _NO_STORE, CACHEABLE_METHODS, RESULT_TYPE_COMPLETE, CacheHint, complete_result
from ._subscriptions import MAX_RESOURCE_SUBSCRIPTIONS, Subscription, SubscriptionFilter
from ._tasks import RESULT_TYPE_TASK, declares_tasks, require_tasks_extension
from ._trusted import trusted_constructor
from ._versions import STATELESS_VERSIONS

__all__ = [
    "STATELESS_METHODS",
    "CancelRequested",
    "CoreAnswer",
    "StatelessDispatcher",
    "StatelessRequest",
    "StatelessServerConfig",
]

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

_PAGINATED_METHODS: Final = frozenset(
    {"tools/list", "prompts/list", "resources/list", "resources/templates/list"}
)
_NAMED_METHODS: Final[Mapping[str, str]] = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
}
_REMOVED_METHODS: Final = frozenset(
    {
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
    }
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


# The dispatcher checks every field before it builds one (the hot path).
_stateless_request: Callable[
    [RequestId, str, dict[str, Any], RequestMeta, InputResponses | None, str | None],
    StatelessRequest,
] = trusted_constructor(StatelessRequest)


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
    discover_cache: CacheHint = CacheHint(ttl_ms=300_000, scope="public")  # noqa: RUF009
    default_cache: CacheHint = CacheHint(ttl_ms=0, scope="private")  # noqa: RUF009
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
        ) or declares_tasks(capabilities)
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
            if requested.task_ids:
                # tasks: "If a client requests task status notifications but does
                # not declare the io.modelcontextprotocol/tasks extension
                # capability, the server MUST return" -32021.
                require_tasks_extension(meta.client_capabilities)
            return Subscription(
                request_id=request.id,
                meta=meta,
                requested=requested,
                granted=requested.granted_by(config.capabilities),
                server_info=self._server_info,
            )
        name_key = _NAMED_METHODS.get(method)
        if name_key is not None:
            target: object
            if method == "tools/call":
                target = check_tool_call_params(params, request.id)
            else:
                target = params.get(name_key)
                if type(target) is not str:
                    raise _invalid_params(f"{method} needs a string {name_key!r}")
                arguments = params.get("arguments")
                if arguments is not None and type(arguments) is not dict:
                    raise _invalid_params("arguments must be an object")
            if not target:
                raise _invalid_params(f"{method} needs a string {name_key!r}")
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
        return _stateless_request(request.id, method, params, meta, input_responses, request_state)

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
        if result.get("resultType") == RESULT_TYPE_TASK:
            return self._task_created(request, result)
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

    def _task_created(self, request: StatelessRequest, result: Mapping[str, Any]) -> Response:
        # tasks: "A server MUST NOT return CreateTaskResult to a client that did
        # not include the extension capability on its request"; "Supported
        # Methods: tools/call".
        if request.method != "tools/call":
            raise LocalProtocolError(f"{request.method} cannot answer with a task")
        if not declares_tasks(request.meta.client_capabilities):
            raise LocalProtocolError("the request did not declare the tasks extension")
        out = dict(result)
        if self._server_info is not None:
            meta = dict(out.get("_meta") or {})
            meta.setdefault(META_SERVER_INFO, dict(self._server_info))
            out["_meta"] = meta
        return _response(request.request_id, out)

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

    @property
    def sealer(self) -> RequestStateSealer | None:
        """The sealer of ``requestState`` (``None``: this dispatcher seals none)."""
        return self._sealer

    def use_sealer(self, sealer: RequestStateSealer) -> None:
        """Seal and open ``requestState`` with ``sealer`` from now on (keys rotate so)."""
        if not isinstance(sealer, RequestStateSealer):
            raise LocalProtocolError("sealer must be a RequestStateSealer")
        self._sealer = sealer

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
