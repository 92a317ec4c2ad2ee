"""The client's cost per ``tools/call`` beside the official SDK's client, in the same run,
and the memory one open client holds.

One server, ours on the h11 front serving ``bench/servers/ours.py`` (one ``echo`` tool),
runs in a child process; the clients run here, in one trio run:

* 2025-11-25 session: ``scaled_mcp.client.Client(url, mode="handshake")`` beside the
  official SDK's ``ClientSession`` over its ``streamable_http_client``;
* 2026-07-28 stateless wire: ``Client(url, mode="stateless")`` beside the official SDK's
  ``mcp.client.Client(url, mode="2026-07-28")``.

Each client is opened once; then rounds alternate between the clients (the order turns
every round), each round ``--calls`` sequential ``tools/call`` of ``echo``. Per call the
script records the wall time (client, network and server) and this process's CPU time
(``time.process_time``: the client alone, the server being another process). It prints
medians, the spread, and the ratios SDK / ours.

Memory per open client: a child process opens ``--clients`` clients to the same server
(each connected and initialised, held open in its own task) after one warm-up client,
and reports the growth of its resident set (VmRSS) and, in a second child, of the
memory ``tracemalloc`` traces, divided by the number of clients.

    .venv/bin/python bench/client_calls.py                  # 11 rounds x 300 calls, 200 clients
    .venv/bin/python bench/client_calls.py -r 5 -n 100 --clients 50
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from common import describe_machine
from http_load import Server, free_port, running

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"

#: A client as the rounds see it: one ``tools/call`` of ``echo``.
Call = Callable[[], Awaitable[object]]

#: The sides, in the order the table prints them: (label, wire, who).
SIDES = (
    ("ours, 2025-11-25 session", "handshake", "ours"),
    ("official SDK, 2025-11-25 session", "handshake", "sdk"),
    ("ours, 2026-07-28 stateless", "stateless", "ours"),
    ("official SDK, 2026-07-28 stateless", "stateless", "sdk"),
)


def our_server(port: int) -> Server:
    return Server(
        "ours-h11",
        [
            str(PYTHON), "-m", "scaled_mcp.cli", "serve", "bench/servers/ours.py",
            "--http", "h11", "--bind", f"127.0.0.1:{port}",
        ],
    )  # fmt: skip


@asynccontextmanager
async def open_client(url: str, wire: str, who: str) -> AsyncIterator[Call]:
    """One open client of ``who`` on ``wire``: a function that makes one ``echo`` call."""
    arguments = {"text": "hello"}
    async with AsyncExitStack() as stack:
        if who == "ours":
            from scaled_mcp.client import Client

            ours = await stack.enter_async_context(
                Client(url, mode="handshake" if wire == "handshake" else "stateless")
            )

            async def call_ours() -> object:
                return await ours.call_tool("echo", arguments)

            yield call_ours
        elif wire == "handshake":
            from mcp.client.session import ClientSession
            from mcp.client.streamable_http import streamable_http_client

            read, write = await stack.enter_async_context(streamable_http_client(url))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()

            async def call_session() -> object:
                return await session.call_tool("echo", arguments)

            yield call_session
        else:
            from mcp.client.client import Client as SdkClient

            sdk = await stack.enter_async_context(SdkClient(url, mode="2026-07-28"))

            async def call_sdk() -> object:
                return await sdk.call_tool("echo", arguments)

            yield call_sdk


def text_of(result: Any) -> str:
    """The text of a ``CallToolResult``'s first block (either library's)."""
    return str(result.content[0].text)


async def measure_calls(url: str, rounds: int, calls: int) -> dict[str, list[tuple[float, float]]]:
    """Per side, one (wall µs, CPU µs) per call, averaged over each recorded round."""
    figures: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in SIDES}
    async with AsyncExitStack() as stack:
        clients: dict[str, Call] = {}
        for label, wire, who in SIDES:
            clients[label] = await stack.enter_async_context(open_client(url, wire, who))
            if text_of(await clients[label]()) != "hello":
                raise RuntimeError(f"{label}: echo did not echo")
        for index in range(rounds + 1):  # the first round warms up
            turn = index % len(SIDES)
            for label, _, _ in SIDES[turn:] + SIDES[:turn]:
                call = clients[label]
                gc.collect()
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(calls):
                    await call()
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if index:
                    figures[label].append((1e6 * wall / calls, 1e6 * cpu / calls))
    return figures


def vm_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def hold_clients(url: str, wire: str, who: str, count: int, trace: bool) -> float:
    """Open one client, then ``count`` more, all held open: KiB each of the latter."""

    async def hold(stop: trio.Event, *, task_status: trio.TaskStatus[None]) -> None:
        async with open_client(url, wire, who):
            task_status.started()
            await stop.wait()

    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        with trio.fail_after(120):
            await nursery.start(hold, stop)
        gc.collect()
        if trace:
            tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0] if trace else vm_rss_kib() * 1024
        with trio.fail_after(600):
            for _ in range(count):
                await nursery.start(hold, stop)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] if trace else vm_rss_kib() * 1024
        if trace:
            tracemalloc.stop()
        stop.set()
    return (after - before) / 1024 / count


def memory_child(url: str, wire: str, who: str, count: int, trace: bool) -> float:
    """KiB per open client, measured in a fresh child process."""
    command = [str(PYTHON), __file__, "--child", url, wire, who, str(count)]
    if trace:
        command.append("--trace")
    out = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=900
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["kib"])


def print_calls(figures: dict[str, list[tuple[float, float]]], calls: int) -> None:
    width = max(len(label) for label in figures)
    print(f"\nµs per tools/call ({calls} sequential calls a round, medians of the rounds)")
    print(f"{'client':<{width}}  {'wall':>8}  {'client CPU':>10}  {'CPU spread':>10}")
    medians: dict[str, tuple[float, float]] = {}
    for label, rows in figures.items():
        wall = statistics.median(w for w, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        cpus = [c for _, c in rows]
        spread = 100 * (max(cpus) - min(cpus)) / min(cpus)
        medians[label] = (wall, cpu)
        print(f"{label:<{width}}  {wall:>8.0f}  {cpu:>10.0f}  {spread:>9.0f}%")
    for era in ("2025-11-25 session", "2026-07-28 stateless"):
        ours, sdk = medians[f"ours, {era}"], medians[f"official SDK, {era}"]
        print(
            f"{era}: the SDK's client costs {sdk[1] / ours[1]:.1f}x our client's CPU per call; "
            f"wall time per call {sdk[0] / ours[0]:.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", "--rounds", type=int, default=11)
    parser.add_argument("-n", "--calls", type=int, default=300, help="calls a round")
    parser.add_argument("--clients", type=int, default=200, help="clients held open for memory")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("URL", "WIRE", "WHO", "COUNT"))
    parser.add_argument("--trace", action="store_true", help="child: tracemalloc, not VmRSS")
    args = parser.parse_args()
    if args.child:
        url, wire, who, count = args.child
        kib = trio.run(hold_clients, url, wire, who, int(count), args.trace)
        print(json.dumps({"kib": kib}))
        return

    print(describe_machine(("scaled-mcp", "mcp", "httpx2", "trio", "anyio", "orjson")).format())
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    with running(our_server(port), port):
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        figures = trio.run(measure_calls, url, args.rounds, args.calls)
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print_calls(figures, args.calls)
        if args.skip_memory:
            return
        print(f"\nKiB per open client ({args.clients} clients held open on one server)")
        print(f"{'client':<36}  {'VmRSS':>8}  {'tracemalloc':>11}")
        for label, wire, who in SIDES:
            rss = memory_child(url, wire, who, args.clients, trace=False)
            traced = memory_child(url, wire, who, args.clients, trace=True)
            print(f"{label:<36}  {rss:>8.1f}  {traced:>11.1f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
