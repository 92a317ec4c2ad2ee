"""Memory per idle handshake session: ours beside the official SDK, in the same run.

Each server runs alone as a subprocess; the script opens N sessions (``initialize`` +
``notifications/initialized`` over HTTP, each on a fresh connection), leaves them idle,
and reads the growth of the server's resident set (``/proc/<pid>/status`` VmRSS) per
session. With ``--redis URL`` it also runs ours on the Redis backend and reports the
Redis memory per session (``MEMORY USAGE`` of a session key) and the node's own growth.

    .venv/bin/python bench/sessions.py                     # ours 20,000, SDK 3,000
    .venv/bin/python bench/sessions.py --ours 5000 --sdk 1000 --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path

from http_load import Server, free_port, running

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
INIT = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench-client", "version": "1.0.0"},
        },
    }
)
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_sessions(port: int, count: int) -> list[str]:
    ids = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        conn.request("POST", "/mcp", INIT, HEADERS)
        response = conn.getresponse()
        response.read()
        session = response.getheader("mcp-session-id")
        if response.status != 200 or not session:
            raise RuntimeError(f"initialize answered {response.status}")
        conn.request(
            "POST",
            "/mcp",
            '{"jsonrpc":"2.0","method":"notifications/initialized"}',
            {**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"},
        )
        conn.getresponse().read()
        ids.append(session)
    conn.close()
    return ids


def measure(command: list[str], port: int, count: int) -> tuple[float, list[str]]:
    """Bytes of the server's resident set per idle session after opening ``count``."""
    with running(Server(command[2], command), port) as process:
        open_sessions(port, 50)  # warm up: imports, caches, first allocations
        time.sleep(0.5)
        before = rss_kib(process.pid)
        ids = open_sessions(port, count)
        time.sleep(1.0)
        after = rss_kib(process.pid)
        return (after - before) * 1024 / count, ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--ours", type=int, default=20_000, help="sessions opened on ours")
    parser.add_argument("--sdk", type=int, default=3_000, help="sessions opened on the SDK")
    parser.add_argument("--redis", default=None, help="also measure ours on this Redis")
    args = parser.parse_args()
    rows = []
    serve = [
        str(PYTHON), "-m", "scaled_mcp.cli", "serve", "bench/servers/ours.py", "--http", "h11",
        "--max-sessions", str(args.ours + 1000),
    ]  # fmt: skip
    port = free_port()
    per, _ = measure([*serve, "--bind", f"127.0.0.1:{port}"], port, args.ours)
    rows.append((f"ours, in-memory backend, h11 ({args.ours:,} sessions)", per))
    if args.redis:
        port, other = free_port(), free_port()
        bystander = [*serve, "--bind", f"127.0.0.1:{other}", "--broker", args.redis]
        with running(Server("bystander", bystander), other) as idle_node:
            before = rss_kib(idle_node.pid)
            per, ids = measure(
                [*serve, "--bind", f"127.0.0.1:{port}", "--broker", args.redis], port, args.ours
            )
            grown = (rss_kib(idle_node.pid) - before) * 1024
        rows.append((f"ours, Redis backend: node growth ({args.ours:,} sessions)", per))
        rows.append((f"ours, Redis backend: another node's growth, total for {args.ours:,}", grown))
        usage = subprocess.run(
            ["redis-cli", "-u", args.redis, "MEMORY", "USAGE", f"mcp:s:{{{ids[-1]}}}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        rows.append(("ours, Redis backend: Redis MEMORY USAGE of one session", float(usage or 0)))
    port = free_port()
    per, _ = measure([str(PYTHON), "bench/servers/sdk.py", str(port)], port, args.sdk)
    rows.append((f"official SDK 2.3, uvicorn ({args.sdk:,} sessions)", per))
    print(f"Python {sys.version.split()[0]}")
    for name, value in rows:
        print(f"  {name:<62} {value / 1024:8.2f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
