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
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import attrs
import trio

from .cluster import Backend, MemoryBackend
from .protocol.http import HttpConfig, ResponseMode
from .runtime import Runtime, RuntimeConfig, StartupError
from .server import MCPServer

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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"scaled-mcp: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scaled-mcp", description="A horizontally scalable MCP server engine.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="serve an MCPServer")
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
        "or redis-cluster://HOST:PORT (any node of a Redis Cluster)",
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
        type=int,
        default=1,
        help="worker processes sharing the port (more than 1 needs a shared --broker)",
    )
    serve.add_argument(
        "--max-sessions",
        type=int,
        default=100_000,
        help="sessions a node keeps live at once; initialize beyond it gets 503 (100000)",
    )
    serve.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument("--log-level", default="warning", help="Python logging level (warning)")
    return parser


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
            raise TargetError(f"bad broker URL {url!r}: {exc}") from None
    raise TargetError(
        f"unsupported broker {url!r} (memory, redis://HOST:PORT/DB or redis-cluster://HOST:PORT)"
    )


def _state_keys(values: list[str] | None) -> dict[str, bytes]:
    """``ID:SECRET`` pairs (from the flags, else ``$SCALED_MCP_STATE_KEYS``, comma-separated)."""
    if values is None:
        values = [v for v in os.environ.get("SCALED_MCP_STATE_KEYS", "").split(",") if v]
    keys: dict[str, bytes] = {}
    for value in values:
        key_id, colon, secret = value.partition(":")
        if not colon or not key_id or len(secret.encode()) < 32:
            raise TargetError(
                f"bad state key {key_id or value!r}: "
                "expected ID:SECRET, a secret of 32 bytes or more"
            )
        keys[key_id] = secret.encode()
    return keys


async def _serve(runtime: Runtime, args: argparse.Namespace) -> None:
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
                    runtime, binds, shutdown=shutdown, task_status=task_status
                )
            )
            port = int(bound[0].rpartition(":")[2])
        shown = f"[{host}]" if ":" in host else host
        if args.listen_fd is None:
            print(
                f"scaled-mcp: serving on http://{shown}:{port}/mcp ({args.http})", file=sys.stderr
            )
        await shutdown.wait()
        nursery.cancel_scope.deadline = trio.current_time() + runtime.config.shutdown_grace + 1


def _supervise(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """``--workers N``: listen once, run N worker processes on that socket (the
    kernel spreads the connections), pass signals on, wait for them all."""
    host, port = args.bind
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        print(f"scaled-mcp: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
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
    print(
        f"scaled-mcp: serving on http://{shown}:{port}/mcp ({args.http}, {args.workers} workers)",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.workers < 1:
        print("scaled-mcp: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1:
        if args.stdio or args.broker in (None, "memory"):
            print(
                "scaled-mcp: --workers above 1 needs a shared --broker (redis://...) and HTTP",
                file=sys.stderr,
            )
            return 2
        try:
            _backend(args.broker)  # a bad broker: one line here rather than one a worker
        except TargetError as exc:
            print(f"scaled-mcp: {exc}", file=sys.stderr)
            return 2
        return _supervise(args, _strip_workers(argv))
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        app = load_target(args.target)
        backend = _backend(args.broker)
        state_keys = _state_keys(args.state_key)
    except TargetError as exc:
        print(f"scaled-mcp: {exc}", file=sys.stderr)
        return 2
    http = HttpConfig(
        response_mode=ResponseMode.SSE if args.response == "sse" else ResponseMode.JSON
    )
    if args.allow_host is not None:
        http = attrs.evolve(http, allowed_hosts=tuple(args.allow_host))
    if args.allow_origin is not None:
        http = attrs.evolve(http, allowed_origins=tuple(args.allow_origin))
    if args.node_id is not None and (not args.node_id or "." in args.node_id):
        print(f"scaled-mcp: bad node id {args.node_id!r}: non-empty, without '.'", file=sys.stderr)
        return 2
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
            trio.run(_serve, runtime, args)
    except KeyboardInterrupt:
        return 130
    except StartupError as exc:
        print(f"scaled-mcp: {exc}", file=sys.stderr)
        return 2
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
