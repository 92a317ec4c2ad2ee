"""The in-memory backend: the event log against a model, the broker, the session store."""

from __future__ import annotations

import trio
import trio.testing
from hypothesis import given, settings, strategies as st

from scaled_mcp.cluster import MemoryBackend, MemoryBroker, MemoryEventLog, MemorySessionStore
from scaled_mcp.protocol.session import SessionPhase, SessionState

# An operation on one of two streams: ("append", stream, data) / ("end", stream) /
# ("read", stream, after).
operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.sampled_from("ab"), st.binary(max_size=8)),
        st.tuples(st.just("end"), st.sampled_from("ab")),
        st.tuples(st.just("read"), st.sampled_from("ab"), st.integers(-1, 12)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(operations, st.integers(1, 5))
async def test_the_event_log_behaves_like_bounded_lists(
    ops: list[tuple[object, ...]], max_events: int
) -> None:
    log = MemoryEventLog(max_events=max_events)
    model: dict[str, list[tuple[int, bytes]]] = {"a": [], "b": []}
    ended: dict[str, bool] = {"a": False, "b": False}
    for op in ops:
        kind, stream = op[0], str(op[1])
        if kind == "append":
            if ended[stream]:
                continue
            seq = await log.append("s", stream, op[2])  # type: ignore[arg-type]
            assert seq == len(model[stream]) + 1
            model[stream].append((seq, op[2]))  # type: ignore[arg-type]
        elif kind == "end":
            await log.end("s", stream)
            ended[stream] = True
        else:
            after = int(op[2])  # type: ignore[call-overload]
            read = await log.read("s", stream, after, wait=0)
            kept = model[stream][-max_events:]
            assert read.events == tuple(item for item in kept if item[0] > after)
            known = bool(model[stream]) or ended[stream]
            first_kept = kept[0][0] if kept else len(model[stream]) + 1
            # A reader past events this log never had (or trimmed) is told so.
            assert read.missing == (after + 1 < first_kept if known else after > 0)
            assert read.ended == (ended[stream] or not await log.exists("s", stream))


async def test_a_reader_waits_for_the_next_event(autojump_clock: trio.testing.MockClock) -> None:
    log = MemoryEventLog()
    await log.open("s", "x")
    got = []

    async def reader() -> None:
        got.append(await log.read("s", "x", 0, wait=10))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.sleep(1)
        assert got == []
        await log.append("s", "x", b"one")
    assert got[0].events == ((1, b"one"),)
    # Waiting has a deadline.
    empty = await log.read("s", "x", 1, wait=5)
    assert empty.events == ()
    assert not empty.ended


async def test_streams_expire_and_sessions_drop_their_streams(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = MemoryEventLog(ttl=60)
    await log.append("s", "x", b"1")
    await log.append("t", "y", b"2")
    await log.drop_session("t")
    assert not await log.exists("t", "y")
    await trio.sleep(61)
    log.sweep(trio.current_time())
    assert not await log.exists("s", "x")
    assert len(log) == 0


async def test_the_broker_fans_out_and_drops_for_slow_subscribers() -> None:
    broker = MemoryBroker(buffer=2)
    async with broker.subscribe("c") as first, broker.subscribe("c") as second:
        assert broker.subscriber_count("c") == 2
        for n in range(3):
            await broker.publish("c", b"%d" % n)
        await broker.publish("other", b"x")
        assert [await first.__anext__(), await first.__anext__()] == [b"0", b"1"]
        assert [await second.__anext__(), await second.__anext__()] == [b"0", b"1"]
        assert broker.dropped == 2  # the third message, once per subscriber
    assert broker.subscriber_count("c") == 0


def state(session_id: str) -> SessionState:
    return SessionState(
        session_id=session_id, protocol_version="2025-11-25", phase=SessionPhase.OPERATING
    )


async def test_sessions_expire_after_their_ttl(autojump_clock: trio.testing.MockClock) -> None:
    store = MemorySessionStore()
    await store.save(state("a"), ttl=10)
    await store.save(state("b"), ttl=100)
    await trio.sleep(11)
    assert await store.load("a") is None
    assert (await store.load("b")) == state("b")
    await store.save(state("b"), ttl=100)  # a write renews it
    await trio.sleep(95)
    assert await store.load("b") is not None
    assert await store.delete("b")
    assert not await store.delete("b")


async def test_the_backend_sweeps_in_the_background(autojump_clock: trio.testing.MockClock) -> None:
    backend = MemoryBackend(stream_ttl=10)
    async with backend.run():
        await backend.sessions.save(state("a"), ttl=5)
        await backend.events.append("a", "x", b"1")
        await trio.sleep(65)
        assert len(backend.sessions) == 0
        assert not await backend.events.exists("a", "x")
