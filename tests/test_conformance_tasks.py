"""The official harness's ``tasks-*`` scenarios (the tasks extension, ``--suite all``)
against ``examples/everything.py`` on both HTTP fronts and through a 3-node cluster
behind round-robin nginx (every request of a scenario may land on another node);
and, on that cluster, a task whose node dies ends ``failed``.

The harness's ``tasks-status-notifications`` scenario records one SKIPPED check
of its own (it is "pending [a] subscriptions/listen rewrite" upstream): that one
check is the only status other than SUCCESS accepted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio

from .cluster import Node, nginx, nodes, redis_server, stop
from .conformance import HARNESS, HARNESS_DIR, node, serve
from .helpers import stateless_meta
from .http_client import HttpClient

APP = "examples/everything.py"
FRONTS = {
    "h11": ("--http", "h11"),
    "hypercorn-sse": ("--http", "hypercorn", "--response", "sse"),
}
TASKS: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}}
#: The harness's own skip (see the module docstring).
HARNESS_SKIPS = {("tasks-status-notifications", "tasks-status-notifications")}


def _harness(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(node()), str(HARNESS), *args],
        cwd=HARNESS_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def task_scenarios() -> list[str]:
    """The harness's tasks scenarios (``list --server``)."""
    listed = _harness("list", "--server", timeout=60).stdout
    return sorted({w for w in listed.split() if w.startswith("tasks-")})


def run_scenarios(url: str, output: Path) -> list[dict[str, Any]]:
    """Every tasks scenario against ``url`` (five at a time); every check recorded."""
    scenarios = task_scenarios()
    assert len(scenarios) >= 10, scenarios

    def one(scenario: str) -> None:
        _harness(
            "server", "--url", url, "--suite", "all", "--scenario", scenario, "-o", str(output)
        )

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(one, scenarios))
    checks: list[dict[str, Any]] = []
    for path in sorted(output.glob("*/checks.json")):
        scenario = next(s for s in scenarios if path.parent.name.startswith(f"server-{s}-"))
        for check in json.loads(path.read_text()):
            checks.append({**check, "scenario": scenario})
    assert {c["scenario"] for c in checks} == set(scenarios)
    return checks


def assert_all_pass(checks: list[dict[str, Any]]) -> None:
    bad = [
        f"{c['scenario']}: {c['id']} {c['status']}: {c.get('errorMessage')}"
        for c in checks
        if c["status"] not in ("SUCCESS", "INFO")
        and not (c["status"] == "SKIPPED" and (c["scenario"], c["id"]) in HARNESS_SKIPS)
    ]
    assert bad == []
    assert sum(c["status"] == "SUCCESS" for c in checks) >= 44


@pytest.mark.parametrize("front", sorted(FRONTS))
def test_tasks_scenarios_pass_on_each_front(front: str, tmp_path: Path) -> None:
    assert HARNESS.is_file(), "run `python tests/conformance.py` (scripts/test does) first"
    with serve(APP, *FRONTS[front]) as url:
        assert_all_pass(run_scenarios(url, tmp_path))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Node], int]]:
    folder = tmp_path_factory.mktemp("tasks-cluster")
    with (
        redis_server(folder) as redis,
        nodes(APP, 3, redis.url, "--http", "h11", folder=folder) as started,
        nginx(folder, [n.port for n in started]) as proxy,
    ):
        yield started, proxy


def test_tasks_scenarios_pass_through_the_cluster(
    cluster: tuple[list[Node], int], tmp_path: Path
) -> None:
    _, proxy = cluster
    assert_all_pass(run_scenarios(f"http://localhost:{proxy}/mcp", tmp_path))


async def _call(port: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": method,
        "params": {**params, "_meta": stateless_meta(TASKS)},
    }
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": method,
    }
    name = params.get("name", params.get("taskId"))
    if isinstance(name, str):
        headers["mcp-name"] = name
    reply = await HttpClient("127.0.0.1", port).request("POST", "/mcp", headers, orjson.dumps(body))
    answer: dict[str, Any] = reply.json()
    return answer


async def test_a_task_whose_node_dies_ends_failed(cluster: tuple[list[Node], int]) -> None:
    started, _ = cluster
    doomed, survivor = started[-1], started[0]
    created = (
        await _call(
            doomed.port, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 120}}
        )
    )["result"]
    task_id = created["taskId"]
    # Another node sees it working, then its node is killed.
    seen = (await _call(survivor.port, "tasks/get", {"taskId": task_id}))["result"]
    assert seen["status"] == "working"
    stop(doomed.process, signal.SIGKILL)
    with trio.fail_after(30):
        while True:
            task = (await _call(survivor.port, "tasks/get", {"taskId": task_id}))["result"]
            if task["status"] != "working":
                break
            await trio.sleep(0.5)
    assert task["status"] == "failed"
    assert task["error"]["code"] == -32603 and "stopped" in task["error"]["message"]
