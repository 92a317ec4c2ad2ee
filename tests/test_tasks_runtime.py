"""Tasks on one node, in memory: a tool call becoming a task, its questions and
answers, cancellation, its owner, its TTL, a dead node's tasks, a node shutting
down, and the bound on what a task keeps. Every extension message is validated
against the extension's published schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio

from scaled_mcp import Context, McpError, MCPServer
from scaled_mcp.cluster import MemoryBackend
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.tasks import TASKS_EXTENSION, TaskRecord
from scaled_mcp.runtime import Runtime, RuntimeConfig

from .helpers import (
    mcp_headers,
    open_session,
    post,
    post_stream,
    serving_in_memory,
    stateless_meta,
)
from .spec import validate

WITH_TASKS: dict[str, Any] = {"extensions": {TASKS_EXTENSION: {}}, "elicitation": {}}


class Calls:
    """A 2026-07-28 client of an in-memory node."""

    def __init__(self, runtime: Runtime, capabilities: dict[str, Any] | None = None) -> None:
        self.runtime = runtime
        self.capabilities = WITH_TASKS if capabilities is None else capabilities
        self.next_id = 0

    async def send(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.next_id += 1
        body = {
            "jsonrpc": "2.0",
            "id": self.next_id,
            "method": method,
            "params": {**params, "_meta": stateless_meta(self.capabilities)},
        }
        headers = mcp_headers(version="2026-07-28", mcp_method=method)
        name = params.get("name", params.get("taskId"))
        if isinstance(name, str):
            headers["mcp-name"] = name
        reply = await post(self.runtime, body, headers)
        assert reply.status is not None
        answer: dict[str, Any] = reply.json()
        return reply.status, answer

    async def result(self, method: str, **params: Any) -> dict[str, Any]:
        status, answer = await self.send(method, params)
        assert status == 200 and "result" in answer, answer
        result: dict[str, Any] = answer["result"]
        return result

    async def error(self, method: str, **params: Any) -> dict[str, Any]:
        _, answer = await self.send(method, params)
        assert "error" in answer, answer
        error: dict[str, Any] = answer["error"]
        return error

    async def get(self, task_id: str) -> dict[str, Any]:
        task = await self.result("tasks/get", taskId=task_id)
        validate("ext-tasks", "GetTaskResult", task)
        return task

    async def until(self, task_id: str, *statuses: str) -> dict[str, Any]:
        with trio.fail_after(10):
            while True:
                task = await self.get(task_id)
                if task["status"] in statuses:
                    return task
                await trio.sleep(0.02)


def make_app(seen: dict[str, Any]) -> MCPServer:
    app = MCPServer("tasks-test")

    @app.tool(task="optional")
    async def wait(seconds: float) -> str:
        try:
            await trio.sleep(seconds)
        except trio.Cancelled:
            seen["cancelled"].set()
            raise
        return f"waited {seconds}"

    @app.tool(task="required")
    async def ask_two(ctx: Context) -> str:
        first = await ctx.elicit("First?", {"type": "object", "properties": {}})
        second = await ctx.elicit("Second?", {"type": "object", "properties": {}})
        return f"{first.action} then {second.action}"

    @app.tool(task="optional")
    async def refuse() -> str:
        raise McpError(ErrorCode.INVALID_PARAMS, "no such thing", {"why": "test"})

    @app.tool(task="optional")
    async def huge() -> str:
        return "x" * (1100 * 1024)

    @app.tool()
    async def plain() -> str:
        return "plain"

    return app


def fresh_app() -> MCPServer:
    return make_app({"cancelled": trio.Event()})


@pytest.fixture
async def node() -> AsyncIterator[tuple[Runtime, dict[str, Any]]]:
    seen: dict[str, Any] = {"cancelled": trio.Event()}
    runtime = Runtime(make_app(seen), config=RuntimeConfig(shutdown_grace=0.5))
    async with serving_in_memory(runtime):
        yield runtime, seen


async def test_a_task_asks_through_input_required_and_completes(
    node: tuple[Runtime, dict[str, Any]],
) -> None:
    runtime, _ = node
    calls = Calls(runtime)
    created = await calls.result("tools/call", name="ask_two", arguments={})
    validate("ext-tasks", "CreateTaskResult", created)
    task_id = created["taskId"]
    asking = await calls.until(task_id, "input_required")
    ((first_key, request),) = asking["inputRequests"].items()
    assert request["method"] == "elicitation/create"
    # An unknown key is ignored; the task stays input_required.
    ack = await calls.result("tasks/update", taskId=task_id, inputResponses={"nope": {}})
    assert ack["resultType"] == "complete" and "taskId" not in ack
    assert (await calls.get(task_id))["status"] == "input_required"
    await calls.result(
        "tasks/update", taskId=task_id, inputResponses={first_key: {"action": "accept"}}
    )
    asking = await calls.until(task_id, "input_required")
    while first_key in asking["inputRequests"]:
        asking = await calls.until(task_id, "input_required")
    ((second_key, _),) = asking["inputRequests"].items()
    assert second_key != first_key  # keys are never reused within a task
    await calls.result(
        "tasks/update", taskId=task_id, inputResponses={second_key: {"action": "decline"}}
    )
    done = await calls.until(task_id, "completed")
    assert done["result"]["content"][0]["text"] == "accept then decline"
    assert "inputRequests" not in done and "error" not in done


async def test_what_a_client_without_the_extension_gets(
    node: tuple[Runtime, dict[str, Any]],
) -> None:
    runtime, _ = node
    bare = Calls(runtime, {})
    plain = await bare.result("tools/call", name="wait", arguments={"seconds": 0})
    assert plain["resultType"] == "complete" and "taskId" not in plain
    status, answer = await bare.send("tools/call", {"name": "ask_two", "arguments": {}})
    assert status == 400
    assert answer["error"]["code"] == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY
    assert answer["error"]["data"] == {
        "requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}
    }
    for method in ("tasks/get", "tasks/cancel"):
        error = await bare.error(method, taskId="whatever")
        assert error["code"] == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY
    calls = Calls(runtime)
    for method in ("tasks/result", "tasks/list"):
        assert (await calls.error(method, taskId="x"))["code"] == ErrorCode.METHOD_NOT_FOUND
    assert (await calls.error("tasks/get", taskId="unknown"))["code"] == ErrorCode.INVALID_PARAMS
    # A plain tool is never a task.
    assert (await calls.result("tools/call", name="plain", arguments={}))[
        "resultType"
    ] == "complete"


async def test_cancel_stops_the_work_and_a_protocol_error_fails_the_task(
    node: tuple[Runtime, dict[str, Any]],
) -> None:
    runtime, seen = node
    calls = Calls(runtime)
    created = await calls.result("tools/call", name="wait", arguments={"seconds": 60})
    ack = await calls.result("tasks/cancel", taskId=created["taskId"])
    assert ack["resultType"] == "complete" and "taskId" not in ack
    assert (await calls.get(created["taskId"]))["status"] == "cancelled"
    with trio.fail_after(5):
        await seen["cancelled"].wait()
    again = await calls.result("tasks/cancel", taskId=created["taskId"])
    assert again["resultType"] == "complete"
    refused = await calls.result("tools/call", name="refuse", arguments={})
    failed = await calls.until(refused["taskId"], "failed")
    assert failed["error"] == {"code": -32602, "message": "no such thing", "data": {"why": "test"}}
    assert "result" not in failed


async def test_a_result_too_large_to_keep_fails_the_task(
    node: tuple[Runtime, dict[str, Any]],
) -> None:
    runtime, _ = node
    calls = Calls(runtime)
    created = await calls.result("tools/call", name="huge", arguments={})
    failed = await calls.until(created["taskId"], "failed", "completed")
    assert failed["status"] == "failed" and failed["error"]["code"] == ErrorCode.INTERNAL_ERROR


async def test_task_ids_are_unguessable_and_bound_to_their_session() -> None:
    runtime = Runtime(fresh_app(), config=RuntimeConfig(shutdown_grace=0.5))
    async with serving_in_memory(runtime):
        ids = set()
        calls = Calls(runtime)
        for _ in range(5):
            created = await calls.result("tools/call", name="wait", arguments={"seconds": 0})
            ids.add(created["taskId"])
        assert len(ids) == 5 and all(len(i) >= 32 for i in ids)
        # On handshake sessions a task belongs to the session that created it.
        alice = await open_session(runtime, capabilities=WITH_TASKS)
        bob = await open_session(runtime, capabilities=WITH_TASKS)
        call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call"}
        call["params"] = {"name": "wait", "arguments": {"seconds": 0}, "task": {}}
        created = (await post(runtime, call, alice)).json()["result"]["task"]
        get = {"jsonrpc": "2.0", "id": 6, "method": "tasks/get"}
        get["params"] = {"taskId": created["taskId"]}
        assert (await post(runtime, get, alice)).json()["result"]["taskId"] == created["taskId"]
        assert (await post(runtime, get, bob)).json()["error"]["code"] == ErrorCode.INVALID_PARAMS
        # ... and a stateless caller (no session) does not see it either.
        assert (await calls.error("tasks/get", taskId=created["taskId"]))["code"] == -32602


async def test_tasks_expire_and_a_dead_nodes_task_ends_failed() -> None:
    backend = MemoryBackend()
    config = RuntimeConfig(shutdown_grace=0.5, task_ttl=0.4)
    runtime = Runtime(fresh_app(), backend=backend, config=config)
    async with serving_in_memory(runtime):
        calls = Calls(runtime)
        created = await calls.result("tools/call", name="wait", arguments={"seconds": 0})
        assert created["ttlMs"] == 400
        await trio.sleep(0.5)
        assert (await calls.error("tasks/get", taskId=created["taskId"]))["code"] == -32602
        # A task another node ran, whose heartbeat is gone.
        orphan = TaskRecord.new("orphan-task", owner="", node_id="n-gone", now=1e12)
        await backend.tasks.create("orphan-task", orjson.dumps(orphan.to_json()), ttl=60)
        failed = await calls.get("orphan-task")
        assert failed["status"] == "failed" and failed["error"]["code"] == ErrorCode.INTERNAL_ERROR


async def test_a_node_shutting_down_fails_its_unfinished_tasks() -> None:
    backend = MemoryBackend()
    runtime = Runtime(
        fresh_app(),
        backend=backend,
        config=RuntimeConfig(shutdown_grace=0.2),
    )
    async with serving_in_memory(runtime):
        created = await Calls(runtime).result("tools/call", name="wait", arguments={"seconds": 60})
    async with trio.open_nursery():
        held = await backend.tasks.load(created["taskId"])
    assert held is not None
    record = TaskRecord.from_json(orjson.loads(held.data))
    assert record.status.value == "failed" and record.error is not None


async def test_status_notifications_reach_a_listen_stream_that_asked_for_the_task() -> None:
    runtime = Runtime(fresh_app(), config=RuntimeConfig(shutdown_grace=0.5))
    async with serving_in_memory(runtime) as front:
        calls = Calls(runtime)
        created = await calls.result("tools/call", name="ask_two", arguments={})
        task_id = created["taskId"]
        await calls.until(task_id, "input_required")

        def listen(capabilities: dict[str, Any]) -> dict[str, Any]:
            return {
                "jsonrpc": "2.0",
                "id": "listen",
                "method": "subscriptions/listen",
                "params": {
                    "notifications": {"taskIds": [task_id, "another"]},
                    "_meta": stateless_meta(capabilities),
                },
            }

        headers = mcp_headers(version="2026-07-28", mcp_method="subscriptions/listen")
        # Without the extension: -32021 (tasks, Task Status Notifications).
        refused = await post(runtime, listen({}), headers)
        assert refused.json()["error"]["code"] == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY
        stream = post_stream(front, runtime, listen(WITH_TASKS), headers)
        ack = await stream.next_message(wait=5)
        assert ack is not None
        assert ack["params"]["notifications"] == {"taskIds": [task_id, "another"]}
        key = next(iter((await calls.get(task_id))["inputRequests"]))
        await calls.result(
            "tasks/update", taskId=task_id, inputResponses={key: {"action": "accept"}}
        )
        seen: list[dict[str, Any]] = []
        with trio.fail_after(10):
            while not seen or seen[-1]["params"]["status"] != "completed":
                message = await stream.next_message(wait=10)
                assert message is not None
                assert message["method"] == "notifications/tasks"
                validate("ext-tasks", "TaskStatusNotification", message)
                assert message["params"]["taskId"] == task_id
                assert (
                    message["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen"
                )
                if message["params"]["status"] == "input_required":
                    second = next(iter(message["params"]["inputRequests"]))
                    if second != key:
                        await calls.result(
                            "tasks/update",
                            taskId=task_id,
                            inputResponses={second: {"action": "accept"}},
                        )
                seen.append(message)
        assert seen[-1]["params"]["result"]["content"][0]["text"] == "accept then accept"


def _rpc(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


async def test_2025_11_25_tasks_on_a_handshake_session() -> None:
    """The 2025-11-25 revision's experimental tasks, validated against its schema:
    a task-augmented call, tasks/get, tasks/list, tasks/result relaying the task's
    questions to the client on its stream, tasks/cancel."""
    runtime = Runtime(fresh_app(), config=RuntimeConfig(shutdown_grace=0.5))
    async with serving_in_memory(runtime) as front:
        session = await open_session(runtime, capabilities={"elicitation": {}, "tasks": {}})
        listed = (await post(runtime, _rpc(1, "tools/list", {}), session)).json()["result"]
        support = {t["name"]: t.get("execution", {}).get("taskSupport") for t in listed["tools"]}
        assert support["ask_two"] == "required" and support["plain"] is None
        # A required task tool called plainly, a plain tool called as a task: -32601.
        plain = await post(runtime, _rpc(2, "tools/call", {"name": "ask_two"}), session)
        assert plain.json()["error"]["code"] == ErrorCode.METHOD_NOT_FOUND
        wrong = await post(runtime, _rpc(3, "tools/call", {"name": "plain", "task": {}}), session)
        assert wrong.json()["error"]["code"] == ErrorCode.METHOD_NOT_FOUND
        call = _rpc(4, "tools/call", {"name": "ask_two", "arguments": {}, "task": {"ttl": 60000}})
        created = (await post(runtime, call, session)).json()["result"]
        validate("2025-11-25", "CreateTaskResult", created)
        task_id = created["task"]["taskId"]
        got = (await post(runtime, _rpc(5, "tasks/get", {"taskId": task_id}), session)).json()
        validate("2025-11-25", "GetTaskResult", got["result"])
        listing = (await post(runtime, _rpc(6, "tasks/list", {}), session)).json()["result"]
        validate("2025-11-25", "ListTasksResult", listing)
        assert [t["taskId"] for t in listing["tasks"]] == [task_id]
        # tasks/result blocks, asking the task's questions on its stream.
        waiting = post_stream(front, runtime, _rpc(7, "tasks/result", {"taskId": task_id}), session)
        for _ in range(2):
            question = await waiting.next_message(wait=10)
            assert question is not None and question["method"] == "elicitation/create"
            assert question["params"]["_meta"]["io.modelcontextprotocol/related-task"] == {
                "taskId": task_id
            }
            answer = {"jsonrpc": "2.0", "id": question["id"], "result": {"action": "accept"}}
            assert (await post(runtime, answer, session)).status == 202
        final = await waiting.next_message(wait=10)
        assert final is not None and final["id"] == 7
        assert final["result"]["content"][0]["text"] == "accept then accept"
        assert final["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"] == task_id
        # Cancelling: a running task is cancelled; a finished one is -32602.
        long = _rpc(8, "tools/call", {"name": "wait", "arguments": {"seconds": 60}, "task": {}})
        running = (await post(runtime, long, session)).json()["result"]["task"]["taskId"]
        cancel = (await post(runtime, _rpc(9, "tasks/cancel", {"taskId": running}), session)).json()
        validate("2025-11-25", "CancelTaskResult", cancel["result"])
        assert cancel["result"]["status"] == "cancelled"
        again = await post(runtime, _rpc(10, "tasks/cancel", {"taskId": task_id}), session)
        assert again.json()["error"]["code"] == ErrorCode.INVALID_PARAMS


async def test_the_readme_tasks_example_works() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    source = readme.split("### Tasks\n", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    app = MCPServer("readme")
    exec(compile(source, "README.md", "exec"), {"app": app, "Context": Context, "trio": trio})
    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=0.5))
    async with serving_in_memory(runtime):
        calls = Calls(runtime)
        first = await calls.result("tools/call", name="book", arguments={})
        assert first["resultType"] == "input_required" and "taskId" not in first
        ((key, _),) = first["inputRequests"].items()
        answer = {key: {"action": "accept", "content": {"name": "Ada"}}}
        created = await calls.result(
            "tools/call",
            name="book",
            arguments={},
            inputResponses=answer,
            requestState=first["requestState"],
        )
        validate("ext-tasks", "CreateTaskResult", created)
        assert "requestState" not in created
        assert (await calls.get(created["taskId"]))["status"] == "working"
        await calls.result("tasks/cancel", taskId=created["taskId"])
        render = await calls.result("tools/call", name="render", arguments={"scene": "s"})
        asking = await calls.until(render["taskId"], "input_required")
        assert next(iter(asking["inputRequests"].values()))["params"]["message"] == "Render s?"
        await calls.result("tasks/cancel", taskId=render["taskId"])


async def test_a_node_runs_a_bounded_number_of_tasks() -> None:
    config = RuntimeConfig(shutdown_grace=0.5, max_running_tasks=2)
    runtime = Runtime(fresh_app(), config=config)
    async with serving_in_memory(runtime):
        calls = Calls(runtime)
        running = [
            await calls.result("tools/call", name="wait", arguments={"seconds": 60})
            for _ in range(2)
        ]
        refused = await calls.error("tools/call", name="wait", arguments={"seconds": 60})
        assert refused["code"] == ErrorCode.INTERNAL_ERROR and "too many" in refused["message"]
        await calls.result("tasks/cancel", taskId=running[0]["taskId"])
        with trio.fail_after(5):
            while True:
                _, answer = await calls.send(
                    "tools/call", {"name": "wait", "arguments": {"seconds": 0}}
                )
                if "result" in answer:
                    break
                await trio.sleep(0.05)
        assert answer["result"]["resultType"] == "task"


def test_handshake_sessions_keep_the_applications_other_extensions() -> None:
    class Extended(MCPServer):
        extension_methods = frozenset({"skills/list"})

    app = Extended("extended")
    assert app.handshake_extension_methods == {"skills/list"}
    assert "tasks" not in app.handshake_capabilities

    @app.tool(task="optional")
    async def slow() -> str:
        return "done"

    assert app.handshake_extension_methods == {
        "skills/list",
        "tasks/get",
        "tasks/result",
        "tasks/list",
        "tasks/cancel",
    }
    assert app.handshake_capabilities["tasks"]["requests"] == {"tools": {"call": {}}}
    plain = MCPServer("plain")
    plain.tool(task="required")(slow)
    assert plain.extension_methods == {"tasks/get", "tasks/update", "tasks/cancel"}
    assert plain.capabilities["extensions"] == {TASKS_EXTENSION: {}}
    assert "extensions" not in plain.handshake_capabilities
