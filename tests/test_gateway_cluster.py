"""The gateway through the 3-node cluster (a redis-server, nginx round-robin with no
stickiness): each node runs its own stdio upstream (``--upstream-command``), or
all reach one official-SDK upstream over HTTP (``--upstream``).

Calls spread over every node's upstream; an upstream's question during a call
reaches the client, whose answer (on a session) may land on another node and
is forwarded to the node holding the call; a node killed while it holds a call
ends that call with an error, and later calls go to the nodes left; the
gateway's own token goes upstream, never the client's.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, Literal

import pytest
import trio

from scaled_mcp.client import Client, ClientError
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import CallToolResult, TextContent

from .cluster import Node, Redis, nginx, stop
from .gateway_helpers import STDIO_COMMAND, gateway_nodes, official_upstream

DEADLINE: Final = 120

Mode = Literal["handshake", "stateless"]
MODES: Final[tuple[Mode, ...]] = ("handshake", "stateless")


@pytest.fixture(scope="module")
def stdio_cluster(redis: Redis, folder: Path) -> Iterator[tuple[list[Node], int]]:
    upstream = [f"--upstream-command={STDIO_COMMAND}"]
    with (
        gateway_nodes(upstream, 3, redis.url, folder, "stdio") as started,
        nginx(folder, [node.port for node in started]) as proxy,
    ):
        yield started, proxy


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


def through(proxy: int, mode: Mode, **more: Any) -> Client:
    return Client(f"http://127.0.0.1:{proxy}/mcp", mode=mode, timeout=DEADLINE / 3, **more)


def node_of(result: CallToolResult) -> int:
    """The gateway node (the upstream's parent process) that served a ``whoami``."""
    upstream, node = text(result).split()
    assert upstream != node
    return int(node)


@pytest.mark.parametrize("mode", MODES)
async def test_calls_spread_over_every_nodes_upstream(
    stdio_cluster: tuple[list[Node], int], mode: Mode
) -> None:
    started, proxy = stdio_cluster
    with trio.fail_after(DEADLINE):
        async with through(proxy, mode) as client:
            assert [t.name for t in await client.list_tools()] == ["whoami", "hold", "ask_user"]
            served = [node_of(await client.call_tool("whoami")) for _ in range(12)]
            read = await client.read_resource("test://pid")
            assert getattr(read.contents[0], "text", "").isdigit()
    assert set(served) == {node.process.pid for node in started}


@pytest.mark.parametrize("mode", MODES)
async def test_an_upstream_question_through_the_cluster(
    stdio_cluster: tuple[list[Node], int], mode: Mode
) -> None:
    _, proxy = stdio_cluster
    answered: list[str] = []

    def elicit(params: dict[str, Any]) -> dict[str, Any]:
        answered.append(params["message"])
        return {"action": "accept", "content": {"name": f"Ada{len(answered)}"}}

    with trio.fail_after(DEADLINE):
        async with through(proxy, mode, elicitation_handler=elicit) as client:
            for _ in range(3):
                said = text(await client.call_tool("ask_user"))
                assert said.startswith(f"accept: Ada{len(answered)} from ")
    assert set(answered) == {"Name?"}


async def test_the_official_upstream_through_the_cluster_with_the_gateways_token(
    redis: Redis, tmp_path: Path
) -> None:
    with official_upstream() as port:
        upstream = [f"--upstream=http://127.0.0.1:{port}/mcp", "--upstream-bearer=gateway-token"]
        with (
            gateway_nodes(upstream, 3, redis.url, tmp_path, "sdk") as started,
            nginx(tmp_path, [node.port for node in started]) as proxy,
        ):
            for mode in MODES:
                with trio.fail_after(DEADLINE):
                    async with through(proxy, mode, bearer="client-token") as client:
                        names = [t.name for t in await client.list_tools()]
                        assert names == ["echo", "whoami", "steps", "ask_user", "wait"]
                        for n in range(6):
                            echoed = await client.call_tool("echo", {"text": f"m{n}"})
                            assert text(echoed) == f"m{n}"
                            who = await client.call_tool("whoami")
                            assert text(who) == "Bearer gateway-token"


async def test_a_node_killed_mid_call(stdio_cluster: tuple[list[Node], int]) -> None:
    """The node holding a call (and its upstream process) dies: the call ends with
    an error within the deadline; later calls go to the nodes left. (Last: it
    kills a node of the module's cluster.)"""
    started, proxy = stdio_cluster
    by_pid = {node.process.pid: node for node in started}
    holder: list[Node] = []
    holding = trio.Event()

    def on_progress(progress: float, total: float | None, message: str | None) -> None:
        assert message is not None
        holder.append(by_pid[int(message)])
        holding.set()

    outcome: list[object] = []

    async def held_call(client: Client) -> None:
        try:
            outcome.append(
                await client.call_tool("hold", {"seconds": 600}, progress_handler=on_progress)
            )
        except ClientError as error:
            outcome.append(error)

    async with through(proxy, "handshake") as client:
        with trio.fail_after(DEADLINE):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(held_call, client)
                await holding.wait()
                (dead,) = holder
                stop(dead.process, signal.SIGKILL)
        (ended,) = outcome
        assert isinstance(ended, ClientError), ended
        assert ended.code == ErrorCode.INTERNAL_ERROR
        left = {node.process.pid for node in started if node is not dead}
        with trio.fail_after(DEADLINE):
            served = [node_of(await client.call_tool("whoami")) for _ in range(8)]
        assert set(served) == left
