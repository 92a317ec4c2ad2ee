"""The settings of a node (:class:`RuntimeConfig`), each with its default."""

from __future__ import annotations

import secrets
from typing import Any

import attrs

from ..cluster import DEFAULT_STATE_KEY_REFRESH
from ..protocol.http import HttpConfig
from ..protocol.session import DEFAULT_MAX_SESSION_DOCUMENT, ServerConfig
from ..protocol.stateless import RequestStateSealer, StatelessDispatcher, StatelessServerConfig
from ._application import Application
from ._auth import Authorization
from ._rate_limit import RateLimit
from ._session_state import DEFAULT_SESSION_STATE_ATTEMPTS
from ._websocket_config import WebSocketConfig

__all__ = ["RuntimeConfig", "protocol_configs"]


def _new_node_id() -> str:
    return "n" + secrets.token_hex(4)


@attrs.frozen(slots=True, kw_only=True)
class RuntimeConfig:
    """Settings of a node, each with its default.

    * ``node_id`` -- names this node in server-to-client request ids (unique
      per node; default: random);
    * ``http`` -- the HTTP transport rules (endpoint paths, allowed hosts and
      origins, body limit, response mode …);
    * ``session_idle_timeout`` -- seconds after which an unused session expires;
    * ``max_sessions`` -- sessions this node keeps live at once (per node: each
      node counts the sessions it serves); at the cap a new ``initialize`` ends
      the session of this node unused longest, if for ``evict_idle_after``
      seconds with no work or stream open here, else it is answered 503;
    * ``heartbeat_interval`` -- seconds between SSE comment lines on idle streams;
    * ``ask_timeout`` -- seconds a server-to-client request waits for its answer;
    * ``shutdown_grace`` -- seconds in-flight handlers get to finish on shutdown;
    * ``request_state_keys`` -- ``{key_id: secret}`` sealing ``requestState``
      (the first is used to seal; share them between nodes); if empty, the node
      uses the key set its backend keeps for every node on it (minted by the
      first, rotated by ``scaled-mcp cluster rotate-state-key``), re-read every
      ``state_key_refresh`` seconds;
    * ``request_state_ttl`` -- seconds a sealed ``requestState`` stays valid;
    * ``sse_retry_ms`` -- the ``retry`` field of priming events;
    * ``node_heartbeat_ttl`` -- seconds after its last heartbeat (sent every third of
      it) a node counts as dead, and its unfinished streams are answered with errors;
    * ``max_session_state`` -- bytes of JSON an application's session state
      (``ctx.session_state``) may take;
    * ``session_state_attempts`` -- tries of ``ctx.session_state.update`` against
      concurrent writers before it gives up;
    * ``auth`` -- an :class:`~scaled_mcp.runtime.Authorization`: the HTTP endpoints
      then need a valid bearer token, publish their protected resource metadata,
      and bind each session to the principal that created it (``None``: no
      authorization);
    * ``rate_limit`` -- a :class:`~scaled_mcp.runtime.RateLimit`: requests a second
      each principal (without authorization: all callers together) may make to
      this node; past it 429 with ``Retry-After`` (``None``: no limit);
    * ``metrics`` -- keep the node's figures and serve them at the HTTP config's
      ``metrics_path`` (off by default: the hot path then counts nothing);
      ``metrics_dir`` -- a directory the workers of one machine share their
      figures through (each serves them all);
    * ``readiness_interval`` / ``readiness_timeout`` -- how often the broker is
      asked whether it answers, and how long it may take (``/readyz``);
    * ``handler_timeout`` -- seconds a handler may run before it is cancelled and its
      caller gets a ``REQUEST_TIMEOUT`` error (``None``: no limit, the default); an
      application's ``handler_timeout(method, params)`` may name its own per request;
    * ``tracing`` -- an OpenTelemetry span per request (the ``otel`` extra), from
      ``tracer_provider`` (default: the global one); off, nothing is traced or wrapped;
    * ``task_ttl`` -- seconds a task of the tasks extension is kept after its
      creation (its ``ttlMs``); ``task_poll_interval`` -- the ``pollIntervalMs``
      suggested to clients, in seconds; ``max_running_tasks`` -- tasks this node
      runs at once (a call that would start one more is refused with -32603);
    * ``websocket`` -- MCP over WebSocket on the MCP endpoint (a
      :class:`~scaled_mcp.runtime.WebSocketConfig`; on by default).
    """

    node_id: str = attrs.field(factory=_new_node_id)
    http: HttpConfig = attrs.field(factory=HttpConfig)
    session_idle_timeout: float = 30 * 60.0
    max_sessions: int = 100_000
    evict_idle_after: float = 60.0
    heartbeat_interval: float = 15.0
    ask_timeout: float = 300.0
    shutdown_grace: float = 10.0
    request_state_keys: dict[str, bytes] = attrs.field(factory=dict)
    request_state_ttl: float = 600.0
    state_key_refresh: float = DEFAULT_STATE_KEY_REFRESH
    sse_retry_ms: int = 1000
    node_heartbeat_ttl: float = 6.0
    max_session_state: int = DEFAULT_MAX_SESSION_DOCUMENT
    session_state_attempts: int = DEFAULT_SESSION_STATE_ATTEMPTS
    auth: Authorization | None = None
    rate_limit: RateLimit | None = None
    metrics: bool = False
    metrics_dir: str | None = None
    readiness_interval: float = 1.0
    readiness_timeout: float = 2.0
    handler_timeout: float | None = None
    tracing: bool = False
    tracer_provider: Any = None
    task_ttl: float = 3600.0
    task_poll_interval: float = 0.5
    max_running_tasks: int = 10_000
    websocket: WebSocketConfig = attrs.field(factory=WebSocketConfig)


def protocol_configs(
    app: Application[Any], config: RuntimeConfig
) -> tuple[ServerConfig, StatelessDispatcher]:
    """What a node says of itself to the core: its handshake sessions' config, and
    the dispatcher of the 2026-07-28 wire (sealing ``requestState`` with the
    configured keys, or a random one until the node has read its cluster's)."""
    capabilities = app.capabilities
    # The request methods of extensions the application declares (e.g. an
    # application serving the skills extension's ``skills/list``): handed to
    # it as they are. An application without the attribute has none.
    extension_methods = frozenset(getattr(app, "extension_methods", ()))
    # Handshake sessions may declare and serve other extensions' shapes (the
    # 2025-11-25 revision's experimental tasks): an application says so.
    server_config = ServerConfig(
        server_info=app.server_info,
        capabilities=getattr(app, "handshake_capabilities", capabilities),
        instructions=app.instructions,
        extension_methods=frozenset(getattr(app, "handshake_extension_methods", extension_methods)),
    )
    keys = config.request_state_keys or {"k0": secrets.token_bytes(32)}
    dispatcher = StatelessDispatcher(
        StatelessServerConfig(
            server_info=app.server_info,
            capabilities=capabilities,
            instructions=app.instructions,
            extension_methods=extension_methods,
        ),
        sealer=RequestStateSealer(list(keys.items())),
    )
    return server_config, dispatcher
