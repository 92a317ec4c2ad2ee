"""The gateway on one node, in front of our own server (in memory: the upstream's
behaviour is known exactly), reached by our client over HTTP on both eras: what
it lists and forwards, what it passes back (progress, logs, questions, list
changes, resource updates), cancellation passed up, errors, mixing with local
tools and mounting, visibility, and its pool of upstream sessions (capped,
idle ones closed, a lost one replaced)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import pytest
import trio
import trio.lowlevel
import trio.testing
from hypothesis import given, strategies as st

from scaled_mcp import Context, MCPServer
from scaled_mcp.client import Client, ClientError, Gateway
from scaled_mcp.client._gateway import _template_pattern, _without_envelope
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import CallToolResult, TextContent
from scaled_mcp.runtime import Runtime, RuntimeConfig, StartupError

from .client_helpers import E2E_TOOLS, make_e2e_app
from .helpers import ERAS, Probe, serving

DEADLINE: Final = 60


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


def upstream_app(probe: Probe) -> MCPServer:
    """The e2e app, with a completion and a tool that waits."""
    app = make_e2e_app(probe)

    @app.completion(prompt="greet")
    async def names(argument: str, value: str, context_arguments: dict[str, str]) -> list[str]:
        return [n for n in ("Ada", "Alan", "Grace") if n.startswith(value)]

    @app.tool(description="Wait, then answer")
    async def wait(seconds: float) -> str:
        await trio.sleep(seconds)
        return "waited"

    return app


@asynccontextmanager
async def gateway_client(gateway: MCPServer, era: str, **handlers: Any) -> AsyncIterator[Client]:
    async with (
        serving(gateway, "h11") as port,
        Client(
            f"http://127.0.0.1:{port}/mcp",
            mode="handshake" if era == "handshake" else "stateless",
            timeout=DEADLINE / 2,
            **handlers,
        ) as client,
    ):
        yield client


@pytest.mark.parametrize("era", ERAS)
async def test_lists_calls_resources_prompts_and_completion(era: str) -> None:
    gateway = Gateway(upstream_app(Probe()))
    with trio.fail_after(DEADLINE):
        await gateway.probe()
        assert gateway.server_info["name"] == "client-e2e"
        assert gateway.instructions == "Tests of the client."
        assert "completions" in gateway.capabilities
        async with gateway_client(gateway, era) as client:
            # The upstream pages two items at a time: the gateway reads them all.
            assert [t.name for t in await client.list_tools()] == [*E2E_TOOLS, "wait"]
            assert text(await client.call_tool("echo", {"text": "hi"})) == "hi"
            added = await client.call_tool("add", {"a": 2, "b": 3})
            assert added.structured_content == {"sum": 5}
            refused = await client.call_tool("refuse")
            assert refused.is_error and text(refused) == "not today"
            with pytest.raises(ClientError) as unknown:
                await client.call_tool("nowhere")
            assert unknown.value.code == ErrorCode.INVALID_PARAMS

            uris = [r.uri for r in await client.list_resources()]
            assert uris == ["test://static", "test://second", "test://third"]
            templates = await client.list_resource_templates()
            assert [t.uri_template for t in templates] == ["test://items/{id}"]
            read = await client.read_resource("test://items/7")
            assert getattr(read.contents[0], "text", None) == "item 7"
            with pytest.raises(ClientError) as missing:
                await client.read_resource("test://nowhere")
            assert "test://nowhere" in missing.value.message

            assert [p.name for p in await client.list_prompts()] == ["greet", "plain"]
            prompt = await client.get_prompt("greet", {"name": "Ada"})
            assert getattr(prompt.messages[0].content, "text", None) == "Hello, Ada!"
            completed = await client.complete(
                {"type": "ref/prompt", "name": "greet"}, {"name": "name", "value": "A"}
            )
            assert completed.completion.values == ["Ada", "Alan"]


@pytest.mark.parametrize("era", ERAS)
async def test_progress_logs_and_questions_pass_both_ways(era: str) -> None:
    seen: list[object] = []
    asked: list[str] = []

    def elicit(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params["message"])
        return {"action": "accept", "content": {"name": "Ada"}}

    def sample(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params["messages"][0]["content"]["text"])
        return {"role": "assistant", "content": {"type": "text", "text": "hi"}, "model": "m"}

    def log(level: str, data: Any, logger: str | None) -> None:
        seen.append((level, data))

    def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    gateway = Gateway(upstream_app(Probe()))
    with trio.fail_after(DEADLINE):
        async with gateway_client(
            gateway, era, elicitation_handler=elicit, sampling_handler=sample, log_handler=log
        ) as client:
            await client.set_logging_level("info")
            result = await client.call_tool("steps", {"count": 2}, progress_handler=progress)
            assert text(result) == "done"
            assert seen == [
                (1, 2, "step 1"),
                ("info", "step 1"),
                (2, 2, "step 2"),
                ("info", "step 2"),
            ]
            assert text(await client.call_tool("ask_user")) == "accept: Ada"
            said = await client.call_tool("ask_model", {"prompt": "hello?"})
            assert text(said) == "model said: hi"
            assert asked == ["Name?", "hello?"]
            # Below the client's level: the upstream's info logs are not sent.
            await client.set_logging_level("error")
            seen.clear()
            await client.call_tool("steps", {"count": 1})
            assert seen == []


@pytest.mark.parametrize("era", ERAS)
async def test_a_question_to_a_client_that_cannot_answer_is_an_error(era: str) -> None:
    gateway = Gateway(upstream_app(Probe()))
    with trio.fail_after(DEADLINE):
        async with gateway_client(gateway, era) as client:
            with pytest.raises(ClientError) as raised:
                await client.call_tool("ask_user")
            assert "elicitation" in raised.value.message


async def test_cancellation_passes_up() -> None:
    """``notifications/cancelled`` from the downstream client cancels the
    gateway's handler, whose upstream call sends its own upstream."""
    probe = Probe()
    gateway = Gateway(upstream_app(probe))
    with trio.fail_after(DEADLINE):
        async with gateway_client(gateway, "handshake") as client:
            with trio.move_on_after(DEADLINE / 3) as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(client.call_tool, "block")
                    await probe.started.wait()
                    nursery.cancel_scope.cancel()
            assert not scope.cancelled_caught
            await probe.cancelled.wait()  # the upstream's handler was cancelled
            assert text(await client.call_tool("echo", {"text": "after"})) == "after"


async def test_list_changes_and_resource_updates_reach_the_clients() -> None:
    changed: list[str] = []
    updated: list[str] = []
    got_both = trio.Event()

    def on_change(kind: str) -> None:
        changed.append(kind)
        if updated:
            got_both.set()

    def on_update(uri: str) -> None:
        updated.append(uri)
        if changed:
            got_both.set()

    gateway = Gateway(upstream_app(Probe()))
    with trio.fail_after(DEADLINE):
        async with gateway_client(
            gateway, "handshake", list_changed_handler=on_change, resource_updated_handler=on_update
        ) as client:
            await client.subscribe_resource("test://static")
            assert "test://static" in gateway._subscribed
            await client.call_tool("touch")
            await client.call_tool("update", {"uri": "test://static"})
            await got_both.wait()
    assert "tools" in changed
    assert updated[0] == "test://static"


@pytest.mark.parametrize("era", ERAS)
async def test_mixed_with_local_tools_mounted_and_filtered(era: str) -> None:
    gateway = Gateway(upstream_app(Probe()), name="mixed")

    @gateway.tool(description="A tool of the gateway itself")
    async def local() -> str:
        return "local"

    @gateway.tool(description="Shadows the upstream's echo")
    async def echo(text: str) -> str:
        return f"local {text}"

    @gateway.visibility
    def hide_refuse(ctx: Context, component: Any) -> bool:
        return bool(component.name != "refuse")

    parent = MCPServer("parent")

    @parent.tool(description="The parent's own")
    async def own() -> str:
        return "own"

    parent.mount(gateway, prefix="up")
    with trio.fail_after(DEADLINE):
        async with gateway_client(parent, era) as client:
            names = [t.name for t in await client.list_tools()]
            assert names[:3] == ["own", "up_local", "up_echo"]
            assert "up_refuse" not in names and "up_add" in names
            assert len(names) == len(set(names))
            assert text(await client.call_tool("up_echo", {"text": "x"})) == "local x"
            assert text(await client.call_tool("up_local")) == "local"
            added = await client.call_tool("up_add", {"a": 1, "b": 1})
            assert added.structured_content == {"sum": 2}
            with pytest.raises(ClientError) as hidden:
                await client.call_tool("up_refuse")
            assert hidden.value.code == ErrorCode.INVALID_PARAMS
            read = await client.read_resource("test://items/3")
            assert getattr(read.contents[0], "text", None) == "item 3"
            prompt = await client.get_prompt("up_greet", {"name": "Bo"})
            assert getattr(prompt.messages[0].content, "text", None) == "Hello, Bo!"


@pytest.mark.parametrize("era", ERAS)
async def test_an_upstream_on_the_2024_11_05_sse_transport(era: str) -> None:
    """A URL ending in ``/sse``: the upstream is reached over the 2024-11-05
    HTTP+SSE transport (handshake era only); the gateway offers it on both eras."""
    asked: list[str] = []

    def elicit(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params["message"])
        return {"action": "accept", "content": {"name": "Ada"}}

    with trio.fail_after(DEADLINE):
        async with serving(upstream_app(Probe()), "h11") as upstream:
            gateway = Gateway(f"http://127.0.0.1:{upstream}/sse", timeout=DEADLINE / 3)
            async with gateway_client(gateway, era, elicitation_handler=elicit) as client:
                primary = gateway.pool.primary
                assert primary is not None and primary.client is not None
                assert type(primary.client._transport).__name__ == "LegacySseTransport"
                assert not primary.client.stateless
                assert text(await client.call_tool("echo", {"text": "old"})) == "old"
                assert text(await client.call_tool("ask_user")) == "accept: Ada"
                assert len(await client.list_tools()) == len(E2E_TOOLS) + 1
    assert asked[-1] == "Name?"


async def test_the_pool_is_capped_and_idle_sessions_close() -> None:
    gateway = Gateway(upstream_app(Probe()), max_sessions=2, idle_timeout=0.5)
    with trio.fail_after(DEADLINE):
        async with gateway_client(gateway, "stateless") as client:
            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(client.call_tool, "wait", {"seconds": 0.5})
                await trio.sleep(0.3)
                assert len(gateway.pool.sessions) == 2
                assert sum(len(s.calls) for s in gateway.pool.sessions) == 5
                (other,) = [s for s in gateway.pool.sessions if not s.primary]
            await other.closed.wait()  # idle for 0.5 s
            (primary,) = gateway.pool.sessions
            assert primary.primary
            # A lost session is replaced at the next call.
            gateway.pool.lost(primary)
            await primary.closed.wait()
            assert text(await client.call_tool("echo", {"text": "again"})) == "again"
            assert [s.primary for s in gateway.pool.sessions] == [True]


async def test_an_unreachable_upstream_stops_start_up_in_one_line() -> None:
    gateway = Gateway("http://127.0.0.1:9/mcp", start_within=0.5, timeout=2)
    runtime = Runtime(gateway, config=RuntimeConfig(shutdown_grace=1))
    with trio.fail_after(DEADLINE), pytest.raises(StartupError) as raised:
        async with runtime.run():
            pass
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("the lifespan failed: the upstream is unreachable")


async def test_an_upstream_lost_while_serving_gives_json_rpc_errors() -> None:
    gateway = Gateway(upstream_app(Probe()), timeout=5)
    with trio.fail_after(DEADLINE):
        async with gateway_client(gateway, "handshake") as client:
            assert text(await client.call_tool("echo", {"text": "1"})) == "1"
            # The upstream session's transport is closed under the gateway.
            primary = gateway.pool.primary
            assert primary is not None and primary.client is not None
            await primary.client._transport.aclose()
            with pytest.raises(ClientError) as raised:
                await client.call_tool("echo", {"text": "2"})
            assert raised.value.code == ErrorCode.INTERNAL_ERROR
            # The next call has a new upstream session.
            await primary.closed.wait()
            assert text(await client.call_tool("echo", {"text": "3"})) == "3"


# -- the small pure parts ------------------------------------------------------------------

_SERVER_INFO = "io.modelcontextprotocol/serverInfo"


@given(
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=4),
    st.booleans(),
    st.dictionaries(st.sampled_from(["content", "isError", "x"]), st.integers(), max_size=3),
)
def test_only_the_upstreams_server_info_is_dropped(
    meta: dict[str, int], with_info: bool, fields: dict[str, int]
) -> None:
    full_meta: dict[str, Any] = {**meta, _SERVER_INFO: {"name": "up"}} if with_info else meta
    result: dict[str, Any] = {**fields, "_meta": full_meta}
    out = _without_envelope(result)
    kept = {k: v for k, v in full_meta.items() if k != _SERVER_INFO}
    assert out.get("_meta", {}) == kept if with_info else out == result
    assert {k: v for k, v in out.items() if k != "_meta"} == fields


@given(
    st.lists(st.from_regex(r"[a-z:]{0,5}", fullmatch=True), min_size=1, max_size=4),
    st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,6}", fullmatch=True), min_size=3, max_size=3),
)
def test_a_template_matches_its_expansions(literals: list[str], values: list[str]) -> None:
    template = "".join(
        part + (f"{{v{i}}}" if i < len(literals) - 1 else "") for i, part in enumerate(literals)
    )
    pattern = _template_pattern(template)
    expanded = re.sub(r"\{v(\d)\}", lambda m: values[int(m.group(1))], template)
    assert pattern.fullmatch(expanded)
    assert not pattern.fullmatch(expanded + "/extra")
