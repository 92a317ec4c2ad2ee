"""The client over real sockets: our node on the h11 front (streamable HTTP in
both eras, and the 2024-11-05 HTTP+SSE transport), and a scripted HTTP server
where a test needs to see the client's requests or to drop an answer.

A stream that drops mid-call is resumed with ``Last-Event-ID``; an answer
lost with its node ends the call with :class:`ConnectionLost`, never a hang.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx2
import orjson
import pytest
import trio

from scaled_mcp import Context, MCPServer
from scaled_mcp.client import Client, ClientError, ConnectionLost, SessionExpired
from scaled_mcp.protocol.http import HttpConfig, ResponseMode
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import TextContent
from scaled_mcp.runtime import Runtime, RuntimeConfig

from .helpers import Probe, make_app, serving, start_front

#: Real sockets: how long any test may take before it counts as a hang.
HANG: float = 20.0


def sample(params: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": {"type": "text", "text": "yes"}, "model": "m"}


@pytest.mark.parametrize("mode", ["handshake", "stateless", "auto"])
@pytest.mark.parametrize("response", [ResponseMode.JSON, ResponseMode.SSE])
async def test_streamable_http_in_each_era(mode: str, response: ResponseMode) -> None:
    config = RuntimeConfig(shutdown_grace=1, http=HttpConfig(response_mode=response))
    progress: list[float] = []
    with trio.fail_after(HANG):
        async with (
            serving(make_app(Probe()), "h11", config) as port,
            Client(
                f"http://127.0.0.1:{port}/mcp",
                mode=mode,  # type: ignore[arg-type]
                sampling_handler=sample,
                elicitation_handler=lambda p: {"action": "accept", "content": {"name": "Ada"}},
            ) as client,
        ):
            assert client.stateless is (mode != "handshake")
            assert "echo" in [tool.name for tool in await client.list_tools()]
            echo = await client.call_tool("echo", {"text": "über"})
            assert echo.content == [TextContent(text="über")]
            model = await client.call_tool("ask_model", {"prompt": "?"})
            assert model.content == [TextContent(text="model said: yes")]
            user = await client.call_tool("ask_user")
            assert user.content == [TextContent(text="accept: Ada")]
            steps = await client.call_tool(
                "steps", {"count": 2}, progress_handler=lambda p, t, m: progress.append(p)
            )
            assert steps.content == [TextContent(text="done")]
            assert progress == [1, 2]
            await client.ping()


async def test_the_2024_11_05_http_sse_transport() -> None:
    with trio.fail_after(HANG):
        async with (
            serving(make_app(Probe()), "h11") as port,
            Client(f"http://127.0.0.1:{port}/sse", sampling_handler=sample) as client,
        ):
            assert not client.stateless
            assert (await client.call_tool("echo", {"text": "old"})).content == [
                TextContent(text="old")
            ]
            model = await client.call_tool("ask_model", {"prompt": "?"})
            assert model.content == [TextContent(text="model said: yes")]


def notifying_app() -> MCPServer:
    app = MCPServer("notifying")

    @app.tool()
    async def touch(ctx: Context, uri: str) -> str:
        await ctx.notify_resource_updated(uri)
        return "touched"

    @app.tool()
    async def grow() -> str:
        app.add_tool(lambda: "new", name="extra")
        return "grown"

    @app.resource("test://watched", mime_type="text/plain")
    async def watched() -> str:
        return "now"

    return app


@pytest.mark.parametrize("mode", ["handshake", "stateless"])
async def test_subscriptions_and_list_changes_arrive(mode: str) -> None:
    """Handshake era: on the GET stream; 2026-07-28: on a ``subscriptions/listen`` stream."""
    updated: list[str] = []
    changed: list[str] = []
    with trio.fail_after(HANG):
        async with (
            serving(notifying_app(), "h11") as port,
            Client(
                f"http://127.0.0.1:{port}/mcp",
                mode=mode,  # type: ignore[arg-type]
                resource_updated_handler=updated.append,
                list_changed_handler=changed.append,
            ) as client,
        ):
            await client.subscribe_resource("test://watched")
            await client.call_tool("touch", {"uri": "test://watched"})
            await client.call_tool("grow")
            while not (updated and changed):  # noqa: ASYNC110 (the handlers are plain lists)
                await trio.sleep(0.01)
            assert updated == ["test://watched"]
            assert changed == ["tools"]
            assert "extra" in [tool.name for tool in await client.list_tools()]


async def test_a_dropped_stream_is_resumed_with_last_event_id() -> None:
    probe = Probe()
    config = RuntimeConfig(
        shutdown_grace=1, sse_retry_ms=50, http=HttpConfig(response_mode=ResponseMode.SSE)
    )
    with trio.fail_after(HANG):
        async with (
            serving(make_app(probe), "h11", config) as port,
            Client(f"http://127.0.0.1:{port}/mcp", mode="handshake") as client,
        ):

            async def release_later() -> None:
                await trio.sleep(0.3)
                probe.release.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(release_later)
                result = await client.call_tool("reconnect")
            assert result.content == [TextContent(text="after the break")]


async def test_a_call_whose_node_dies_ends_with_an_error() -> None:
    probe = Probe()
    config = RuntimeConfig(
        shutdown_grace=0.1, sse_retry_ms=50, http=HttpConfig(response_mode=ResponseMode.SSE)
    )
    runtime = Runtime(make_app(probe), config=config)
    node = trio.CancelScope()

    async def serve(*, task_status: trio.TaskStatus[int]) -> None:
        with node:
            async with runtime.run(), trio.open_nursery() as nursery:
                task_status.started(await start_front("h11", runtime, trio.Event(), nursery))
                await trio.sleep_forever()

    with trio.fail_after(HANG):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(serve)
            async with Client(f"http://127.0.0.1:{port}/mcp", mode="handshake") as client:

                async def kill_when_started() -> None:
                    await probe.started.wait()
                    node.cancel()

                nursery.start_soon(kill_when_started)
                with pytest.raises(ConnectionLost):
                    await client.call_tool("held")


# -- a scripted server ------------------------------------------------------------------


@attrs.define
class Seen:
    """One request the scripted server read."""

    method: str
    headers: dict[str, str]
    body: Any


Script = Callable[[Seen, trio.SocketStream], Awaitable[None]]


async def _read_request(stream: trio.SocketStream) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += await stream.receive_some(65536)
    return Seen(lines[0].split(" ")[0], headers, orjson.loads(body) if body else None)


async def respond(
    stream: trio.SocketStream,
    status: int,
    body: bytes = b"",
    content_type: str = "application/json",
    extra: tuple[tuple[str, str], ...] = (),
) -> None:
    head = [f"HTTP/1.1 {status} X", f"content-type: {content_type}", "connection: close"]
    head += [f"{name}: {value}" for name, value in extra]
    if content_type != "text/event-stream":
        head.append(f"content-length: {len(body)}")
    await stream.send_all(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def result_of(seen: Seen, result: dict[str, Any]) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": seen.body["id"], "result": result})


DISCOVERED = {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}}


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[tuple[str, list[Seen]]]:
    """An HTTP server answering each request (one per connection) with ``script``."""
    seen: list[Seen] = []

    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            request = await _read_request(stream)
            if request is not None:
                seen.append(request)
                await script(request, stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, handle, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        yield f"http://127.0.0.1:{port}/mcp", seen
        nursery.cancel_scope.cancel()


async def stateless_script(request: Seen, stream: trio.SocketStream) -> None:
    if request.body["method"] == "server/discover":
        await respond(stream, 200, result_of(request, DISCOVERED))
    else:
        # An SSE answer that ends with no event: nothing to resume from.
        await respond(stream, 200, b": nothing\n\n", "text/event-stream")


async def test_a_stream_that_ends_without_its_answer_fails_the_call() -> None:
    with trio.fail_after(HANG):
        async with scripted(stateless_script) as (url, _), Client(url, mode="stateless") as client:
            with pytest.raises(ConnectionLost):
                await client.call_tool("anything")
            with pytest.raises(ConnectionLost):
                await client.list_tools()


class Stamp(httpx2.Auth):
    """An auth flow that stamps every request."""

    def auth_flow(self, request: httpx2.Request) -> Any:
        request.headers["x-stamp"] = "stamped"
        yield request


async def test_static_headers_bearer_and_auth_reach_the_server() -> None:
    with trio.fail_after(HANG):
        async with (
            scripted(stateless_script) as (url, seen),
            Client(url, mode="stateless", headers={"X-Team": "blue"}, bearer="t0k", auth=Stamp()),
        ):
            pass
    headers = seen[0].headers
    assert headers["authorization"] == "Bearer t0k"
    assert headers["x-team"] == "blue"
    assert headers["x-stamp"] == "stamped"
    assert headers["mcp-protocol-version"] == "2026-07-28"
    assert headers["mcp-method"] == "server/discover"
    assert (
        seen[0].body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    )


def handshake_script() -> Script:
    """A handshake-era server: sessions ``s-1``, ``s-2`` …; no GET stream (405);
    ``tools/call`` finds its session gone."""
    sessions = iter(range(1, 100))

    async def script(request: Seen, stream: trio.SocketStream) -> None:
        if request.method == "GET":
            await respond(stream, 405)
        elif request.method == "DELETE":
            await respond(stream, 200)
        elif request.body.get("method") == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "scripted", "version": "1"},
            }
            session = ("mcp-session-id", f"s-{next(sessions)}")
            await respond(stream, 200, result_of(request, result), extra=(session,))
        elif "id" not in request.body:
            await respond(stream, 202)
        elif request.body["method"] == "tools/list":
            await respond(stream, 200, result_of(request, {"tools": []}))
        else:
            await respond(stream, 404)  # the session is gone

    return script


async def test_the_session_id_is_sent_and_a_404_starts_a_new_session() -> None:
    with trio.fail_after(HANG):
        async with (
            scripted(handshake_script()) as (url, seen),
            Client(url, mode="handshake") as client,
        ):
            assert client.server_info == {"name": "scripted", "version": "1"}
            assert await client.list_tools() == []
            with pytest.raises(SessionExpired) as raised:
                await client.call_tool("gone")
            assert raised.value.data == {"status": 404}
            assert await client.list_tools() == []  # on a new session
    sent = [(s.method, (s.body or {}).get("method"), s.headers.get("mcp-session-id")) for s in seen]
    # Each session's GET stream was offered none (405), at a moment of its own.
    assert sent.count(("GET", None, "s-1")) == sent.count(("GET", None, "s-2")) == 1
    assert [item for item in sent if item[0] != "GET"] == [
        ("POST", "initialize", None),
        ("POST", "notifications/initialized", "s-1"),
        ("POST", "tools/list", "s-1"),
        ("POST", "tools/call", "s-1"),
        ("POST", "initialize", None),
        ("POST", "notifications/initialized", "s-2"),
        ("POST", "tools/list", "s-2"),
        ("DELETE", None, "s-2"),
    ]
    for request in seen[1:]:
        if request.method == "POST" and request.body["method"] != "initialize":
            assert request.headers["mcp-protocol-version"] == "2025-11-25"


async def test_an_error_status_without_json_rpc_is_a_client_error() -> None:
    async def refuse(request: Seen, stream: trio.SocketStream) -> None:
        await respond(stream, 500, b"oops", "text/plain")

    with trio.fail_after(HANG):
        async with scripted(refuse) as (url, _):
            with pytest.raises(ClientError) as raised:
                async with Client(url, mode="stateless"):
                    pass
    assert raised.value.code == ErrorCode.INTERNAL_ERROR
    assert raised.value.data["status"] == 500


async def test_an_unreachable_server_fails_fast() -> None:
    with trio.fail_after(HANG), pytest.raises(ClientError):
        async with Client("http://127.0.0.1:9/mcp", mode="stateless", timeout=5):
            pass


async def test_auto_mode_falls_back_to_initialize() -> None:
    with trio.fail_after(HANG):
        async with scripted(handshake_script()) as (url, seen), Client(url) as client:
            assert not client.stateless
            assert client.protocol_version == "2025-11-25"
    assert seen[0].body["method"] == "server/discover"
    assert seen[1].body["method"] == "initialize"


@pytest.mark.parametrize("mode", ["handshake", "stateless"])
async def test_a_call_that_times_out_is_cancelled_on_the_server(mode: str) -> None:
    probe = Probe()
    config = RuntimeConfig(shutdown_grace=1, http=HttpConfig(response_mode=ResponseMode.SSE))
    with trio.fail_after(HANG):
        async with (
            serving(make_app(probe), "h11", config) as port,
            Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client,  # type: ignore[arg-type]
        ):
            with pytest.raises(ClientError) as raised:
                await client.call_tool(
                    "stream_then_block", timeout=0.5, progress_handler=lambda *a: None
                )
            assert raised.value.code == ErrorCode.REQUEST_TIMEOUT
            # handshake: notifications/cancelled; 2026-07-28: the stream is closed
            # (the server watches a stream once it has started).
            await probe.cancelled.wait()
            assert (await client.call_tool("echo", {"text": "on"})).content == [
                TextContent(text="on")
            ]


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
async def test_an_sse_answer_cut_anywhere_is_read_whole(chunk: int) -> None:
    async def script(request: Seen, stream: trio.SocketStream) -> None:
        if request.body["method"] == "server/discover":
            await respond(stream, 200, result_of(request, DISCOVERED))
            return
        progress = {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {
                "progressToken": request.body["params"]["_meta"]["progressToken"],
                "progress": 1,
                "total": 2,
                "message": "héllo\nwörld",
            },
        }
        answer = result_of(request, {"content": [{"type": "text", "text": "ünïcode"}]})
        body = (
            b"id: s:1\r\nretry: 10\r\ndata:\r\n\r\n"
            + b": a comment\n"
            + b"event: message\ndata: "
            + orjson.dumps(progress)
            + b"\n\n"
            + b"id: s:2\ndata: "
            + answer
            + b"\r\n\r\n"
        )
        await respond(stream, 200, b"", "text/event-stream")
        for start in range(0, len(body), chunk):
            await stream.send_all(body[start : start + chunk])

    progress: list[tuple[float, float | None, str | None]] = []
    with trio.fail_after(HANG):
        async with scripted(script) as (url, _), Client(url, mode="stateless") as client:
            result = await client.call_tool("x", progress_handler=lambda *a: progress.append(a))
    assert result.content == [TextContent(text="ünïcode")]
    assert progress == [(1, 2, "héllo\nwörld")]


async def test_a_json_answer_to_another_request_fails_the_call() -> None:
    async def script(request: Seen, stream: trio.SocketStream) -> None:
        if request.body["method"] == "server/discover":
            await respond(stream, 200, result_of(request, DISCOVERED))
        else:
            other = {"jsonrpc": "2.0", "id": "not-yours", "result": {}}
            await respond(stream, 200, orjson.dumps(other))

    with trio.fail_after(HANG):
        async with scripted(script) as (url, _), Client(url, mode="stateless") as client:
            with pytest.raises(ConnectionLost):
                await client.call_tool("x")
