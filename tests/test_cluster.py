"""The cluster with real parts: redis-server, three nodes started with the CLI, nginx
round-robin in front with no stickiness. Requests are made to land on chosen nodes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio

from .cluster import Node, Redis, nodes, redis_cluster, redis_server, stop, workers
from .helpers import initialize_request, text_of
from .http_client import HttpClient, McpHttp

APP = "tests/cluster_app.py"


def client(port: int) -> McpHttp:
    return McpHttp(HttpClient("127.0.0.1", port))


def on(node_or_port: Node | int, template: McpHttp) -> McpHttp:
    """The same session as ``template``, talking to one node (or the proxy) directly."""
    port = node_or_port if isinstance(node_or_port, int) else node_or_port.port
    other = client(port)
    other.session_id = template.session_id
    other.protocol_version = template.protocol_version
    return other


def call(
    request_id: int, name: str, arguments: dict[str, Any] | None = None, **meta: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
    if meta:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


async def test_a_sampling_answer_posted_to_another_node_reaches_the_handler(
    cluster: tuple[list[Node], int],
) -> None:
    (a, b, _), _ = cluster
    first = client(a.port)
    await first.initialize(capabilities={"sampling": {}})
    async with first.post_stream(call(1, "ask_model", {"prompt": "hi"})) as events:
        asked = await events.next_message()
        assert asked is not None and asked["method"] == "sampling/createMessage"
        assert str(asked["id"]).startswith("node0.")  # the node that asked
        answer = {
            "jsonrpc": "2.0",
            "id": asked["id"],
            "result": {
                "role": "assistant",
                "content": {"type": "text", "text": "hello"},
                "model": "m",
            },
        }
        assert (await on(b, first).post(answer)).status == 202
        final = await events.next_message(wait=10)
    assert final is not None and text_of(final["result"]) == "model said: hello"


async def test_an_elicitation_answer_posted_to_another_node_reaches_the_handler(
    cluster: tuple[list[Node], int],
) -> None:
    (_, b, c), proxy = cluster
    first = client(c.port)
    await first.initialize(capabilities={"elicitation": {}})
    async with first.post_stream(call(1, "ask_user")) as events:
        asked = await events.next_message()
        assert asked is not None and asked["method"] == "elicitation/create"
        answer = {
            "jsonrpc": "2.0",
            "id": asked["id"],
            "result": {"action": "accept", "content": {"name": "Ada"}},
        }
        for target in (b, proxy):  # directly to another node, then once more through the proxy
            assert (await on(target, first).post(answer)).status == 202
        final = await events.next_message(wait=10)
    assert final is not None and text_of(final["result"]) == "accept: Ada"


async def test_a_cancellation_sent_to_another_node_stops_the_work(
    cluster: tuple[list[Node], int],
) -> None:
    (a, _, c), _ = cluster
    first = client(a.port)
    await first.initialize()
    async with first.post_stream(call(7, "wait", {"seconds": 30}, progressToken="p")) as events:
        progress = await events.next_message()
        assert progress is not None and progress["method"] == "notifications/progress"
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}
        assert (await on(c, first).post(cancel)).status == 202
        # The stream ends without a response: the handler on node0 was cancelled.
        with trio.fail_after(10):
            rest = await events.rest(wait=10)
    assert all(orjson.loads(e.data).get("id") != 7 for e in rest if e.data)


async def test_session_state_written_on_one_node_is_seen_on_the_others(
    cluster: tuple[list[Node], int], redis: Redis
) -> None:
    (a, b, c), _ = cluster
    first = client(a.port)
    await first.initialize()
    assert (await on(b, first).call(1, "logging/setLevel", {"level": "warning"})).status == 200
    async with on(c, first).post_stream(call(2, "chatty")) as events:
        levels = []
        while (message := await events.next_message()) is not None:
            if message.get("method") == "notifications/message":
                levels.append(message["params"]["level"])
    assert levels == ["warning", "error"]
    # An idle session costs little in Redis.
    usage = int(redis.cli("MEMORY", "USAGE", f"mcp:s:{{{first.session_id}}}").strip())
    assert usage <= 1024


async def test_a_resource_update_raised_on_one_node_reaches_a_subscriber_on_another(
    cluster: tuple[list[Node], int],
) -> None:
    (a, b, c), _ = cluster
    first = client(a.port)
    await first.initialize()
    subscribed = await on(b, first).call(1, "resources/subscribe", {"uri": "test://watched"})
    assert subscribed.status == 200
    async with on(c, first).client.stream("GET", "/mcp", on(c, first).headers()) as events:
        assert events.status == 200
        await events.next_event()  # priming
        await trio.sleep(0.3)
        for uri in ("test://other", "test://watched"):
            updated = await on(a, first).call(
                2, "tools/call", {"name": "update", "arguments": {"uri": uri}}
            )
            assert updated.status == 200
        message = await events.next_message(wait=10)
    assert message == {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": "test://watched"},
    }


async def test_a_dead_nodes_request_is_answered_with_an_error_on_resume(
    redis: Redis, folder: Path, tmp_path: Path
) -> None:
    with nodes(APP, 2, redis.url, "--http", "h11", folder=tmp_path) as (a, b):
        first = client(a.port)
        await first.initialize()
        async with first.post_stream(call(5, "wait", {"seconds": 60}, progressToken="t")) as events:
            priming = await events.next_event()
            assert priming is not None and priming.id
            progress = await events.next_event()
            assert progress is not None and progress.id
            stop(a.process, signal.SIGKILL)
        headers = on(b, first).headers(last_event_id=str(progress.id))
        async with on(b, first).client.stream("GET", "/mcp", headers) as resumed:
            assert resumed.status == 200
            message = await resumed.next_message(wait=30)
            assert message is not None
            assert message["id"] == 5
            assert message["error"]["code"] == -32603
            assert await resumed.next_event(wait=10) is None


async def test_a_get_stream_resumes_on_another_node_with_nothing_lost_or_doubled(
    redis: Redis, tmp_path: Path
) -> None:
    with nodes(APP, 2, redis.url, "--http", "h11", folder=tmp_path) as (a, b):
        first = client(b.port)
        await first.initialize()
        seen: list[str] = []
        async with on(a, first).client.stream("GET", "/mcp", on(a, first).headers()) as events:
            assert events.status == 200
            await events.next_event()  # priming
            await trio.sleep(0.3)
            for n in range(3):
                await on(b, first).call(10 + n, "tools/call", {"name": "touch_tools"})
            while len(seen) < 6:  # each touch removes and adds: two list changes
                event = await events.next_event(wait=10)
                assert event is not None
                if event.data:
                    seen.append(str(event.id))
            stop(a.process, signal.SIGKILL)
        # Raised while no node holds the stream: caught up from the broadcast log.
        await on(b, first).call(19, "tools/call", {"name": "touch_tools"})
        # Resume on the other node; until node0's heartbeat lapses it may refuse (409).
        headers = on(b, first).headers(last_event_id=seen[-1])
        with trio.fail_after(20):
            while True:
                async with on(b, first).client.stream("GET", "/mcp", headers) as resumed:
                    if resumed.status == 409:
                        await trio.sleep(0.5)
                        continue
                    assert resumed.status == 200
                    await trio.sleep(0.3)
                    await on(b, first).call(20, "tools/call", {"name": "touch_tools"})
                    more: list[str] = []
                    while len(more) < 4:
                        event = await resumed.next_event(wait=10)
                        assert event is not None
                        if event.data:
                            more.append(str(event.id))
                    with trio.move_on_after(1):
                        extra = await resumed.next_event(wait=2)
                        pytest.fail(f"an event more than raised: {extra}")
                    break
    numbers = [int(i.rpartition(":")[2]) for i in seen + more]
    assert numbers == list(range(numbers[0], numbers[0] + 10))  # none lost, none doubled


async def test_redis_down_gives_503_and_service_returns(tmp_path: Path) -> None:
    with (
        redis_server(tmp_path) as server,
        nodes(APP, 1, server.url, "--http", "h11", folder=tmp_path) as (a,),
    ):
        first = client(a.port)
        await first.initialize()
        assert (
            await first.call(1, "tools/call", {"name": "echo", "arguments": {"text": "x"}})
        ).status == 200
        statuses: list[int] = []
        stop_load = trio.Event()

        async def load() -> None:
            # Under load: every answer is a success or a clear 503, never a hang.
            loader = on(a.port, first)
            n = 100
            while not stop_load.is_set():
                n += 1
                reply = await loader.call(
                    n, "tools/call", {"name": "echo", "arguments": {"text": "l"}}
                )
                if reply.status == 200:
                    assert text_of(reply.json()["result"]) == "l"
                else:
                    assert reply.json()["error"]["code"] == -32603
                statuses.append(reply.status)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(load)
            await trio.sleep(0.5)
            server.stop()
            await trio.sleep(1.0)
            stop_load.set()
        assert set(statuses) == {200, 503}
        down = await first.call(2, "ping")
        assert down.status == 503
        assert down.json()["error"]["code"] == -32603
        fresh = client(a.port)
        refused = await fresh.post(initialize_request(request_id=0))
        assert refused.status == 503
        server.start()
        with trio.fail_after(15):
            while True:
                try:
                    await fresh.initialize()
                    break
                except AssertionError:
                    await trio.sleep(0.5)
        reply = await fresh.call(3, "tools/call", {"name": "echo", "arguments": {"text": "back"}})
        assert text_of(reply.json()["result"]) == "back"
        assert a.process.poll() is None  # the node never went down


async def test_worker_processes_share_a_port_through_redis(redis: Redis) -> None:
    with workers(APP, redis.url, 2, "--http", "hypercorn") as port:
        seen = set()
        for _ in range(8):
            mcp = client(port)
            await mcp.initialize(capabilities={"sampling": {}})
            async with mcp.post_stream(call(1, "ask_model", {"prompt": "x"})) as events:
                asked = await events.next_message()
                assert asked is not None
                seen.add(str(asked["id"]).partition(".")[0])
                answer = {
                    "jsonrpc": "2.0",
                    "id": asked["id"],
                    "result": {
                        "role": "assistant",
                        "content": {"type": "text", "text": "ok"},
                        "model": "m",
                    },
                }
                assert (await mcp.post(answer)).status == 202
                final = await events.next_message(wait=10)
            # The answer found its worker, whichever took the POST.
            assert final is not None and text_of(final["result"]) == "model said: ok"
        assert all(name.rstrip("01").endswith("w") for name in seen)


async def test_nodes_share_a_redis_cluster(tmp_path: Path) -> None:
    with (
        redis_cluster(tmp_path) as url,
        nodes(APP, 2, url, "--http", "h11", folder=tmp_path) as (a, b),
    ):
        first = client(a.port)
        await first.initialize(capabilities={"sampling": {}})
        assert (await on(b, first).call(1, "logging/setLevel", {"level": "error"})).status == 200
        async with first.post_stream(call(2, "ask_model", {"prompt": "hi"})) as events:
            asked = await events.next_message()
            assert asked is not None and asked["method"] == "sampling/createMessage"
            answer = {
                "jsonrpc": "2.0",
                "id": asked["id"],
                "result": {
                    "role": "assistant",
                    "content": {"type": "text", "text": "yes"},
                    "model": "m",
                },
            }
            assert (await on(b, first).post(answer)).status == 202
            final = await events.next_message(wait=10)
        assert final is not None and text_of(final["result"]) == "model said: yes"
        async with on(b, first).post_stream(call(3, "chatty")) as events:
            levels = []
            while (message := await events.next_message()) is not None:
                if message.get("method") == "notifications/message":
                    levels.append(message["params"]["level"])
        assert levels == ["error"]


def test_workers_need_a_shared_broker() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scaled_mcp.cli", "serve", APP, "--workers", "2"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert b"needs a shared --broker" in result.stderr


def test_nodes_refuse_an_unknown_broker() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scaled_mcp.cli", "serve", APP, "--broker", "kafka://x"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert b"unsupported broker" in result.stderr
