"""``scaled-mcp cluster status --broker URL``: the cluster as its store holds it.

The live nodes (those whose heartbeat has not expired), what each holds -- the GET
streams whose lease it has, its open streams, its handlers running, the sessions in
its memory -- and the number of live sessions in the store. Read from Redis; the
in-memory broker lives inside one process, so there is nothing to read from outside
it (that node's ``/metrics`` says the same things).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

import orjson
import trio

from .cluster import BackendUnavailable

__all__ = ["add_command"]

#: Seconds the whole read may take.
_DEADLINE: Final = 10.0


def add_command(commands: Any) -> None:
    """Add ``cluster`` (with its ``status``) to the command line."""
    cluster = commands.add_parser("cluster", help="inspect a cluster of nodes", allow_abbrev=False)
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


def run_status(args: argparse.Namespace) -> int:
    """Print the cluster's status; the exit status (1: the broker did not answer)."""
    from ._cli_options import shown_url
    from .cli import TargetError, _backend

    if args.broker in ("memory", ""):
        print(
            "scaled-mcp: the memory broker lives inside one node's process: there is no "
            "cluster to read from outside; ask that node's /metrics",
            file=sys.stderr,
        )
        return 2
    try:
        backend = _backend(args.broker)
    except TargetError as exc:
        print(f"scaled-mcp: {exc}", file=sys.stderr)
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
