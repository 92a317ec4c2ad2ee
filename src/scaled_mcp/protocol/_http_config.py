"""The settings of the HTTP transport rules, and what a config remembers.

:class:`HttpConfig` holds every setting with its default and checks them once;
it answers the DNS rebinding checks of ``Host`` and ``Origin`` values, and owns
the caches of results that are pure functions of it (heads that passed the
checks, Host verdicts), each bounded.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Final

import attrs

from ._bounded_cache import _BoundedCache
from ._errors import LocalProtocolError
from ._http_probes import ProbeKind
from ._http_request import Headers, _HeaderView
from ._versions import HANDSHAKE_VERSIONS, STATELESS_VERSIONS, SUPPORTED_VERSIONS

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_ALLOWED_ORIGINS",
    "DEFAULT_MAX_BODY_SIZE",
    "HttpConfig",
    "ResponseMode",
]

#: Hosts a local server answers by default (any port): DNS rebinding protection.
DEFAULT_ALLOWED_HOSTS: Final[tuple[str, ...]] = ("localhost", "127.0.0.1", "[::1]")
#: Browser origins a local server accepts by default (any port).
DEFAULT_ALLOWED_ORIGINS: Final[tuple[str, ...]] = tuple(
    f"{scheme}://{host}" for scheme in ("http", "https") for host in DEFAULT_ALLOWED_HOSTS
)
#: Default limit on a request body: 4 MiB.
DEFAULT_MAX_BODY_SIZE: Final = 4 * 1024 * 1024

#: How many distinct Host values :meth:`HttpConfig.host_allowed` remembers.
_MAX_REMEMBERED_HOSTS: Final = 1024
#: How many request heads that passed the checks a config remembers.
_MAX_CHECKED_HEADS: Final = 1024

_PORT = re.compile(r"[0-9]{1,5}")


class _Route(enum.Enum):
    """Which of the config's endpoints a request addresses."""

    MCP = "mcp"
    LEGACY_SSE = "legacy-sse"
    LEGACY_MESSAGES = "legacy-messages"


def _new_host_verdicts() -> _BoundedCache[str, bool]:
    return _BoundedCache(_MAX_REMEMBERED_HOSTS, clear_when_full=False)


def _new_checked_heads() -> _BoundedCache[tuple[str, str, Headers], tuple[_HeaderView, _Route]]:
    return _BoundedCache(_MAX_CHECKED_HEADS, clear_when_full=True)


class ResponseMode(enum.Enum):
    """How the HTTP response to a POST carries the server's answer."""

    #: ``200`` with ``Content-Type: application/json``: one JSON object (an array
    #: answering a batch).
    JSON = "json"
    #: ``200`` with ``Content-Type: text/event-stream``: an SSE stream that ends
    #: after the last response.
    SSE = "sse"
    #: ``202 Accepted`` with no body: the POST held no requests ("If the input is
    #: a JSON-RPC response or notification ... the server MUST return HTTP status
    #: code 202 Accepted with no body").
    ACCEPTED = "accepted"
    #: ``202 Accepted`` now; the answers go out on the session's 2024-11-05
    #: ``GET /sse`` stream.
    LEGACY_STREAM = "legacy-stream"


def _split_authority(value: str) -> tuple[str, str | None] | None:
    """``host[:port]`` (``[v6]`` literals included) to ``(host, port)``, or ``None``."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[: end + 1], value[end + 1 :]
        if not rest:
            return host.lower(), None
        if rest[0] != ":":
            return None
        port = rest[1:]
    else:
        host, colon, port = value.partition(":")
        if not colon:
            return (value.lower(), None) if value else None
    if not host or not _PORT.fullmatch(port):
        return None
    return host.lower(), port


def _split_origin(value: str) -> tuple[str, str, str | None] | None:
    scheme, sep, authority = value.partition("://")
    if not sep or not scheme:
        return None
    parts = _split_authority(authority)
    if parts is None:
        return None
    return scheme.lower(), parts[0], parts[1]


def _to_tuple(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _versions_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _check_path(name: str, value: str) -> None:
    if not value.startswith("/"):
        raise LocalProtocolError(f"{name} must start with '/', not {value!r}")


@attrs.frozen(slots=True)
class HttpConfig:
    """Every setting of the HTTP transport rules, each with a documented default.

    Paths:
      ``endpoint_path`` -- the MCP endpoint (``"/mcp"``), both eras.
      ``legacy_sse_path`` / ``legacy_messages_path`` -- the 2024-11-05 HTTP+SSE
      transport (``"/sse"``, ``"/messages"``); ``legacy_sse_path=None`` turns
      that transport off (both paths then answer 404), as does serving no
      handshake-era version.

    DNS rebinding protection ("Servers MUST validate the Origin header on all
    incoming connections to prevent DNS rebinding attacks"):
      ``allowed_hosts`` -- accepted ``Host`` values: ``"name"`` (any port) or
      ``"name:port"``; default localhost, 127.0.0.1 and [::1] on any port.
      ``None`` turns the check off (a server behind a proxy that checks it).
      A request that is not allowed gets 421 Misdirected Request.
      ``allowed_origins`` -- accepted ``Origin`` values: ``"scheme://name"``
      (any port) or ``"scheme://name:port"``, or the literal ``"null"``;
      default http/https on the same local hosts. ``None`` turns the check
      off. A request without ``Origin`` (not sent by a browser) is accepted;
      one with an origin not allowed gets 403 Forbidden.

    Limits:
      ``max_body_size`` -- bytes of a POST body (4 MiB); larger gets 413.
      ``max_batch_size`` -- messages in a 2025-03-26 batch (256); more gets 413.
      ``max_session_id_length`` -- characters of an ``Mcp-Session-Id`` (256);
      longer ones cannot be ours and get 400.
      ``max_event_id_length`` -- characters of a ``Last-Event-ID`` (256).

    Behaviour:
      ``response_mode`` -- :attr:`ResponseMode.JSON` (default) or
      :attr:`ResponseMode.SSE`: how a POST holding requests is answered
      (``subscriptions/listen`` is always a stream).
      ``supported_versions`` -- the protocol revisions served (all by
      default); a header naming another one gets 400 with
      ``UnsupportedProtocolVersionError`` (listing :attr:`retry_versions`).
      ``enable_get_stream`` -- offer the handshake-era GET stream (otherwise
      GET gets 405, as the spec allows).
      ``allow_session_delete`` -- let clients end sessions with DELETE
      (otherwise 405, as the spec allows).
      ``cors`` -- serve browser clients on other origins: answer CORS
      preflights (``OPTIONS``) from origins that pass the Origin check, and
      let :func:`cors_headers` name the headers every response then carries
      (off by default: ``OPTIONS`` gets 405).
      ``cors_max_age`` -- seconds a browser may cache a preflight (600).

    The operator's endpoints (plain text, ``GET`` only, any ``Host``; ``None``
    turns one off):
      ``health_path`` -- liveness (``"/healthz"``); ``ready_path`` -- readiness
      (``"/readyz"``); ``metrics_path`` -- the Prometheus figures (``"/metrics"``,
      served when the runtime keeps them, 404 otherwise).

    A setting that makes no sense raises :class:`LocalProtocolError`.
    """

    endpoint_path: str = "/mcp"
    legacy_sse_path: str | None = "/sse"
    legacy_messages_path: str = "/messages"
    allowed_hosts: tuple[str, ...] | None = attrs.field(
        default=DEFAULT_ALLOWED_HOSTS, converter=_to_tuple
    )
    allowed_origins: tuple[str, ...] | None = attrs.field(
        default=DEFAULT_ALLOWED_ORIGINS, converter=_to_tuple
    )
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    max_batch_size: int = 256
    max_session_id_length: int = 256
    max_event_id_length: int = 256
    response_mode: ResponseMode = ResponseMode.JSON
    supported_versions: tuple[str, ...] = attrs.field(
        default=SUPPORTED_VERSIONS, converter=_versions_tuple
    )
    enable_get_stream: bool = True
    allow_session_delete: bool = True
    cors: bool = False
    cors_max_age: int = 600
    health_path: str | None = "/healthz"
    ready_path: str | None = "/readyz"
    metrics_path: str | None = "/metrics"
    #: The operator's paths -> which endpoint each is.
    _probes: dict[str, ProbeKind] = attrs.field(init=False, factory=dict, repr=False, eq=False)
    _hosts: frozenset[tuple[str, str | None]] | None = attrs.field(
        init=False, default=None, repr=False, eq=False
    )
    _origins: frozenset[tuple[str, str, str | None]] | None = attrs.field(
        init=False, default=None, repr=False, eq=False
    )
    _mcp_allow: str = attrs.field(init=False, default="", repr=False, eq=False)
    #: ``Host`` values seen -> whether :meth:`host_allowed` lets them pass.
    _host_verdicts: _BoundedCache[str, bool] = attrs.field(
        init=False, factory=_new_host_verdicts, repr=False, eq=False
    )
    _mcp_methods: frozenset[str] = attrs.field(
        init=False, default=frozenset(), repr=False, eq=False
    )
    #: Heads that passed the checks of the request head: ``(method, path, headers)``
    #: -> the header view and the route. The checks are a pure function of these
    #: and of the config, and a client sends the same head request after request.
    _checked_heads: _BoundedCache[tuple[str, str, Headers], tuple[_HeaderView, _Route]] = (
        attrs.field(init=False, factory=_new_checked_heads, repr=False, eq=False)
    )

    def __attrs_post_init__(self) -> None:
        _check_path("endpoint_path", self.endpoint_path)
        _check_path("legacy_messages_path", self.legacy_messages_path)
        if self.legacy_sse_path is not None:
            _check_path("legacy_sse_path", self.legacy_sse_path)
            paths = {self.endpoint_path, self.legacy_sse_path, self.legacy_messages_path}
            if len(paths) != 3:
                raise LocalProtocolError("the MCP endpoint and the legacy paths must differ")
        for name in ("max_body_size", "max_batch_size", "max_session_id_length"):
            if getattr(self, name) < 1:
                raise LocalProtocolError(f"{name} must be positive")
        self._set_probes()
        if self.max_event_id_length < 1:
            raise LocalProtocolError("max_event_id_length must be positive")
        if self.cors_max_age < 0:
            raise LocalProtocolError("cors_max_age cannot be negative")
        if self.response_mode not in (ResponseMode.JSON, ResponseMode.SSE):
            raise LocalProtocolError("response_mode must be ResponseMode.JSON or ResponseMode.SSE")
        if not self.supported_versions or not set(self.supported_versions) <= set(
            SUPPORTED_VERSIONS
        ):
            raise LocalProtocolError(
                f"supported_versions must be a non-empty subset of {SUPPORTED_VERSIONS}"
            )
        if self.allowed_hosts is not None:
            hosts: set[tuple[str, str | None]] = set()
            for entry in self.allowed_hosts:
                parts = _split_authority(entry)
                if parts is None:
                    raise LocalProtocolError(f"not a host[:port]: {entry!r}")
                hosts.add(parts)
            object.__setattr__(self, "_hosts", frozenset(hosts))
        if self.allowed_origins is not None:
            origins: set[tuple[str, str, str | None]] = set()
            for entry in self.allowed_origins:
                if entry == "null":
                    continue
                origin = _split_origin(entry)
                if origin is None:
                    raise LocalProtocolError(f"not a scheme://host[:port] origin: {entry!r}")
                origins.add(origin)
            object.__setattr__(self, "_origins", frozenset(origins))
        methods: list[str] = []
        if self.handshake_enabled and self.enable_get_stream:
            methods.append("GET")
        methods.append("POST")
        if self.handshake_enabled and self.allow_session_delete:
            methods.append("DELETE")
        object.__setattr__(self, "_mcp_allow", ", ".join(methods))
        object.__setattr__(self, "_mcp_methods", frozenset(methods))

    def _set_probes(self) -> None:
        mcp_paths = {self.endpoint_path, self.legacy_messages_path, self.legacy_sse_path}
        for name, kind in (
            ("health_path", ProbeKind.HEALTH),
            ("ready_path", ProbeKind.READY),
            ("metrics_path", ProbeKind.METRICS),
        ):
            path = getattr(self, name)
            if path is None:
                continue
            _check_path(name, path)
            if path in mcp_paths or path in self._probes:
                raise LocalProtocolError(f"{name} {path!r} is already another endpoint's path")
            self._probes[path] = kind

    @property
    def handshake_enabled(self) -> bool:
        """Whether any handshake-era revision is served (sessions, GET, DELETE)."""
        return any(version in HANDSHAKE_VERSIONS for version in self.supported_versions)

    @property
    def retry_versions(self) -> tuple[str, ...]:
        """The versions an ``UnsupportedProtocolVersionError`` lists: those a
        request can be retried with as it stands -- the stateless-era ones
        served (the same list ``server/discover`` gives), or every served
        version when no stateless-era one is."""
        modern = tuple(v for v in self.supported_versions if v in STATELESS_VERSIONS)
        return modern or self.supported_versions

    @property
    def legacy_enabled(self) -> bool:
        """Whether the 2024-11-05 HTTP+SSE transport is served: it has a path and
        handshake-era sessions are served."""
        return self.legacy_sse_path is not None and self.handshake_enabled

    def host_allowed(self, host: str) -> bool:
        """Whether a ``Host`` header value passes DNS rebinding protection."""
        if self._hosts is None:
            return True
        known = self._host_verdicts.entries.get(host)
        if known is not None:
            return known
        verdict = self._host_allowed(host)
        self._host_verdicts.remember(host, verdict)
        return verdict

    def _host_allowed(self, host: str) -> bool:
        assert self._hosts is not None
        parts = _split_authority(host)
        if parts is None:
            return False
        return parts in self._hosts or (parts[0], None) in self._hosts

    def origin_allowed(self, origin: str) -> bool:
        """Whether an ``Origin`` header value passes DNS rebinding protection."""
        if self._origins is None or self.allowed_origins is None:
            return True
        if origin == "null":
            return "null" in self.allowed_origins
        parts = _split_origin(origin)
        if parts is None:
            return False
        return parts in self._origins or (parts[0], parts[1], None) in self._origins
