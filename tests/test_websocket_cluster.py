"""MCP over WebSocket in the cluster: redis-server, nodes started with the CLI, nginx
proxying the upgrade. The socket lives on one node; broadcasts raised elsewhere
reach it through the broker; a session continues on another node (its
connection there closing the old one), and after its node dies."""

from __future__ import annotations

import signal
from typing import Any

import trio

from .cluster import Node, stop
from .websocket_client import connect, initialize

APP = "tests/cluster_app.py"


def _call(request_id: Any, name: str, **arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


async def test_through_the_proxy_with_broadcasts_from_other_nodes(
    cluster: tuple[list[Node], int],
) -> None:
    (a, b, _), proxy = cluster
    client = await connect(proxy)
    await initialize(client)
    await client.send(_call(1, "echo", text="through nginx"))
    assert (await client.answer_to(1))["result"]["content"][0]["text"] == "through nginx"
    await client.send(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "resources/subscribe",
            "params": {"uri": "test://watched"},
        }
    )
    await client.answer_to(2)
    # Another client, on each node in turn, changes the resource.
    for node in (a, b):
        other = await connect(node.port)
        await initialize(other)
        await other.send(_call(3, "update", uri="test://watched"))
        await other.answer_to(3)
        with trio.fail_after(10):
            update = await client.message()
        assert update == {
            "jsonrpc": "2.0",
            "method": "notifications/resources/updated",
            "params": {"uri": "test://watched"},
        }


async def test_a_session_moves_to_another_node_and_the_old_socket_closes(
    cluster: tuple[list[Node], int],
) -> None:
    (a, b, c), _ = cluster
    first = await connect(a.port)
    session_id = (await initialize(first, sampling={}))["mcpSessionId"]
    second = await connect(b.port)
    await second.send({"jsonrpc": "2.0", "id": "p", "method": "ping", "mcpSessionId": session_id})
    assert (await second.answer_to("p"))["result"] == {}
    closed = await first.closed()
    assert (closed.code, closed.reason) == (1000, "MCP session reconnected on another connection")
    # The session's capabilities came with it: sampling works on the new node.
    await second.send(_call(4, "ask_model", prompt="hi"))
    request = await second.message()
    assert request["method"] == "sampling/createMessage"
    await second.send(
        {
            "jsonrpc": "2.0",
            "id": request["id"],
            "result": {
                "role": "assistant",
                "content": {"type": "text", "text": "yo"},
                "model": "m",
            },
        }
    )
    assert (await second.answer_to(4))["result"]["content"][0]["text"] == "model said: yo"
    await second.close()
    del c


async def test_the_session_continues_after_its_node_dies(
    cluster: tuple[list[Node], int],
) -> None:
    """Last in the module: it kills one of the module's nodes."""
    (_, _, c), proxy = cluster
    first = await connect(c.port)
    session_id = (await initialize(first))["mcpSessionId"]
    await first.send(
        {"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "error"}}
    )
    await first.answer_to(1)
    stop(c.process, signal.SIGKILL)
    # The client reconnects through the proxy (to a node left) naming its session.
    again = await connect(proxy)
    await again.send({**_call(2, "chatty"), "mcpSessionId": session_id})
    logged = []
    while True:
        message = await again.message()
        if message.get("id") == 2:
            break
        logged.append(message["params"]["level"])
    # The level set on the dead node holds: only the error line is sent.
    assert logged == ["error"]
    assert message["result"]["content"][0]["text"] == "logged"
    await again.close()
    assert (await again.closed()).code == 1000
