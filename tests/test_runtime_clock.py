"""The runtime's time-driven behaviour, exactly: in memory, on the autojump clock.

No socket: requests go straight to :meth:`Runtime.handle_http` with a
:class:`~tests.helpers.MemoryResponder`, so trio's clock jumps whenever every
task waits, and each test checks the virtual time things happen at: heartbeats,
the deadline of a question to the client, the shutdown grace, the moments a
stream's events are logged and replayed.

(Session expiry is not here: the runtime dates a session's activity with the
wall clock, which the mock clock does not move.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from scaled_mcp import Context, MCPServer
from scaled_mcp.cluster import MemoryBackend
from scaled_mcp.protocol.sse import SSEComment, parse_event_id
from scaled_mcp.runtime import Runtime, RuntimeConfig

from .helpers import (
    MemoryResponder,
    Probe,
    get,
    make_app,
    open_session,
    post,
    post_stream,
    serving_in_memory,
    stateless_meta,
    text_of,
)
from .http_client import stateless_headers

HEARTBEAT = 5.0
ASK_TIMEOUT = 30.0
GRACE = 10.0
#: A resumed stream checks for a dead writer every half of it when idle.
NODE_TTL = 6.0


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def app(probe: Probe) -> MCPServer:
    app = make_app(probe)

    @app.tool()
    async def paced(ctx: Context, count: int, pause: float) -> str:
        """Report progress ``count`` times, ``pause`` seconds apart; answer ``pause``
        seconds after the last."""
        for step in range(1, count + 1):
            await ctx.report_progress(step, count)
            await trio.sleep(pause)
        return "paced"

    return app


@pytest.fixture
async def node(app: MCPServer) -> AsyncIterator[tuple[Runtime, trio.Nursery]]:
    config = RuntimeConfig(
        heartbeat_interval=HEARTBEAT,
        ask_timeout=ASK_TIMEOUT,
        shutdown_grace=GRACE,
        node_heartbeat_ttl=NODE_TTL,
    )
    runtime = Runtime(app, backend=MemoryBackend(), config=config)
    async with serving_in_memory(runtime) as front:
        yield runtime, front


def call(request_id: int, name: str, arguments: dict[str, Any] | None = None, **meta: Any) -> Any:
    """A ``tools/call`` request (``progressToken=...`` and the like go in ``_meta``)."""
    params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
    if meta:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def cancel(request_id: int) -> Any:
    """The client's ``notifications/cancelled`` for its request ``request_id``."""
    return {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": request_id, "reason": "enough"},
    }


def listen_request(request_id: int = 5) -> Any:
    """A 2026-07-28 ``subscriptions/listen`` for the tool list's changes."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": True}, "_meta": stateless_meta()},
    }


async def listen(runtime: Runtime, front: trio.Nursery) -> MemoryResponder:
    """A listen stream, once it is acknowledged and subscribed."""
    stream = post_stream(
        front, runtime, listen_request(), stateless_headers("subscriptions/listen")
    )
    ack = await stream.next_message()
    assert ack is not None and ack["method"] == "notifications/subscriptions/acknowledged"
    # It subscribes to broadcasts after its acknowledgement: once every task waits, it has.
    await trio.testing.wait_all_tasks_blocked()
    return stream


async def get_stream(
    runtime: Runtime, front: trio.Nursery, headers: dict[str, str]
) -> MemoryResponder:
    """A session's GET stream, once it is primed and subscribed."""
    stream = get(front, runtime, headers)
    priming = await stream.next_event()
    assert stream.status == 200 and priming is not None and priming.data == ""
    await trio.testing.wait_all_tasks_blocked()
    return stream


def add_a_tool(runtime: Runtime) -> None:
    """Register a tool while the node runs (every client is told the list changed)."""
    app = runtime.app
    assert isinstance(app, MCPServer)

    @app.tool()
    def added() -> str:
        return "new"


LIST_CHANGED = "notifications/tools/list_changed"


# -- heartbeats ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["get", "listen"])
async def test_an_idle_stream_gets_a_heartbeat_every_interval(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery], kind: str
) -> None:
    runtime, front = node
    if kind == "get":
        stream = await get_stream(runtime, front, await open_session(runtime))
    else:
        stream = await listen(runtime, front)
    start = trio.current_time()
    # None before the first interval.
    await trio.sleep(HEARTBEAT * 0.99)
    assert stream.heartbeats() == []
    # Then one per interval, exactly.
    await trio.sleep_until(start + 3.5 * HEARTBEAT)
    assert stream.heartbeats() == pytest.approx([start + n * HEARTBEAT for n in (1, 2, 3)])
    # A message restarts the count: the heartbeat is for an idle stream.
    add_a_tool(runtime)
    await trio.testing.wait_all_tasks_blocked()
    assert stream.messages()[-1]["method"] == LIST_CHANGED
    sent = trio.current_time()
    await trio.sleep_until(sent + 2.5 * HEARTBEAT)
    assert stream.heartbeats()[3:] == pytest.approx([sent + HEARTBEAT, sent + 2 * HEARTBEAT])
    assert all(isinstance(item, SSEComment) for item in stream.items[-2:])


# -- questions to the client ----------------------------------------------------------------

QUESTIONS = [
    pytest.param("ask_model", {"prompt": "hi"}, "sampling", "sampling/createMessage", id="sample"),
    pytest.param("ask_user", {}, "elicitation", "elicitation/create", id="elicit"),
]


@pytest.mark.parametrize(("tool", "arguments", "capability", "method"), QUESTIONS)
async def test_an_unanswered_question_times_out_at_ask_timeout(
    autojump_clock: trio.testing.MockClock,
    node: tuple[Runtime, trio.Nursery],
    tool: str,
    arguments: dict[str, Any],
    capability: str,
    method: str,
) -> None:
    runtime, front = node
    headers = await open_session(runtime, capabilities={capability: {}})
    stream = post_stream(front, runtime, call(3, tool, arguments), headers)
    asked = await stream.next_message()
    assert asked is not None and asked["method"] == method
    asked_at = stream.read_at
    assert asked_at is not None
    # The runtime gives up on it at exactly ask_timeout, and tells the client so.
    cancelled = await stream.next_message()
    assert cancelled == {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": asked["id"], "reason": "timed out"},
    }
    assert stream.read_at == pytest.approx(asked_at + ASK_TIMEOUT)
    # The tool's call ends with the timeout error (REQUEST_TIMEOUT), at once.
    final = await stream.next_message()
    assert final is not None and final["id"] == 3
    assert final["error"]["code"] == -32001
    assert stream.read_at == pytest.approx(asked_at + ASK_TIMEOUT)
    assert await stream.next_item() is None
    assert stream.ended_at == pytest.approx(asked_at + ASK_TIMEOUT)


async def test_an_answer_just_before_ask_timeout_is_taken(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery]
) -> None:
    runtime, front = node
    headers = await open_session(runtime, capabilities={"sampling": {}})
    stream = post_stream(front, runtime, call(3, "ask_model", {"prompt": "hi"}), headers)
    asked = await stream.next_message()
    assert asked is not None and stream.read_at is not None
    await trio.sleep_until(stream.read_at + ASK_TIMEOUT - 0.5)
    answer = {
        "jsonrpc": "2.0",
        "id": asked["id"],
        "result": {"role": "assistant", "content": {"type": "text", "text": "yo"}, "model": "m"},
    }
    assert (await post(runtime, answer, headers)).status == 202
    final = await stream.next_message()
    assert final is not None and text_of(final["result"]) == "model said: yo"
    assert await stream.next_item() is None
    assert stream.ended_at == trio.current_time()


# -- shutdown ---------------------------------------------------------------------------------


async def test_drain_answers_what_ends_within_the_grace_and_the_rest_is_cancelled(
    autojump_clock: trio.testing.MockClock,
    node: tuple[Runtime, trio.Nursery],
    probe: Probe,
) -> None:
    runtime, background = node
    headers = await open_session(runtime)
    cancelled_at: list[float] = []

    async def watch() -> None:
        await probe.cancelled.wait()
        cancelled_at.append(trio.current_time())

    # The requests of a front of its own, which the test cancels after the drain.
    async with trio.open_nursery() as front:
        get_events = await get_stream(runtime, front, headers)
        listen_events = await listen(runtime, front)
        quick = post_stream(front, runtime, call(1, "nap", {"seconds": GRACE / 2}), headers)
        slow = post_stream(front, runtime, call(2, "nap", {"seconds": 3 * GRACE}), headers)
        streaming = post_stream(
            front, runtime, call(3, "stream_then_block", progressToken="p"), headers
        )
        background.start_soon(watch)
        await probe.started.wait()
        await trio.testing.wait_all_tasks_blocked()
        start = trio.current_time()
        runtime.begin_shutdown()
        await trio.testing.wait_all_tasks_blocked()
        # Long-lived streams end at once: the GET stream, and the listen stream with
        # the subscription's response.
        assert get_events.ended_at == start
        assert listen_events.ended_at == start
        closing = listen_events.messages()[-1]
        assert closing["id"] == 5 and "result" in closing
        # The node waits for its handlers, for the grace at most; then the front
        # cancels what still runs.
        await runtime.drain()
        assert trio.current_time() == pytest.approx(start + GRACE)
        assert quick.ended_at == pytest.approx(start + GRACE / 2)
        assert quick.status == 200 and text_of(quick.json()["result"]) == f"slept {GRACE / 2:g}"
        assert not slow.ended and not streaming.ended
        assert cancelled_at == []
        front.cancel_scope.cancel()
    await trio.testing.wait_all_tasks_blocked()  # the watcher has seen it
    assert cancelled_at == pytest.approx([start + GRACE])
    # Cancelled: no answer at all (the front closes the connection).
    assert not slow.started
    assert slow.ended_at == pytest.approx(start + GRACE)
    assert [m.get("method") for m in streaming.messages()] == ["notifications/progress"]
    assert streaming.ended_at == pytest.approx(start + GRACE)


async def test_drain_returns_as_soon_as_the_handlers_are_done(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery]
) -> None:
    runtime, front = node
    headers = await open_session(runtime)
    answer = post_stream(front, runtime, call(1, "nap", {"seconds": GRACE / 4}), headers)
    await trio.testing.wait_all_tasks_blocked()
    start = trio.current_time()
    await runtime.drain()
    assert trio.current_time() == pytest.approx(start + GRACE / 4)
    assert answer.ended_at == pytest.approx(start + GRACE / 4)
    assert text_of(answer.json()["result"]) == f"slept {GRACE / 4:g}"


# -- broadcasts ---------------------------------------------------------------------------------


async def test_listen_and_get_streams_hear_of_a_new_tool_at_once(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery]
) -> None:
    runtime, front = node
    get_events = await get_stream(runtime, front, await open_session(runtime))
    listen_events = await listen(runtime, front)
    before = trio.current_time()
    add_a_tool(runtime)
    await trio.testing.wait_all_tasks_blocked()
    assert trio.current_time() == before
    for stream in (get_events, listen_events):
        assert stream.messages()[-1]["method"] == LIST_CHANGED
        assert stream.times[-1] == before
    # The listen stream names the subscription it delivers for.
    assert listen_events.messages()[-1]["params"] == {
        "_meta": {"io.modelcontextprotocol/subscriptionId": 5}
    }
    # On the GET stream, the event is logged: it has an id to resume after.
    event = get_events.events()[-1]
    assert event.id is not None and parse_event_id(event.id).stream_id == "get"


# -- JSON or a stream, and resuming it -------------------------------------------------------------


async def test_a_handler_that_emits_nothing_is_answered_in_json(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery]
) -> None:
    runtime, front = node
    headers = await open_session(runtime)
    answer = post_stream(front, runtime, call(1, "nap", {"seconds": 7}), headers)
    await trio.testing.wait_all_tasks_blocked()
    start = trio.current_time()
    await answer.wait_ended()
    assert answer.ended_at == pytest.approx(start + 7)
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.chunks == [] and answer.items == []
    assert answer.json() == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"content": [{"type": "text", "text": "slept 7"}]},
    }


async def test_a_handler_that_emits_progress_turns_the_answer_into_a_stream(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery]
) -> None:
    runtime, front = node
    headers = await open_session(runtime)
    stream = post_stream(
        front, runtime, call(1, "paced", {"count": 3, "pause": 10}, progressToken="p"), headers
    )
    await stream.wait_ended()
    start = stream.times[0]
    assert stream.status == 200
    assert stream.headers["content-type"] == "text/event-stream"
    events = stream.events()
    # A priming event (an id, no data, the retry time), then each message as the
    # handler emits it, numbered in one stream: "<stream>:<seq>".
    assert events[0].data == "" and events[0].retry == 1000
    ids = [parse_event_id(str(event.id)) for event in events]
    assert {event_id.stream_id for event_id in ids} == {ids[0].stream_id}
    assert [event_id.seq for event_id in ids] == [0, 1, 2, 3, 4]
    assert [event.id for event in events] == [f"{ids[0].stream_id}:{n}" for n in range(5)]
    progress = [m["params"]["progress"] for m in stream.messages()[:3]]
    assert progress == [1, 2, 3]
    assert text_of(stream.messages()[3]["result"]) == "paced"
    assert stream.times == pytest.approx([start, start, start + 10, start + 20, start + 30])
    assert stream.heartbeats() == []


async def test_a_stream_resumes_with_last_event_id(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery]
) -> None:
    runtime, front = node
    headers = await open_session(runtime)
    stream = post_stream(
        front, runtime, call(1, "paced", {"count": 3, "pause": 10}, progressToken="p"), headers
    )
    priming = await stream.next_event()
    first = await stream.next_event()
    assert priming is not None and first is not None and first.data
    start = stream.read_at
    assert start is not None
    # The client goes; the handler goes on, its messages kept in the stream's log.
    stream.disconnect()
    await trio.sleep_until(start + 15)
    assert len(stream.events()) == 2
    resumed = get(front, runtime, {**headers, "last-event-id": str(first.id)})
    await resumed.wait_ended()
    assert resumed.status == 200
    # What was missed comes at once, then the rest as it happens; the stream ends
    # with the answer.
    stream_id = parse_event_id(str(first.id)).stream_id
    assert [event.id for event in resumed.events()] == [f"{stream_id}:{n}" for n in (2, 3, 4)]
    assert [m.get("method") for m in resumed.messages()] == [
        "notifications/progress",
        "notifications/progress",
        None,
    ]
    assert text_of(resumed.messages()[-1]["result"]) == "paced"
    event_times = [
        at
        for at, item in zip(resumed.times, resumed.items, strict=True)
        if not isinstance(item, SSEComment)
    ]
    assert event_times == pytest.approx([start + 15, start + 20, start + 30])
    assert resumed.ended_at == pytest.approx(start + 30)
    # A resumed stream is idle for at most half the node heartbeat TTL (it checks
    # that the stream's writer lives).
    assert resumed.heartbeats() == pytest.approx([start + 18, start + 23, start + 26, start + 29])
    # Resumed after it ended: the whole replay after the priming event, at once.
    later = get(front, runtime, {**headers, "last-event-id": str(priming.id)})
    await later.wait_ended()
    assert [event.id for event in later.events()] == [f"{stream_id}:{n}" for n in (1, 2, 3, 4)]
    assert later.times == [later.ended_at] * 4


# -- cancellation ----------------------------------------------------------------------------------


async def test_a_cancelled_request_gets_no_response(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery]
) -> None:
    runtime, front = node
    headers = await open_session(runtime)
    answer = post_stream(front, runtime, call(9, "nap", {"seconds": 100}), headers)
    await trio.testing.wait_all_tasks_blocked()
    start = trio.current_time()
    await trio.sleep(5)
    assert (await post(runtime, cancel(9), headers)).status == 202
    await answer.wait_ended()
    # "Not send a response for the cancelled request": the POST ends, empty.
    assert answer.ended_at == pytest.approx(start + 5)
    assert answer.status == 202 and answer.body == b""


async def test_a_cancelled_streaming_request_ends_its_stream_with_no_response(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery], probe: Probe
) -> None:
    runtime, front = node
    headers = await open_session(runtime)
    stream = post_stream(front, runtime, call(9, "stream_then_block", progressToken="p"), headers)
    await probe.started.wait()
    await trio.sleep(5)
    start = trio.current_time()
    assert (await post(runtime, cancel(9), headers)).status == 202
    await stream.wait_ended()
    assert probe.cancelled.is_set()
    assert stream.ended_at == start
    assert [m.get("method") for m in stream.messages()] == ["notifications/progress"]


async def test_a_stateless_client_that_goes_away_cancels_the_handler_at_once(
    autojump_clock: trio.testing.MockClock, node: tuple[Runtime, trio.Nursery]
) -> None:
    runtime, front = node
    request = call(1, "paced", {"count": 3, "pause": 10}, **stateless_meta(progressToken="p"))
    stream = post_stream(front, runtime, request, stateless_headers("tools/call", "paced"))
    first = await stream.next_message()
    assert first is not None and first["method"] == "notifications/progress"
    await trio.sleep(5)
    # 2026-07-28: "the client cancels by closing the stream".
    stream.disconnect()
    gone = trio.current_time()
    await stream.wait_ended()
    assert stream.ended_at == gone
    assert len(stream.messages()) == 1
