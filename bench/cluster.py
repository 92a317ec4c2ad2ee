"""Cluster benchmark: ``tools/call`` latency and throughput, one node vs three behind nginx.

In one run, with the same load generator (wrk) and the same session wire as
``bench/http_load.py``:

* one node on the in-memory backend (the reference),
* one node on Redis, every request to it,
* three nodes on the same Redis, every request to a random one of them (nginx round
  robin with no stickiness: consecutive requests of the session land on different
  nodes).

Uses the real parts the cluster tests use (``redis-server`` and ``nginx``, Debian
packages) on free 127.0.0.1 ports.

    .venv/bin/python bench/cluster.py --rounds 3 --duration 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_load import Run, lua_script, prepare, wrk  # noqa: E402
from tests.cluster import nginx, nodes, redis_server  # noqa: E402

APP = "bench/servers/ours.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        folder = Path(scratch)
        redis = stack.enter_context(redis_server(folder))
        memory = stack.enter_context(nodes(APP, 1, "memory", "--http", "h11", tag="m"))
        alone = stack.enter_context(nodes(APP, 1, redis.url, "--http", "h11", tag="a"))
        three = stack.enter_context(nodes(APP, 3, redis.url, "--http", "h11", tag="c"))
        proxy = stack.enter_context(nginx(folder, [node.port for node in three]))
        (folder / "one").mkdir()
        one_proxy = stack.enter_context(nginx(folder / "one", [three[0].port]))
        targets: dict[str, int] = {
            "1 node, in-memory backend, direct": memory[0].port,
            "1 node, Redis, direct": alone[0].port,
            "1 node of the 3, Redis, through nginx": one_proxy,
            "3 nodes, Redis, nginx round robin": proxy,
        }
        scripts = {}
        for index, (name, port) in enumerate(targets.items()):
            (folder / str(index)).mkdir()
            scripts[name] = lua_script("session", prepare("session", port), folder / str(index))
        redis.cli("CONFIG", "RESETSTAT")
        for _ in range(args.rounds):
            for name, port in targets.items():
                wrk(port, scripts[name], args.connections, 1.0)
                results.setdefault(name, []).append(
                    wrk(port, scripts[name], args.connections, args.duration)
                )
        # Redis's own CPU time, by command, over every run that used it.
        redis_usec = 0.0
        for line in redis.cli("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                fields = dict(part.split("=") for part in line.split(":", 1)[1].split(","))
                redis_usec += float(fields["usec"])
        redis_calls = sum(
            r.rps * args.duration for name, runs in results.items() if "Redis" in name for r in runs
        )
    median: Callable[[list[float]], float] = statistics.median
    print(f"{args.rounds} rounds of {args.duration:g} s, {args.connections} connections, medians")
    print(f"  {'':<42}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, runs in results.items():
        print(
            f"  {name:<42}{median([r.rps for r in runs]):8.0f}"
            f"{median([r.p50_ms for r in runs]):9.2f}{median([r.p99_ms for r in runs]):9.2f}"
            f"{sum(r.errors for r in runs):8d}"
        )
    if redis_calls:
        print(f"Redis CPU per tools/call on the Redis backend: {redis_usec / redis_calls:.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
