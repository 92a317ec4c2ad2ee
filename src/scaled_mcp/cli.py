"""The ``scaled-mcp`` command: ``scaled-mcp serve TARGET [options]``.

TARGET names the :class:`~scaled_mcp.MCPServer` to serve: ``path/to/app.py``
or ``path/to/app.py:name``, or ``package.module:name``. Without a name the
module's one ``MCPServer`` is used (``app`` if there are several).

This is the composition root: it alone loads adapters, lazily, by name.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Final

import attrs
import trio

from .cluster import Backend, BackendUnavailable, MemoryBackend
from .protocol.http import HttpConfig, ResponseMode
from .protocol.jsonrpc import LocalProtocolError
from .runtime import (
    TEXT_FORMAT,
    JsonLogFormatter,
    LogFields,
    RateLimit,
    Runtime,
    RuntimeConfig,
    StartupError,
    WebSocketConfig,
)
from .server import MCPServer

if TYPE_CHECKING:
    from hypercorn.config import Config

from ._cli_options import (
    TargetError,
    auth_config,
    bind_failure,
    bind_problem,
    check_bind,
    parser,
    shown_url,
    state_keys,
    tls_config,
    with_environment,
)
from ._cli_upstream import UpstreamError, gateway_from, wants_gateway

__all__ = ["TargetError", "load_target", "main"]

_log = logging.getLogger("scaled_mcp")


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
            raise TargetError(f"bad broker URL {shown_url(url)}: {exc}") from None
    raise TargetError(
        f"unsupported broker {shown_url(url)} "
        "(memory, redis://HOST:PORT/DB or redis-cluster://HOST:PORT)"
    )


#: Seconds between probes of a broker that did not answer at start-up.
_BROKER_RETRY: Final = 2.0


async def _watch_broker(runtime: Runtime, url: str) -> None:
    """Say in one line if the broker does not answer at start-up, and again once it does
    (the node keeps serving meanwhile; requests needing the broker get 503)."""
    shown = shown_url(url)
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
                # Not ready first; stop accepting once load balancers had time to see it.
                runtime.operations.stop_ready()
                with trio.move_on_after(args.drain_delay):
                    async for _ in received:
                        break  # a second signal: stop now
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
        line = bind_problem(host, port, exc) or f"cannot listen on {host}:{port}: {exc}"
        print(f"scaled-mcp: {line}", file=sys.stderr)
        return 2
    listener.listen(1024)
    listener.set_inheritable(True)
    base = args.node_id or f"n{secrets.token_hex(4)}"
    # The workers share their figures through a directory: each serves them all.
    shared = tempfile.TemporaryDirectory(prefix="scaled-mcp-metrics-")
    # The workers seal requestState with one key: a round trip may continue on any of
    # them. Without --state-key, one is drawn here, for this run, and handed to them in
    # their environment (never on a command line, where any user could read it).
    environment = dict(os.environ)
    if args.state_key is None:
        environment["SCALED_MCP_STATE_KEYS"] = f"w:{secrets.token_urlsafe(32)}"
    children = []
    for index in range(args.workers):
        command = [
            sys.executable, "-m", "scaled_mcp.cli", *argv, "--workers", "1",
            "--listen-fd", str(listener.fileno()), "--node-id", f"{base}w{index}",
            "--metrics-dir", shared.name,
        ]  # fmt: skip
        children.append(subprocess.Popen(command, pass_fds=(listener.fileno(),), env=environment))
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
    shared.cleanup()
    return status


def _fail(message: str) -> int:
    print(f"scaled-mcp: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command_line, serve = parser()
    args = command_line.parse_args(with_environment(serve, argv, os.environ))
    if args.command != "serve":
        return int(args.run(args))
    if args.workers > 1:
        if args.stdio or args.broker in (None, "memory"):
            return _fail("--workers above 1 needs a shared --broker (redis://...) and HTTP")
        try:
            _backend(args.broker)  # a bad broker: one line here rather than one a worker
            state_keys(args.state_key)
            tls_config(args)
            auth_config(args, ())
        except TargetError as exc:
            return _fail(str(exc))
        return _supervise(args, _strip_workers(argv))
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        app = gateway_from(args) if wants_gateway(args) else load_target(args.target)
        for directory in args.skills or ():
            try:
                app.add_skills(directory)
            except ValueError as exc:  # the skills' SkillError
                raise TargetError(f"--skills {directory}: {exc}") from None
        backend = _backend(args.broker)
        keys = state_keys(args.state_key)
        tls = tls_config(args)
        auth = auth_config(args, app.declared_scopes())
    except (TargetError, UpstreamError) as exc:
        return _fail(str(exc))
    http = HttpConfig(
        response_mode=ResponseMode.SSE if args.response == "sse" else ResponseMode.JSON
    )
    if args.allow_host is not None:
        http = attrs.evolve(http, allowed_hosts=tuple(args.allow_host))
    if args.allow_origin is not None:
        http = attrs.evolve(http, allowed_origins=tuple(args.allow_origin))
    try:
        http = attrs.evolve(
            http,
            metrics_path=args.metrics_path,
            health_path=args.health_path,
            ready_path=args.ready_path,
        )
    except LocalProtocolError as exc:
        return _fail(str(exc))
    if args.node_id is not None and (not args.node_id or "." in args.node_id):
        return _fail(f"bad node id {args.node_id!r}: non-empty, without '.'")
    if args.broker not in (None, "memory") and not keys:
        print(
            "scaled-mcp: a shared --broker without --state-key: this node seals requestState "
            "with a random key of its own, so an input-required round trip continuing on "
            "another node fails its integrity check; pass the same --state-key ID:SECRET "
            "to every node",
            file=sys.stderr,
        )
    if not args.stdio and args.listen_fd is None:
        problem = check_bind(*args.bind)
        if problem is not None:
            return _fail(problem)
    node = {"node_id": args.node_id} if args.node_id else {}
    limit = None
    if args.rate_limit is not None:
        limit = RateLimit(rate=args.rate_limit[0], burst=args.rate_limit[1])
    if args.tracing and importlib.util.find_spec("opentelemetry") is None:
        return _fail("--tracing needs the otel extra: pip install 'scaled-mcp[otel]'")
    config = RuntimeConfig(
        http=http,
        request_state_keys=keys,
        max_sessions=args.max_sessions,
        auth=auth,
        rate_limit=limit,
        metrics=args.metrics_path is not None and not args.stdio,
        metrics_dir=args.metrics_dir,
        tracing=args.tracing,
        handler_timeout=args.handler_timeout or None,
        websocket=WebSocketConfig(enabled=not args.no_websocket),
        **node,
    )
    runtime = Runtime(app, backend=backend, config=config)
    for handler in logging.getLogger().handlers:
        handler.addFilter(LogFields(runtime.node_id))
        json_lines = args.log_format == "json"
        handler.setFormatter(JsonLogFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
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
        problem = bind_failure(exc, *args.bind)
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
