"""Tasks across a cluster of three nodes sharing a real redis-server (each request
sent to a chosen node): a task started on one node is read, answered, cancelled and
listened to on the others, and every message of the extension that crosses the
cluster validates against the extension's published schema (``schema-ext-tasks.json``;
the 2025-11-25 revision's tasks against that revision's schema); a task whose node
dies ends ``failed``. The harness's ``tasks-*`` scenarios through the cluster are run
by ``test_conformance.py``.
"""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from typing import Any

import jsonschema
import orjson
import pytest
import trio

from scaled_mcp.protocol.jsonrpc import ErrorCode

from .cluster import Node, Redis, nodes, start_node, stop
from .helpers import stateless_meta
from .http_client import HttpClient, McpHttp, stateless_headers
from .spec import validate

APP = "examples/everything.py"
EXTENSION = "io.modelcontextprotocol/tasks"
TASKS: dict[str, Any] = {"extensions": {EXTENSION: {}}}


@pytest.fixture(scope="module")
def cluster(redis: Redis) -> Iterator[list[Node]]:
    with nodes(APP, 3, redis.url, "--http", "h11") as started:
        yield started


def _request(method: str, params: dict[str, Any], request_id: int | str = 1) -> bytes:
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": method,
        "params": {**params, "_meta": stateless_meta(TASKS)},
    }
    return orjson.dumps(body)


def _headers(method: str, params: dict[str, Any]) -> dict[str, str]:
    name = params.get("name", params.get("taskId"))
    return stateless_headers(method, name if isinstance(name, str) else None)


async def _answer(node: Node, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The JSON-RPC answer of ``node`` to a 2026-07-28 request declaring the extension."""
    reply = await HttpClient("127.0.0.1", node.port).request(
        "POST", "/mcp", _headers(method, params), _request(method, params)
    )
    answer: dict[str, Any] = reply.json()
    return answer


async def _result(node: Node, method: str, **params: Any) -> dict[str, Any]:
    answer = await _answer(node, method, params)
    assert "result" in answer, answer
    result: dict[str, Any] = answer["result"]
    return result


async def _get(node: Node, task_id: str) -> dict[str, Any]:
    """``tasks/get`` on ``node``, validated (``GetTaskResult``: one of the five states)."""
    task = await _result(node, "tasks/get", taskId=task_id)
    validate("ext-tasks", "GetTaskResult", task)
    return task


async def _until(node: Node, task_id: str, *statuses: str) -> dict[str, Any]:
    with trio.fail_after(30):
        while True:
            task = await _get(node, task_id)
            if task["status"] in statuses:
                return task
            await trio.sleep(0.2)


async def _create(node: Node, name: str, **arguments: Any) -> str:
    created = await _result(node, "tools/call", name=name, arguments=arguments)
    validate("ext-tasks", "CreateTaskResult", created)
    task_id: str = created["taskId"]
    return task_id


async def test_every_message_across_the_nodes_validates(cluster: list[Node]) -> None:
    a, b, c = cluster
    # server/discover advertises the extension; its settings are the schema's.
    discovered = await _result(b, "server/discover")
    validate(
        "ext-tasks", "TasksExtensionCapability", discovered["capabilities"]["extensions"][EXTENSION]
    )
    # A task started on a, asking a question, listened to on c, answered on b.
    task_id = await _create(a, "confirm_delete", filename="notes.txt")
    listen = {"notifications": {"taskIds": [task_id]}}
    async with HttpClient("127.0.0.1", c.port).stream(
        "POST",
        "/mcp",
        stateless_headers("subscriptions/listen"),
        _request("subscriptions/listen", listen, "listen"),
    ) as events:
        ack = await events.next_message(wait=10)
        assert ack is not None and ack["method"] == "notifications/subscriptions/acknowledged"
        validate(
            "ext-tasks", "TaskSubscriptionAcknowledgedNotifications", ack["params"]["notifications"]
        )
        asking = await _until(b, task_id, "input_required")
        assert asking["inputRequests"]
        (key,) = asking["inputRequests"]
        update = {
            "taskId": task_id,
            "inputResponses": {key: {"action": "accept", "content": {"confirm": True}}},
        }
        validate(
            "ext-tasks",
            "UpdateTaskRequest",
            {"jsonrpc": "2.0", "id": 1, "method": "tasks/update", "params": update},
        )
        validate("ext-tasks", "UpdateTaskResult", await _result(b, "tasks/update", **update))
        done = await _until(c, task_id, "completed")
        assert done["result"]["content"][0]["text"] == "Deleted notes.txt"
        heard: list[dict[str, Any]] = []
        with trio.fail_after(30):
            while not heard or heard[-1]["params"]["status"] != "completed":
                message = await events.next_message(wait=30)
                assert message is not None
                assert message["method"] == "notifications/tasks"
                validate("ext-tasks", "TaskStatusNotification", message)
                assert message["params"]["taskId"] == task_id
                heard.append(message)
    assert heard[-1]["params"]["result"] == done["result"]
    # A task running on a, cancelled on c, seen cancelled on b.
    running = await _create(a, "slow_compute", seconds=120)
    assert (await _get(b, running))["status"] == "working"
    validate("ext-tasks", "CancelTaskResult", await _result(c, "tasks/cancel", taskId=running))
    assert (await _until(b, running, "cancelled"))["status"] == "cancelled"
    # A task ending with a protocol error on b, seen failed on a.
    failing = await _create(b, "protocol_error_job")
    failed = await _until(a, failing, "failed")
    validate("ext-tasks", "FailedTask", failed)
    assert failed["error"]["message"] == "the job hit an internal error"
    # What the schema refuses, it refuses: the validation can fail.
    with pytest.raises(jsonschema.ValidationError):
        validate("ext-tasks", "FailedTask", {**failed, "error": None})


async def test_2025_11_25_tasks_across_the_nodes(cluster: list[Node]) -> None:
    """The 2025-11-25 revision's tasks on one handshake session whose requests land on
    different nodes, validated against that revision's schema."""
    a, b, c = cluster
    first = McpHttp(HttpClient("127.0.0.1", a.port))
    await first.initialize(capabilities={"tasks": {}})

    def on(node: Node) -> McpHttp:
        other = McpHttp(HttpClient("127.0.0.1", node.port))
        other.session_id, other.protocol_version = first.session_id, first.protocol_version
        return other

    call = {"name": "slow_compute", "arguments": {"seconds": 120}, "task": {"ttl": 60000}}
    created = (await first.call(1, "tools/call", call)).json()["result"]
    validate("2025-11-25", "CreateTaskResult", created)
    task_id = created["task"]["taskId"]
    got = (await on(b).call(2, "tasks/get", {"taskId": task_id})).json()["result"]
    validate("2025-11-25", "GetTaskResult", got)
    assert got["status"] == "working"
    listing = (await on(c).call(3, "tasks/list", {})).json()["result"]
    validate("2025-11-25", "ListTasksResult", listing)
    assert [t["taskId"] for t in listing["tasks"]] == [task_id]
    cancelled = (await on(b).call(4, "tasks/cancel", {"taskId": task_id})).json()["result"]
    validate("2025-11-25", "CancelTaskResult", cancelled)
    assert cancelled["status"] == "cancelled"


async def test_a_task_whose_node_dies_ends_failed(redis: Redis, cluster: list[Node]) -> None:
    survivor = cluster[0]
    # A fourth node of the same cluster, killed while its task runs.
    doomed = start_node(APP, f"doomed{secrets.token_hex(3)}", redis.url, "--http", "h11")
    try:
        task_id = await _create(doomed, "slow_compute", seconds=120)
        # Another node sees it working, then its node is killed.
        assert (await _get(survivor, task_id))["status"] == "working"
        stop(doomed.process, signal.SIGKILL)
        task = await _until(survivor, task_id, "failed", "completed", "cancelled")
    finally:
        stop(doomed.process)
    assert task["status"] == "failed"
    validate("ext-tasks", "FailedTask", task)
    assert (
        task["error"]["code"] == ErrorCode.INTERNAL_ERROR and "stopped" in task["error"]["message"]
    )
