"""``scaled-mcp bench URL``: load any MCP server over HTTP and report req/s, latency
percentiles and errors by kind (the load generator is :func:`scaled_mcp.harness.run_load`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .harness import LoadConfig, LoadError, LoadResult, run_load
from .protocol.versions import HANDSHAKE_VERSIONS, LATEST_HANDSHAKE_VERSION, STATELESS_VERSIONS

__all__ = ["add_command"]


def _json_object(value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return parsed


def _header(value: str) -> tuple[str, str]:
    name, sep, text = value.partition(":")
    if not sep or not name.strip() or any(c in value for c in "\r\n"):
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {value!r}")
    return name.strip().lower(), text.strip()


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(value: str) -> int | float:
        try:
            number = kind(value)
        except ValueError:
            number = 0
        if not number > 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
        return number

    return parse


def add_command(commands: Any) -> None:
    """Add ``bench`` to the command line's subparsers."""
    bench: argparse.ArgumentParser = commands.add_parser(
        "bench",
        help="load an MCP server over HTTP: req/s, latency percentiles, errors",
        description="Load an MCP server over HTTP (http://) with one repeated request and "
        "report req/s, latency p50/p90/p99/p99.9/max and errors by kind.",
    )
    bench.add_argument("url", help="the server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
    bench.add_argument("--method", default="tools/call", help="the method (default tools/call)")
    bench.add_argument("--tool", help="the tool tools/call calls")
    bench.add_argument(
        "--args", type=_json_object, default={}, help="the tool's arguments, a JSON object"
    )
    bench.add_argument(
        "--params", type=_json_object, default=None, help="params of any other method (JSON)"
    )
    bench.add_argument("-c", "--connections", type=_positive(int), default=16)
    length = bench.add_mutually_exclusive_group()
    length.add_argument(
        "-d", "--duration", type=_positive(float), help="seconds of load (default 10)"
    )
    length.add_argument("-n", "--requests", type=_positive(int), help="send this many, then stop")
    bench.add_argument(
        "--revision",
        choices=(*HANDSHAKE_VERSIONS, *STATELESS_VERSIONS),
        default=LATEST_HANDSHAKE_VERSION,
        help=f"the protocol revision (default {LATEST_HANDSHAKE_VERSION}; "
        f"{', '.join(STATELESS_VERSIONS)}: the stateless wire)",
    )
    bench.add_argument(
        "--sessions",
        type=_positive(int),
        default=1,
        help="spread the connections over this many sessions (handshake revisions)",
    )
    bench.add_argument(
        "--rate",
        type=_positive(float),
        help="open loop: this many requests a second, latency from each one's intended time",
    )
    bench.add_argument(
        "--timeout", type=_positive(float), default=10.0, help="seconds a request may take"
    )
    bench.add_argument(
        "--header", type=_header, action="append", default=[], help="'Name: value' (repeatable)"
    )
    bench.add_argument("--bearer", help="send 'Authorization: Bearer TOKEN'")
    bench.add_argument(
        "--processes",
        type=_positive(int),
        default=1,
        help="split the connections over this many processes",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    bench.set_defaults(run=run)


def _progress(tty: bool) -> Any:
    def show(elapsed: float, answers: int, errors: int, rate: float) -> None:
        line = f"{elapsed:6.1f} s  {answers:>10,} answers  {rate:>9,.0f} req/s  {errors:,} errors"
        sys.stderr.write(("\r" + line) if tty else line + "\n")
        sys.stderr.flush()

    return show


def run(args: argparse.Namespace) -> int:
    """Run ``scaled-mcp bench``; 0 when some answers succeeded, 1 when none did or the
    set-up failed, 2 for arguments that cannot work together."""
    headers = list(args.header)
    if args.bearer:
        headers.append(("authorization", f"Bearer {args.bearer}"))
    duration = args.duration if args.duration is not None or args.requests else 10.0
    try:
        config = LoadConfig(
            url=args.url,
            method=args.method,
            tool=args.tool,
            arguments=args.args,
            params=args.params,
            connections=args.connections,
            duration=duration,
            requests=args.requests,
            revision=args.revision,
            sessions=args.sessions,
            rate=args.rate,
            timeout=args.timeout,
            headers=tuple(headers),
            processes=args.processes,
        )
    except ValueError as exc:
        print(f"scaled-mcp bench: {exc}", file=sys.stderr)
        return 2
    tty = sys.stderr.isatty()
    progress = None if args.quiet or args.processes > 1 else _progress(tty)
    try:
        result: LoadResult = run_load(config, progress)
    except LoadError as exc:
        if tty and progress is not None:
            sys.stderr.write("\n")
        print(f"scaled-mcp bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nscaled-mcp bench: interrupted", file=sys.stderr)
        return 130
    if tty and progress is not None:
        sys.stderr.write("\r\033[K")
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(result.summary())
    return 0 if result.ok else 1
