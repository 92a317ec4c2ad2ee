"""``--workers N`` without ``--state-key``: the workers share one requestState key, so an
input-required round trip continues on whichever worker a connection reaches; so do nodes
started apart on one broker (the key the broker keeps), without a word about it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import orjson

from .cluster import free_port, redis_server, stop, wait_for_port, workers
from .helpers import stateless_meta

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")
HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/call",
    "mcp-name": "test_elicitation",
}


def elicit(base: str, **more: Any) -> dict[str, Any]:
    params = {
        "name": "test_elicitation",
        "arguments": {"message": "hi"},
        "_meta": stateless_meta({"elicitation": {}}),
        **more,
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    with httpx2.Client(base_url=base, timeout=30) as client:  # a connection each time
        answer = client.post("/mcp", headers=HEADERS, content=orjson.dumps(body))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


def test_workers_share_one_request_state_key(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis, workers(EVERYTHING, redis.url, 2) as port:
        base = f"http://127.0.0.1:{port}"
        for _ in range(8):  # the kernel spreads the connections over both workers
            asked = elicit(base)
            assert asked["resultType"] == "input_required"
            (key,) = asked["inputRequests"]
            answered = elicit(
                base,
                inputResponses={key: {"action": "accept", "content": {"response": "yes"}}},
                requestState=asked["requestState"],
            )
            assert answered.get("isError") is not True, answered
            assert "action=accept" in answered["content"][0]["text"]


def test_nodes_on_a_shared_broker_without_a_key_share_the_brokers(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        started = []
        try:
            for _ in range(2):
                port = free_port()
                command = [sys.executable, "-m", "scaled_mcp.cli", "serve", EVERYTHING,
                           "--broker", redis.url, "--bind", f"127.0.0.1:{port}"]  # fmt: skip
                process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE)
                started.append(process)
                wait_for_port(port, process, "a node")
                started_on = f"http://127.0.0.1:{port}"
                if len(started) == 1:
                    first = started_on
            asked = elicit(first)
            (key,) = asked["inputRequests"]
            answered = elicit(
                started_on,  # the other node
                inputResponses={key: {"action": "accept", "content": {"response": "yes"}}},
                requestState=asked["requestState"],
            )
            assert answered.get("isError") is not True, answered
            assert "action=accept" in answered["content"][0]["text"]
        finally:
            for process in started:
                stop(process)
        for process in started:
            assert process.stderr is not None
            said = process.stderr.read().decode()
            assert "state-key" not in said and "requestState" not in said, said
