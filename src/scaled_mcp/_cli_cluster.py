"""``scaled-mcp cluster status|rotate-state-key --broker URL``: the cluster as its store
holds it, and the rotation of its ``requestState`` keys.

``status``: the live nodes (those whose heartbeat has not expired), what each holds -- the GET
streams whose lease it has, its open streams, its handlers running, the sessions in
its memory -- and the number of live sessions in the store. Read from Redis; the
in-memory broker lives inside one process, so there is nothing to read from outside
it (that node's ``/metrics`` says the same things).

``rotate-state-key``: adds a key to the set the nodes without ``--state-key`` share
(:class:`~scaled_mcp.cluster.SharedKeySet`), sealing after ``--activate-after``
seconds (every node reads the set every 5 seconds, so each can open what the new key
seals before any seals with it), and keeps the keys it replaces opening tokens for
``--grace`` seconds more (longer than a ``requestState`` lives), so that no round
trip in flight fails. Never prints a secret.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from typing import Any, Final

import orjson
import trio

from .cluster import (
    DEFAULT_STATE_KEY_ACTIVATION,
    DEFAULT_STATE_KEY_GRACE,
    STATE_KEYS_NAME,
    BackendUnavailable,
    SharedKeySet,
)

__all__ = ["add_command"]

#: Seconds the whole read may take.
_DEADLINE: Final = 10.0
#: Compare-and-set attempts of a rotation against concurrent ones.
_ATTEMPTS: Final = 5


def add_command(commands: Any) -> None:
    """Add ``cluster`` (with its ``status`` and ``rotate-state-key``) to the command line."""
    cluster = commands.add_parser(
        "cluster",
        help="inspect a cluster of nodes, rotate its shared requestState keys",
        allow_abbrev=False,
    )
    actions = cluster.add_subparsers(dest="action", required=True, parser_class=type(cluster))
    status = actions.add_parser(
        "status",
        help="the live nodes, the streams and work each holds, the live sessions",
        allow_abbrev=False,
    )
    status.add_argument(
        "--broker",
        required=True,
        help="the nodes' --broker: redis://HOST:PORT/DB or redis-cluster://",
    )
    status.add_argument("--json", action="store_true", help="print one JSON document")
    status.set_defaults(run=run_status)
    rotate = actions.add_parser(
        "rotate-state-key",
        help="add a requestState key to the set the nodes without --state-key share",
        allow_abbrev=False,
    )
    rotate.add_argument(
        "--broker",
        required=True,
        help="the nodes' --broker: redis://HOST:PORT/DB or redis-cluster://",
    )
    rotate.add_argument(
        "--activate-after",
        type=_seconds,
        default=DEFAULT_STATE_KEY_ACTIVATION,
        metavar="SECONDS",
        help="seconds before the new key seals: several of the nodes' 5-second refreshes "
        f"(default {DEFAULT_STATE_KEY_ACTIVATION:g})",
    )
    rotate.add_argument(
        "--grace",
        type=_seconds,
        default=DEFAULT_STATE_KEY_GRACE,
        metavar="SECONDS",
        help="seconds the replaced keys still open requestState once the new one seals: "
        f"longer than a requestState lives (default {DEFAULT_STATE_KEY_GRACE:g})",
    )
    rotate.set_defaults(run=run_rotate)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 <= seconds < 10**9:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}")
    return seconds


def _remote_backend(broker: str) -> Any:
    """The backend of ``broker``; ``None`` (the reason printed) if it cannot be read
    from outside a node."""
    from .cli import TargetError, _backend

    if broker in ("memory", ""):
        print(
            "scaled-mcp: the memory broker lives inside one node's process: there is no "
            "cluster to read from outside; ask that node's /metrics",
            file=sys.stderr,
        )
        return None
    try:
        return _backend(broker)
    except TargetError as exc:
        print(f"scaled-mcp: {exc}", file=sys.stderr)
        return None


def run_status(args: argparse.Namespace) -> int:
    """Print the cluster's status; the exit status (1: the broker did not answer)."""
    from ._cli_options import shown_url

    backend = _remote_backend(args.broker)
    if backend is None:
        return 2
    try:
        status = trio.run(_read, backend)
    except (BackendUnavailable, trio.TooSlowError, BaseExceptionGroup) as exc:
        reason = _unavailable(exc)
        if reason is None:
            raise
        print(f"scaled-mcp: cannot read {shown_url(args.broker)}: {reason}", file=sys.stderr)
        return 1
    if args.json:
        print(orjson.dumps(status, option=orjson.OPT_INDENT_2).decode())
    else:
        print(_table(status, shown_url(args.broker)))
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    """Rotate the shared requestState keys; the exit status (1: the broker did not
    answer, or other rotations kept coming first)."""
    from ._cli_options import shown_url

    backend = _remote_backend(args.broker)
    if backend is None:
        return 2
    try:
        rotated = trio.run(_rotate, backend, args.activate_after, args.grace)
    except (BackendUnavailable, trio.TooSlowError, BaseExceptionGroup) as exc:
        reason = _unavailable(exc)
        if reason is None:
            raise
        print(f"scaled-mcp: cannot rotate at {shown_url(args.broker)}: {reason}", file=sys.stderr)
        return 1
    if rotated is None:
        print(
            "scaled-mcp: other rotations kept changing the keys first; run it again",
            file=sys.stderr,
        )
        return 1
    if isinstance(rotated, str):
        print(f"scaled-mcp: cannot rotate: {rotated}", file=sys.stderr)
        return 1
    new, *kept = rotated.keys
    when = time.strftime("%H:%M:%S UTC", time.gmtime(new.active_from))
    print(f"{shown_url(args.broker)}: requestState key {new.key_id} seals from {when}")
    for key in kept:
        assert key.retire_at is not None
        until = time.strftime("%H:%M:%S UTC", time.gmtime(key.retire_at))
        print(f"  key {key.key_id} opens requestState until {until}")
    return 0


async def _rotate(backend: Any, activation: float, grace: float) -> SharedKeySet | str | None:
    """Add a key to the stored set (compare-and-set, retried); the new set, why it
    cannot be rotated, or ``None`` if concurrent rotations won every attempt."""
    with trio.fail_after(_DEADLINE):
        async with backend.run():
            nodes = backend.nodes
            first = SharedKeySet.minted(f"c{secrets.token_hex(4)}", secrets.token_bytes(32))
            for _ in range(_ATTEMPTS):
                stored = await nodes.shared(STATE_KEYS_NAME, first.encode())
                try:
                    rotated = SharedKeySet.decode(stored).rotated(
                        f"c{secrets.token_hex(4)}",
                        secrets.token_bytes(32),
                        now=time.time(),
                        activation=activation,
                        grace=grace,
                    )
                except ValueError as exc:  # never names a secret
                    return str(exc)
                if await nodes.replace_shared(STATE_KEYS_NAME, stored, rotated.encode()):
                    return rotated
    return None


def _unavailable(exc: BaseException) -> str | None:
    """Why the broker could not be read, found in ``exc`` (a group, maybe); ``None``
    if ``exc`` is something else."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _unavailable(inner)
            if found is not None:
                return found
        return None
    if isinstance(exc, trio.TooSlowError):
        return f"no answer within {_DEADLINE:g} seconds"
    return str(exc) if isinstance(exc, BackendUnavailable) else None


async def _read(backend: Any) -> dict[str, Any]:
    from scaled_mcp_redis import cluster_status

    with trio.fail_after(_DEADLINE):
        async with backend.run():
            found = await cluster_status(backend)
    return {
        "nodes": [
            {
                "node": node.node_id,
                "get_streams": node.get_streams,
                "streams": node.streams,
                "in_flight": node.in_flight,
                "sessions": node.sessions,
            }
            for node in found.nodes
        ],
        "sessions": found.sessions,
        "orphaned_get_streams": found.orphaned,
    }


def _table(status: dict[str, Any], broker: str) -> str:
    nodes = status["nodes"]
    lines = [
        f"{broker}: {len(nodes)} live node{'s' * (len(nodes) != 1)}, "
        f"{status['sessions']} live session{'s' * (status['sessions'] != 1)}"
    ]
    if nodes:
        width = max(4, *(len(node["node"]) for node in nodes))
        lines.append(f"{'node':<{width}}  GET streams  streams open  in flight  sessions in memory")
        lines.extend(
            f"{node['node']:<{width}}  {node['get_streams']:>11}  {node['streams']:>12}  "
            f"{node['in_flight']:>9}  {node['sessions']:>18}"
            for node in nodes
        )
    if status["orphaned_get_streams"]:
        lines.append(
            f"{status['orphaned_get_streams']} GET stream lease(s) held by no live node "
            "(taken over at the client's next GET)"
        )
    return "\n".join(lines)
