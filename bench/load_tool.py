"""``scaled-mcp bench`` beside wrk: is our load generator the bottleneck?

One server (ours on the h11 front, ``servers/ours.py``'s ``echo`` tool) is loaded in
turn by wrk (C, 1 thread; ``http_load.py``'s script) and by ``scaled-mcp bench`` (a
child process, ``--json``), with the same connections and duration, rounds alternating
which goes first. The figures are the ratio of the medians of req/s and the median of
each round's ratio (the two runs of a round are seconds apart, so slow drift of the
machine's load cancels): the load tool is not the bottleneck when it reaches wrk's
figure (the goal: at least 80% at 16 connections). Both share the machine's cores
with the server, so the CPU the tool spends per request is printed too.

    .venv/bin/python bench/load_tool.py                        # 16 connections, 3 rounds of 5 s
    .venv/bin/python bench/load_tool.py --rounds 5 --wires session --connections 1 16 64
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from http_load import VENV_PYTHON, free_port, lua_script, machine, prepare, running, servers, wrk

ROOT = Path(__file__).resolve().parent.parent


def ours(
    port: int, wire: str, connections: int, duration: float, processes: int
) -> tuple[float, float, float, int, float]:
    """req/s, p50 ms, p99 ms, errors and the tool's CPU µs per request of one run."""
    revision = "2025-11-25" if wire == "session" else "2026-07-28"
    command = [
        str(VENV_PYTHON),
        "-m",
        "scaled_mcp.cli",
        "bench",
        f"http://127.0.0.1:{port}/mcp",
        "--tool",
        "echo",
        "--args",
        '{"text": "hello"}',
        "-c",
        str(connections),
        "-d",
        f"{duration:g}",
        "--revision",
        revision,
        "--processes",
        str(processes),
        "--json",
        "-q",
    ]
    out = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=duration + 120, check=True
    ).stdout
    data = json.loads(out)
    cpu_us = 1e6 * data["client_cpu_s"] / max(1, data["completed"])
    errors = sum(data["errors"].values())
    lat = data["latency_ms"]
    return data["requests_per_second"], lat["p50"], lat["p99"], errors, cpu_us


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--connections", nargs="+", type=int, default=[16])
    parser.add_argument(
        "--wires", nargs="+", choices=("session", "stateless"), default=["session", "stateless"]
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1, help="scaled-mcp bench --processes")
    parser.add_argument("--json", type=Path, default=None, help="save the raw results here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench/load_tool.py: wrk is missing (apt-get install wrk)", file=sys.stderr)
        return 2
    port = free_port()
    (server,) = servers(port, ["ours-h11"])
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch, running(server, port):
        scripts = {
            wire: lua_script(wire, prepare(wire, port), Path(scratch)) for wire in args.wires
        }
        for round_number in range(1, args.rounds + 1):
            for wire in args.wires:
                for count in args.connections:
                    order = ("wrk", "ours") if round_number % 2 else ("ours", "wrk")
                    for tool in order:
                        print(
                            f"round {round_number}: {wire}, {count} conn, {tool}", file=sys.stderr
                        )
                        key = f"{wire}/{count}/{tool}"
                        if tool == "wrk":
                            run = wrk(port, scripts[wire], count, args.duration)
                            row = {"rps": run.rps, "p50": run.p50_ms, "p99": run.p99_ms}
                            row["errors"] = run.errors
                        else:
                            rps, p50, p99, errors, cpu = ours(
                                port, wire, count, args.duration, args.processes
                            )
                            row = {"rps": rps, "p50": p50, "p99": p99, "errors": errors}
                            row["cpu_us"] = cpu
                        runs.setdefault(key, []).append(row)
    print(f"Machine: {machine()}")
    print(f"{args.rounds} rounds of {args.duration:g} s, interleaved; medians over rounds.")
    print(
        f"{'wire':<10}{'conn':>5}{'wrk req/s':>11}{'ours req/s':>12}{'ours/wrk':>10}"
        f"{'per round':>10}{'wrk p50':>9}{'ours p50':>10}{'ours CPU µs/req':>17}{'errors':>8}"
    )
    for wire in args.wires:
        for count in args.connections:
            w, o = runs[f"{wire}/{count}/wrk"], runs[f"{wire}/{count}/ours"]
            w_rps = statistics.median(r["rps"] for r in w)
            o_rps = statistics.median(r["rps"] for r in o)
            # The median of each round's ratio: the two runs of a round are seconds
            # apart, so the machine's drift between rounds cancels.
            paired = statistics.median(a["rps"] / b["rps"] for a, b in zip(o, w, strict=True))
            print(
                f"{wire:<10}{count:>5}{w_rps:>11,.0f}{o_rps:>12,.0f}{o_rps / w_rps:>9.0%} "
                f"{paired:>9.0%}"
                f"{statistics.median(r['p50'] for r in w):>8.2f}"
                f"{statistics.median(r['p50'] for r in o):>10.2f}"
                f"{statistics.median(r['cpu_us'] for r in o):>17.1f}"
                f"{int(sum(r['errors'] for r in w + o)):>8}"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
