"""``handler_timeout``: a handler still running at its deadline is cancelled and its
caller gets ``REQUEST_TIMEOUT``, on both wires; a quick handler and a client's own
cancellation are untouched."""

from __future__ import annotations

import trio

from scaled_mcp import MCPServer
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.runtime import Runtime, RuntimeConfig

from .helpers import mcp_headers, open_session, post, serving_in_memory, stateless_meta

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
