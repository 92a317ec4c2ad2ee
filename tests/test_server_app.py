"""The app API: what MCPServer derives from functions, and how it answers each method."""

from __future__ import annotations

import dataclasses
import threading
from typing import Annotated, Any, TypedDict

import pytest
import trio

from scaled_mcp import Context, McpError, MCPServer, Param
from scaled_mcp.protocol.jsonrpc import RemoteProtocolError
from scaled_mcp.protocol.types import Completion
from scaled_mcp.protocol.versions import Era

from .helpers import BareExchange, ctx


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Weather(TypedDict):
    city: str
    celsius: float


def make_app() -> MCPServer:
    app = MCPServer("app-tests", page_size=2)

    @app.tool(title="Add")
    async def add(a: int, b: Annotated[int, Param(description="the other one", ge=0)] = 1) -> int:
        """Add two numbers."""
        return a + b

    @app.tool()
    async def weather(city: str) -> Weather:
        return {"city": city, "celsius": 21.5}

    @app.tool()
    async def move(point: Point, dx: int) -> Point:
        return Point(point.x + dx, point.y)

    @app.tool()
    def which_thread() -> str:
        return threading.current_thread().name

    @app.tool()
    async def plain() -> str:
        return "text"

    @app.resource("test://items/{item}/detail", mime_type="application/json")
    async def item(item: str) -> str:
        return f'{{"item": "{item}"}}'

    @app.resource("test://blob")
    async def blob() -> bytes:
        return b"\x00\x01"

    @app.prompt(description="Greets")
    async def greet(name: str, style: str = "plain") -> str:
        return f"Hello {name} ({style})"

    @app.completion(prompt="greet")
    async def complete_greet(
        argument: str, value: str, context_arguments: dict[str, str]
    ) -> Completion:
        names = [f"name{i}" for i in range(150)]
        return Completion(values=[n for n in names if n.startswith(value)])

    return app


async def test_input_and_output_schemas_come_from_type_hints() -> None:
    app = make_app()
    tools = {t["name"]: t for t in await all_pages(app, "tools/list", "tools")}
    add = tools["add"]
    assert add["title"] == "Add"
    assert add["description"] == "Add two numbers."
    assert add["inputSchema"] == {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "integer", "description": "the other one", "minimum": 0, "default": 1},
        },
        "required": ["a"],
    }
    # A non-object return is wrapped so that the output schema stays an object.
    assert add["outputSchema"]["properties"]["result"] == {"type": "integer"}
    assert tools["weather"]["outputSchema"]["properties"]["celsius"] == {"type": "number"}
    assert "outputSchema" not in tools["plain"]


async def test_structured_results_carry_their_json_text_too() -> None:
    app = make_app()
    result = await app.handle("tools/call", {"name": "add", "arguments": {"a": 2}}, ctx())
    assert result["structuredContent"] == {"result": 3}
    assert result["content"] == [{"type": "text", "text": '{"result":3}'}]
    moved = await app.handle(
        "tools/call", {"name": "move", "arguments": {"point": {"x": 1, "y": 2}, "dx": 5}}, ctx()
    )
    assert moved["structuredContent"] == {"x": 6, "y": 2}


async def test_invalid_arguments_are_a_tool_error_and_unknown_tools_a_protocol_error() -> None:
    app = make_app()
    bad = await app.handle("tools/call", {"name": "add", "arguments": {"a": "two"}}, ctx())
    assert bad["isError"] is True
    assert "a" in bad["content"][0]["text"]
    below = await app.handle("tools/call", {"name": "add", "arguments": {"a": 1, "b": -1}}, ctx())
    assert below["isError"] is True
    with pytest.raises(McpError) as raised:
        await app.handle("tools/call", {"name": "nope"}, ctx())
    assert raised.value.code == -32602


@pytest.mark.parametrize(
    "params",
    [
        {"name": 5},
        {"arguments": {}},
        {"name": "add", "arguments": []},
        {"name": "add", "arguments": "{}"},
    ],
)
async def test_tools_call_params_of_the_wrong_shape_are_refused_by_the_core_check(
    params: dict[str, Any],
) -> None:
    # The core's check_tool_call_params, the one the session and the stateless
    # dispatcher make before the app: -32602 the same way on every path.
    with pytest.raises(RemoteProtocolError) as raised:
        await make_app().handle("tools/call", params, ctx())
    assert raised.value.code == -32602
    assert raised.value.http_status == 400


async def test_sync_tools_run_in_a_worker_thread() -> None:
    app = make_app()
    result = await app.handle("tools/call", {"name": "which_thread"}, ctx())
    assert result["content"][0]["text"] != threading.current_thread().name


async def all_pages(app: MCPServer, method: str, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    while True:
        page = await app.handle(method, params, ctx())
        assert len(page[key]) <= app.page_size
        items.extend(page[key])
        if "nextCursor" not in page:
            return items
        params = {"cursor": page["nextCursor"]}


async def test_lists_paginate_and_refuse_bad_cursors() -> None:
    app = make_app()
    names = [t["name"] for t in await all_pages(app, "tools/list", "tools")]
    assert names == ["add", "weather", "move", "which_thread", "plain"]
    for cursor in ("garbage", "bzo5OTk5"):
        with pytest.raises(McpError) as raised:
            await app.handle("tools/list", {"cursor": cursor}, ctx())
        assert raised.value.code == -32602


async def test_resources_and_templates() -> None:
    app = make_app()
    templates = await app.handle("resources/templates/list", {}, ctx())
    assert templates["resourceTemplates"][0]["uriTemplate"] == "test://items/{item}/detail"
    read = await app.handle("resources/read", {"uri": "test://items/42/detail"}, ctx())
    assert read["contents"] == [
        {"uri": "test://items/42/detail", "text": '{"item": "42"}', "mimeType": "application/json"}
    ]
    blob = await app.handle("resources/read", {"uri": "test://blob"}, ctx())
    assert blob["contents"][0]["blob"] == "AAE="
    with pytest.raises(McpError) as raised:
        await app.handle("resources/read", {"uri": "test://items/a/b/detail"}, ctx())
    assert raised.value.code == -32002
    stateless = BareExchange()
    stateless.era = Era.STATELESS
    with pytest.raises(McpError) as raised:
        await app.handle("resources/read", {"uri": "test://missing"}, Context(stateless))
    assert (raised.value.code, raised.value.data) == (-32602, {"uri": "test://missing"})


async def test_prompts_check_their_arguments() -> None:
    app = make_app()
    listed = (await app.handle("prompts/list", {}, ctx()))["prompts"]
    assert listed[0]["arguments"] == [
        {"name": "name", "required": True},
        {"name": "style", "required": False},
    ]
    got = await app.handle("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}, ctx())
    assert got["messages"] == [
        {"role": "user", "content": {"type": "text", "text": "Hello Ada (plain)"}}
    ]
    with pytest.raises(McpError) as raised:
        await app.handle("prompts/get", {"name": "greet", "arguments": {}}, ctx())
    assert raised.value.code == -32602


async def test_completion_is_capped_at_100_values() -> None:
    app = make_app()
    params = {
        "ref": {"type": "ref/prompt", "name": "greet"},
        "argument": {"name": "name", "value": "name"},
    }
    result = (await app.handle("completion/complete", params, ctx()))["completion"]
    assert len(result["values"]) == 100
    assert result["hasMore"] is True
    assert result["total"] == 150
    none = {
        "ref": {"type": "ref/resource", "uri": "test://x"},
        "argument": {"name": "a", "value": ""},
    }
    assert (await app.handle("completion/complete", none, ctx()))["completion"]["values"] == []


async def test_registry_changes_are_announced_and_declared() -> None:
    app = make_app()
    seen: list[tuple[str, Any]] = []
    app.add_listener(lambda kind, value: seen.append((kind, value)))
    app.remove_tool("plain")
    app.notify_resource_updated("test://blob")
    assert seen == [("list_changed", "tools"), ("resource_updated", "test://blob")]
    capabilities = app.capabilities
    assert capabilities["tools"] == {"listChanged": True}
    assert capabilities["resources"] == {"subscribe": True, "listChanged": True}
    assert "completions" in capabilities


async def test_templates_must_name_the_functions_parameters() -> None:
    app = MCPServer("t")
    with pytest.raises(TypeError):

        @app.resource("test://{a}/{b}")
        async def wrong(a: str) -> str:
            return a


async def test_context_questions_on_a_session_go_to_the_client() -> None:
    app = MCPServer("t")

    @app.tool()
    async def ask(context: Context) -> str:
        await context.sample(["hi"], max_tokens=5)
        return "unreachable"

    with pytest.raises(McpError):
        await app.handle("tools/call", {"name": "ask"}, ctx())
    await trio.lowlevel.checkpoint()


async def test_only_handlers_that_cannot_wait_skip_the_cancel_scope() -> None:
    app = MCPServer("t")

    @app.tool()
    async def quick(text: str) -> str:
        return text.upper()

    @app.tool()
    async def sleeps() -> str:
        await trio.sleep(0.001)
        return "slept"

    @app.tool()
    async def loops() -> str:
        async with trio.open_nursery():
            pass
        return "done"

    @app.tool()
    def threaded() -> str:
        return "thread"

    waits = {
        name: not app.never_waits("tools/call", {"name": name})
        for name in ("quick", "sleeps", "loops", "threaded")
    }
    assert waits == {"quick": False, "sleeps": True, "loops": True, "threaded": True}
    assert app.never_waits("tools/list", {})
    assert not app.never_waits("resources/read", {"uri": "x"})
