"""The ``scaled-mcp serve`` options: their parser, their ranges, their values from the
environment (``SCALED_MCP_<OPTION>``), and the checks made before serving (where it can
listen, the TLS files, the ``requestState`` keys, the authorization settings), each
failing in one line.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, NoReturn
from urllib.parse import urlsplit

from ._cli_upstream import add_upstream_options

if TYPE_CHECKING:
    from hypercorn.config import Config

    from .runtime import Authorization

__all__ = [
    "TargetError",
    "auth_config",
    "bind_failure",
    "check_bind",
    "bind_problem",
    "parser",
    "shown_url",
    "state_keys",
    "tls_config",
    "with_environment",
]


class TargetError(Exception):
    """The TARGET cannot be loaded."""


def _bind(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _rate_limit(value: str) -> tuple[float, int]:
    """``RATE`` or ``RATE:BURST``: requests a second (above 0), and a burst (0 or more)."""
    rate, _, burst = value.partition(":")
    try:
        parsed = float(rate), int(burst or 0)
    except ValueError:
        parsed = (0.0, 0)
    if not (0 < parsed[0] < float("inf")) or parsed[1] < 0:
        raise argparse.ArgumentTypeError(
            f"expected RATE or RATE:BURST (requests a second above 0, a burst of 0 or more), "
            f"got {value!r}"
        )
    return parsed


def _path_or_off(value: str) -> str | None:
    """An argparse type: a URL path, or ``off`` (``None``)."""
    if value.lower() in ("off", ""):
        return None
    if not value.startswith("/") or any(c.isspace() or c in "?#" for c in value):
        raise argparse.ArgumentTypeError(f"expected a path such as /metrics, or off, got {value!r}")
    return value


def _seconds(value: str) -> float:
    """An argparse type: seconds, from 0 to a day."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 86400:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 86400, got {value!r}")
    return number


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {low} to {high}, got {value!r}"
            )
        return number

    return parse


#: The logging levels ``--log-level`` accepts.
_LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")

#: Options whose environment variable is not ``SCALED_MCP_<OPTION>``.
_ENV_NAMES: Final = {"--state-key": "SCALED_MCP_STATE_KEYS"}

#: Options never read from the environment (internal to ``--workers``).
_NOT_FROM_ENV: Final = frozenset({"--listen-fd", "--metrics-dir", "--help"})

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})


class _Parser(argparse.ArgumentParser):
    #: option -> the environment variable its value came from (for error messages).
    from_env: dict[str, str]

    def error(self, message: str) -> NoReturn:
        for option, variable in getattr(self, "from_env", {}).items():
            if message.startswith(f"argument {option}"):
                message = f"{message} (from ${variable})"
        self.exit(2, f"scaled-mcp: {message}\n")


def _env_name(option: str) -> str:
    return _ENV_NAMES.get(option) or "SCALED_MCP_" + option[2:].upper().replace("-", "_")


#: The commands beside ``serve``, each in its module ``scaled_mcp._cli_<name>``.
_COMMANDS: Final[tuple[str, ...]] = ("bench", "check", "cluster")


def parser() -> tuple[argparse.ArgumentParser, _Parser]:
    parser = _Parser(
        prog="scaled-mcp",
        description="A horizontally scalable MCP server engine.",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve: _Parser = commands.add_parser(
        "serve",
        help="serve an MCPServer",
        allow_abbrev=False,
        epilog="Every option can also come from the environment: SCALED_MCP_<OPTION> "
        "(upper-case, dashes as underscores: SCALED_MCP_MAX_SESSIONS=500; repeatable "
        "options comma-separated; --state-key is SCALED_MCP_STATE_KEYS; --stdio is 1 or 0). "
        "The command line wins.",
    )
    serve.add_argument(
        "target",
        nargs="?",
        default=None,
        help="path/to/app.py[:name] or package.module:name (or --upstream/--upstream-command)",
    )
    serve.add_argument(
        "--bind", type=_bind, default=("127.0.0.1", 8000), help="HOST:PORT (127.0.0.1:8000)"
    )
    serve.add_argument(
        "--http", choices=("hypercorn", "h11"), default="hypercorn", help="the HTTP front"
    )
    serve.add_argument("--stdio", action="store_true", help="serve on stdin/stdout instead")
    serve.add_argument("--node-id", default=None, help="this node's name (default: random)")
    serve.add_argument(
        "--broker",
        default=None,
        help="where sessions and events live: memory (default), redis://HOST:PORT/DB, "
        "or redis-cluster://HOST:PORT (any node of a Redis Cluster); a broker that does "
        "not answer at start-up is reported in one line and retried: the node serves, "
        "answering 503 until the broker answers",
    )
    serve.add_argument(
        "--state-key",
        action="append",
        default=None,
        metavar="ID:SECRET",
        help="a key sealing requestState (repeatable; the first seals; share them between "
        "nodes; default: $SCALED_MCP_STATE_KEYS, else a random key)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=None,
        help="a Host the server answers (repeatable; default: localhost names only)",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=None,
        help="a browser Origin allowed (repeatable; default: localhost origins)",
    )
    serve.add_argument(
        "--skills",
        action="append",
        default=None,
        metavar="DIR",
        help="serve the Agent Skills in DIR (each directory holding a SKILL.md) with the "
        "skills extension, read once at start-up (repeatable)",
    )
    serve.add_argument(
        "--response",
        choices=("json", "sse"),
        default="json",
        help="how POSTs are answered: JSON unless the handler streams (json), or always SSE",
    )
    serve.add_argument(
        "--no-websocket",
        action="store_true",
        help="refuse WebSocket upgrades of the MCP endpoint (served by default)",
    )
    serve.add_argument(
        "--workers",
        type=_int_in(1, 1024),
        default=1,
        help="worker processes sharing the port, 1 to 1024 (more than 1 needs a shared --broker)",
    )
    serve.add_argument(
        "--max-sessions",
        type=_int_in(1, 100_000_000),
        default=100_000,
        help="sessions a node keeps live at once, 1 to 100000000; initialize beyond it "
        "gets 503 (100000)",
    )
    serve.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=None,
        metavar="RATE[:BURST]",
        help="requests a second each principal (without authorization: all callers) may "
        "make to a node, and how many at once (default: one second's worth); past it 429 "
        "with Retry-After. Per node (none)",
    )
    serve.add_argument(
        "--certfile", default=None, help="TLS: the server's certificate chain, PEM (hypercorn)"
    )
    serve.add_argument("--keyfile", default=None, help="TLS: the certificate's private key, PEM")
    serve.add_argument(
        "--ca-certs",
        default=None,
        help="TLS: CA certificates for client certificates; given, every client must "
        "present one it signed (mutual TLS)",
    )
    serve.add_argument(
        "--listen-fd", type=_int_in(0, 1 << 20), default=None, help=argparse.SUPPRESS
    )
    serve.add_argument(
        "--auth-issuer",
        default=None,
        metavar="URL",
        help="require OAuth access tokens (JWTs) of this issuer: its keys are found from its "
        "metadata (authorization is off without this or --auth-introspection-url)",
    )
    serve.add_argument(
        "--resource-url",
        default=None,
        metavar="URL",
        help="the MCP endpoint's public URL, as clients reach it (behind a proxy): the "
        "resource of the metadata and the tokens' audience (default: http(s)://BIND/mcp)",
    )
    serve.add_argument(
        "--auth-audience",
        default=None,
        help="the audience tokens must name, when not --resource-url (some providers name "
        "an API identifier)",
    )
    serve.add_argument(
        "--auth-scopes",
        action="append",
        default=None,
        metavar="SCOPE",
        help="a scope every request needs (repeatable); the metadata lists these and the "
        "app's per-tool scopes",
    )
    serve.add_argument(
        "--auth-jwks-url",
        default=None,
        metavar="URL",
        help="the issuer's JWKS, when its metadata does not name it",
    )
    serve.add_argument(
        "--auth-introspection-url",
        default=None,
        metavar="URL",
        help="check tokens by RFC 7662 introspection here instead (needs --auth-client-id "
        "and SCALED_MCP_AUTH_CLIENT_SECRET)",
    )
    serve.add_argument(
        "--auth-client-id", default=None, help="this resource's introspection client id"
    )
    serve.add_argument(
        "--auth-client-secret",
        default=None,
        help="its secret (prefer the environment: SCALED_MCP_AUTH_CLIENT_SECRET)",
    )
    serve.add_argument(
        "--metrics-path",
        type=_path_or_off,
        default="/metrics",
        help="where the Prometheus figures are served on the MCP port, or off to keep none "
        "(/metrics)",
    )
    serve.add_argument(
        "--health-path",
        type=_path_or_off,
        default="/healthz",
        help="the liveness probe's path, or off (/healthz)",
    )
    serve.add_argument(
        "--ready-path",
        type=_path_or_off,
        default="/readyz",
        help="the readiness probe's path, or off (/readyz): 503 while the broker does not "
        "answer or the node drains",
    )
    serve.add_argument(
        "--drain-delay",
        type=_seconds,
        default=0.0,
        help="seconds between SIGTERM (readiness turns 503) and the node ceasing to accept "
        "connections, for a load balancer to take it out (0; 5 to 10 behind Kubernetes)",
    )
    serve.add_argument(
        "--handler-timeout",
        type=_seconds,
        default=0.0,
        help="seconds a handler may run before it is cancelled and its caller gets a "
        "timeout error (0: no limit, the default)",
    )
    serve.add_argument("--metrics-dir", default=None, help=argparse.SUPPRESS)
    serve.add_argument(
        "--log-level",
        type=str.lower,
        choices=_LOG_LEVELS,
        default="warning",
        help="Python logging level: debug, info, warning, error or critical (warning)",
    )
    add_upstream_options(serve)
    serve.add_argument(
        "--tracing",
        action="store_true",
        help="an OpenTelemetry span per request, to the global tracer provider (set it up "
        "with opentelemetry-instrument; needs the otel extra)",
    )
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text or one JSON object each, with node, session and request ids (text)",
    )
    for name in _COMMANDS:  # each defines ``add_command(commands)``; it sets ``run``
        importlib.import_module(f"scaled_mcp._cli_{name}").add_command(commands)
    return parser, serve


def with_environment(serve: _Parser, argv: list[str], environ: Mapping[str, str]) -> list[str]:
    """``argv`` plus the options ``SCALED_MCP_<OPTION>`` gives and ``argv`` does not."""
    if not argv or argv[0] != "serve" or "--" in argv:
        return argv
    given = {arg.partition("=")[0] for arg in argv if arg.startswith("--")}
    extra: list[str] = []
    serve.from_env = {}
    for action in serve._actions:
        options = [o for o in action.option_strings if o.startswith("--")]
        if not options or options[0] in _NOT_FROM_ENV or options[0] in given:
            continue
        option = options[0]
        variable = _env_name(option)
        value = environ.get(variable)
        if value is None:
            continue
        serve.from_env[option] = variable
        if isinstance(action, argparse._StoreTrueAction):
            if value.strip().lower() in _TRUE:
                extra.append(option)
            elif value.strip().lower() not in _FALSE:
                serve.error(f"argument {option}: expected 1 or 0, got {value!r}")
        elif isinstance(action, argparse._AppendAction):
            extra.extend(f"{option}={item.strip()}" for item in value.split(",") if item.strip())
        else:
            extra.append(f"{option}={value}")
    return [*argv, *extra]


def shown_url(url: str) -> str:
    """``url`` without the password it may carry (``redis://user:***@host``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else "***@"
    return parts._replace(netloc=user + netloc).geturl()


def state_keys(values: list[str] | None) -> dict[str, bytes]:
    """``ID:SECRET`` pairs (from ``--state-key`` or ``$SCALED_MCP_STATE_KEYS``).

    A rejected key is named by its id, or by its position: never by its secret.
    """
    keys: dict[str, bytes] = {}
    for position, value in enumerate(values or (), start=1):
        key_id, colon, secret = value.partition(":")
        if not colon or not key_id or len(secret.encode()) < 32:
            named = repr(key_id) if colon and key_id else f"number {position} (no ID: prefix)"
            raise TargetError(
                f"bad state key {named}: expected ID:SECRET, a secret of 32 bytes or more"
            )
        keys[key_id] = secret.encode()
    return keys


#: bind() errors a user fixes with ``--bind``, and what to say of each.
_BIND_ERRORS: Final = {
    errno.EADDRINUSE: "the port is already in use (another server?): choose another port",
    errno.EADDRNOTAVAIL: "this machine has no such address: bind one of its addresses "
    "(0.0.0.0 for all)",
    errno.EACCES: "permission denied (ports below 1024 need privileges): choose another port",
}


def bind_problem(host: str, port: int, exc: OSError) -> str | None:
    """The one line for a failure to listen on ``host:port``, or ``None`` if ``exc`` is
    not one ``--bind`` can fix."""
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        reason = f"the host name does not resolve ({exc.strerror}): use an address or a known name"
    elif exc.errno in _BIND_ERRORS:
        reason = _BIND_ERRORS[exc.errno]
    else:
        return None
    return f"cannot listen on {shown}: {reason} with --bind HOST:PORT"


def check_bind(host: str, port: int) -> str | None:
    """Try to listen where the fronts will (every address ``host`` resolves to); the
    one line saying why not, or ``None``."""
    try:
        addresses = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return bind_problem(host, port, exc)
    for family, kind, proto, _, address in addresses:
        try:
            probe = socket.socket(family, kind, proto)
        except OSError:  # an address family this machine lacks: the fronts skip it too
            continue
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                return bind_problem(host, port, exc) or f"cannot listen on {host}:{port}: {exc}"
    return None


def bind_failure(exc: BaseException, host: str, port: int) -> str | None:
    """The one line for a listening failure somewhere in ``exc`` (a group), if any."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = bind_failure(inner, host, port)
            if found is not None:
                return found
        return None
    return bind_problem(host, port, exc) if isinstance(exc, OSError) else None


def tls_config(args: argparse.Namespace) -> Config | None:
    """Hypercorn's settings for ``--certfile/--keyfile/--ca-certs`` (``None`` without
    them); raises :class:`TargetError` when they are incomplete or do not load."""
    if args.certfile is None and args.keyfile is None and args.ca_certs is None:
        return None
    if args.http != "hypercorn" or args.stdio:
        raise TargetError("TLS (--certfile, --keyfile, --ca-certs) needs --http hypercorn")
    if args.certfile is None or args.keyfile is None:
        raise TargetError("TLS needs both --certfile and --keyfile")
    from hypercorn.config import Config

    config = Config()
    config.certfile, config.keyfile, config.ca_certs = args.certfile, args.keyfile, args.ca_certs
    if args.ca_certs is not None:
        config.verify_mode = ssl.CERT_REQUIRED
    try:
        config.create_ssl_context()
    except (OSError, ssl.SSLError) as exc:
        raise TargetError(f"cannot load the TLS files: {exc.strerror or exc}") from None
    return config


def _http_url(option: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise TargetError(f"{option} must be an http(s) URL")
    return value


def auth_config(args: argparse.Namespace, app_scopes: tuple[str, ...]) -> Authorization | None:
    """The node's authorization from the ``--auth-*`` options (``None`` without
    ``--auth-issuer`` or ``--auth-introspection-url``); raises :class:`TargetError`
    when they are incomplete. ``app_scopes`` are the scopes the app's tools,
    resources and prompts name (listed in the metadata)."""
    if args.auth_issuer is None and args.auth_introspection_url is None:
        others = [
            option
            for option, value in (
                ("--resource-url", args.resource_url),
                ("--auth-audience", args.auth_audience),
                ("--auth-scopes", args.auth_scopes),
                ("--auth-jwks-url", args.auth_jwks_url),
                ("--auth-client-id", args.auth_client_id),
            )
            if value
        ]
        if others:
            raise TargetError(f"{others[0]} needs --auth-issuer or --auth-introspection-url")
        return None
    if args.stdio:
        raise TargetError("stdio has no authorization: --auth-* options need HTTP")
    from .protocol.oauth import ResourceServerConfig
    from .runtime import Authorization, IntrospectionVerifier, JWTVerifier, TokenVerifier

    if args.resource_url is not None:
        resource = _http_url("--resource-url", args.resource_url)
    else:
        host, port = args.bind
        if host in ("0.0.0.0", "::", ""):
            raise TargetError(
                "--auth-issuer needs --resource-url when --bind listens on every address "
                "(the URL clients use, e.g. https://mcp.example.com/mcp)"
            )
        scheme = "https" if args.certfile else "http"
        host = f"[{host}]" if ":" in host else host
        resource = f"{scheme}://{host}:{port}/mcp"
    scopes = tuple(s for value in args.auth_scopes or () for s in value.replace(",", " ").split())
    issuer = args.auth_issuer
    if issuer is None:
        raise TargetError("--auth-introspection-url needs --auth-issuer (the metadata names it)")
    issuer = _http_url("--auth-issuer", issuer)
    try:
        config = ResourceServerConfig(
            resource=resource,
            authorization_servers=(issuer,),
            required_scopes=scopes,
            scopes_supported=(*scopes, *app_scopes),
        )
    except ValueError as exc:
        raise TargetError(f"authorization settings: {exc}") from None
    audience = args.auth_audience or config.resource
    verifier: TokenVerifier
    if args.auth_introspection_url is not None:
        if not args.auth_client_id or not args.auth_client_secret:
            raise TargetError(
                "--auth-introspection-url needs --auth-client-id and "
                "SCALED_MCP_AUTH_CLIENT_SECRET (or --auth-client-secret)"
            )
        verifier = IntrospectionVerifier(
            _http_url("--auth-introspection-url", args.auth_introspection_url),
            client_id=args.auth_client_id,
            client_secret=args.auth_client_secret,
            audience=audience,
        )
    else:
        jwks = args.auth_jwks_url
        verifier = JWTVerifier(
            issuer,
            audience,
            jwks_uri=_http_url("--auth-jwks-url", jwks) if jwks is not None else None,
        )
    return Authorization(config, verifier)
