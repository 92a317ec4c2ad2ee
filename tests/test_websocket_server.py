"""MCP over WebSocket on both fronts, with a plain wsproto client on real sockets:
the upgrade and its refusals, both eras, requests to the client, the close codes,
pings, backpressure and a session continued on a new connection."""

from __future__ import annotations

import time
from typing import Any

import attrs
import pytest
import trio

from scaled_mcp import MCPServer
from scaled_mcp._cli_options import parser, with_environment
from scaled_mcp.protocol.http import HttpConfig
from scaled_mcp.protocol.oauth import Principal, ResourceServerConfig
from scaled_mcp.runtime import Authorization, RateLimit, RuntimeConfig, WebSocketConfig

from .helpers import FRONTS, Probe, make_app, serving, stateless_meta
from .spec import validate
from .websocket_client import Closed, Refused, connect, initialize


def _config(**websocket: Any) -> RuntimeConfig:
    return RuntimeConfig(shutdown_grace=1, websocket=WebSocketConfig(**websocket))


def _call(request_id: Any, name: str, **arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


@pytest.fixture(params=FRONTS)
def front(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app() -> MCPServer:
    return make_app(Probe())


async def test_handshake_tools_call_and_the_session_name(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        client = await connect(port)
        assert client.subprotocol == "mcp"
        answer = await initialize(client)
        validate("2025-11-25", "InitializeResult", answer["result"])
        session_id = answer["mcpSessionId"]
        assert isinstance(session_id, str) and session_id
        await client.send(_call(2, "echo", text="hello"))
        reply = await client.answer_to(2)
        assert reply["result"]["content"][0]["text"] == "hello"
        assert "mcpSessionId" not in reply
        await client.close()
        assert (await client.closed()).code == 1000


async def test_a_2026_07_28_request_and_the_server_discover(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        client = await connect(port)
        call = _call("s1", "echo", text="stateless")
        call["params"]["_meta"] = stateless_meta()
        await client.send(call)
        reply = await client.answer_to("s1")
        assert reply["result"]["content"][0]["text"] == "stateless"
        await client.send(
            {
                "jsonrpc": "2.0",
                "id": "d",
                "method": "server/discover",
                "params": {"_meta": stateless_meta()},
            }
        )
        discovered = await client.answer_to("d")
        assert "2026-07-28" in discovered["result"]["supportedVersions"]


async def test_sampling_round_trip_and_notifications(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        client = await connect(port)
        await initialize(client, sampling={})
        await client.send(_call(3, "ask_model", prompt="2+2?"))
        request = await client.message()
        assert request["method"] == "sampling/createMessage"
        await client.send(
            {
                "jsonrpc": "2.0",
                "id": request["id"],
                "result": {
                    "role": "assistant",
                    "content": {"type": "text", "text": "4"},
                    "model": "m",
                },
            }
        )
        reply = await client.answer_to(3)
        assert reply["result"]["content"][0]["text"] == "model said: 4"
        progress = _call(4, "steps", count=2)
        progress["params"]["_meta"] = {"progressToken": "p"}
        await client.send(progress)
        seen = []
        while True:
            message = await client.message()
            if message.get("id") == 4:
                break
            seen.append(message["method"])
        assert seen.count("notifications/progress") == 2


async def test_a_binary_frame_closes_with_1003(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        client = await connect(port)
        await client.send_bytes(b"\x00\x01")
        assert (await client.closed()).code == 1003


async def test_invalid_utf8_closes_with_1007(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        client = await connect(port)
        # A final text frame, masked with a zero key, whose payload is not UTF-8.
        await client.stream.send_all(bytes([0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28]))
        # hypercorn validates the frames itself and drops such a connection without
        # a close frame (1006 to the client); the h11 front sends 1007.
        assert (await client.closed()).code == (1007 if front == "h11" else 1006)


async def test_a_message_too_big_closes_with_1009(front: str, app: MCPServer) -> None:
    async with serving(app, front, _config(max_message_size=1000)) as port:
        client = await connect(port)
        await client.send(_call(1, "echo", text="x" * 2000))
        assert (await client.closed()).code == 1009


async def test_not_json_rpc_is_answered_and_the_connection_stays(
    front: str, app: MCPServer
) -> None:
    async with serving(app, front) as port:
        client = await connect(port)
        await client.send_text("{not json")
        error = await client.message()
        assert error["error"]["code"] == -32700
        await initialize(client)
        await client.send(_call(2, "echo", text="still here"))
        assert (await client.answer_to(2))["result"]["content"][0]["text"] == "still here"


async def test_the_upgrade_is_checked_before_upgrading(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        with pytest.raises(Refused) as caught:
            await connect(port, headers=[(b"origin", b"http://evil.example")])
        assert caught.value.status == 403
        with pytest.raises(Refused) as caught:
            await connect(port, subprotocols=("graphql-ws",))
        assert caught.value.status == 400


async def test_a_token_is_required_before_upgrading(front: str, app: MCPServer) -> None:
    async def verify(token: str) -> Principal | None:
        return Principal(subject="svc", scopes=frozenset({"read"})) if token == "good" else None

    @app.tool(scopes=["write"])
    async def write(text: str) -> str:
        return text

    resource = ResourceServerConfig(
        resource="http://127.0.0.1/mcp", authorization_servers=("http://127.0.0.1:9",)
    )
    config = RuntimeConfig(shutdown_grace=1, auth=Authorization(resource, verify))
    async with serving(app, front, config) as port:
        with pytest.raises(Refused) as caught:
            await connect(port)
        assert caught.value.status == 401
        with pytest.raises(Refused) as caught:
            await connect(port, headers=[(b"authorization", b"Bearer bad")])
        assert caught.value.status == 401
        by_header = await connect(port, headers=[(b"authorization", b"Bearer good")])
        await initialize(by_header)
        # A scope the token lacks: the request is refused as its POST would be (403).
        await by_header.send(_call(2, "write", text="no"))
        refused = await by_header.answer_to(2)
        assert "insufficient" in refused["error"]["message"].lower()
        await by_header.send(_call(3, "echo", text="yes"))
        assert (await by_header.answer_to(3))["result"]["content"][0]["text"] == "yes"
        # Browsers cannot set headers: the token rides in the subprotocol list.
        by_subprotocol = await connect(port, subprotocols=("mcp", "mcp.auth.good"))
        assert by_subprotocol.subprotocol == "mcp"
        await initialize(by_subprotocol)


async def test_a_connection_ends_when_its_token_expires(front: str, app: MCPServer) -> None:
    expires_at = time.time() + 1.0

    async def verify(token: str) -> Principal | None:
        return Principal(subject="svc", expires_at=expires_at) if token == "brief" else None

    resource = ResourceServerConfig(
        resource="http://127.0.0.1/mcp", authorization_servers=("http://127.0.0.1:9",)
    )
    config = RuntimeConfig(shutdown_grace=1, auth=Authorization(resource, verify))
    async with serving(app, front, config) as port:
        client = await connect(port, headers=[(b"authorization", b"Bearer brief")])
        await initialize(client)
        with trio.fail_after(10):
            closed = await client.closed()
        assert closed.code == 1008
        assert time.time() >= expires_at


async def test_pings_are_answered(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        client = await connect(port)
        await client.ping(b"x")
        got = await client.receive()
        assert type(got).__name__ == "Pong"


async def test_a_client_that_does_not_answer_pings_is_closed() -> None:
    # The h11 front pings (ASGI cannot: on hypercorn the server sends no ping).
    config = _config(ping_interval=0.3, pong_timeout=0.3)
    async with serving(make_app(Probe()), "h11", config) as port:
        client = await connect(port)
        client.answer_pings = False
        with trio.fail_after(5):
            closed = await client.closed()
        assert closed.code == 1001


async def test_a_slow_reader_is_closed_and_memory_stays_bounded() -> None:
    """The queue holds ``send_queue`` messages; a client that reads nothing while
    its answers pile up is closed once a handler waits ``send_timeout`` for room."""
    config = _config(send_queue=2, send_timeout=0.5)
    async with serving(make_app(Probe()), "h11", config) as port:
        client = await connect(port)
        await initialize(client)
        big = "x" * 500_000
        sent = 0
        with trio.move_on_after(5):
            try:
                for index in range(40):
                    await client.send(_call(index, "echo", text=big))
                    sent += 1
            except trio.BrokenResourceError:
                pass  # closed (then reset) while the client was still sending
        await trio.sleep(2)
        # Reading now: what was written, then the end (a close the writer could
        # still send, else the connection cut while a frame was half written).
        answers = 0
        end: int | None = None
        with trio.fail_after(10):
            while end is None:
                try:
                    got = await client.receive()
                except trio.BrokenResourceError:
                    end = 1006
                    break
                if isinstance(got, Closed):
                    end = got.code
                elif isinstance(got, dict):
                    answers += 1
        assert end in {1008, 1006}
        assert answers < sent
        # The node goes on serving others.
        other = await connect(port)
        await initialize(other)


async def test_a_session_continues_on_a_new_connection(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        first = await connect(port)
        session_id = (await initialize(first))["mcpSessionId"]
        second = await connect(port)
        ping = {"jsonrpc": "2.0", "id": "p", "method": "ping", "mcpSessionId": session_id}
        await second.send(ping)
        assert (await second.answer_to("p"))["result"] == {}
        # No initialize on the new connection: the session is the first one's.
        await second.send(_call(5, "echo", text="same session"))
        assert (await second.answer_to(5))["result"]["content"][0]["text"] == "same session"
        closed = await first.closed()
        assert (closed.code, closed.reason) == (
            1000,
            "MCP session reconnected on another connection",
        )
        unknown = await connect(port)
        await unknown.send({**ping, "mcpSessionId": "nope"})
        assert (await unknown.answer_to("p"))["error"]["code"] == -32600


async def test_the_server_closes_with_1001_when_it_shuts_down(front: str, app: MCPServer) -> None:
    async with serving(app, front) as port:
        client = await connect(port)
        await initialize(client)
    with trio.fail_after(5):
        closed = await client.closed()
    assert closed.code in {1001, 1006}


async def test_a_node_full_of_sessions_closes_with_1013(front: str, app: MCPServer) -> None:
    config = RuntimeConfig(shutdown_grace=1, max_sessions=1, evict_idle_after=3600)
    async with serving(app, front, config) as port:
        first = await connect(port)
        await initialize(first)
        second = await connect(port)
        await second.send({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert (await second.closed()).code == 1013


async def test_the_rate_limit_counts_each_message_with_requests(front: str, app: MCPServer) -> None:
    """Past the node's rate limit a message's requests get the error a POST of them
    gets with its 429, the wait in ``data.retryAfter``; notifications still pass
    and the connection stays open."""
    config = RuntimeConfig(shutdown_grace=1, rate_limit=RateLimit(rate=0.1, burst=2))
    async with serving(app, front, config) as port:
        client = await connect(port)
        await initialize(client)  # the first token
        await client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        await client.send(_call(2, "echo", text="second"))
        assert (await client.answer_to(2))["result"]["content"][0]["text"] == "second"
        await client.send(_call(3, "echo", text="third"))
        refused = await client.answer_to(3)
        assert refused["error"]["message"].startswith("Too many requests: retry after")
        assert refused["error"]["data"]["retryAfter"] >= 1
        await client.send({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"})
        await client.send({"jsonrpc": "2.0", "id": 4, "method": "ping"})
        assert "error" in await client.answer_to(4)  # still limited, still connected


async def test_websocket_can_be_turned_off(front: str, app: MCPServer) -> None:
    async with serving(app, front, _config(enabled=False)) as port:
        with pytest.raises(Refused):
            await connect(port)


def test_the_settings_have_defaults() -> None:
    settings = WebSocketConfig()
    assert settings.enabled and settings.max_message_size == 4 * 1024 * 1024
    assert attrs.evolve(settings, send_queue=1).send_queue == 1
    assert RuntimeConfig().websocket == settings
    assert HttpConfig().endpoint_path == "/mcp"


def test_the_command_line_turns_it_off() -> None:
    command_line, serve = parser()

    def no_websocket(argv: list[str], environ: dict[str, str]) -> object:
        return vars(command_line.parse_args(with_environment(serve, argv, environ)))["no_websocket"]

    assert no_websocket(["serve", "app.py"], {}) is False
    assert no_websocket(["serve", "app.py", "--no-websocket"], {}) is True
    assert no_websocket(["serve", "app.py"], {"SCALED_MCP_NO_WEBSOCKET": "1"}) is True
