"""The gateway's added latency and throughput beside the direct path, in the same run.

Three servers in child processes, each on the h11 front:

* **direct**: ``scaled-mcp serve bench/servers/ours.py`` (one ``echo`` tool);
* **gateway → HTTP**: ``scaled-mcp serve --upstream http://…/mcp`` in front of the direct one;
* **gateway → stdio**: ``scaled-mcp serve --upstream-command "… serve
  bench/servers/ours.py --stdio"`` (each gateway node runs its own upstream process).

Our client (``scaled_mcp.client.Client``) in this process calls ``echo`` on each, on the
2025-11-25 session and on the 2026-07-28 stateless wire (the gateway reaches its
upstream on 2026-07-28, the newest revision both speak). Latency: rounds alternate
between the servers (the order turns every round), each round ``--calls`` sequential
calls; the median µs per call and the spread. Throughput: ``--tasks`` concurrent callers
on one client for ``--seconds`` per server; calls per second (the client, in this one
process, is part of what is measured: compare the rows, not the absolute figures).

    .venv/bin/python bench/gateway.py                   # 7 rounds x 200 calls, 16 tasks x 5 s
    .venv/bin/python bench/gateway.py -r 3 -n 100 --seconds 3
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import trio
from common import describe_machine

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
SERVE = [PYTHON, "-m", "scaled_mcp.cli", "serve"]
WIRES = ("handshake", "stateless")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(command: list[str], port: int) -> Iterator[None]:
    """``command`` in a child process until it listens on ``port`` (120 s at most)."""
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with status {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command} did not listen within 120 s") from None
                time.sleep(0.1)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def forever(client: Any, arguments: dict[str, str]) -> None:
    while True:
        await client.call_tool("echo", arguments)


async def measure(
    urls: dict[str, str], rounds: int, calls: int, tasks: int, seconds: float
) -> dict[tuple[str, str], dict[str, Any]]:
    from scaled_mcp.client import Client

    found: dict[tuple[str, str], dict[str, Any]] = {}
    arguments = {"text": "hello"}
    for wire in WIRES:
        async with AsyncExitStack() as stack:
            clients = {
                name: await stack.enter_async_context(
                    Client(url, mode=wire, timeout=60)  # type: ignore[arg-type]
                )
                for name, url in urls.items()
            }
            for client in clients.values():  # warm up, the gateway's pool too
                for _ in range(20):
                    await client.call_tool("echo", arguments)
                with trio.move_on_after(seconds):
                    async with trio.open_nursery() as nursery:
                        for _ in range(tasks):
                            nursery.start_soon(forever, client, arguments)
            per_call: dict[str, list[float]] = {name: [] for name in clients}
            names = list(clients)
            for index in range(rounds):
                order = names[index % len(names) :] + names[: index % len(names)]
                for name in order:
                    client = clients[name]
                    started = time.perf_counter()
                    for _ in range(calls):
                        await client.call_tool("echo", arguments)
                    per_call[name].append((time.perf_counter() - started) / calls * 1e6)
            for name, client in clients.items():
                done = 0

                async def caller(client: Any = client) -> None:
                    nonlocal done
                    while True:
                        await client.call_tool("echo", arguments)
                        done += 1

                with trio.move_on_after(seconds):
                    async with trio.open_nursery() as nursery:
                        for _ in range(tasks):
                            nursery.start_soon(caller)
                found[(name, wire)] = {
                    "median_us": statistics.median(per_call[name]),
                    "spread": (max(per_call[name]) - min(per_call[name]))
                    / statistics.median(per_call[name]),
                    "rps": done / seconds,
                }
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--rounds", type=int, default=7)
    parser.add_argument("-n", "--calls", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    direct, via_http, via_stdio = free_port(), free_port(), free_port()
    stdio_upstream = f"{PYTHON} -m scaled_mcp.cli serve bench/servers/ours.py --stdio"

    def serve(port: int, *what: str) -> list[str]:
        return [*SERVE, *what, "--http", "h11", "--bind", f"127.0.0.1:{port}"]

    with (
        running(serve(direct, "bench/servers/ours.py"), direct),
        running(serve(via_http, "--upstream", f"http://127.0.0.1:{direct}/mcp"), via_http),
        running(serve(via_stdio, "--upstream-command", stdio_upstream), via_stdio),
    ):
        urls = {
            "direct": f"http://127.0.0.1:{direct}/mcp",
            "gateway → HTTP": f"http://127.0.0.1:{via_http}/mcp",
            "gateway → stdio": f"http://127.0.0.1:{via_stdio}/mcp",
        }
        found = trio.run(measure, urls, args.rounds, args.calls, args.tasks, args.seconds)
    print(describe_machine().format())
    print(f"{args.rounds} rounds x {args.calls} calls; {args.tasks} tasks x {args.seconds:g} s")
    print()
    print("| wire | path | median µs/call | added µs | spread | calls/s |")
    print("|---|---|---|---|---|---|")
    for wire in WIRES:
        base = found[("direct", wire)]["median_us"]
        for name in urls:
            row = found[(name, wire)]
            added = row["median_us"] - base
            print(
                f"| {wire} | {name} | {row['median_us']:.0f} | "
                f"{'' if name == 'direct' else f'{added:+.0f}'} | {row['spread']:.0%} | "
                f"{row['rps']:.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    raise SystemExit(main())
