"""The session document in both stores (memory, and Redis against a real redis-server):
compare-and-set, renewed, expired and removed with its session; what an idle session
costs in Redis; two nodes updating one session's state at once."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from hypothesis import given, settings, strategies as st

from scaled_mcp.cluster import MemoryBackend, SessionNotFound, SessionStore, StoredDocument
from scaled_mcp.protocol.session import SessionPhase, SessionState, decode_session_document
from scaled_mcp.runtime import SessionStateConflict, SessionStateHandle
from scaled_mcp_redis import RedisBackend

from .cluster import Redis


def _prefix(request: pytest.FixtureRequest) -> str:
    # A prefix per test: tests share the server, never their keys.
    return f"t{abs(hash(request.node.name)) % 10**8}:"


@pytest.fixture(params=["memory", "redis"])
async def store(redis: Redis, request: pytest.FixtureRequest) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        async with MemoryBackend().run() as memory:
            yield memory.sessions
        return
    async with RedisBackend(redis.url, prefix=_prefix(request)).run() as backend:
        yield backend.sessions


def state(session_id: str) -> SessionState:
    return SessionState(
        session_id=session_id,
        protocol_version="2025-11-25",
        phase=SessionPhase.OPERATING,
        client_info={"name": "a-typical-client", "title": "A Typical Client", "version": "1.2.3"},
        client_capabilities={"sampling": {}, "elicitation": {"form": {}}, "roots": {}},
        log_level="info",
        subscriptions=frozenset({"file:///some/resource.txt"}),
        created_at=1.8e9,
        last_activity=1.8e9,
    )


async def test_compare_and_set(store: SessionStore) -> None:
    assert await store.load_document("s") == StoredDocument()
    with pytest.raises(SessionNotFound):
        await store.write_document("s", b'{"a":1}', version=0)
    await store.save(state("s"), ttl=30)
    assert await store.load_document("s") == StoredDocument()
    assert await store.write_document("s", b'{"a":1}', version=0) == 1
    assert await store.write_document("s", b'{"a":9}', version=0) is None
    assert await store.write_document("s", b'{"a":"x:y"}', version=1) == 2
    assert await store.load_document("s") == StoredDocument(2, b'{"a":"x:y"}')
    assert await store.write_document("s", b"", version=2) == 3  # emptied, still counted
    assert await store.write_document("s", b'{"b":1}', version=2) is None
    assert await store.load_document("s") == StoredDocument(3, b"")
    assert await store.load("s") == state("s")  # the session itself untouched


async def test_delete_removes_the_document(store: SessionStore) -> None:
    await store.save(state("s"), ttl=30)
    await store.write_document("s", b'{"a":1}', version=0)
    assert await store.delete("s")
    assert await store.load_document("s") == StoredDocument()
    await store.save(state("s"), ttl=30)  # the same id again: a fresh document
    assert await store.write_document("s", b'{"a":2}', version=0) == 1


async def test_the_document_is_renewed_and_expires_with_its_session(store: SessionStore) -> None:
    await store.save(state("s"), ttl=0.6)
    await store.write_document("s", b'{"a":1}', version=0)
    await trio.sleep(0.4)
    assert await store.touch("s", ttl=0.6)
    await trio.sleep(0.4)
    await store.save(state("s"), ttl=0.6)
    await trio.sleep(0.4)
    # 1.2 s after it was written, kept alive by the touch and the save.
    assert await store.load_document("s") == StoredDocument(1, b'{"a":1}')
    await trio.sleep(0.4)
    assert await store.load("s") is None
    assert await store.load_document("s") == StoredDocument()
    with pytest.raises(SessionNotFound):
        await store.write_document("s", b'{"a":2}', version=1)


async def test_redis_keeps_nothing_more_for_a_session_without_state(
    redis: Redis, request: pytest.FixtureRequest
) -> None:
    prefix = _prefix(request)
    async with RedisBackend(redis.url, prefix=prefix).run() as backend:
        await backend.sessions.save(state("idle"), ttl=30)
        session_key, document_key = f"{prefix}s:{{idle}}", f"{prefix}a:{{idle}}"
        assert redis.cli("EXISTS", document_key).strip() == "0"
        usage = int(redis.cli("MEMORY", "USAGE", session_key).strip())
        assert usage <= 1024, usage
        # Once written, the document has the session's expiry; DELETE takes both.
        handle = SessionStateHandle(backend.sessions, "idle", limit=16 * 1024)
        await handle.set({"cart": ["tea", "milk"]})
        session_ttl = int(redis.cli("PTTL", session_key).strip())
        document_ttl = int(redis.cli("PTTL", document_key).strip())
        assert 0 < document_ttl <= session_ttl <= 30_000
        assert redis.cli("GET", document_key).strip() == '1:{"cart":["tea","milk"]}'
        assert await backend.sessions.delete("idle")
        assert redis.cli("EXISTS", session_key, document_key).strip() == "0"


async def test_two_nodes_updating_at_once_lose_no_write(
    redis: Redis, request: pytest.FixtureRequest
) -> None:
    prefix = _prefix(request)
    async with (
        RedisBackend(redis.url, prefix=prefix).run() as first,
        RedisBackend(redis.url, prefix=prefix).run() as second,
    ):
        await first.sessions.save(state("busy"), ttl=30)
        done = 0
        conflicts = 0

        async def writer(backend: RedisBackend, name: str) -> None:
            nonlocal done, conflicts
            handle = SessionStateHandle(backend.sessions, "busy", limit=16 * 1024, attempts=3)
            for _ in range(40):
                try:
                    await handle.update(
                        lambda doc: {**doc, "n": doc.get("n", 0) + 1, name: doc.get(name, 0) + 1}
                    )
                except SessionStateConflict:
                    conflicts += 1
                    continue
                done += 1

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for backend, name in ((first, "a"), (second, "b")) * 3:
                    nursery.start_soon(writer, backend, name)
        final = decode_session_document((await second.sessions.load_document("busy")).data)
    print(f"updates: {done} written, {conflicts} gave up")
    assert done + conflicts == 240
    assert final["n"] == done == final["a"] + final["b"]


_sessions = st.sampled_from(["s1", "s2"])
_operations = st.lists(
    st.one_of(
        st.tuples(st.just("save"), _sessions),
        st.tuples(
            st.just("write"),
            _sessions,
            st.integers(min_value=0, max_value=3),
            st.sampled_from([b"", b'{"a":1}', b'{"b":"x:y"}']),
        ),
        st.tuples(st.just("delete"), _sessions),
        st.tuples(st.just("touch"), _sessions),
        st.tuples(st.just("load"), _sessions),
    ),
    max_size=20,
)


class _Model:
    """What the document port promises, in plain Python."""

    def __init__(self) -> None:
        self.sessions: set[str] = set()
        self.documents: dict[str, StoredDocument] = {}

    def apply(self, operation: tuple[Any, ...]) -> object:
        kind, session_id = operation[0], operation[1]
        if kind == "save":
            self.sessions.add(session_id)
            return None
        if kind == "write":
            if session_id not in self.sessions:
                return "gone"
            held = self.documents.get(session_id, StoredDocument())
            if held.version != operation[2]:
                return None
            self.documents[session_id] = StoredDocument(held.version + 1, operation[3])
            return held.version + 1
        if kind == "delete":
            self.documents.pop(session_id, None)
            existed = session_id in self.sessions
            self.sessions.discard(session_id)
            return existed
        if kind == "touch":
            return session_id in self.sessions
        return self.documents.get(session_id, StoredDocument())


async def _apply(store: SessionStore, operation: tuple[Any, ...]) -> object:
    kind, session_id = operation[0], operation[1]
    if kind == "save":
        await store.save(state(session_id), ttl=30)
        return None
    if kind == "write":
        try:
            return await store.write_document(session_id, operation[3], version=operation[2])
        except SessionNotFound:
            return "gone"
    if kind == "delete":
        return await store.delete(session_id)
    if kind == "touch":
        return await store.touch(session_id, ttl=30)
    return await store.load_document(session_id)


@settings(max_examples=40, deadline=None)
@given(_operations)
def test_both_stores_keep_the_promises_of_the_port(
    redis: Redis, operations: list[tuple[Any, ...]]
) -> None:
    async def main() -> None:
        prefix = f"h{secrets.token_hex(4)}:"
        async with (
            MemoryBackend().run() as memory,
            RedisBackend(redis.url, prefix=prefix).run() as backend,
        ):
            model = _Model()
            for operation in operations:
                expected = model.apply(operation)
                assert await _apply(memory.sessions, operation) == expected, operation
                assert await _apply(backend.sessions, operation) == expected, operation

    trio.run(main)
