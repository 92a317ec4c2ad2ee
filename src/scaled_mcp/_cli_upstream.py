"""``scaled-mcp serve --upstream URL`` / ``--upstream-command "CMD"``: the gateway's options.

Either takes the place of TARGET: the node serves a
:class:`~scaled_mcp.client.Gateway` to that upstream MCP server, met once
before serving (:meth:`~scaled_mcp.client.Gateway.probe`: its capabilities,
name and instructions; an upstream still unreachable after
``--upstream-start-within`` seconds of retries is a one-line error).
"""

from __future__ import annotations

import argparse
import shlex
from typing import TYPE_CHECKING, Final

import trio

if TYPE_CHECKING:
    from .client import Gateway

__all__ = ["UpstreamError", "add_upstream_options", "gateway_from", "wants_gateway"]

#: The defaults of :class:`~scaled_mcp.client.Gateway` (the client layer is
#: imported only when a gateway is served: it loads the HTTP client).
DEFAULT_MAX_SESSIONS: Final = 8
DEFAULT_IDLE_TIMEOUT: Final = 300.0
_TIMEOUT: Final = 300.0


class UpstreamError(Exception):
    """The upstream options do not make a gateway, or the upstream cannot be reached."""


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 86400, got {value!r}")
    return number


def _sessions(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if not 1 <= number <= 10_000:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 10000, got {value!r}")
    return number


def _header(value: str) -> tuple[str, str]:
    name, sep, content = value.partition(":")
    if not sep or not name.strip() or any(c in name for c in " \t\r\n"):
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {value.partition(':')[0]!r}")
    if any(c in content for c in "\r\n"):
        raise argparse.ArgumentTypeError(f"header {name!r}: a value on one line")
    return name.strip(), content.strip()


def add_upstream_options(serve: argparse.ArgumentParser) -> None:
    """The gateway's options of ``serve``."""
    group = serve.add_argument_group("gateway (instead of TARGET)")
    group.add_argument(
        "--upstream",
        default=None,
        metavar="URL",
        help="serve this MCP server (streamable HTTP, any revision; a path ending in /sse: "
        "the 2024-11-05 HTTP+SSE transport)",
    )
    group.add_argument(
        "--upstream-command",
        default=None,
        metavar="CMD",
        help='serve this stdio MCP server, run by each node ("python server.py --flag")',
    )
    group.add_argument(
        "--upstream-header",
        action="append",
        type=_header,
        default=None,
        metavar="NAME:VALUE",
        help="a header the gateway sends upstream (repeatable)",
    )
    group.add_argument(
        "--upstream-bearer",
        default=None,
        metavar="TOKEN",
        help="the gateway's own bearer token upstream (better from $SCALED_MCP_UPSTREAM_BEARER)",
    )
    group.add_argument(
        "--upstream-client-id",
        default=None,
        help="OAuth client credentials grant upstream: the gateway's client id",
    )
    group.add_argument(
        "--upstream-client-secret",
        default=None,
        help="... and its secret (better from $SCALED_MCP_UPSTREAM_CLIENT_SECRET)",
    )
    group.add_argument(
        "--upstream-sessions",
        type=_sessions,
        default=DEFAULT_MAX_SESSIONS,
        help=f"upstream sessions a node opens at most, 1 to 10000 ({DEFAULT_MAX_SESSIONS})",
    )
    group.add_argument(
        "--upstream-idle-timeout",
        type=_seconds,
        default=DEFAULT_IDLE_TIMEOUT,
        help=f"seconds an unused upstream session stays open ({DEFAULT_IDLE_TIMEOUT:g})",
    )
    group.add_argument(
        "--upstream-timeout",
        type=_seconds,
        default=_TIMEOUT,
        help=f"seconds an upstream request may take ({_TIMEOUT:g})",
    )
    group.add_argument(
        "--upstream-start-within",
        type=_seconds,
        default=30.0,
        help="seconds an unreachable upstream is retried at start-up, with warnings (30)",
    )


def wants_gateway(args: argparse.Namespace) -> bool:
    """Whether ``serve`` was given an upstream (and no TARGET)."""
    given = [x for x in (args.target, args.upstream, args.upstream_command) if x is not None]
    if not given:
        raise UpstreamError(
            "the following arguments are required: TARGET (or --upstream URL, "
            "or --upstream-command CMD)"
        )
    if len(given) > 1:
        raise UpstreamError("give one of TARGET, --upstream URL or --upstream-command CMD")
    return args.target is None


def gateway_from(args: argparse.Namespace) -> Gateway:
    """The gateway the options describe, having met its upstream (one line if it cannot)."""
    from .client import ClientCredentials, ClientError, Gateway, OAuth

    upstream: str | list[str]
    if args.upstream is not None:
        if not args.upstream.startswith(("http://", "https://")):
            raise UpstreamError(f"--upstream: not an http(s) URL: {args.upstream!r}")
        upstream = args.upstream
    else:
        upstream = shlex.split(args.upstream_command)
        if not upstream:
            raise UpstreamError("--upstream-command: an empty command")
    auth = None
    if args.upstream_client_id is not None:
        auth = OAuth(
            client_id=args.upstream_client_id,
            client_secret=args.upstream_client_secret,
            grant=ClientCredentials(),
        )
    elif args.upstream_client_secret is not None:
        raise UpstreamError("--upstream-client-secret needs --upstream-client-id")
    gateway = Gateway(
        upstream,
        headers=dict(args.upstream_header or ()),
        bearer=args.upstream_bearer,
        auth=auth,
        timeout=args.upstream_timeout,
        max_sessions=args.upstream_sessions,
        idle_timeout=args.upstream_idle_timeout,
        start_within=args.upstream_start_within,
    )
    try:
        trio.run(gateway.probe)
    except ClientError as exc:
        raise UpstreamError(f"the upstream is unreachable: {exc.message}") from None
    return gateway
