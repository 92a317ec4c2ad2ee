"""The ``scaled-mcp`` command: ``scaled-mcp serve TARGET [options]``.

TARGET names the :class:`~scaled_mcp.MCPServer` to serve: ``path/to/app.py``
or ``path/to/app.py:name``, or ``package.module:name``. Without a name the
module's one ``MCPServer`` is used (``app`` if there are several).

This is the composition root: it alone loads adapters, lazily, by name.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.util
import logging
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Final, NoReturn
from urllib.parse import urlsplit

import attrs
import trio

from .cluster import Backend, BackendUnavailable, MemoryBackend
from .protocol.http import HttpConfig, ResponseMode
from .runtime import Runtime, RuntimeConfig, StartupError
from .server import MCPServer

if TYPE_CHECKING:
    from hypercorn.config import Config

__all__ = ["TargetError", "load_target", "main"]

_log = logging.getLogger("scaled_mcp")


class TargetError(Exception):
    """The TARGET cannot be loaded."""


def _import_path(path: Path) -> ModuleType:
    name = f"_scaled_mcp_target_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    parent = str(path.resolve().parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    spec.loader.exec_module(module)
    return module


def load_target(target: str) -> MCPServer:
    """The server TARGET names (raises :class:`TargetError` with a one-line reason)."""
    location, _, attribute = target.partition(":")
    if len(location) == 1 and target[1:3] in (":\\", ":/"):  # a Windows drive letter
        location, _, attribute = target[2:].partition(":")
        location = target[:2] + location
    try:
        if location.endswith(".py") or os.sep in location or "/" in location:
            path = Path(location)
            if not path.is_file():
                raise TargetError(f"no such file: {location}")
            module = _import_path(path)
        else:
            module = importlib.import_module(location)
    except TargetError:
        raise
    except SyntaxError as exc:
        raise TargetError(f"{location}: syntax error at line {exc.lineno}: {exc.msg}") from None
    except ImportError as exc:
        raise TargetError(f"cannot import {location}: {exc}") from None
    except Exception as exc:
        raise TargetError(f"{location} failed while loading: {type(exc).__name__}: {exc}") from None
    if attribute:
        server = getattr(module, attribute, None)
        if not isinstance(server, MCPServer):
            raise TargetError(f"{location} has no MCPServer named {attribute!r}")
        return server
    found = {k: v for k, v in vars(module).items() if isinstance(v, MCPServer)}
    if len(found) == 1:
        return next(iter(found.values()))
    if "app" in found:
        return found["app"]
    if not found:
        raise TargetError(f"{location} defines no MCPServer")
    raise TargetError(
        f"{location} defines several MCPServers ({', '.join(sorted(found))}): name one"
    )


def _bind(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


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
_NOT_FROM_ENV: Final = frozenset({"--listen-fd", "--help"})

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


def _parser() -> tuple[argparse.ArgumentParser, _Parser]:
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
    serve.add_argument("target", help="path/to/app.py[:name] or package.module:name")
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
        "--response",
        choices=("json", "sse"),
        default="json",
        help="how POSTs are answered: JSON unless the handler streams (json), or always SSE",
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
        "--log-level",
        type=str.lower,
        choices=_LOG_LEVELS,
        default="warning",
        help="Python logging level: debug, info, warning, error or critical (warning)",
    )
    return parser, serve


def _with_environment(serve: _Parser, argv: list[str], environ: Mapping[str, str]) -> list[str]:
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


def _shown_url(url: str) -> str:
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


def _backend(url: str | None) -> Backend:
    if url is None or url == "memory":
        return MemoryBackend()
    if url.startswith(("redis://", "rediss://", "unix://", "redis-cluster://")):
        try:
            from scaled_mcp_redis import RedisBackend
        except ImportError as exc:  # its dependencies are an extra: one node needs none
            raise TargetError(
                f"the Redis backend needs its extra: pip install 'scaled-mcp[redis]' ({exc})"
            ) from None
        cluster = url.startswith("redis-cluster://")
        if cluster:
            url = "redis://" + url.removeprefix("redis-cluster://")
        try:
            return RedisBackend(url, cluster=cluster)
        except ValueError as exc:
            raise TargetError(f"bad broker URL {_shown_url(url)}: {exc}") from None
    raise TargetError(
        f"unsupported broker {_shown_url(url)} "
        "(memory, redis://HOST:PORT/DB or redis-cluster://HOST:PORT)"
    )


def _state_keys(values: list[str] | None) -> dict[str, bytes]:
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


def _bind_problem(host: str, port: int, exc: OSError) -> str | None:
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


def _check_bind(host: str, port: int) -> str | None:
    """Try to listen where the fronts will (every address ``host`` resolves to); the
    one line saying why not, or ``None``."""
    try:
        addresses = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return _bind_problem(host, port, exc)
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
                return _bind_problem(host, port, exc) or f"cannot listen on {host}:{port}: {exc}"
    return None


def _bind_failure(exc: BaseException, host: str, port: int) -> str | None:
    """The one line for a listening failure somewhere in ``exc`` (a group), if any."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _bind_failure(inner, host, port)
            if found is not None:
                return found
        return None
    return _bind_problem(host, port, exc) if isinstance(exc, OSError) else None


def _tls_config(args: argparse.Namespace) -> Config | None:
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


#: Seconds between probes of a broker that did not answer at start-up.
_BROKER_RETRY: Final = 2.0


async def _watch_broker(runtime: Runtime, url: str) -> None:
    """Say in one line if the broker does not answer at start-up, and again once it does
    (the node keeps serving meanwhile; requests needing the broker get 503)."""
    shown = _shown_url(url)
    warned = False
    while True:
        reason = "no answer within 3 seconds"
        with trio.move_on_after(3):
            try:
                await runtime.backend.nodes.alive(runtime.node_id)
            except BackendUnavailable as exc:
                reason = str(exc)
            else:
                if warned:
                    print(f"scaled-mcp: the broker {shown} answers now", file=sys.stderr)
                return
        if not warned:
            print(
                f"scaled-mcp: the broker {shown} is unreachable ({reason}); serving anyway, "
                "requests get 503 until it answers; retrying (check --broker)",
                file=sys.stderr,
            )
            warned = True
        await trio.sleep(_BROKER_RETRY)


async def _serve(runtime: Runtime, args: argparse.Namespace, tls: Config | None) -> None:
    shutdown = trio.Event()
    host, port = args.bind

    async def signals() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            async for _ in received:
                shutdown.set()
                return

    async with runtime.run(), trio.open_nursery() as nursery:
        nursery.start_soon(signals)
        if args.http == "h11":
            from .runtime import serve_h11

            shared = None
            if args.listen_fd is not None:
                sock = trio.socket.from_stdlib_socket(socket.socket(fileno=args.listen_fd))
                shared = [trio.SocketListener(sock)]
            listeners = await nursery.start(
                lambda task_status: serve_h11(
                    runtime,
                    host,
                    port,
                    shutdown=shutdown,
                    listeners=shared,
                    task_status=task_status,
                )
            )
            port = listeners[0].socket.getsockname()[1]
        else:
            from scaled_mcp_hypercorn import serve as serve_hypercorn

            shown = f"[{host}]" if ":" in host else host
            binds = (
                [f"fd://{args.listen_fd}"] if args.listen_fd is not None else [f"{shown}:{port}"]
            )
            bound = await nursery.start(
                lambda task_status: serve_hypercorn(
                    runtime, binds, shutdown=shutdown, config=tls, task_status=task_status
                )
            )
            port = int(bound[0].rpartition(":")[2])
        shown = f"[{host}]" if ":" in host else host
        if args.listen_fd is None:
            scheme = "https" if tls is not None else "http"
            print(
                f"scaled-mcp: serving on {scheme}://{shown}:{port}/mcp ({args.http})",
                file=sys.stderr,
            )
        if args.broker not in (None, "memory"):
            nursery.start_soon(_watch_broker, runtime, args.broker)
        await shutdown.wait()
        nursery.cancel_scope.deadline = trio.current_time() + runtime.config.shutdown_grace + 1


def _supervise(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """``--workers N``: listen once, run N worker processes on that socket (the
    kernel spreads the connections), pass signals on, wait for them all."""
    host, port = args.bind
    try:
        family = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError as exc:
        line = _bind_problem(host, port, exc) or f"cannot listen on {host}:{port}: {exc}"
        print(f"scaled-mcp: {line}", file=sys.stderr)
        return 2
    listener.listen(1024)
    listener.set_inheritable(True)
    base = args.node_id or f"n{secrets.token_hex(4)}"
    children = []
    for index in range(args.workers):
        command = [
            sys.executable, "-m", "scaled_mcp.cli", *argv, "--workers", "1",
            "--listen-fd", str(listener.fileno()), "--node-id", f"{base}w{index}",
        ]  # fmt: skip
        children.append(subprocess.Popen(command, pass_fds=(listener.fileno(),)))
    port = listener.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if args.certfile is not None else "http"
    print(
        f"scaled-mcp: serving on {scheme}://{shown}:{port}/mcp "
        f"({args.http}, {args.workers} workers)",
        file=sys.stderr,
    )

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        status = max(status, child.wait())
    listener.close()
    return status


def _fail(message: str) -> int:
    print(f"scaled-mcp: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, serve = _parser()
    args = parser.parse_args(_with_environment(serve, argv, os.environ))
    if args.workers > 1:
        if args.stdio or args.broker in (None, "memory"):
            return _fail("--workers above 1 needs a shared --broker (redis://...) and HTTP")
        try:
            _backend(args.broker)  # a bad broker: one line here rather than one a worker
            _state_keys(args.state_key)
            _tls_config(args)
        except TargetError as exc:
            return _fail(str(exc))
        return _supervise(args, _strip_workers(argv))
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        app = load_target(args.target)
        backend = _backend(args.broker)
        state_keys = _state_keys(args.state_key)
        tls = _tls_config(args)
    except TargetError as exc:
        return _fail(str(exc))
    http = HttpConfig(
        response_mode=ResponseMode.SSE if args.response == "sse" else ResponseMode.JSON
    )
    if args.allow_host is not None:
        http = attrs.evolve(http, allowed_hosts=tuple(args.allow_host))
    if args.allow_origin is not None:
        http = attrs.evolve(http, allowed_origins=tuple(args.allow_origin))
    if args.node_id is not None and (not args.node_id or "." in args.node_id):
        return _fail(f"bad node id {args.node_id!r}: non-empty, without '.'")
    if not args.stdio and args.listen_fd is None:
        problem = _check_bind(*args.bind)
        if problem is not None:
            return _fail(problem)
    node = {"node_id": args.node_id} if args.node_id else {}
    config = RuntimeConfig(
        http=http, request_state_keys=state_keys, max_sessions=args.max_sessions, **node
    )
    runtime = Runtime(app, backend=backend, config=config)
    try:
        if args.stdio:
            from .runtime import serve_stdio

            trio.run(serve_stdio, runtime)
        else:
            trio.run(_serve, runtime, args, tls)
    except KeyboardInterrupt:
        return 130
    except StartupError as exc:
        return _fail(str(exc))
    except (OSError, BaseExceptionGroup) as exc:
        # The address was free a moment ago (_check_bind) and is not now.
        problem = _bind_failure(exc, *args.bind)
        if problem is None:
            raise
        return _fail(problem)
    return 0


def _strip_workers(argv: Sequence[str]) -> list[str]:
    """``argv`` without its ``--workers N`` / ``--workers=N`` and ``--node-id`` options."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--workers", "--node-id"):
            skip = True
            continue
        if arg.startswith(("--workers=", "--node-id=")):
            continue
        out.append(arg)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
