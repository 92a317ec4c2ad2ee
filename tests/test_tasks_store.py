"""The task store, in memory and on a real redis-server: creation, compare-and-set,
expiry kept across writes, and the memory a finished task takes in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import orjson
import pytest
import trio

from scaled_mcp.cluster import MAX_OWNED_TASKS, MemoryTaskStore, TaskStore
from scaled_mcp.protocol.tasks import TaskRecord
from scaled_mcp_redis import RedisBackend

from .cluster import Redis, redis_server


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
async def redis_backend(
    redis: Redis, request: pytest.FixtureRequest
) -> AsyncIterator[RedisBackend]:
    prefix = f"t{abs(hash(request.node.name)) % 10**8}:"
    async with RedisBackend(redis.url, prefix=prefix).run() as running:
        yield running


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis: Redis) -> AsyncIterator[TaskStore]:
    if request.param == "memory":
        yield MemoryTaskStore()
        return
    prefix = f"s{abs(hash(request.node.name)) % 10**8}:"
    async with RedisBackend(redis.url, prefix=prefix).run() as running:
        yield running.tasks


async def test_create_load_and_compare_and_set(store: TaskStore) -> None:
    assert await store.load("a") is None
    assert await store.create("a", b"one", ttl=30)
    assert not await store.create("a", b"again", ttl=30)
    held = await store.load("a")
    assert held is not None and (held.version, held.data) == (1, b"one")
    assert await store.write("a", b"two", version=1) == 2
    # A writer that read version 1 lost the race: nothing is overwritten.
    assert await store.write("a", b"late", version=1) is None
    held = await store.load("a")
    assert held is not None and (held.version, held.data) == (2, b"two")
    assert await store.write("missing", b"x", version=1) is None


async def test_a_task_expires_with_its_ttl_across_writes(store: TaskStore) -> None:
    assert await store.create("b", b"x", ttl=0.6)
    await trio.sleep(0.3)
    assert await store.write("b", b"y", version=1) == 2  # a write keeps the expiry
    await trio.sleep(0.5)
    assert await store.load("b") is None
    assert await store.write("b", b"z", version=2) is None


async def test_concurrent_writers_each_see_their_own_outcome(store: TaskStore) -> None:
    assert await store.create("c", b"0", ttl=30)
    outcomes: list[int | None] = []

    async def writer(value: bytes) -> None:
        outcomes.append(await store.write("c", value, version=1))

    async with trio.open_nursery() as nursery:
        for i in range(8):
            nursery.start_soon(writer, str(i).encode())
    assert sorted(o for o in outcomes if o is not None) == [2]
    assert outcomes.count(None) == 7


async def test_memory_of_a_finished_task_in_redis_is_bounded(
    redis_backend: RedisBackend, redis: Redis
) -> None:
    """A finished task keeps only what tasks/get shows: the figure is printed."""
    record = TaskRecord.new("x" * 32, owner="session:" + "s" * 32, node_id="n1234abcd", now=1e9)
    record = record.ask({"elicitation-1": {"method": "roots/list"}}, now=1e9 + 1)
    record = record.answer({"elicitation-1": {"roots": []}}, now=1e9 + 2)
    done = record.complete({"content": [{"type": "text", "text": "done " * 20}]}, now=1e9 + 3)
    store = redis_backend.tasks
    assert await store.create(done.task_id, orjson.dumps(record.to_json()), ttl=60)
    assert await store.write(done.task_id, orjson.dumps(done.to_json()), version=1) == 2
    used = int(redis.cli("MEMORY", "USAGE", store.key(done.task_id)))
    size = len(orjson.dumps(done.to_json()))
    print(f"\nRedis memory per finished task: {used} bytes ({size} bytes of record)")
    assert size < 600 and used < 1024


async def test_an_owners_index_lists_its_tasks_until_they_expire(store: TaskStore) -> None:
    assert await store.owned("session:a") == []
    await store.index("session:a", "t1", ttl=30)
    await store.index("session:a", "t2", ttl=0.3)
    await store.index("session:b", "t3", ttl=30)
    assert sorted(await store.owned("session:a")) == ["t1", "t2"]
    await trio.sleep(0.5)
    assert await store.owned("session:a") == ["t1"]
    assert await store.owned("session:b") == ["t3"]


async def test_an_owners_index_is_capped(store: TaskStore) -> None:
    for n in range(MAX_OWNED_TASKS + 5):
        await store.index("session:c", f"t{n}", ttl=30 + n / 1000)
    owned = await store.owned("session:c")
    assert (
        len(owned) == MAX_OWNED_TASKS and "t0" not in owned and f"t{MAX_OWNED_TASKS + 4}" in owned
    )
