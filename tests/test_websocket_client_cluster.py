"""Clients over WebSocket through the cluster: three nodes sharing a redis-server,
behind nginx (round-robin, proxying the upgrade), one cluster for the module.

The official SDK 1.x WebSocket client works through it; our client's socket lives
on one node, and when that node dies the client reconnects (to whichever node
nginx picks) and its session goes on there.
"""

from __future__ import annotations

import signal
from typing import Any, Final

import pytest
import trio

from scaled_mcp.client import Client, Mode
from scaled_mcp.client._websocket import WebSocketTransport
from scaled_mcp.protocol.types import CallToolResult, TextContent

from .cluster import Node, stop
from .peers.sdk1 import run_websocket_client

APP: Final = "tests.client_helpers:CLUSTER_APP"
#: A generous bound on what must not hang, on a loaded machine.
DEADLINE: Final = 90


def pid_of(result: CallToolResult, sent: str) -> int:
    """The process that answered an ``echo`` of ``sent``."""
    block = result.content[0]
    assert isinstance(block, TextContent), block
    echoed, _, pid = block.text.partition(" from ")
    assert echoed == sent
    return int(pid)


async def test_the_official_sdk_1x_websocket_client(cluster: tuple[list[Node], int]) -> None:
    started, proxy = cluster
    calls: list[tuple[str, dict[str, Any]]] = [("echo", {"text": f"m{n}"}) for n in range(3)]
    with trio.fail_after(DEADLINE * 2):  # the first run may build the venv
        seen = await trio.to_thread.run_sync(
            run_websocket_client, f"ws://127.0.0.1:{proxy}/mcp", calls
        )
    assert seen["serverName"] == "client-cluster-tests"
    assert "echo" in seen["tools"]
    texts = [call["content"][0]["text"] for call in seen["calls"]]
    pids = {int(text.partition(" from ")[2]) for text in texts}
    assert [text.partition(" from ")[0] for text in texts] == ["m0", "m1", "m2"]
    # One socket, one node: every call of the connection ran on the node holding it.
    assert len(pids) == 1 and pids <= {node.process.pid for node in started}
    assert seen["ping"] is True


@pytest.mark.parametrize("mode", ["handshake", "stateless"])
async def test_our_client_through_the_proxy(cluster: tuple[list[Node], int], mode: Mode) -> None:
    started, proxy = cluster
    with trio.fail_after(DEADLINE):
        async with Client(f"ws://127.0.0.1:{proxy}/mcp", mode=mode, timeout=DEADLINE / 3) as client:
            assert client.stateless is (mode == "stateless")
            pids = {
                pid_of(await client.call_tool("echo", {"text": f"m{n}"}), f"m{n}") for n in range(6)
            }
    assert len(pids) == 1 and pids <= {node.process.pid for node in started}


async def test_when_its_node_dies_the_session_goes_on_on_another(
    cluster: tuple[list[Node], int],
) -> None:
    """Last in the module: it kills a node."""
    started, proxy = cluster
    with trio.fail_after(DEADLINE):
        async with Client(
            f"ws://127.0.0.1:{proxy}/mcp", protocol_version="2025-11-25", timeout=DEADLINE / 3
        ) as client:
            transport = client._transport
            assert isinstance(transport, WebSocketTransport)
            holder_pid = pid_of(await client.call_tool("echo", {"text": "before"}), "before")
            session = transport.session_id
            assert session is not None
            holder = next(node for node in started if node.process.pid == holder_pid)
            stop(holder.process, signal.SIGKILL)
            connection = transport._connection
            assert connection is not None
            await connection.closed.wait()
            # The next call reconnects through nginx to a live node: the same session.
            after = pid_of(await client.call_tool("echo", {"text": "after"}), "after")
            assert after != holder_pid
            assert transport.session_id == session
            assert pid_of(await client.call_tool("echo", {"text": "again"}), "again") == after
