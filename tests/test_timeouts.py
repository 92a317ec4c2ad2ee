"""``handler_timeout``: a handler still running at its deadline is cancelled and its
caller gets ``REQUEST_TIMEOUT``, on both wires; a quick handler and a client's own
cancellation are untouched."""

from __future__ import annotations

import math

import orjson
import pytest
import trio

from scaled_mcp import MCPServer
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.runtime import Runtime, RuntimeConfig

from .helpers import (
    FRONTS,
    mcp_headers,
    open_session,
    post,
    serving,
    serving_in_memory,
    stateless_meta,
)
from .http_client import HttpClient, McpHttp, Reply, stateless_headers
from .test_tasks_runtime import Calls

app = MCPServer("timeout-tests")
finished: list[str] = []


@app.tool()
async def slow(seconds: float) -> str:
    await trio.sleep(seconds)
    finished.append("slow")
    return "done"


def call(request_id: int, seconds: float, meta: dict[str, object] | None = None) -> object:
    params: dict[str, object] = {"name": "slow", "arguments": {"seconds": seconds}}
    if meta is not None:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


async def test_a_handler_past_its_deadline_is_cancelled_and_answered() -> None:
    finished.clear()
    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=1, handler_timeout=0.2))
    async with serving_in_memory(runtime):
        headers = await open_session(runtime)
        with trio.fail_after(5):
            late = await post(runtime, call(1, 30), headers)
        error = late.json()["error"]
        assert error["code"] == ErrorCode.REQUEST_TIMEOUT
        assert "0.2 seconds" in error["message"]
        quick = await post(runtime, call(2, 0.01), headers)
        assert quick.json()["result"]["content"][0]["text"] == "done"
        wire = mcp_headers(version="2026-07-28", mcp_method="tools/call", mcp_name="slow")
        with trio.fail_after(5):
            stateless = await post(runtime, call(3, 30, stateless_meta()), wire)
        assert stateless.json()["error"]["code"] == ErrorCode.REQUEST_TIMEOUT
        assert stateless.json()["id"] == 3
    assert finished == ["slow"]  # only the quick one ran to its end


async def test_no_deadline_by_default() -> None:
    finished.clear()
    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=1))
    async with serving_in_memory(runtime):
        headers = await open_session(runtime)
        answer = await post(runtime, call(1, 0.3), headers)
        assert answer.json()["result"]["content"][0]["text"] == "done"


# -- a timeout per tool, resource and prompt -----------------------------------------

per_entry = MCPServer("per-entry-timeouts")
inner = MCPServer("mounted")


@per_entry.tool(timeout=0.2)
async def hasty(seconds: float) -> str:
    await trio.sleep(seconds)
    return "hasty done"


@per_entry.tool(timeout=math.inf)
async def patient(seconds: float) -> str:
    await trio.sleep(seconds)
    return "patient done"


@per_entry.tool()
async def ordinary(seconds: float) -> str:
    await trio.sleep(seconds)
    return "ordinary done"


@per_entry.tool(task="optional", timeout=0.2)
async def long_job(seconds: float) -> str:
    await trio.sleep(seconds)
    return "job done"


@per_entry.resource("slow://{seconds}", timeout=0.2)
async def slow_resource(seconds: str) -> str:
    await trio.sleep(float(seconds))
    return "read"


@per_entry.prompt(timeout=0.2)
async def slow_prompt(seconds: str) -> str:
    await trio.sleep(float(seconds))
    return "prompted"


@inner.tool(timeout=0.2)
async def nested(seconds: float) -> str:
    await trio.sleep(seconds)
    return "nested done"


per_entry.mount(inner, "in")


def _text(reply: Reply) -> str:
    message = reply.json()
    assert "result" in message, message
    return str(message["result"]["content"][0]["text"])


def _timed_out(reply: Reply, request_id: int, seconds: str) -> None:
    message = reply.json()
    assert message["id"] == request_id, message
    assert message["error"]["code"] == ErrorCode.REQUEST_TIMEOUT, message
    assert f"within {seconds} seconds" in message["error"]["message"]


def _call(name: str, seconds: float) -> dict[str, object]:
    return {"name": name, "arguments": {"seconds": seconds}}


@pytest.mark.parametrize("front", FRONTS)
async def test_a_tools_own_timeout_replaces_the_default_on_both_wires(front: str) -> None:
    # The runtime's default (1 s) governs `ordinary`; `hasty` has 0.2 s, `patient` none.
    config = RuntimeConfig(shutdown_grace=1, handler_timeout=1.0)
    async with serving(per_entry, front, config) as port:
        session = McpHttp(HttpClient("127.0.0.1", port))
        await session.initialize()
        with trio.fail_after(10):
            _timed_out(await session.call(1, "tools/call", _call("hasty", 5)), 1, "0.2")
            assert _text(await session.call(2, "tools/call", _call("hasty", 0))) == "hasty done"
            assert _text(await session.call(3, "tools/call", _call("patient", 1.3))) == (
                "patient done"
            )
            _timed_out(await session.call(4, "tools/call", _call("ordinary", 5)), 4, "1")
            _timed_out(await session.call(5, "tools/call", _call("in_nested", 5)), 5, "0.2")
            read = await session.call(6, "resources/read", {"uri": "slow://5"})
            _timed_out(read, 6, "0.2")
            got = await session.call(
                7, "prompts/get", {"name": "slow_prompt", "arguments": {"seconds": "5"}}
            )
            _timed_out(got, 7, "0.2")
        stateless = HttpClient("127.0.0.1", port)
        for request_id, (name, seconds) in enumerate((("hasty", 5), ("in_nested", 5)), 10):
            body = {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {**_call(name, seconds), "_meta": stateless_meta()},
            }
            with trio.fail_after(10):
                reply = await stateless.request(
                    "POST", "/mcp", stateless_headers("tools/call", name), orjson.dumps(body)
                )
            _timed_out(reply, request_id, "0.2")


async def test_a_tool_running_as_a_task_is_bounded_by_its_ttl_not_its_timeout() -> None:
    # The task outlives the tool's 0.2 s: its work runs in the node, not the request.
    runtime = Runtime(per_entry, config=RuntimeConfig(shutdown_grace=1))
    async with serving_in_memory(runtime):
        calls = Calls(runtime)
        created = await calls.result("tools/call", **_call("long_job", 0.5))
        task_id = created["taskId"]
        done = await calls.until(task_id, "completed", "failed", "cancelled")
        assert done["status"] == "completed", done
        plain = Calls(runtime, capabilities={})  # no tasks: the call runs in the request
        error = await plain.error("tools/call", **_call("long_job", 5))
        assert error["code"] == ErrorCode.REQUEST_TIMEOUT


@pytest.mark.parametrize("bad", [0, -1, math.nan])
def test_a_timeout_must_be_a_positive_number_of_seconds(bad: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        MCPServer("bad").tool(timeout=bad)(ordinary)
