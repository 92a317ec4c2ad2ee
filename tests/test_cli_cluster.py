"""``scaled-mcp cluster status`` against a real redis-server and two real nodes: the live
nodes, the GET stream each holds, the live sessions; a node that stops leaves the list;
the memory broker and an unreachable one each answered in one line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import orjson

from .cluster import nodes, redis_server, stop
from .helpers import initialize_request

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scaled_mcp.cli", "cluster", "status", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def status_until(broker: str, done: Any, wait: float = 20) -> dict[str, Any]:
    """The JSON status, asked until ``done(status)`` (heartbeats come every 2 s)."""
    deadline = time.monotonic() + wait
    while True:
        answer = status("--broker", broker, "--json")
        assert answer.returncode == 0, answer.stderr
        found: dict[str, Any] = orjson.loads(answer.stdout)
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def open_session(port: int) -> str:
    with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        answer = client.post("/mcp", headers=HEADERS, content=orjson.dumps(initialize_request()))
        assert answer.status_code == 200
        session_id = answer.headers["mcp-session-id"]
        acked = client.post(
            "/mcp",
            headers={**HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"},
            content=b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
        )
        assert acked.status_code == 202
        return str(session_id)


def test_status_shows_nodes_streams_and_sessions(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis, nodes(EVERYTHING, 2, redis.url, tag="st") as (a, b):
        sessions = [open_session(a.port), open_session(a.port), open_session(b.port)]
        headers = {
            "accept": "text/event-stream",
            "mcp-session-id": sessions[0],
            "mcp-protocol-version": "2025-11-25",
        }
        with (
            httpx2.Client(base_url=f"http://127.0.0.1:{b.port}", timeout=30) as client,
            client.stream("GET", "/mcp", headers=headers) as stream,
        ):
            assert stream.status_code == 200  # session 0's GET stream, held by node b

            def settled(found: dict[str, Any]) -> bool:
                by = {node["node"]: node for node in found["nodes"]}
                # both counts come with st1's next heartbeat: wait for both
                return (
                    set(by) == {"st0", "st1"}
                    and by["st1"]["get_streams"] == 1
                    and by["st1"]["streams"] == 1
                )

            found = status_until(redis.url, settled)
            by = {node["node"]: node for node in found["nodes"]}
            assert set(by) == {"st0", "st1"}
            assert by["st1"]["get_streams"] == 1 and by["st1"]["streams"] == 1
            assert by["st0"]["get_streams"] == 0 and by["st0"]["streams"] == 0
            assert found["sessions"] == 3
            assert by["st0"]["in_flight"] == 0
            table = status("--broker", redis.url)
            assert table.returncode == 0
            assert table.stdout.splitlines()[0].endswith("2 live nodes, 3 live sessions")
        stop(a.process)
        found = status_until(redis.url, lambda f: [n["node"] for n in f["nodes"]] == ["st1"])
        assert [node["node"] for node in found["nodes"]] == ["st1"]


def test_status_of_memory_and_of_an_unreachable_broker() -> None:
    memory = status("--broker", "memory")
    assert memory.returncode == 2
    assert memory.stderr.count("\n") == 1 and "/metrics" in memory.stderr
    gone = status("--broker", "redis://127.0.0.1:1/0")
    assert gone.returncode == 1
    assert gone.stderr.startswith("scaled-mcp: cannot read redis://127.0.0.1:1/0:")
    assert gone.stderr.count("\n") == 1
