"""Our client through the cluster: three nodes sharing a redis-server, behind nginx
round-robin with no stickiness (the parts of ``tests/cluster.py``).

Calls spread over every node and the session follows them; a node killed while it
holds a call ends that call quickly, with an error, or the call's stream resumes
on another node; the next calls go to the nodes that are left.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Final, Literal

import pytest
import trio

from scaled_mcp.client import Client, ClientError, ConnectionLost
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import CallToolResult, TextContent

from .client_helpers import Recorder
from .cluster import Node, Redis, nginx, nodes, stop

APP: Final = "tests.client_helpers:CLUSTER_APP"
#: A generous bound on what must not hang, on a loaded machine.
DEADLINE: Final = 90

Mode = Literal["handshake", "stateless"]
MODES: Final[tuple[Mode, ...]] = ("handshake", "stateless")


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


def pid_of(result: CallToolResult, sent: str) -> int:
    """The process that answered an ``echo`` of ``sent``."""
    echoed, _, pid = text(result).partition(" from ")
    assert echoed == sent
    return int(pid)


def through(proxy: int, mode: Mode, **more: object) -> Client:
    return Client(f"http://127.0.0.1:{proxy}/mcp", mode=mode, timeout=DEADLINE / 3, **more)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
async def test_calls_spread_over_every_node(cluster: tuple[list[Node], int], mode: Mode) -> None:
    started, proxy = cluster
    with trio.fail_after(DEADLINE):
        async with through(proxy, mode) as client:
            answered = [
                pid_of(await client.call_tool("echo", {"text": f"m{n}"}), f"m{n}")
                for n in range(12)
            ]
            assert len(await client.list_tools()) == 3
    # Round-robin with no stickiness: every node served some of one client's calls.
    assert set(answered) == {node.process.pid for node in started}


@pytest.mark.parametrize("mode", MODES)
async def test_many_clients_at_once(cluster: tuple[list[Node], int], mode: Mode) -> None:
    started, proxy = cluster
    answered: list[int] = []

    async def one_client(index: int) -> None:
        async with through(proxy, mode) as client:
            for n in range(6):
                sent = f"c{index}.{n}"
                answered.append(pid_of(await client.call_tool("echo", {"text": sent}), sent))

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            for index in range(8):
                nursery.start_soon(one_client, index)
    assert len(answered) == 48
    assert set(answered) == {node.process.pid for node in started}


@pytest.mark.parametrize("mode", MODES)
async def test_a_node_killed_mid_call(redis: Redis, tmp_path: Path, mode: Mode) -> None:
    """The node holding a call dies: the call ends (with an error, or its stream
    resumed elsewhere answers it) within the deadline; later calls succeed on the
    nodes left, on the same client."""
    with (
        nodes(APP, 3, redis.url, "--http", "h11", folder=tmp_path) as started,
        nginx(tmp_path, [node.port for node in started]) as proxy,
    ):
        by_pid = {node.process.pid: node for node in started}
        holder: list[Node] = []
        holding = trio.Event()

        def on_progress(progress: float, total: float | None, message: str | None) -> None:
            assert message is not None
            holder.append(by_pid[int(message)])
            holding.set()

        outcome: list[CallToolResult | Exception] = []

        async def held_call(client: Client) -> None:
            try:
                outcome.append(
                    await client.call_tool("hold", {"seconds": 600}, progress_handler=on_progress)
                )
            except ClientError as error:
                outcome.append(error)

        recorder = Recorder()
        async with through(proxy, mode, auth=recorder) as client:
            with trio.fail_after(DEADLINE):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(held_call, client)
                    await holding.wait()
                    (dead,) = holder
                    stop(dead.process, signal.SIGKILL)
            # The call ended: an error, never its result (the tool sleeps 600 s).
            # On a session the client resumes the call's stream on a node left,
            # which answers for the dead one; the stateless wire has no stream to
            # resume, and the answer is lost with the connection.
            (ended,) = outcome
            assert isinstance(ended, ClientError), ended
            assert ended.code == ErrorCode.INTERNAL_ERROR
            if mode == "handshake":
                assert len(recorder.resumed_with()) >= 1
            else:
                assert isinstance(ended, ConnectionLost)
                assert recorder.resumed_with() == []

            left = {node.process.pid for node in started if node is not dead}
            with trio.fail_after(DEADLINE):
                answered = [
                    pid_of(await client.call_tool("echo", {"text": f"after{n}"}), f"after{n}")
                    for n in range(8)
                ]
            assert set(answered) == left


def established_on(port: int) -> int:
    """How many TCP connections to ``port`` on 127.0.0.1 are established (Linux)."""
    local = f"0100007F:{port:04X}"
    count = 0
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            count += fields[1] == local and fields[3] == "01"
    return count


async def get_stream_holder(started: list[Node]) -> Node:
    """The node holding the one long-lived connection of an idle client: its GET stream."""
    while True:
        holding = [node for node in started if established_on(node.port)]
        if len(holding) == 1:
            return holding[0]
        await trio.sleep(0.1)


async def test_the_get_stream_resumes_on_another_node(redis: Redis, tmp_path: Path) -> None:
    """The node holding a session's GET stream dies: the client resumes the stream
    with ``Last-Event-ID`` through the proxy, on a node left, and the server's
    notifications reach it again, those raised while no node held it too."""
    with (
        nodes(APP, 3, redis.url, "--http", "h11", folder=tmp_path) as started,
        nginx(tmp_path, [node.port for node in started]) as proxy,
    ):
        changed: list[str] = []
        more = trio.Condition()

        async def on_changed(kind: str) -> None:
            async with more:
                changed.append(kind)
                more.notify_all()

        async def wait_for(count: int) -> None:
            async with more:
                while len(changed) < count:
                    await more.wait()

        recorder = Recorder()
        async with through(
            proxy, "handshake", list_changed_handler=on_changed, auth=recorder
        ) as client:
            with trio.fail_after(DEADLINE):
                holder = await get_stream_holder(started)
                assert text(await client.call_tool("touch_tools")) == "touched"
                await wait_for(2)  # a removal and an addition
                stop(holder.process, signal.SIGKILL)
                assert text(await client.call_tool("touch_tools")) == "touched"
                await wait_for(4)
                # The stream is held again, by another node.
                assert (await get_stream_holder(started)) is not holder
                assert text(await client.call_tool("touch_tools")) == "touched"
                await wait_for(6)
        assert changed == ["tools"] * 6
        assert len(recorder.resumed_with()) >= 1
