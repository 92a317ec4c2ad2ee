"""Composition: a server mounted in another under a prefix, on both eras."""

from __future__ import annotations

from typing import Any

import pytest

from scaled_mcp import Context, MCPServer
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import Completion
from scaled_mcp.runtime import Runtime, RuntimeConfig
from scaled_mcp.server import CallNext, MiddlewareContext
from tests.helpers import ERAS, EraClient, serving_in_memory, text_of

Result = dict[str, Any] | None


def _weather() -> MCPServer:
    weather = MCPServer("weather", page_size=1)

    @weather.tool()
    async def forecast(city: str) -> str:
        """Tomorrow's weather."""
        return f"sun in {city}"

    @weather.tool()
    async def alerts(ctx: Context) -> str:
        await ctx.info("checking alerts")
        return "none"

    @weather.resource("weather://stations")
    async def stations() -> str:
        return "north, south"

    @weather.resource("weather://city/{name}")
    async def city(name: str) -> str:
        return f"city {name}"

    @weather.prompt()
    async def brief(city: str) -> str:
        return f"Brief me on {city}"

    @weather.completion(prompt="brief")
    async def cities(argument: str, value: str, context_arguments: dict[str, str]) -> Completion:
        return Completion(values=[c for c in ("Paris", "Perth") if c.startswith(value)])

    return weather


def _parent() -> tuple[MCPServer, MCPServer]:
    parent = MCPServer("main")

    @parent.tool()
    async def hello() -> str:
        return "hello"

    weather = _weather()
    parent.mount(weather, prefix="weather")
    return parent, weather


def _runtime(app: MCPServer) -> Runtime:
    return Runtime(app, config=RuntimeConfig(shutdown_grace=1))


@pytest.mark.parametrize("era", ERAS)
async def test_mounted_components_are_listed_and_served(era: str) -> None:
    parent, _ = _parent()
    runtime = _runtime(parent)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, era)
        tools = await client.result("tools/list")
        call = {"name": "weather_forecast", "arguments": {"city": "Oslo"}}
        called = await client.result("tools/call", call)
        resources = await client.result("resources/list")
        templates = await client.result("resources/templates/list")
        read = await client.result("resources/read", {"uri": "weather://city/Lyon"})
        prompts = await client.result("prompts/list")
        got = await client.result(
            "prompts/get", {"name": "weather_brief", "arguments": {"city": "Rome"}}
        )
        completed = await client.result(
            "completion/complete",
            {
                "ref": {"type": "ref/prompt", "name": "weather_brief"},
                "argument": {"name": "city", "value": "Pa"},
            },
        )
        unknown = await client.error("tools/call", {"name": "weather_nothing"})
    # Every item of the child's paged lists, after the parent's own.
    assert [t["name"] for t in tools["tools"]] == ["hello", "weather_forecast", "weather_alerts"]
    assert tools["tools"][1]["description"] == "Tomorrow's weather."
    assert text_of(called) == "sun in Oslo"
    # URIs are kept as they are.
    assert [r["uri"] for r in resources["resources"]] == ["weather://stations"]
    assert [t["uriTemplate"] for t in templates["resourceTemplates"]] == ["weather://city/{name}"]
    assert read["contents"][0]["text"] == "city Lyon"
    assert [p["name"] for p in prompts["prompts"]] == ["weather_brief"]
    assert got["messages"][0]["content"]["text"] == "Brief me on Rome"
    assert completed["completion"]["values"] == ["Paris"]
    assert unknown["code"] == ErrorCode.INVALID_PARAMS


async def test_the_parent_declares_what_its_mounted_servers_offer() -> None:
    parent = MCPServer("empty")
    parent.mount(_weather(), prefix="w", separator=".")
    caps = parent.capabilities
    assert {"tools", "resources", "prompts", "completions"} <= set(caps)
    assert parent.knows("tool", "w.forecast") and not parent.knows("tool", "w_forecast")
    assert parent.tool_param_headers("w.forecast") == {}


@pytest.mark.parametrize("era", ERAS)
async def test_the_childs_middleware_applies_to_its_own_components(era: str) -> None:
    parent, weather = _parent()
    seen: list[str] = []

    @weather.middleware(methods=["tools/call"])
    async def count(ctx: MiddlewareContext, call_next: CallNext) -> Result:
        seen.append(str(ctx.params.get("name")))
        return await call_next(ctx)

    runtime = _runtime(parent)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, era)
        await client.result("tools/call", {"name": "hello"})
        await client.result("tools/call", {"name": "weather_forecast", "arguments": {"city": "A"}})
    # The child's middleware saw its own tool, under its own name, and nothing else.
    assert seen == ["forecast"]


def test_list_changes_of_a_mounted_server_reach_the_parents_listeners() -> None:
    parent, weather = _parent()
    heard: list[tuple[str, Any]] = []
    parent.add_listener(lambda kind, value: heard.append((kind, value)))

    @weather.tool()
    async def radar() -> str:
        return "radar"

    weather.notify_resource_updated("weather://stations")
    weather.remove_prompt("brief")
    assert heard == [
        ("list_changed", "tools"),
        ("resource_updated", "weather://stations"),
        ("list_changed", "prompts"),
    ]
    assert parent.knows("tool", "weather_radar")


@pytest.mark.parametrize("era", ERAS)
async def test_servers_mount_in_depth(era: str) -> None:
    top = MCPServer("top")
    middle = MCPServer("middle")
    middle.mount(_weather(), prefix="weather")
    top.mount(middle, prefix="region")
    runtime = _runtime(top)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, era)
        tools = await client.result("tools/list")
        called = await client.result(
            "tools/call", {"name": "region_weather_forecast", "arguments": {"city": "Nice"}}
        )
    assert [t["name"] for t in tools["tools"]] == [
        "region_weather_forecast",
        "region_weather_alerts",
    ]
    assert text_of(called) == "sun in Nice"


def test_mounting_checks_its_arguments() -> None:
    parent, weather = _parent()
    with pytest.raises(ValueError, match="in itself"):
        weather.mount(parent, prefix="loop")
    with pytest.raises(ValueError, match="in itself"):
        parent.mount(parent, prefix="self")
    with pytest.raises(ValueError, match="prefix"):
        parent.mount(MCPServer("x"), prefix="has space")
