"""The runtime through both HTTP fronts, on real sockets: both eras, every stream kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
import pytest
import trio
import trio.testing

from scaled_mcp import MCPServer, Param
from scaled_mcp.runtime import Runtime, RuntimeConfig

from .helpers import (
    FRONTS,
    INITIALIZED,
    Probe,
    initialize_request,
    make_app,
    start_front,
    stateless_meta,
    text_of,
)
from .http_client import HttpClient, McpHttp, stateless_headers


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture(params=FRONTS)
async def node(
    probe: Probe, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[McpHttp, Runtime]]:
    runtime = Runtime(
        make_app(probe),
        config=RuntimeConfig(heartbeat_interval=0.2, ask_timeout=5, shutdown_grace=2),
    )
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        port = await start_front(request.param, runtime, stop, nursery)
        yield McpHttp(HttpClient("127.0.0.1", port)), runtime
        stop.set()


# -- the handshake era --------------------------------------------------------------


async def test_quick_calls_are_answered_in_json(node: tuple[McpHttp, Runtime]) -> None:
    mcp, _ = node
    result = await mcp.initialize()
    assert result["capabilities"]["tools"] == {"listChanged": True}
    reply = await mcp.call(1, "tools/call", {"name": "echo", "arguments": {"text": "hi"}})
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert text_of(reply.json()["result"]) == "hi"
    reply = await mcp.call(2, "tools/call", {"name": "blocking_sync", "arguments": {"text": "x"}})
    assert text_of(reply.json()["result"]) == "X"


async def test_a_handler_that_emits_turns_the_answer_into_a_stream(
    node: tuple[McpHttp, Runtime],
) -> None:
    mcp, _ = node
    await mcp.initialize()
    await mcp.call(1, "logging/setLevel", {"level": "debug"})
    request = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "steps", "arguments": {"count": 2}, "_meta": {"progressToken": "p"}},
    }
    async with mcp.post_stream(request) as events:
        assert events.headers["content-type"] == "text/event-stream"
        priming = await events.next_event()
        assert priming is not None and priming.data == "" and priming.id
        methods = []
        while (message := await events.next_message()) is not None:
            methods.append(message.get("method") or message["id"])
    assert methods == [
        "notifications/progress",
        "notifications/message",
        "notifications/progress",
        "notifications/message",
        7,
    ]


async def test_sampling_round_trip_on_a_session(node: tuple[McpHttp, Runtime]) -> None:
    mcp, _ = node
    await mcp.initialize(capabilities={"sampling": {}})
    request = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "ask_model", "arguments": {"prompt": "hello"}},
    }
    async with mcp.post_stream(request) as events:
        asked = await events.next_message()
        assert asked is not None and asked["method"] == "sampling/createMessage"
        assert asked["params"]["messages"][0]["content"]["text"] == "hello"
        answer = {
            "jsonrpc": "2.0",
            "id": asked["id"],
            "result": {
                "role": "assistant",
                "content": {"type": "text", "text": "hi"},
                "model": "m",
            },
        }
        assert (await mcp.post(answer)).status == 202
        final = await events.next_message()
    assert final is not None and text_of(final["result"]) == "model said: hi"


async def test_a_request_to_a_client_without_the_capability_is_an_error(
    node: tuple[McpHttp, Runtime],
) -> None:
    mcp, _ = node
    await mcp.initialize()
    reply = await mcp.call(1, "tools/call", {"name": "ask_user", "arguments": {}})
    assert reply.json()["error"]["code"] == -32603
    assert "elicitation" in reply.json()["error"]["message"]


async def test_cancellation_stops_the_handler_and_sends_no_response(
    node: tuple[McpHttp, Runtime], probe: Probe
) -> None:
    mcp, _ = node
    await mcp.initialize()
    request = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "block"}}
    async with trio.open_nursery() as nursery:
        replies: list[Any] = []

        async def call() -> None:
            replies.append(await mcp.post(request))

        nursery.start_soon(call)
        with trio.fail_after(5):
            await probe.started.wait()
        cancel = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": 9, "reason": "enough"},
        }
        assert (await mcp.post(cancel)).status == 202
        with trio.fail_after(5):
            await probe.cancelled.wait()
    # "Not send a response for the cancelled request": the POST ends with no body.
    assert replies[0].status == 202
    assert replies[0].body == b""


async def test_tool_errors_and_crashes_are_results_without_internals(
    node: tuple[McpHttp, Runtime],
) -> None:
    mcp, _ = node
    await mcp.initialize()
    refused = (await mcp.call(1, "tools/call", {"name": "refuse"})).json()["result"]
    assert refused == {"content": [{"type": "text", "text": "not today"}], "isError": True}
    crashed = (await mcp.call(2, "tools/call", {"name": "broken"})).json()["result"]
    assert crashed["isError"] is True
    assert "Traceback" not in text_of(crashed)
    resource = (await mcp.call(3, "resources/read", {"uri": "test://broken"})).json()
    assert resource["error"] == {"code": -32603, "message": "Internal error"}
    invalid = (await mcp.call(4, "tools/call", {"name": "echo", "arguments": {"text": 5}})).json()
    assert invalid["result"]["isError"] is True
    unknown = (await mcp.call(5, "tools/call", {"name": "nope"})).json()
    assert unknown["error"]["code"] == -32602
    missing = (await mcp.call(6, "resources/read", {"uri": "test://missing"})).json()
    assert missing["error"]["code"] == -32002


async def test_the_get_stream_carries_list_changes_and_subscribed_updates(
    node: tuple[McpHttp, Runtime],
) -> None:
    mcp, runtime = node
    await mcp.initialize()
    await mcp.call(1, "resources/subscribe", {"uri": "test://watched"})
    async with mcp.client.stream("GET", "/mcp", mcp.headers()) as events:
        assert events.status == 200
        priming = await events.next_event()
        assert priming is not None and priming.data == ""
        # One GET stream per session.
        second = await mcp.client.request("GET", "/mcp", mcp.headers())
        assert second.status == 409
        # The stream subscribes to broadcasts after its priming event: once every
        # task waits, it has.
        await trio.testing.wait_all_tasks_blocked()
        app = runtime.app
        assert isinstance(app, MCPServer)
        app.notify_resource_updated("test://other")  # not subscribed: not sent
        app.notify_resource_updated("test://watched")
        app.remove_tool("echo")
        first = await events.next_message()
        second_message = await events.next_message()
    assert first == {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": "test://watched"},
    }
    assert second_message == {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}


async def test_a_closed_stream_resumes_with_last_event_id(
    node: tuple[McpHttp, Runtime], probe: Probe
) -> None:
    mcp, _ = node
    await mcp.initialize()
    request = {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "reconnect"}}
    async with mcp.post_stream(request) as events:
        priming = await events.next_event()
        assert priming is not None and priming.retry is not None
        assert await events.next_event() is None  # the server closed the stream
    headers = mcp.headers(last_event_id=str(priming.id))
    async with mcp.client.stream("GET", "/mcp", headers) as resumed:
        assert resumed.status == 200
        probe.release.set()  # the result comes while the client listens again
        message = await resumed.next_message()
        assert message is not None and text_of(message["result"]) == "after the break"
        assert await resumed.next_event() is None  # the stream is complete
    bad = await mcp.client.request("GET", "/mcp", mcp.headers(last_event_id="garbage"))
    assert bad.status == 400


async def test_delete_ends_the_session(node: tuple[McpHttp, Runtime]) -> None:
    mcp, _ = node
    await mcp.initialize()
    assert (await mcp.client.request("DELETE", "/mcp", mcp.headers())).status == 200
    assert (await mcp.call(1, "ping")).status == 404
    mcp.session_id = "no-such-session"
    assert (await mcp.call(2, "ping")).status == 404
    mcp.session_id = None
    assert (await mcp.call(3, "ping")).status == 400


async def test_the_2024_11_05_http_sse_transport(node: tuple[McpHttp, Runtime]) -> None:
    mcp, _ = node
    async with mcp.client.stream("GET", "/sse", {"accept": "text/event-stream"}) as events:
        endpoint = await events.next_event()
        assert endpoint is not None and endpoint.event == "endpoint"
        url = endpoint.data
        assert url.startswith("/messages?sessionId=")
        initialize = initialize_request("2024-11-05")
        headers = {"content-type": "application/json"}
        posted = await mcp.client.request("POST", url, headers, orjson.dumps(initialize))
        assert posted.status == 202
        answer = await events.next_message()
        assert answer is not None and answer["result"]["protocolVersion"] == "2024-11-05"
        await mcp.client.request("POST", url, headers, orjson.dumps(INITIALIZED))
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "old times"}},
        }
        await mcp.client.request("POST", url, headers, orjson.dumps(call))
        answer = await events.next_message()
        assert answer is not None and text_of(answer["result"]) == "old times"
    unknown = await mcp.client.request(
        "POST", "/messages?sessionId=nope", headers, orjson.dumps(call)
    )
    assert unknown.status == 404


# -- the stateless era ----------------------------------------------------------------------


async def test_stateless_call_and_discover(node: tuple[McpHttp, Runtime]) -> None:
    mcp, _ = node
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "now"}, "_meta": stateless_meta()},
    }
    reply = await mcp.client.request(
        "POST", "/mcp", stateless_headers("tools/call", "echo"), orjson.dumps(call)
    )
    assert reply.status == 200 and "mcp-session-id" not in reply.headers
    result = reply.json()["result"]
    assert result["resultType"] == "complete" and text_of(result) == "now"
    discover = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "server/discover",
        "params": {"_meta": stateless_meta()},
    }
    found = await mcp.client.request(
        "POST", "/mcp", stateless_headers("server/discover"), orjson.dumps(discover)
    )
    assert "2026-07-28" in found.json()["result"]["supportedVersions"]


async def test_stateless_param_headers_are_checked_on_the_requests_that_carry_them(
    node: tuple[McpHttp, Runtime],
) -> None:
    mcp, runtime = node
    app = runtime.app
    assert isinstance(app, MCPServer)

    @app.tool()
    def routed(region: Annotated[str, Param(header="Region")]) -> str:
        return region

    def call(region: str) -> bytes:
        params = {"name": "routed", "arguments": {"region": region}, "_meta": stateless_meta()}
        return orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})

    headers = stateless_headers("tools/call", "routed")
    matching = await mcp.client.request(
        "POST", "/mcp", {**headers, "mcp-param-region": "eu"}, call("eu")
    )
    assert text_of(matching.json()["result"]) == "eu"
    # "Servers MUST reject requests with a 400 Bad Request HTTP status and
    # JSON-RPC error code -32020 (HeaderMismatch) if any validation fails".
    for extra in ({"mcp-param-region": "us"}, {}):
        refused = await mcp.client.request("POST", "/mcp", {**headers, **extra}, call("eu"))
        assert refused.status == 400
        assert refused.json()["error"]["code"] == -32020
    # Other requests do not carry them: such a header is no concern of theirs.
    listed = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/list",
        "params": {"_meta": stateless_meta()},
    }
    other = await mcp.client.request(
        "POST",
        "/mcp",
        {**stateless_headers("tools/list"), "mcp-param-region": "us"},
        orjson.dumps(listed),
    )
    assert other.status == 200 and "tools" in other.json()["result"]


async def test_stateless_elicitation_is_an_input_required_round_trip(
    node: tuple[McpHttp, Runtime],
) -> None:
    mcp, _ = node
    meta = stateless_meta({"elicitation": {"form": {}}})
    params: dict[str, Any] = {"name": "ask_user", "arguments": {}, "_meta": meta}
    headers = stateless_headers("tools/call", "ask_user")
    first = await mcp.client.request(
        "POST",
        "/mcp",
        headers,
        orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}),
    )
    result = first.json()["result"]
    assert result["resultType"] == "input_required"
    (key,) = result["inputRequests"]
    assert result["inputRequests"][key]["method"] == "elicitation/create"
    retry = {
        **params,
        "inputResponses": {key: {"action": "accept", "content": {"name": "Ada"}}},
        "requestState": result["requestState"],
    }
    second = await mcp.client.request(
        "POST",
        "/mcp",
        headers,
        orjson.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": retry}),
    )
    assert text_of(second.json()["result"]) == "accept: Ada"
    tampered = {**retry, "requestState": result["requestState"][:-4] + "AAAA"}
    third = await mcp.client.request(
        "POST",
        "/mcp",
        headers,
        orjson.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": tampered}),
    )
    assert third.status == 400 and third.json()["error"]["code"] == -32602


async def test_a_stateless_client_that_closes_the_stream_cancels_the_handler(
    node: tuple[McpHttp, Runtime], probe: Probe
) -> None:
    mcp, _ = node
    meta = stateless_meta(None, progressToken="p")
    request = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "stream_then_block", "arguments": {}, "_meta": meta},
    }
    headers = stateless_headers("tools/call", "stream_then_block")
    async with mcp.client.stream("POST", "/mcp", headers, orjson.dumps(request)) as events:
        progress = await events.next_message()
        assert progress is not None and progress["method"] == "notifications/progress"
    # The connection is closed: "the client cancels by closing the stream".
    with trio.fail_after(5):
        await probe.cancelled.wait()


async def test_a_stateless_client_that_closes_before_any_answer_cancels_the_handler(
    node: tuple[McpHttp, Runtime], probe: Probe
) -> None:
    # A call that sends nothing before its answer (answered in JSON) is watched for a
    # disconnect once it has run a moment: closing the connection still cancels it.
    mcp, _ = node
    request = {
        "jsonrpc": "2.0",
        "id": 10,
        "method": "tools/call",
        "params": {"name": "block", "arguments": {}, "_meta": stateless_meta()},
    }
    body = orjson.dumps(request)
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in {
            **stateless_headers("tools/call", "block"),
            "host": "127.0.0.1",
            "content-length": str(len(body)),
        }.items()
    )
    stream = await trio.open_tcp_stream("127.0.0.1", mcp.client.port)
    await stream.send_all(f"POST /mcp HTTP/1.1\r\n{head}\r\n".encode() + body)
    with trio.fail_after(5):
        await probe.started.wait()
    await stream.aclose()
    with trio.fail_after(5):
        await probe.cancelled.wait()


async def test_listen_streams_receive_list_changes(node: tuple[McpHttp, Runtime]) -> None:
    mcp, runtime = node
    listen = {
        "jsonrpc": "2.0",
        "id": 5,
        "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": True}, "_meta": stateless_meta()},
    }
    async with mcp.client.stream(
        "POST", "/mcp", stateless_headers("subscriptions/listen"), orjson.dumps(listen)
    ) as events:
        ack = await events.next_message()
        assert ack is not None and ack["method"] == "notifications/subscriptions/acknowledged"
        # The listen stream subscribes after its acknowledgement.
        await trio.testing.wait_all_tasks_blocked()
        app = runtime.app
        assert isinstance(app, MCPServer)
        app.remove_tool("held")
        changed = await events.next_message()
    assert changed is not None and changed["method"] == "notifications/tools/list_changed"


# -- the front ------------------------------------------------------------------------------


async def test_garbage_and_oversized_requests_get_errors_and_the_node_lives_on(
    node: tuple[McpHttp, Runtime],
) -> None:
    mcp, _ = node
    stream = await trio.open_tcp_stream(mcp.client.host, mcp.client.port)
    async with stream:
        await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
        data = await stream.receive_some(4096)
    assert data.startswith(b"HTTP/1.1 400")
    # A body announced larger than the limit is refused before it is read.
    stream = await trio.open_tcp_stream(mcp.client.host, mcp.client.port)
    async with stream:
        head = (
            b"POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
            b"accept: application/json, text/event-stream\r\ncontent-length: 5242880\r\n\r\n"
        )
        await stream.send_all(head)
        data = await stream.receive_some(4096)
    assert data.startswith(b"HTTP/1.1 413")
    result = await mcp.initialize()
    assert result["serverInfo"]["name"] == "runtime-tests"


@pytest.mark.parametrize("front", FRONTS)
async def test_shutdown_lets_running_calls_finish(probe: Probe, front: str) -> None:
    runtime = Runtime(make_app(probe), config=RuntimeConfig(shutdown_grace=5))
    stop = trio.Event()
    replies: list[Any] = []
    async with runtime.run(), trio.open_nursery() as nursery:
        mcp = McpHttp(HttpClient("127.0.0.1", await start_front(front, runtime, stop, nursery)))
        await mcp.initialize()

        async def call() -> None:
            replies.append(await mcp.call(1, "tools/call", {"name": "held"}))

        nursery.start_soon(call)
        with trio.fail_after(5):
            await probe.started.wait()
        stop.set()
        # The front stops accepting and the node drains; the call is still running.
        await trio.testing.wait_all_tasks_blocked()
        assert runtime.closing
        assert probe.finished == 0
        probe.release.set()
    assert probe.finished == 1
    assert text_of(replies[0].json()["result"]) == "released"


# -- the session cap ----------------------------------------------------------------


async def test_sessions_opened_and_abandoned_do_not_keep_new_clients_out() -> None:
    """At ``max_sessions`` a new ``initialize`` ends the session unused longest
    (past ``evict_idle_after``, nothing running or open): abandoned sessions make
    room, the node keeps at most ``max_sessions``, and a session in use or
    listening on a GET stream is kept; with none to end, 503."""
    # The idle window is wide enough for 20 handshakes on a loaded machine.
    config = RuntimeConfig(max_sessions=20, evict_idle_after=4.0, shutdown_grace=1)
    runtime = Runtime(make_app(Probe()), config=config)
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        port = await start_front("h11", runtime, stop, nursery)

        def client() -> McpHttp:
            return McpHttp(HttpClient("127.0.0.1", port))

        listening = client()
        await listening.initialize()
        async with listening.client.stream("GET", "/mcp", listening.headers()) as events:
            assert events.status == 200
            abandoned = [client() for _ in range(19)]
            for mcp in abandoned:
                await mcp.initialize()
            full = await client().post(initialize_request(request_id=1))
            assert full.status == 503  # every session was used less than 4 s ago
            assert full.json()["id"] == 1
            await trio.sleep(4.1)
            newcomers = [client() for _ in range(19)]
            for mcp in newcomers:
                await mcp.initialize()  # each ends one abandoned session
            assert len(runtime._sessions) == 20
            assert (await client().post(initialize_request())).status == 503  # all in use
            ping = {"jsonrpc": "2.0", "id": 9, "method": "ping"}
            assert (await listening.post(ping)).status == 200  # kept: it listens
            assert (await newcomers[-1].post(ping)).status == 200
            assert (await abandoned[0].post(ping)).status == 404  # ended: start anew
        stop.set()
