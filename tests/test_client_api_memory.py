"""The client against our ``MCPServer`` in memory (no socket), in both eras:
every feature a user of the client reaches through its API.

Each test runs once per era (``mode`` ``handshake`` and ``stateless``) unless
the feature exists in one era only. The tests run on the autojump clock: the
server and the client share this trio run, so timeouts cost no real time.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
import trio
from hypothesis import given, settings, strategies as st

from scaled_mcp import Context, MCPServer, ToolError
from scaled_mcp.client import Client, ClientError, Mode
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import (
    CreateMessageResult,
    ElicitResult,
    Root,
    TextContent,
    TextResourceContents,
)
from scaled_mcp.protocol.versions import LATEST_HANDSHAKE_VERSION, LATEST_VERSION

MODES: tuple[Mode, ...] = ("handshake", "stateless")


class Seen:
    """What the app's tools saw, for the tests to check."""

    def __init__(self) -> None:
        self.started = trio.Event()
        self.cancelled = trio.Event()
        self.roots: list[str] = []


def make_client_app(seen: Seen) -> MCPServer:
    """An app with a feature of each kind, listing two items per page."""
    app = MCPServer("client-api-tests", "2.0.0", instructions="Be brief.", page_size=2)

    @app.tool(description="Echo the text back")
    async def echo(text: str) -> str:
        return text

    @app.tool(description="The sum, as structured content")
    async def add(a: int, b: int) -> dict[str, int]:
        return {"sum": a + b}

    @app.tool()
    async def steps(ctx: Context, count: int = 3) -> str:
        for step in range(1, count + 1):
            await ctx.report_progress(step, count, f"step {step}")
            await ctx.info(f"step {step}")
            await ctx.debug(f"detail {step}")
        return "done"

    @app.tool()
    async def ask_model(ctx: Context, prompt: str) -> str:
        result = await ctx.sample([prompt], max_tokens=10)
        return f"model said: {getattr(result.content, 'text', None)}"

    @app.tool()
    async def ask_user(ctx: Context) -> str:
        result = await ctx.elicit(
            "Name?", {"type": "object", "properties": {"name": {"type": "string"}}}
        )
        return f"{result.action}: {(result.content or {}).get('name')}"

    @app.tool()
    async def roots(ctx: Context) -> str:
        found = await ctx.list_roots()
        return ",".join(root.uri for root in found)

    @app.tool()
    async def refuse() -> str:
        raise ToolError("not today")

    @app.tool()
    async def block() -> str:
        seen.started.set()
        try:
            await trio.sleep_forever()
        finally:
            seen.cancelled.set()

    @app.tool()
    async def touch(ctx: Context, uri: str) -> str:
        await ctx.notify_resource_updated(uri)
        return "touched"

    @app.resource("test://a", name="a", mime_type="text/plain")
    async def a() -> str:
        return "A"

    @app.resource("test://b", name="b", mime_type="text/plain")
    async def b() -> str:
        return "B"

    @app.resource("test://c", name="c", mime_type="text/plain")
    async def c() -> str:
        return "C"

    @app.resource("test://items/{id}", name="item", mime_type="text/plain")
    async def item(id: str) -> str:
        return f"item {id}"

    @app.prompt(description="Greet someone")
    async def greet(name: str) -> str:
        return f"Hello, {name}!"

    @app.prompt()
    async def plain() -> str:
        return "plain"

    @app.completion(prompt="greet")
    async def names(argument: str, value: str, context_arguments: Any) -> list[str]:
        return [n for n in ("alice", "albert", "bob") if n.startswith(value)]

    return app


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    return cast(Mode, request.param)


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def app(seen: Seen) -> MCPServer:
    return make_client_app(seen)


@pytest.fixture
def mcp_app(app: MCPServer) -> MCPServer:
    """The app the plugin's ``mcp_client`` connects to (``scaled_mcp.testing``)."""
    return app


async def test_the_handshake_says_who_the_server_is(app: MCPServer, mode: Mode) -> None:
    async with Client(app, mode=mode) as client:
        assert client.server_info["name"] == "client-api-tests"
        assert client.server_info["version"] == "2.0.0"
        assert client.instructions == "Be brief."
        assert "tools" in client.server_capabilities
        expected = LATEST_VERSION if mode == "stateless" else LATEST_HANDSHAKE_VERSION
        assert client.protocol_version == expected
        assert client.stateless is (mode == "stateless")
        await client.ping()


async def test_auto_mode_prefers_the_stateless_era(mcp_client: Client) -> None:
    assert mcp_client.stateless
    assert mcp_client.protocol_version == LATEST_VERSION


@pytest.mark.mcp_client(protocol_version="2025-06-18")
async def test_a_pinned_revision_decides_the_era(mcp_client: Client) -> None:
    assert not mcp_client.stateless
    assert mcp_client.protocol_version == "2025-06-18"
    assert (await mcp_client.call_tool("echo", {"text": "old"})).content[0] == TextContent(
        text="old"
    )


async def test_tools_are_listed_across_pages_and_called(app: MCPServer, mode: Mode) -> None:
    async with Client(app, mode=mode) as client:
        tools = await client.list_tools()
        names = [tool.name for tool in tools]
        # Five pages of two: every one was followed.
        assert names == [
            "echo",
            "add",
            "steps",
            "ask_model",
            "ask_user",
            "roots",
            "refuse",
            "block",
            "touch",
        ]
        echo = next(tool for tool in tools if tool.name == "echo")
        assert echo.description == "Echo the text back"
        assert echo.input_schema["properties"]["text"]["type"] == "string"
        result = await client.call_tool("echo", {"text": "héllo"})
        assert result.content == [TextContent(text="héllo")]
        assert not result.is_error


async def test_structured_content_is_kept(app: MCPServer, mode: Mode) -> None:
    async with Client(app, mode=mode) as client:
        result = await client.call_tool("add", {"a": 2, "b": 40})
        assert result.structured_content == {"sum": 42}


async def test_a_tool_failure_is_a_result_and_a_protocol_error_raises(
    app: MCPServer, mode: Mode
) -> None:
    async with Client(app, mode=mode) as client:
        result = await client.call_tool("refuse")
        assert result.is_error
        assert result.content == [TextContent(text="not today")]
        with pytest.raises(ClientError) as raised:
            await client.read_resource("test://nowhere")
        assert raised.value.code in (ErrorCode.RESOURCE_NOT_FOUND, ErrorCode.INVALID_PARAMS)
        assert raised.value.message
        with pytest.raises(ClientError) as unknown:
            await client.request("no/such/method")
        assert unknown.value.code == ErrorCode.METHOD_NOT_FOUND


async def test_resources_templates_and_reads(app: MCPServer, mode: Mode) -> None:
    async with Client(app, mode=mode) as client:
        resources = await client.list_resources()
        assert [r.uri for r in resources] == ["test://a", "test://b", "test://c"]
        templates = await client.list_resource_templates()
        assert [t.uri_template for t in templates] == ["test://items/{id}"]
        read = await client.read_resource("test://items/7")
        assert read.contents == [
            TextResourceContents(uri="test://items/7", text="item 7", mime_type="text/plain")
        ]


async def test_prompts_and_completion(app: MCPServer, mode: Mode) -> None:
    async with Client(app, mode=mode) as client:
        prompts = await client.list_prompts()
        assert [p.name for p in prompts] == ["greet", "plain"]
        assert prompts[0].arguments is not None and prompts[0].arguments[0].name == "name"
        got = await client.get_prompt("greet", {"name": "Ada"})
        assert got.messages[0].content == TextContent(text="Hello, Ada!")
        completed = await client.complete(
            {"type": "ref/prompt", "name": "greet"}, {"name": "name", "value": "al"}
        )
        assert completed.completion.values == ["alice", "albert"]


async def test_progress_goes_to_the_call_and_logs_to_the_log_handler(
    app: MCPServer, mode: Mode
) -> None:
    logs: list[tuple[str, Any]] = []
    client_progress: list[float] = []

    async def on_log(level: str, data: Any, logger: str | None) -> None:
        logs.append((level, data))

    async with Client(
        app,
        mode=mode,
        log_handler=on_log,
        progress_handler=lambda p, t, m: client_progress.append(p),
    ) as client:
        await client.set_logging_level("info")
        call_progress: list[tuple[float, float | None, str | None]] = []
        result = await client.call_tool(
            "steps", {"count": 2}, progress_handler=lambda *a: call_progress.append(a)
        )
        assert result.content == [TextContent(text="done")]
        assert call_progress == [(1, 2, "step 1"), (2, 2, "step 2")]
        assert client_progress == []  # the call's own handler took them
        assert logs == [("info", "step 1"), ("info", "step 2")]  # debug filtered out
        await client.call_tool("steps", {"count": 1})
        assert client_progress == [1]


async def test_sampling_and_elicitation_handlers_answer_the_server(
    app: MCPServer, mode: Mode
) -> None:
    asked: list[dict[str, Any]] = []

    async def sample(params: dict[str, Any]) -> CreateMessageResult:
        asked.append(params)
        return CreateMessageResult(role="assistant", content=TextContent(text="42"), model="m")

    def elicit(params: dict[str, Any]) -> dict[str, Any]:  # a sync handler, a wire dict
        return {"action": "accept", "content": {"name": "Ada"}}

    async with Client(
        app,
        mode=mode,
        sampling_handler=sample,
        elicitation_handler=elicit,
    ) as client:
        model = await client.call_tool("ask_model", {"prompt": "meaning?"})
        assert model.content == [TextContent(text="model said: 42")]
        assert asked[0]["messages"][0]["content"]["text"] == "meaning?"
        user = await client.call_tool("ask_user")
        assert user.content == [TextContent(text="accept: Ada")]


async def test_an_elicitation_handler_may_return_the_attrs_result(
    app: MCPServer, mode: Mode
) -> None:
    async def elicit(params: dict[str, Any]) -> ElicitResult:
        return ElicitResult(action="decline")

    async with Client(app, mode=mode, elicitation_handler=elicit) as client:
        result = await client.call_tool("ask_user")
        assert result.content == [TextContent(text="decline: None")]


async def test_roots_from_a_list_or_a_function(app: MCPServer, mode: Mode) -> None:
    listed: list[Root | dict[str, Any] | str] = [
        Root(uri="file:///a"),
        {"uri": "file:///b", "name": "b"},
        "file:///c",
    ]
    async with Client(app, mode=mode, roots=listed) as client:
        result = await client.call_tool("roots")
        assert result.content == [TextContent(text="file:///a,file:///b,file:///c")]

    current = ["file:///one"]

    async def roots() -> list[str]:
        return list(current)

    async with Client(app, mode=mode, roots=roots) as client:
        assert (await client.call_tool("roots")).content == [TextContent(text="file:///one")]
        current.append("file:///two")
        if mode == "handshake":
            await client.send_roots_list_changed()
        assert (await client.call_tool("roots")).content == [
            TextContent(text="file:///one,file:///two")
        ]


async def test_without_a_handler_the_server_cannot_ask(app: MCPServer, mode: Mode) -> None:
    async with Client(app, mode=mode) as client:
        # No sampling capability declared: the server refuses to ask for it.
        with pytest.raises(ClientError) as raised:
            await client.call_tool("ask_model", {"prompt": "?"})
        if mode == "stateless":
            assert raised.value.code == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY


@pytest.mark.parametrize("mode", MODES)
async def test_subscribed_resources_report_their_updates(app: MCPServer, mode: Mode) -> None:
    # The handshake era's updates come as lines on stdio (in memory) as on an HTTP GET
    # stream; the stateless era's on a subscriptions/listen stream, on any transport.
    updated: list[str] = []
    changed: list[str] = []
    async with Client(
        app,
        mode=mode,
        resource_updated_handler=updated.append,
        list_changed_handler=changed.append,
    ) as client:
        await client.subscribe_resource("test://a")
        await client.call_tool("touch", {"uri": "test://a"})
        await client.call_tool("touch", {"uri": "test://b"})  # not subscribed
        with trio.fail_after(5):
            while not updated:  # noqa: ASYNC110 (the handler is a plain list)
                await trio.sleep(0.01)
        await client.subscribe_resource("test://b")
        await client.unsubscribe_resource("test://a")
        await client.call_tool("touch", {"uri": "test://a"})
        await client.call_tool("touch", {"uri": "test://b"})
        with trio.fail_after(5):
            while len(updated) < 2:  # noqa: ASYNC110
                await trio.sleep(0.01)
        await trio.sleep(0.5)
        if mode == "handshake":
            app.notify_list_changed("tools")
            with trio.fail_after(5):
                while not changed:  # noqa: ASYNC110
                    await trio.sleep(0.01)
    assert updated == ["test://a", "test://b"]
    assert changed == (["tools"] if mode == "handshake" else [])


async def test_a_timeout_raises_and_cancels_the_call(
    app: MCPServer, seen: Seen, mode: Mode, autojump_clock: object
) -> None:
    async with Client(app, mode=mode) as client:
        with pytest.raises(ClientError) as raised:
            await client.call_tool("block", timeout=2)
        assert raised.value.code == ErrorCode.REQUEST_TIMEOUT
        with trio.fail_after(5):
            await seen.cancelled.wait()
        # The client goes on working.
        assert (await client.call_tool("echo", {"text": "after"})).content[0].text == "after"  # type: ignore[union-attr]


async def test_cancelling_the_caller_cancels_the_request(
    app: MCPServer, seen: Seen, mode: Mode
) -> None:
    async with Client(app, mode=mode) as client:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.call_tool, "block")
            await seen.started.wait()
            nursery.cancel_scope.cancel()
        with trio.fail_after(5):
            await seen.cancelled.wait()
        assert (await client.call_tool("echo", {"text": "x"})).content == [TextContent(text="x")]


async def test_concurrent_calls_get_their_own_answers(app: MCPServer, mode: Mode) -> None:
    answers: dict[int, str] = {}
    async with Client(app, mode=mode) as client:

        async def one(i: int) -> None:
            result = await client.call_tool("echo", {"text": f"n{i}"})
            answers[i] = result.content[0].text  # type: ignore[union-attr]

        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(one, i)
    assert answers == {i: f"n{i}" for i in range(20)}


async def test_a_closed_client_refuses_calls(app: MCPServer, mode: Mode) -> None:
    async with Client(app, mode=mode) as client:
        pass
    with pytest.raises(ClientError):
        await client.ping()


async def test_meta_is_sent_with_the_call(mode: Mode) -> None:
    app = MCPServer("meta")

    @app.tool()
    async def meta(ctx: Context) -> str:
        return str(ctx.progress_token is not None)

    async with Client(app, mode=mode) as client:
        plain = await client.call_tool("meta", meta={"example.com/trace": "t1"})
        assert plain.content == [TextContent(text="False")]
        tracked = await client.call_tool("meta", progress_handler=lambda *a: None)
        assert tracked.content == [TextContent(text="True")]


@settings(max_examples=25, deadline=None)
@given(text=st.text(max_size=200), mode=st.sampled_from(MODES))
def test_any_text_round_trips_through_a_tool(text: str, mode: Mode) -> None:
    app = make_client_app(Seen())

    async def main() -> str:
        async with Client(app, mode=mode) as client:
            result = await client.call_tool("echo", {"text": text})
            return result.content[0].text  # type: ignore[union-attr]

    assert trio.run(main) == text
