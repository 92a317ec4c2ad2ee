"""Tasks on our client, against our server: ``call_tool(..., task=True)`` and the
:class:`~scaled_mcp.client.ClientTask` handle, on the 2026-07-28 wire (the tasks
extension, declared per request) and on 2025-11-25 sessions (experimental
tasks), in memory and over HTTP (where ``Mcp-Name`` carries the task id).
The core's reading of task messages is property-tested against the server's
own encoding (``TaskRecord``), and against anything at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from hypothesis import given, strategies as st

from scaled_mcp import Context, McpError, MCPServer
from scaled_mcp.client import Client, ClientError, ClientTask, Mode
from scaled_mcp.protocol.client import (
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
    Complete,
    Failed,
    StatelessClient,
    TaskCreated,
    TaskSnapshot,
    parse_task,
    poll_delay,
    post_headers,
    with_tasks_extension,
)
from scaled_mcp.protocol.jsonrpc import ErrorCode, RemoteProtocolError, Request, Response
from scaled_mcp.protocol.tasks import TASKS_EXTENSION, TaskRecord, TaskStatus
from scaled_mcp.protocol.types import CallToolResult
from scaled_mcp.runtime import Runtime, RuntimeConfig

from .helpers import start_front

DEADLINE = 20


def make_app(seen: dict[str, Any]) -> MCPServer:
    app = MCPServer("client-tasks")

    @app.tool(task="optional")
    async def wait(seconds: float) -> str:
        try:
            await trio.sleep(seconds)
        except trio.Cancelled:
            seen["cancelled"] = True
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

    @app.tool()
    async def plain() -> str:
        return "plain"

    return app


class Asked:
    """An elicitation handler that counts its questions."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        self.messages.append(str(params.get("message")))
        return {"action": "accept", "content": {}}


def text_of(result: CallToolResult) -> str:
    block = result.content[0]
    assert block.type == "text"
    return str(block.text)


async def as_task(client: Client, name: str, arguments: dict[str, Any]) -> ClientTask:
    answer = await client.call_tool(name, arguments, task=True)
    assert isinstance(answer, ClientTask), answer
    return answer


@asynccontextmanager
async def over_http(app: MCPServer, **config: Any) -> AsyncIterator[str]:
    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=0.5, **config))
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        port = await start_front("h11", runtime, stop, nursery)
        yield f"http://127.0.0.1:{port}/mcp"
        stop.set()


@pytest.mark.parametrize("transport", ["memory", "http"])
async def test_a_task_on_the_2026_07_28_wire(transport: str) -> None:
    seen: dict[str, Any] = {}
    asked = Asked()
    app = make_app(seen)
    with trio.fail_after(DEADLINE):
        async with (
            over_http(app) if transport == "http" else _nothing(app) as target,
            Client(target, mode="stateless", elicitation_handler=asked) as client,
        ):
            assert TASKS_EXTENSION in client.server_capabilities["extensions"]
            # The questions of the task, each answered once by the handler.
            task = await as_task(client, "ask_two", {})
            assert task.last.status is TaskStatus.WORKING and task.last.ttl_ms
            result = await task.result(timeout=10)
            assert text_of(result) == "accept then accept"
            assert asked.messages == ["First?", "Second?"]
            assert (await task.get()).status is TaskStatus.COMPLETED
            # A tool that must run as a task, called without: -32021.
            with pytest.raises(ClientError) as caught:
                await client.call_tool("ask_two", {})
            assert caught.value.code == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY
            # The server decides: a plain tool answers plainly.
            assert text_of(await client.call_tool("plain", {}, task=True)) == "plain"  # type: ignore[arg-type]
            # A JSON-RPC error of the work is the task's error.
            failing = await as_task(client, "refuse", {})
            with pytest.raises(ClientError) as caught:
                await failing.result(timeout=10)
            assert (caught.value.code, caught.value.message) == (-32602, "no such thing")
            assert caught.value.data == {"why": "test"}
            # A deadline, then cancellation; a handle taken up by its id.
            long = await as_task(client, "wait", {"seconds": 60})
            with pytest.raises(ClientError) as caught:
                await long.result(timeout=0.3)
            assert caught.value.code == ErrorCode.REQUEST_TIMEOUT
            again = client.task(long.task_id)
            assert (await again.get()).status is TaskStatus.WORKING
            await again.cancel()
            assert (await again.get()).status is TaskStatus.CANCELLED
            with pytest.raises(ClientError) as caught:
                await again.result(timeout=5)
            assert caught.value.data == {"taskId": long.task_id, "status": "cancelled"}
            assert seen["cancelled"] is True
            with pytest.raises(ClientError) as caught:
                await client.task("no-such-task").get()
            assert caught.value.code == ErrorCode.INVALID_PARAMS
            with pytest.raises(ClientError) as caught:
                await client.list_tasks()
            assert caught.value.code == ErrorCode.METHOD_NOT_FOUND


@asynccontextmanager
async def _nothing(app: MCPServer) -> AsyncIterator[MCPServer]:
    yield app


async def test_a_client_declaring_the_extension_everywhere_gets_results() -> None:
    """A task the client did not ask for is followed to its result."""
    capabilities: dict[str, Any] = {"extensions": {TASKS_EXTENSION: {}}}
    with trio.fail_after(DEADLINE):
        async with Client(make_app({}), mode="stateless", capabilities=capabilities) as client:
            result = await client.call_tool("wait", {"seconds": 0.01})
            assert isinstance(result, CallToolResult) and text_of(result) == "waited 0.01"


async def test_listening_hears_the_task_before_the_next_poll() -> None:
    """With a poll interval of 30 s, the outcome still comes at once: the task's
    ``notifications/tasks`` on the listen stream wake the wait."""
    asked = Asked()
    with trio.fail_after(DEADLINE):
        async with (
            over_http(make_app({}), task_poll_interval=30.0) as url,
            Client(url, mode="stateless", elicitation_handler=asked) as client,
        ):
            task = await as_task(client, "wait", {"seconds": 1})
            assert task.last.poll_interval_ms == 30_000
            started = trio.current_time()
            result = await task.result(timeout=15, listen=True)
            assert text_of(result) == "waited 1.0"
            assert trio.current_time() - started < 10  # not one 30 s poll waited out
            assert client._inbox.task_listeners == {}  # the stream let go of the task
            # The questions of a task too.
            asking = await as_task(client, "ask_two", {})
            assert text_of(await asking.result(timeout=15, listen=True)) == "accept then accept"


@pytest.mark.parametrize("transport", ["memory", "http"])
async def test_a_task_on_a_2025_11_25_session(transport: str) -> None:
    seen: dict[str, Any] = {}
    asked = Asked()
    app = make_app(seen)
    with trio.fail_after(DEADLINE):
        async with (
            over_http(app) if transport == "http" else _nothing(app) as target,
            Client(target, mode="handshake", elicitation_handler=asked) as client,
        ):
            assert client.protocol_version == "2025-11-25"
            task = await client.call_tool("ask_two", {}, task=True, task_ttl_ms=60_000)
            assert isinstance(task, ClientTask)
            assert task.last.ttl_ms == 60_000
            listed = await client.list_tasks()
            assert [t.task_id for t in listed] == [task.task_id]
            # tasks/result carries the task's questions to the handler.
            assert text_of(await task.result(timeout=10)) == "accept then accept"
            assert asked.messages == ["First?", "Second?"]
            long = await as_task(client, "wait", {"seconds": 60})
            await long.cancel()
            assert long.last.status is TaskStatus.CANCELLED
            assert (await long.get()).status is TaskStatus.CANCELLED
            with pytest.raises(ClientError):
                await long.update({"x": {}})
            # Plain calls stay plain.
            assert text_of(await client.call_tool("wait", {"seconds": 0.0})) == "waited 0.0"


async def test_a_server_without_tasks_answers_plainly() -> None:
    app = MCPServer("no-tasks")

    @app.tool()
    async def hello() -> str:
        return "hello"

    modes: tuple[Mode, ...] = ("stateless", "handshake")
    for mode in modes:
        async with Client(app, mode=mode) as client:
            answer = await client.call_tool("hello", {}, task=True)
            assert isinstance(answer, CallToolResult) and text_of(answer) == "hello"


# -- the core: reading tasks -----------------------------------------------------------


def test_a_task_result_is_accepted_only_where_the_request_allowed_it() -> None:
    record = TaskRecord.new("t1", owner="", node_id="n", now=1.0)
    created = record.created_result()
    info = {"name": "tests", "version": "1"}
    plain = StatelessClient(client_info=info, capabilities={})
    for client, capabilities, method, accepted in (
        (plain, with_tasks_extension({}), "tools/call", True),
        (plain, None, "tools/call", False),
        (
            StatelessClient(client_info=info, capabilities=with_tasks_extension({})),
            None,
            "tools/call",
            True,
        ),
        (plain, with_tasks_extension({}), "prompts/get", False),
    ):
        call = client.call(method, {"name": "x"}, capabilities=capabilities)
        sent = call.request.params or {}
        declared = sent["_meta"]["io.modelcontextprotocol/clientCapabilities"]
        assert (TASKS_EXTENSION in declared.get("extensions", {})) is (
            capabilities is not None or client is not plain
        )
        outcome = call.receive(Response(call.request.id, created))
        if accepted:
            assert isinstance(outcome, TaskCreated) and outcome.task.task_id == "t1"
        else:
            assert isinstance(outcome, Failed)
            assert outcome.error.code == ErrorCode.INTERNAL_ERROR
    complete = plain.call("tools/call", {"name": "x"}, capabilities=with_tasks_extension({}))
    assert isinstance(complete.receive(Response(complete.request.id, {"content": []})), Complete)


def test_mcp_name_carries_the_task_id() -> None:
    for method in ("tasks/get", "tasks/update", "tasks/cancel"):
        request = Request(1, method, {"taskId": "abc"})
        assert ("mcp-name", "abc") in post_headers(request, protocol_version="2026-07-28")


@st.composite
def records(draw: st.DrawFn) -> TaskRecord:
    record = TaskRecord.new(
        draw(st.text("abcXYZ019-_", min_size=1, max_size=40)),
        owner="",
        node_id="n",
        now=draw(st.floats(0, 4e9)),
        ttl_ms=draw(st.integers(1, 10**9)),
        poll_ms=draw(st.integers(1, 10**6)),
    )
    step = draw(st.sampled_from(["working", "ask", "complete", "fail", "cancel"]))
    if step == "ask":
        keys = draw(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4, unique=True))
        record = record.ask(
            {k: {"method": "elicitation/create", "params": {"message": k}} for k in keys},
            now=2.0,
        )
    elif step == "complete":
        record = record.complete({"content": [{"type": "text", "text": "x"}]}, now=2.0)
    elif step == "fail":
        record = record.fail(-32603, draw(st.text(max_size=20)), now=2.0)
    elif step == "cancel":
        record = record.cancel(now=2.0)
    return record


@given(records())
def test_the_client_reads_what_the_server_writes(record: TaskRecord) -> None:
    for shape, handshake in (
        (record.get_result(), False),
        (record.created_result(), False),
        (record.created_result_v1(), True),
        (record.task_v1(), True),
    ):
        task = parse_task(shape, handshake=handshake)
        assert (task.task_id, task.status) == (record.task_id, record.status)
        assert (task.ttl_ms, task.poll_interval_ms) == (record.ttl_ms, record.poll_ms)
        assert task.status_message == record.status_message
    detailed = parse_task(record.get_result())
    assert detailed.input_requests == record.input_requests
    assert detailed.result == record.result and detailed.error == record.error
    assert MIN_POLL_INTERVAL <= poll_delay(detailed) <= MAX_POLL_INTERVAL


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_task_like = st.fixed_dictionaries(
    {},
    optional={
        "taskId": st.text(max_size=5) | _json,
        "status": st.sampled_from([s.value for s in TaskStatus]) | _json,
        "ttlMs": st.integers(-2, 5) | _json,
        "pollIntervalMs": st.integers(-2, 5) | _json,
        "inputRequests": st.dictionaries(st.text(max_size=3), _json, max_size=2) | _json,
        "result": _json,
        "error": _json,
        "task": _json,
    },
)


@given(_task_like | _json, st.booleans())
def test_anything_else_is_a_task_or_a_clear_error(data: Any, handshake: bool) -> None:
    try:
        task = parse_task(data, handshake=handshake)
    except RemoteProtocolError as exc:
        assert exc.code == ErrorCode.INTERNAL_ERROR
    else:
        assert isinstance(task, TaskSnapshot) and task.task_id


def test_poll_delay_is_bounded() -> None:
    base = TaskSnapshot(task_id="t", status=TaskStatus.WORKING)
    assert poll_delay(base) == 0.5
    assert poll_delay(TaskSnapshot(task_id="t", status=TaskStatus.WORKING, poll_interval_ms=0)) == (
        MIN_POLL_INTERVAL
    )
    huge = TaskSnapshot(task_id="t", status=TaskStatus.WORKING, poll_interval_ms=10**9)
    assert poll_delay(huge) == MAX_POLL_INTERVAL


@pytest.mark.parametrize("mode", ["stateless", "handshake"])
async def test_a_mounted_servers_task_tools_run_as_tasks_through_its_parent(mode: str) -> None:
    child = MCPServer("child")

    @child.tool(task="optional")
    async def slow(seconds: float) -> str:
        await trio.sleep(seconds)
        return f"slept {seconds}"

    parent = MCPServer("parent")
    parent.mount(child, "kid")
    with trio.fail_after(DEADLINE):
        async with over_http(parent) as url, Client(url, mode=mode) as client:  # type: ignore[arg-type]
            caps = client.server_capabilities
            if mode == "stateless":
                assert TASKS_EXTENSION in caps["extensions"]
            else:
                assert "tools" in caps["tasks"]["requests"]
            task = await as_task(client, "kid_slow", {"seconds": 0.2})
            assert text_of(await task.result(timeout=10)) == "slept 0.2"
