"""Skills through ``app.mount(child)``, and visibility rules over skills.

A mounted server's skills are the parent's: in ``skills/list`` (after the
parent's own), ``skills/get``, ``resources/directory/read`` and as ``skill://``
resources, under their own URIs (a parent's own skill wins over a mounted one
of the same URI); the caching hints are as short and private as any served.
A visibility rule over a component of kind ``"skill"`` (the parent's or the
child's) hides a skill from ``skills/list`` and makes ``skills/get`` answer it
as unknown.
"""

from __future__ import annotations

from typing import Any

import pytest

from scaled_mcp import Context, MCPServer
from scaled_mcp.client import Client, ClientError, Mode, Skills
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.server import Component

from .test_skills_server import EXAMPLES, validate

PDF = "skill://pdf-processing/SKILL.md"
REFUNDS = "skill://acme/billing/refunds/SKILL.md"


def mounted(child: MCPServer, parent: MCPServer | None = None) -> MCPServer:
    parent = parent or MCPServer("parent", page_size=1)
    parent.mount(child, "kid")
    return parent


def child_with_skills(**options: Any) -> MCPServer:
    child = MCPServer("child", page_size=1)
    child.add_skills(EXAMPLES, **options)
    return child


@pytest.mark.parametrize("mode", ["stateless", "handshake"])
async def test_a_mounted_servers_skills_are_the_parents(mode: Mode) -> None:
    async with Client(mounted(child_with_skills()), mode=mode) as client:
        assert client.server_capabilities is not None
        assert client.server_capabilities["extensions"] == {
            "io.modelcontextprotocol/skills": {"directoryRead": True}
        }
        skills = Skills(client)
        entries = await skills.list_skills()
        assert [e.uri for e in entries] == [REFUNDS, PDF]
        for entry in entries:
            loaded = await skills.load_skill(entry.uri)
            assert loaded.text == (EXAMPLES / entry.uri.removeprefix("skill://")).read_text()
            for listed in entry.files or ():
                data = await skills.read_file(loaded, listed.uri)
                assert data == (EXAMPLES / listed.uri.removeprefix("skill://")).read_bytes()
        children = await client.request("resources/directory/read", {"uri": "skill://acme"})
        assert [c["uri"] for c in children["resources"]] == ["skill://acme/billing"]
        with pytest.raises(ClientError) as caught:
            await client.request("skills/get", {"uri": "skill://kid/pdf-processing/SKILL.md"})
        assert caught.value.code == ErrorCode.INVALID_PARAMS


async def test_the_parents_own_skills_first_and_a_clash_is_the_parents() -> None:
    parent = MCPServer("parent")
    parent.add_skills(EXAMPLES, ttl_ms=60_000)
    mounted(child_with_skills(prefix="kid", ttl_ms=1000, cache_scope="private"), parent)
    mounted(child_with_skills(), parent)  # the same URIs as the parent's own
    async with Client(parent, mode="stateless") as client:
        listed = await client.request("skills/list")
        validate("ListSkillsResult", listed)
        assert [e["uri"] for e in listed["skills"]] == [
            REFUNDS,
            PDF,
            "skill://kid/acme/billing/refunds/SKILL.md",
            "skill://kid/pdf-processing/SKILL.md",
        ]
        # As short and as private as the most restrictive of what is listed.
        assert (listed["ttlMs"], listed["cacheScope"]) == (1000, "private")
        got = await client.request("skills/get", {"uri": "skill://kid/pdf-processing/SKILL.md"})
        validate("GetSkillResult", got)
        assert got["skill"] == listed["skills"][3]


async def test_visibility_rules_hide_skills_the_parents_and_the_childs() -> None:
    child = child_with_skills()
    seen: list[Component] = []

    @child.visibility
    def no_refunds(ctx: Context, component: Component) -> bool:
        return component.kind != "skill" or "refunds" not in component.name

    parent = mounted(child)

    @parent.visibility
    def only_for_alice(ctx: Context, component: Component) -> bool:
        if component.kind != "skill":
            return True
        seen.append(component)
        return (ctx.client_info or {}).get("name") == "alice"

    async with Client(parent, mode="stateless") as client:
        assert (await client.request("skills/list"))["skills"] == []
        for uri in (PDF, REFUNDS, "skill://nowhere/SKILL.md"):
            with pytest.raises(ClientError) as caught:
                await client.request("skills/get", {"uri": uri})
            assert caught.value.code == ErrorCode.INVALID_PARAMS
            assert caught.value.message == f"No skill is served at {uri}"
    assert {c.name for c in seen} == {PDF}  # the child's rule ran first
    assert all(c.wire["uri"] == c.name for c in seen)
    async with Client(
        parent, mode="stateless", client_info={"name": "alice", "version": "1"}
    ) as client:
        listed = await client.request("skills/list")
        assert [e["uri"] for e in listed["skills"]] == [PDF]
        assert (await client.request("skills/get", {"uri": PDF}))["skill"] == listed["skills"][0]


async def test_skills_mounted_two_levels_deep() -> None:
    middle = mounted(child_with_skills(directory_read=False), MCPServer("middle"))
    top = mounted(middle, MCPServer("top"))
    async with Client(top, mode="handshake") as client:
        assert client.server_capabilities is not None
        assert client.server_capabilities["extensions"] == {"io.modelcontextprotocol/skills": {}}
        listed = await client.request("skills/list")
        assert [e["uri"] for e in listed["skills"]] == [REFUNDS, PDF]
        with pytest.raises(ClientError) as caught:
            await client.request("resources/directory/read", {"uri": "skill://acme"})
        assert caught.value.code == ErrorCode.METHOD_NOT_FOUND


async def test_mounting_a_server_without_skills_serves_none() -> None:
    parent = mounted(MCPServer("plain"))
    assert "extensions" not in parent.capabilities and parent.extension_methods == frozenset()
    async with Client(parent, mode="stateless") as client:
        with pytest.raises(ClientError) as caught:
            await client.request("skills/list")
        assert caught.value.code == ErrorCode.METHOD_NOT_FOUND
