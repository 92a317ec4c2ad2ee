"""Our client against our server over real sockets, on both HTTP fronts (h11 and
hypercorn), on every wire: the handshake revisions 2025-03-26, 2025-06-18 and
2025-11-25 over streamable HTTP, the 2026-07-28 stateless wire, and 2024-11-05
over the HTTP+SSE transport (``/sse``).

Every feature a user reaches through :class:`~scaled_mcp.client.Client`: tools
(every page, structured content, tool errors), progress, logging, sampling,
elicitation, resources, prompts, and a POST's SSE stream the server closes
mid-call, which the client resumes with ``Last-Event-ID``. An ``httpx2.Auth``
that only records the requests shows what went on the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx2
import pytest
import trio

from scaled_mcp.client import Client, ClientError
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import (
    CallToolResult,
    CreateMessageResult,
    TextContent,
    TextResourceContents,
)

from .client_helpers import E2E_TOOLS, Recorder, make_e2e_app
from .helpers import FRONTS, Probe, serving

#: The wires: a revision, and the path the client is given.
WIRES: Final = {
    "2024-11-05": "/sse",
    "2025-03-26": "/mcp",
    "2025-06-18": "/mcp",
    "2025-11-25": "/mcp",
    "2026-07-28": "/mcp",
}
#: A generous bound on each test: nothing here may hang.
DEADLINE: Final = 60


class Seen:
    """What the client's handlers received."""

    def __init__(self) -> None:
        self.progress: list[tuple[float, float | None, str | None]] = []
        self.logs: list[tuple[str, Any]] = []
        self.sampled: list[dict[str, Any]] = []
        self.elicited: list[dict[str, Any]] = []
        self.changed: list[str] = []
        self.updated: list[str] = []

    def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append((progress, total, message))

    async def on_log(self, level: str, data: Any, logger: str | None) -> None:
        self.logs.append((level, data))

    async def sample(self, params: dict[str, Any]) -> CreateMessageResult:
        self.sampled.append(params)
        return CreateMessageResult(role="assistant", content=TextContent(text="hello"), model="m")

    def on_changed(self, kind: str) -> None:
        self.changed.append(kind)

    async def on_updated(self, uri: str) -> None:
        self.updated.append(uri)

    def elicit(self, params: dict[str, Any]) -> dict[str, Any]:
        self.elicited.append(params)
        return {"action": "accept", "content": {"name": "Ada"}}


@asynccontextmanager
async def connected(
    front: str,
    version: str,
    seen: Seen | None = None,
    auth: httpx2.Auth | None = None,
    probe: Probe | None = None,
) -> AsyncIterator[Client]:
    """Our client at ``version`` talking to a fresh node on ``front``."""
    seen = seen or Seen()
    async with serving(make_e2e_app(probe), front) as port:
        client = Client(
            f"http://127.0.0.1:{port}{WIRES[version]}",
            protocol_version=version,
            sampling_handler=seen.sample,
            elicitation_handler=seen.elicit,
            log_handler=seen.on_log,
            list_changed_handler=seen.on_changed,
            resource_updated_handler=seen.on_updated,
            auth=auth,
            timeout=DEADLINE / 2,
        )
        async with client:
            yield client


def progress_message(version: str, message: str) -> str | None:
    """What a progress notification carries of ``message`` (2025-03-26 added it)."""
    return None if version == "2024-11-05" else message


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


pytestmark = [
    pytest.mark.parametrize("front", FRONTS),
    pytest.mark.parametrize("version", list(WIRES)),
]


async def test_tools_are_listed_on_every_page_and_called(front: str, version: str) -> None:
    with trio.fail_after(DEADLINE):
        async with connected(front, version) as client:
            assert client.protocol_version == version
            assert client.stateless is (version == "2026-07-28")
            assert client.server_info["name"] == "client-e2e"
            assert client.instructions == "Tests of the client."
            # Ten tools, two a page: five pages, every one followed.
            tools = await client.list_tools()
            assert [tool.name for tool in tools] == list(E2E_TOOLS)
            echo = tools[0]
            assert echo.description == "Echo the text back"
            assert echo.input_schema["properties"]["text"]["type"] == "string"

            assert text(await client.call_tool("echo", {"text": "hi"})) == "hi"
            added = await client.call_tool("add", {"a": 2, "b": 3})
            assert text(added) == '{"sum":5}'
            if version >= "2025-06-18":  # structured content is from 2025-06-18 on
                assert added.structured_content == {"sum": 5}
            refused = await client.call_tool("refuse")
            assert refused.is_error is True
            assert text(refused) == "not today"
            if version != "2026-07-28":  # the stateless wire has no ping
                await client.ping()


async def test_an_unknown_tool_is_an_error_that_carries_the_json_rpc_error(
    front: str, version: str
) -> None:
    with trio.fail_after(DEADLINE):
        async with connected(front, version) as client:
            with pytest.raises(ClientError) as raised:
                await client.call_tool("nowhere", {})
            # tools, Error Handling: "Unknown tools" are protocol errors (-32602).
            assert raised.value.code == -32602
            assert raised.value.message == "Unknown tool: nowhere"
            # The client goes on after an error.
            assert text(await client.call_tool("echo", {"text": "still"})) == "still"


async def test_progress_and_logs_reach_their_handlers(front: str, version: str) -> None:
    seen = Seen()
    with trio.fail_after(DEADLINE):
        async with connected(front, version, seen) as client:
            await client.set_logging_level("info")
            result = await client.call_tool(
                "steps", {"count": 3}, progress_handler=seen.on_progress
            )
            assert text(result) == "done"
    assert seen.progress == [
        (step, 3, progress_message(version, f"step {step}")) for step in (1, 2, 3)
    ]
    assert seen.logs == [("info", "step 1"), ("info", "step 2"), ("info", "step 3")]


async def test_sampling_and_elicitation_are_answered_by_the_handlers(
    front: str, version: str
) -> None:
    seen = Seen()
    with trio.fail_after(DEADLINE):
        async with connected(front, version, seen) as client:
            result = await client.call_tool("ask_model", {"prompt": "hi"})
            assert text(result) == "model said: hello"
            if version >= "2025-06-18":  # elicitation is from 2025-06-18 on
                assert text(await client.call_tool("ask_user")) == "accept: Ada"
    assert [params["messages"][0]["content"]["text"] for params in seen.sampled] == ["hi"]
    assert [params["message"] for params in seen.elicited] == (
        ["Name?"] if version >= "2025-06-18" else []
    )


async def test_resources_and_prompts(front: str, version: str) -> None:
    with trio.fail_after(DEADLINE):
        async with connected(front, version) as client:
            resources = await client.list_resources()
            assert [r.uri for r in resources] == ["test://static", "test://second", "test://third"]
            templates = await client.list_resource_templates()
            assert [t.uri_template for t in templates] == ["test://items/{id}"]
            read = await client.read_resource("test://items/7")
            assert read.contents == [
                TextResourceContents(uri="test://items/7", text="item 7", mime_type="text/plain")
            ]
            static = await client.read_resource("test://static")
            assert [c.text for c in static.contents if isinstance(c, TextResourceContents)] == [
                "static text"
            ]

            prompts = await client.list_prompts()
            assert [p.name for p in prompts] == ["greet", "plain"]
            assert [a.name for a in prompts[0].arguments or []] == ["name"]
            prompt = await client.get_prompt("greet", {"name": "Ada"})
            assert len(prompt.messages) == 1
            content = prompt.messages[0].content
            assert isinstance(content, TextContent) and content.text == "Hello, Ada!"


async def test_a_stream_closed_mid_call_is_resumed(front: str, version: str) -> None:
    """2025-11-25 lets a server close a POST's SSE stream mid-call: the client
    resumes it with ``Last-Event-ID`` and receives the rest (on the other wires the
    server keeps the stream open, and the call simply completes)."""
    seen, recorder = Seen(), Recorder()
    with trio.fail_after(DEADLINE):
        async with connected(front, version, seen, recorder) as client:
            result = await client.call_tool("reconnect", progress_handler=seen.on_progress)
            assert text(result) == "after the break"
            # The client goes on on the same session.
            assert text(await client.call_tool("echo", {"text": "next"})) == "next"
    assert seen.progress == [
        (1, 3, progress_message(version, "before the break")),
        (2, 3, progress_message(version, "after the break")),
    ]
    resumed = recorder.resumed_with()
    if version == "2025-11-25":
        assert len(resumed) == 1
        stream, _, seq = resumed[0].rpartition(":")
        assert stream and seq.isdigit()
    else:
        assert resumed == []


async def test_a_call_that_times_out_or_is_cancelled_stops_on_the_server(
    front: str, version: str
) -> None:
    """A call past its ``timeout`` raises ``REQUEST_TIMEOUT``; a call whose trio scope
    is cancelled returns at once. Either way the server stops the work: told with
    ``notifications/cancelled`` on a session, by the closed stream on the stateless
    wire (our server watches for that once the response streams: the tool reports
    progress first)."""
    seen = Seen()
    with trio.fail_after(DEADLINE):
        probe = Probe()
        async with connected(front, version, probe=probe) as client:
            with pytest.raises(ClientError) as raised:
                await client.call_tool("block", timeout=1, progress_handler=seen.on_progress)
            assert raised.value.code == ErrorCode.REQUEST_TIMEOUT
            await probe.cancelled.wait()

            probe.started, probe.cancelled = trio.Event(), trio.Event()
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:

                    async def cancel_once_started() -> None:
                        await probe.started.wait()
                        scope.cancel()

                    nursery.start_soon(cancel_once_started)
                    await client.call_tool("block", progress_handler=seen.on_progress)
            assert scope.cancelled_caught
            await probe.cancelled.wait()
            assert text(await client.call_tool("echo", {"text": "on"})) == "on"


async def test_list_changes_and_resource_updates_reach_their_handlers(
    front: str, version: str
) -> None:
    """On the GET stream of a session, the ``/sse`` stream of 2024-11-05, or a
    ``subscriptions/listen`` stream on the stateless wire. What a server raises
    before that stream is open may be lost: the tools raise it until it arrives."""
    seen = Seen()
    with trio.fail_after(DEADLINE):
        async with connected(front, version, seen) as client:
            await client.subscribe_resource("test://static")
            while not seen.updated:
                assert text(await client.call_tool("update", {"uri": "test://static"})) == (
                    "updated"
                )
                await trio.sleep(0.2)
            while not seen.changed:
                assert text(await client.call_tool("touch")) == "touched"
                await trio.sleep(0.2)
            # The list changed: the client lists it again.
            assert sorted(tool.name for tool in await client.list_tools()) == sorted(E2E_TOOLS)
            await client.unsubscribe_resource("test://static")
    assert set(seen.updated) == {"test://static"}
    assert set(seen.changed) == {"tools"}
