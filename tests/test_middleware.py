"""Middleware: around every request and notification or one kind, on both eras
and on stdio; ordered; able to look, change, refuse and answer; requests the
core answers itself seen and refusable; nothing in the way without any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from scaled_mcp import Context, MCPServer
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.versions import Era
from scaled_mcp.runtime import Runtime, RuntimeConfig, serve_stdio
from scaled_mcp.server import CallNext, McpError, Middleware, MiddlewareContext
from scaled_mcp.server._dispatch import Dispatcher
from tests.helpers import (
    ERAS,
    INITIALIZED,
    EraClient,
    initialize_request,
    lines,
    mcp_headers,
    post,
    serving_in_memory,
    text_of,
)

Result = dict[str, Any] | None


def _app() -> MCPServer:
    app = MCPServer("mw")

    @app.tool()
    async def echo(text: str) -> str:
        return text

    @app.resource("data://one")
    async def one() -> str:
        return "one"

    return app


def _runtime(app: MCPServer) -> Runtime:
    return Runtime(app, config=RuntimeConfig(shutdown_grace=1))


@pytest.mark.parametrize("era", ERAS)
async def test_middleware_runs_in_order_first_added_outermost(era: str) -> None:
    app = _app()
    seen: list[str] = []

    @app.middleware
    async def outer(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        seen.append(f"outer in {ctx.method}")
        result = await call_next(ctx)
        seen.append(f"outer out {ctx.method}")
        return result

    @app.middleware
    async def inner(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        seen.append(f"inner in {ctx.method}")
        assert ctx.core or (ctx.context is not None and ctx.era is ctx.context.era)
        assert ctx.client_info["name"] == "tests"
        result = await call_next(ctx)
        seen.append(f"inner out {ctx.method}")
        return result

    runtime = _runtime(app)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, era)
        result = await client.result("tools/call", {"name": "echo", "arguments": {"text": "x"}})
    assert text_of(result) == "x"
    calls = [s for s in seen if s.endswith("tools/call")]
    assert calls == [
        "outer in tools/call",
        "inner in tools/call",
        "inner out tools/call",
        "outer out tools/call",
    ]


@pytest.mark.parametrize("era", ERAS)
async def test_middleware_changes_params_and_results(era: str) -> None:
    app = _app()

    @app.middleware(methods=["tools/call"])
    async def shout(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        arguments = dict(ctx.params.get("arguments") or {})
        arguments["text"] = str(arguments.get("text", "")).upper()
        ctx.params = {**ctx.params, "arguments": arguments}
        result = await call_next(ctx)
        assert result is not None
        result["content"][0]["text"] += "!"
        return result

    runtime = _runtime(app)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, era)
        result = await client.result("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
        listed = await client.result("tools/list")
    assert text_of(result) == "HI!"
    assert [t["name"] for t in listed["tools"]] == ["echo"]


class Guard(Middleware):
    """Refuses tools/call of ``forbidden``; counts the lists it saw."""

    def __init__(self) -> None:
        self.lists = 0
        self.reads = 0

    async def on_call_tool(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        if ctx.params.get("name") == "echo" and ctx.params.get("arguments") == {"text": "no"}:
            raise McpError(-31001, "refused by policy", {"why": "no"})
        return await call_next(ctx)

    async def on_list_tools(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        self.lists += 1
        return await call_next(ctx)

    async def on_read_resource(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        self.reads += 1
        return await call_next(ctx)


@pytest.mark.parametrize("era", ERAS)
async def test_typed_hooks_see_their_kind_and_refuse_with_a_json_rpc_error(era: str) -> None:
    app = _app()
    guard = Guard()
    app.add_middleware(guard)
    runtime = _runtime(app)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, era)
        error = await client.error("tools/call", {"name": "echo", "arguments": {"text": "no"}})
        fine = await client.result("tools/call", {"name": "echo", "arguments": {"text": "ok"}})
        await client.result("tools/list")
        await client.result("resources/read", {"uri": "data://one"})
    assert error == {"code": -31001, "message": "refused by policy", "data": {"why": "no"}}
    assert text_of(fine) == "ok"
    assert guard.lists == 1 and guard.reads == 1


@pytest.mark.parametrize("era", ERAS)
async def test_a_response_cache_answers_without_calling_next(era: str) -> None:
    app = MCPServer("cache")
    runs: list[str] = []

    @app.tool()
    async def slow_square(n: int) -> str:
        runs.append(str(n))
        return str(n * n)

    cache: dict[str, dict[str, Any]] = {}

    @app.middleware(methods=["tools/call"])
    async def cached(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        key = repr((ctx.params.get("name"), ctx.params.get("arguments")))
        if key not in cache:
            result = await call_next(ctx)
            assert result is not None
            cache[key] = result
        return cache[key]

    runtime = _runtime(app)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, era)
        for _ in range(3):
            result = await client.result(
                "tools/call", {"name": "slow_square", "arguments": {"n": 7}}
            )
            assert text_of(result) == "49"
    assert runs == ["7"]


async def test_requests_the_core_answers_are_seen_and_refusable_handshake() -> None:
    app = _app()
    seen: list[tuple[str, bool, bool]] = []

    @app.middleware
    async def policy(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        seen.append((ctx.method, ctx.core, ctx.is_notification))
        if ctx.method == "logging/setLevel":
            raise McpError(ErrorCode.INVALID_REQUEST, "levels are fixed here")
        result = await call_next(ctx)
        # The core answers these: nothing to change.
        assert result is None or not ctx.core
        return result

    runtime = _runtime(app)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, "handshake")
        assert await client.result("ping") == {}
        error = await client.error("logging/setLevel", {"level": "debug"})
    assert (
        error["code"] == ErrorCode.INVALID_REQUEST and error["message"] == "levels are fixed here"
    )
    assert ("initialize", True, False) in seen
    assert ("notifications/initialized", True, True) in seen
    assert ("ping", True, False) in seen


async def test_a_refused_initialize_opens_no_session() -> None:
    app = _app()

    @app.middleware
    async def closed(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        if ctx.method == "initialize" and ctx.client_info.get("name") == "blocked":
            raise McpError(ErrorCode.INVALID_REQUEST, "this client is not welcome")
        return await call_next(ctx)

    runtime = _runtime(app)
    async with serving_in_memory(runtime):
        opening = initialize_request()
        opening["params"]["clientInfo"]["name"] = "blocked"
        reply = await post(runtime, opening, mcp_headers())
        assert "mcp-session-id" not in reply.headers
        assert reply.json()["error"]["message"] == "this client is not welcome"
        welcome = await EraClient(runtime, "handshake").result("tools/list")
    assert welcome["tools"][0]["name"] == "echo"


async def test_requests_the_core_answers_are_seen_and_refusable_stateless() -> None:
    app = _app()
    seen: list[str] = []

    @app.middleware
    async def policy(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        seen.append(ctx.method)
        assert ctx.era is Era.STATELESS and ctx.session_id is None
        if ctx.method == "server/discover" and ctx.client_info.get("name") == "nosy":
            raise McpError(ErrorCode.INVALID_REQUEST, "no discovery for you")
        return await call_next(ctx)

    runtime = _runtime(app)
    async with serving_in_memory(runtime):
        found = await EraClient(runtime, "stateless").result("server/discover")
        error = await EraClient(runtime, "stateless", "nosy").error("server/discover")
    assert "2026-07-28" in found["supportedVersions"]
    assert error["message"] == "no discovery for you"
    assert seen == ["server/discover", "server/discover"]


async def test_middleware_runs_on_stdio() -> None:
    app = _app()

    @app.middleware(methods=["tools/call", "ping"])
    async def deny(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        raise McpError(-31002, f"no {ctx.method} on stdio")

    runtime = _runtime(app)
    stdin_send, stdin_receive = trio.testing.memory_stream_one_way_pair()
    stdout_send, stdout_receive = trio.testing.memory_stream_one_way_pair()
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo"}}
    ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_stdio, runtime, stdin_receive, stdout_send)
        await stdin_send.send_all(lines(initialize_request(), INITIALIZED, call, ping))
        received = b""
        with trio.fail_after(10):
            while received.count(b"\n") < 3:
                received += await stdout_receive.receive_some()
        await stdin_send.aclose()
    import orjson

    answers = {m["id"]: m for m in map(orjson.loads, received.splitlines())}
    assert answers[2]["error"] == {"code": -31002, "message": "no tools/call on stdio"}
    assert answers[3]["error"] == {"code": -31002, "message": "no ping on stdio"}


def test_no_middleware_means_no_layer() -> None:
    plain = _app()
    # The runtime calls the class's own handle and skips the admission hook.
    assert plain.handle.__func__ is Dispatcher.handle  # type: ignore[attr-defined]
    assert plain.admit is None
    assert plain.never_waits("tools/list", {})
    busy = _app()
    busy.add_middleware(Guard())
    assert busy.handle.__func__ is not Dispatcher.handle  # type: ignore[attr-defined]
    assert busy.admit is not None
    assert not busy.never_waits("tools/list", {})


def test_middleware_must_be_a_middleware_or_a_coroutine_function() -> None:
    app = _app()
    with pytest.raises(TypeError):
        app.add_middleware(lambda ctx, call_next: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError):
        app.add_middleware(Guard(), methods=["tools/call"])


async def test_the_readmes_examples_run() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    part = readme.split("### Middleware", 1)[1].split("### Session state", 1)[0]
    app = _app()
    scope: dict[str, Any] = {"app": app, "Context": Context, "MCPServer": MCPServer}
    for block in part.split("```python\n")[1:]:
        exec(compile(block.split("```", 1)[0], "README.md", "exec"), scope)
    runtime = _runtime(app)
    async with serving_in_memory(runtime):
        user = EraClient(runtime, "stateless", "someone")
        ops = EraClient(runtime, "handshake", "ops-console")
        forecast = await user.result(
            "tools/call", {"name": "weather_forecast", "arguments": {"city": "Oslo"}}
        )
        refused = await user.error("tools/call", {"name": "drop_tables"})
        user_tools = await user.result("tools/list")
        ops_tools = await ops.result("tools/list")
        first = await user.result("resources/read", {"uri": "data://one"})
        again = await ops.result("resources/read", {"uri": "data://one"})
    assert text_of(forecast) == "sun in Oslo"
    assert refused == {"code": -32001, "message": "not allowed"}
    assert "purge_cache" not in [t["name"] for t in user_tools["tools"]]
    assert "purge_cache" in [t["name"] for t in ops_tools["tools"]]
    # The second read, on the other era, was answered from the cache.
    assert first["contents"] == again["contents"] == scope["cache"]["data://one"]["contents"]
