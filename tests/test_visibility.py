"""Visibility: each caller sees, and may use, only what the rules let through;
lists and calls agree, on both eras, mounted servers included."""

from __future__ import annotations

import pytest

from scaled_mcp import Context, MCPServer
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.runtime import Runtime, RuntimeConfig
from scaled_mcp.server import Component
from tests.helpers import ERAS, EraClient, serving_in_memory, text_of


def _app() -> MCPServer:
    app = MCPServer("vis")

    @app.tool()
    async def public() -> str:
        return "public"

    @app.tool(tags={"admin"})
    async def purge() -> str:
        return "purged"

    @app.resource("secret://keys", tags=["admin"])
    async def keys() -> str:
        return "k"

    @app.resource("docs://{page}", tags=["admin"])
    async def docs(page: str) -> str:
        return page

    @app.prompt(tags=("admin",))
    async def audit() -> str:
        return "Audit everything"

    @app.completion(prompt="audit")
    async def nothing(argument: str, value: str, context_arguments: dict[str, str]) -> list[str]:
        return []

    @app.visibility
    def admins_only(ctx: Context, component: Component) -> bool:
        return "admin" not in component.tags or ctx.client_info.get("name") == "admin-console"

    return app


def _runtime(app: MCPServer) -> Runtime:
    return Runtime(app, config=RuntimeConfig(shutdown_grace=1))


@pytest.mark.parametrize("era", ERAS)
async def test_lists_show_each_caller_what_it_may_use(era: str) -> None:
    runtime = _runtime(_app())
    async with serving_in_memory(runtime):
        user = EraClient(runtime, era, "someone")
        admin = EraClient(runtime, era, "admin-console")
        user_tools = await user.result("tools/list")
        admin_tools = await admin.result("tools/list")
        user_resources = await user.result("resources/list")
        admin_resources = await admin.result("resources/list")
        user_templates = await user.result("resources/templates/list")
        user_prompts = await user.result("prompts/list")
        admin_prompts = await admin.result("prompts/list")
    assert [t["name"] for t in user_tools["tools"]] == ["public"]
    assert [t["name"] for t in admin_tools["tools"]] == ["public", "purge"]
    assert user_resources["resources"] == [] and user_templates["resourceTemplates"] == []
    assert [r["uri"] for r in admin_resources["resources"]] == ["secret://keys"]
    assert user_prompts["prompts"] == []
    assert [p["name"] for p in admin_prompts["prompts"]] == ["audit"]


@pytest.mark.parametrize("era", ERAS)
async def test_a_hidden_component_answers_like_an_unknown_one(era: str) -> None:
    runtime = _runtime(_app())
    async with serving_in_memory(runtime):
        user = EraClient(runtime, era, "someone")
        admin = EraClient(runtime, era, "admin-console")
        hidden = await user.error("tools/call", {"name": "purge"})
        missing = await user.error("tools/call", {"name": "nothing"})
        allowed = await admin.result("tools/call", {"name": "purge"})
        hidden_read = await user.error("resources/read", {"uri": "secret://keys"})
        missing_read = await user.error("resources/read", {"uri": "secret://none"})
        hidden_template = await user.error("resources/read", {"uri": "docs://intro"})
        admin_read = await admin.result("resources/read", {"uri": "docs://intro"})
        hidden_prompt = await user.error("prompts/get", {"name": "audit"})
        missing_prompt = await user.error("prompts/get", {"name": "nothing"})
        complete = {
            "ref": {"type": "ref/prompt", "name": "audit"},
            "argument": {"name": "x", "value": ""},
        }
        hidden_completion = await user.error("completion/complete", complete)
        admin_completion = await admin.result("completion/complete", complete)
    assert hidden["code"] == missing["code"] == ErrorCode.INVALID_PARAMS
    assert hidden["message"] == missing["message"].replace("nothing", "purge")
    assert text_of(allowed) == "purged"
    assert hidden_read["code"] == missing_read["code"] == hidden_template["code"]
    assert admin_read["contents"][0]["text"] == "intro"
    assert hidden_prompt["code"] == missing_prompt["code"] == ErrorCode.INVALID_PARAMS
    assert hidden_completion["code"] == ErrorCode.INVALID_PARAMS
    assert admin_completion["completion"]["values"] == []


@pytest.mark.parametrize("era", ERAS)
async def test_the_parents_rules_cover_mounted_components(era: str) -> None:
    parent = MCPServer("parent")
    child = MCPServer("child")

    @child.tool(tags={"beta"})
    async def experiment() -> str:
        return "beta"

    @child.tool()
    async def stable() -> str:
        return "stable"

    parent.mount(child, prefix="lab")

    @parent.visibility
    def no_beta(ctx: Context, component: Component) -> bool:
        return "beta" not in component.tags

    runtime = _runtime(parent)
    async with serving_in_memory(runtime):
        client = EraClient(runtime, era)
        tools = await client.result("tools/list")
        refused = await client.error("tools/call", {"name": "lab_experiment"})
        ran = await client.result("tools/call", {"name": "lab_stable"})
    assert [t["name"] for t in tools["tools"]] == ["lab_stable"]
    assert refused["code"] == ErrorCode.INVALID_PARAMS
    assert text_of(ran) == "stable"


def test_tags_are_strings() -> None:
    app = MCPServer("tags")
    with pytest.raises(TypeError):
        app.tool(tags="admin")(lambda: "x")
    with pytest.raises(TypeError):
        app.tool(tags=[1])(lambda: "x")  # type: ignore[list-item]
