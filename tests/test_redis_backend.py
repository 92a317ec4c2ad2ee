"""The Redis backend against a real redis-server: every port, and Redis being away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from scaled_mcp.cluster import BackendUnavailable
from scaled_mcp.protocol.session import SessionPhase, SessionState
from scaled_mcp_redis import MAX_INCOMPLETE_REPLY_SIZE, RedisBackend

from .cluster import Redis, free_port


@pytest.fixture
async def backend(redis: Redis, request: pytest.FixtureRequest) -> AsyncIterator[RedisBackend]:
    # A prefix per test: tests share the server, never their keys.
    prefix = f"t{abs(hash(request.node.name)) % 10**8}:"
    async with RedisBackend(redis.url, prefix=prefix, max_stream_events=50).run() as running:
        yield running


def state(session_id: str, level: str | None = None) -> SessionState:
    return SessionState(
        session_id=session_id,
        protocol_version="2025-11-25",
        phase=SessionPhase.OPERATING,
        client_info={"name": "t", "version": "1"},
        log_level=level,
        subscriptions=frozenset({"test://a"}),
    )


async def test_sessions_round_trip_renew_and_expire(backend: RedisBackend) -> None:
    store = backend.sessions
    await store.save(state("s1", "info"), ttl=0.5)
    assert await store.load("s1") == state("s1", "info")
    await trio.sleep(0.3)
    assert await store.touch("s1", ttl=0.5)
    await trio.sleep(0.3)
    assert await store.load("s1") is not None  # renewed by the touch
    await trio.sleep(0.4)
    assert await store.load("s1") is None
    assert not await store.touch("s1", ttl=1)
    await store.save(state("s2"), ttl=10)
    assert await store.delete("s2")
    assert not await store.delete("s2")


async def test_event_log_numbers_replays_ends_and_forgets(backend: RedisBackend) -> None:
    log = backend.events
    await log.open("s", "x", requests=[7, "r-8"])
    assert await log.exists("s", "x")
    assert await log.requests("s", "x") == [7, "r-8"]
    for n in range(1, 4):
        assert await log.append("s", "x", b"e%d" % n) == n
    read = await log.read("s", "x", 1, wait=0)
    assert read.events == ((2, b"e2"), (3, b"e3"))
    assert not read.ended
    await log.end("s", "x")
    after = await log.read("s", "x", 3, wait=0)
    assert after.events == ()
    assert after.ended
    with pytest.raises(ValueError, match="ended"):
        await log.append("s", "x", b"late")
    await log.drop_session("s")
    assert not await log.exists("s", "x")
    gone = await log.read("s", "x", 2, wait=0)
    assert gone.ended and gone.missing


async def test_a_blocked_reader_wakes_for_an_event_and_for_the_end(backend: RedisBackend) -> None:
    log = backend.events
    await log.open("s", "y")
    got = []

    async def reader(after: int) -> None:
        got.append(await log.read("s", "y", after, wait=5))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader, 0)
        await trio.sleep(0.2)
        await log.append("s", "y", b"one")
    assert got[0].events == ((1, b"one"),)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader, 1)
        await trio.sleep(0.2)
        with trio.fail_after(2):
            await log.end("s", "y")
    assert got[1].ended


async def test_trimmed_events_are_reported_missing(backend: RedisBackend) -> None:
    log = backend.events
    for n in range(400):
        await log.append("s", "z", b"%d" % n)
    read = await log.read("s", "z", 1, wait=0)
    assert read.missing  # about 50 are kept
    assert read.events[-1][0] == 400


async def test_broker_delivers_between_backends(backend: RedisBackend, redis: Redis) -> None:
    other = RedisBackend(redis.url, prefix=backend.prefix)
    async with other.run(), other.broker.subscribe("c") as messages:
        with trio.fail_after(5):
            while True:  # until the subscription is live on Redis
                await backend.broker.publish("c", b"ping")
                with trio.move_on_after(0.2):
                    assert await messages.__anext__() == b"ping"
                    break


async def test_leases_and_heartbeats(backend: RedisBackend) -> None:
    nodes = backend.nodes
    assert await nodes.claim("k", "a", ttl=5) is None
    assert await nodes.claim("k", "a", ttl=5) is None  # renewed
    assert await nodes.claim("k", "b", ttl=5) == "a"
    assert await nodes.claim("k", "b", ttl=5, replace="a") is None  # taken over
    await nodes.release("k", "a")  # not the holder: nothing happens
    assert await nodes.claim("k", "a", ttl=5) == "b"
    await nodes.release("k", "b")
    assert await nodes.claim("k", "a", ttl=5) is None
    await nodes.heartbeat("n1", ttl=0.3)
    assert await nodes.alive("n1")
    await trio.sleep(0.4)
    assert not await nodes.alive("n1")


async def test_an_unreachable_redis_is_backend_unavailable(tmp_path: Path) -> None:
    unreachable = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", operation_timeout=1)
    async with unreachable.run() as running:
        with pytest.raises(BackendUnavailable):
            await running.sessions.load("s")
        with pytest.raises(BackendUnavailable):
            await running.events.append("s", "x", b"e")


async def test_session_reads_authenticate_and_select_the_database(tmp_path: Path) -> None:
    # The per-request session read goes over its own connections: they log in and
    # select the URL's database like coredis's do.
    server = Redis(free_port(), tmp_path)
    server.start()
    try:
        server.cli("CONFIG", "SET", "requirepass", "s3cret")
        url = f"redis://:s3cret@127.0.0.1:{server.port}/3"
        async with RedisBackend(url).run() as running:
            await running.sessions.save(state("s1", "debug"), ttl=10)
            assert await running.sessions.load("s1") == state("s1", "debug")
            assert await running.sessions.load("absent") is None
        keys = server.cli("-a", "s3cret", "--no-auth-warning", "-n", "3", "KEYS", "*")
        assert "mcp:s:{s1}" in keys
        wrong = f"redis://:wrong@127.0.0.1:{server.port}/3"
        async with RedisBackend(wrong, operation_timeout=1).run() as refused:
            with pytest.raises(BackendUnavailable, match=r"WRONGPASS|invalid"):
                await refused.sessions.load("s1")
    finally:
        server.stop()


async def test_a_cancelled_read_leaves_no_reply_behind(backend: RedisBackend) -> None:
    # A read cut short drops its connection: the next read gets its own reply.
    await backend.sessions.save(state("a", "info"), ttl=10)
    await backend.sessions.save(state("b", "error"), ttl=10)
    for step in range(60):
        # Deadlines from nothing to a round trip: some fall between send and reply.
        with trio.move_on_after(step * 0.00002):
            await backend.sessions.load("a")
        assert await backend.sessions.load("b") == state("b", "error")
    async with trio.open_nursery() as nursery:
        for name, level in (("a", "info"), ("b", "error")) * 8:

            async def read(name: str = name, level: str = level) -> None:
                assert await backend.sessions.load(name) == state(name, level)

            nursery.start_soon(read)


async def test_a_session_read_past_the_reply_bound_is_refused(backend: RedisBackend) -> None:
    # The direct read buffers at most MAX_INCOMPLETE_REPLY_SIZE bytes of a reply: a
    # larger value counts as Redis being away, and its connection is dropped.
    huge = b"x" * (MAX_INCOMPLETE_REPLY_SIZE + 1024 * 1024)
    await backend.client.set(f"{backend.prefix}s:{{huge}}", huge)
    with pytest.raises(BackendUnavailable, match=f"a reply over {MAX_INCOMPLETE_REPLY_SIZE}"):
        await backend.sessions.load("huge")
    await backend.sessions.save(state("fine", "info"), ttl=10)
    assert await backend.sessions.load("fine") == state("fine", "info")
    await backend.sessions.delete("huge")
