"""``ctx.session_state`` in the cluster with real parts: redis-server, three nodes started
with the CLI, nginx round-robin in front with no stickiness."""

from __future__ import annotations

from typing import Any

import orjson
import trio

from scaled_mcp.protocol.jsonrpc import ErrorCode

from .cluster import Node, Redis
from .helpers import stateless_meta, text_of
from .http_client import HttpClient, McpHttp, stateless_headers

APP = "tests/session_state_app.py"


def client(port: int) -> McpHttp:
    return McpHttp(HttpClient("127.0.0.1", port))


def on(node_or_port: Node | int, template: McpHttp) -> McpHttp:
    """The same session as ``template``, talking to one node (or the proxy) directly."""
    port = node_or_port if isinstance(node_or_port, int) else node_or_port.port
    other = client(port)
    other.session_id = template.session_id
    other.protocol_version = template.protocol_version
    return other


async def tool(
    mcp: McpHttp, name: str, arguments: dict[str, Any] | None = None, request_id: int = 1
) -> str:
    reply = await mcp.call(request_id, "tools/call", {"name": name, "arguments": arguments or {}})
    assert reply.status == 200, reply
    body = reply.json()
    assert "result" in body, body
    result = body["result"]
    assert not result.get("isError"), result
    return text_of(result)


async def test_state_written_through_one_node_is_read_through_the_others(
    cluster: tuple[list[Node], int], redis: Redis
) -> None:
    (a, b, c), proxy = cluster
    first = client(proxy)
    await first.initialize()
    session_key = f"mcp:s:{{{first.session_id}}}"
    document_key = f"mcp:a:{{{first.session_id}}}"
    # A session that keeps no state costs what it did.
    assert redis.cli("EXISTS", document_key).strip() == "0"
    assert int(redis.cli("MEMORY", "USAGE", session_key).strip()) <= 1024
    assert await tool(on(a, first), "remember", {"key": "cart", "value": ["tea"]}) == (
        '{"cart":["tea"]}'
    )
    assert await tool(on(b, first), "recall") == '{"cart":["tea"]}'
    assert await tool(on(c, first), "remember", {"key": "user", "value": "ada"}) == (
        '{"cart":["tea"],"user":"ada"}'
    )
    for _ in range(3):  # round-robin: every node in turn
        assert await tool(on(proxy, first), "recall") == '{"cart":["tea"],"user":"ada"}'
    assert redis.cli("EXISTS", document_key).strip() == "1"
    deleted = await first.client.request("DELETE", "/mcp", first.headers())
    assert deleted.status == 200
    assert redis.cli("EXISTS", session_key, document_key).strip() == "0"


async def test_counting_on_every_node_at_once_loses_no_update(
    cluster: tuple[list[Node], int],
) -> None:
    nodes_, proxy = cluster
    first = client(proxy)
    await first.initialize()

    async def count(target: Node | int, request_id: int) -> None:
        assert int(await tool(on(target, first), "count", {"times": 10}, request_id)) >= 10

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            targets: list[Node | int] = [*nodes_, proxy, proxy]
            for request_id, target in enumerate(targets, start=10):
                nursery.start_soon(count, target, request_id)
    assert await tool(on(nodes_[1], first), "recall") == '{"n":50}'


async def test_the_stateless_wire_through_the_proxy_has_no_session_state(
    cluster: tuple[list[Node], int],
) -> None:
    _, proxy = cluster
    mcp = client(proxy)
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "recall", "arguments": {}, "_meta": stateless_meta()},
    }
    reply = await mcp.client.request(
        "POST", "/mcp", stateless_headers("tools/call", "recall"), orjson.dumps(call)
    )
    error = reply.json()["error"]
    assert error["code"] == ErrorCode.INTERNAL_ERROR
    assert "not available on the stateless 2026-07-28 wire" in error["message"]
