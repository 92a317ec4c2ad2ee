"""``ctx.session_state``: the document codec and its bound, the in-memory store's
compare-and-set, the handle's reads, writes and retries against concurrent writers,
and the runtime serving it on both eras (the stateless wire has none)."""

from __future__ import annotations

import datetime
import enum
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
import trio.testing
from hypothesis import given, settings, strategies as st

from scaled_mcp import Context, MCPServer
from scaled_mcp.cluster import MemoryBackend, MemorySessionStore, SessionNotFound, StoredDocument
from scaled_mcp.protocol.jsonrpc import ErrorCode, LocalProtocolError
from scaled_mcp.protocol.session import (
    DEFAULT_MAX_SESSION_DOCUMENT,
    MAX_SESSION_DOCUMENT_DEPTH,
    SessionDocumentTooLarge,
    SessionPhase,
    SessionState,
    decode_session_document,
    encode_session_document,
)
from scaled_mcp.runtime import (
    Runtime,
    RuntimeConfig,
    SessionStateConflict,
    SessionStateGone,
    SessionStateHandle,
    SessionStateUnavailable,
)

from .helpers import start_front, stateless_meta, text_of
from .http_client import HttpClient, McpHttp, stateless_headers
from .session_state_app import app
from .test_stdio import call as stdio_call, stdio

# -- the document codec ------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
documents = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


@given(documents)
def test_a_document_reads_back_as_written(document: dict[str, Any]) -> None:
    data = encode_session_document(document, limit=10**6)
    assert decode_session_document(data) == document
    assert (data == b"") == (document == {})


@given(documents, st.integers(min_value=0, max_value=400))
def test_the_bound_refuses_exactly_the_documents_past_it(
    document: dict[str, Any], limit: int
) -> None:
    size = len(orjson.dumps(document)) if document else 0
    if size <= limit:
        assert len(encode_session_document(document, limit=limit)) == size
    else:
        with pytest.raises(SessionDocumentTooLarge) as raised:
            encode_session_document(document, limit=limit)
        assert (raised.value.size, raised.value.limit) == (size, limit)
        assert f"{size} bytes" in str(raised.value) and f"bound of {limit}" in str(raised.value)


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"a": math.nan}, "$.a"),
        ({"a": [1, math.inf]}, "$.a[1]"),
        ({"a": (1, 2)}, "$.a"),
        ({"a": {1, 2}}, None),
        ({"a": b"x"}, None),
        ({"a": {"b": datetime.date(2026, 1, 1)}}, "$.a.b"),
        ({"a": Colour.RED}, "$.a"),
        ({"a": {1: "x"}}, None),
        ({"a": 2**64}, None),
    ],
)
def test_only_plain_json_is_kept(document: dict[str, Any], where: str | None) -> None:
    with pytest.raises(LocalProtocolError) as raised:
        encode_session_document(document, limit=DEFAULT_MAX_SESSION_DOCUMENT)
    if where is not None:
        assert where in str(raised.value)


def test_documents_are_objects_of_bounded_depth() -> None:
    with pytest.raises(LocalProtocolError, match="JSON object"):
        encode_session_document([1], limit=100)  # type: ignore[arg-type]
    deep: Any = 1
    for _ in range(MAX_SESSION_DOCUMENT_DEPTH + 1):
        deep = [deep]
    with pytest.raises(LocalProtocolError, match="deeper"):
        encode_session_document({"a": deep}, limit=10**6)
    for bad in (b"[1]", b"{", b"\xff"):
        with pytest.raises(LocalProtocolError, match="malformed"):
            decode_session_document(bad)


# -- the in-memory store -----------------------------------------------------------------


def state(session_id: str) -> SessionState:
    return SessionState(
        session_id=session_id, protocol_version="2025-11-25", phase=SessionPhase.OPERATING
    )


async def test_the_memory_store_compares_and_sets_and_forgets_with_the_session() -> None:
    store = MemorySessionStore()
    assert await store.load_document("s") == StoredDocument()
    with pytest.raises(SessionNotFound):
        await store.write_document("s", b'{"a":1}', version=0)
    await store.save(state("s"), ttl=10)
    assert await store.write_document("s", b'{"a":1}', version=0) == 1
    assert await store.write_document("s", b'{"a":2}', version=0) is None  # stale
    assert await store.load_document("s") == StoredDocument(1, b'{"a":1}')
    assert await store.write_document("s", b"", version=1) == 2
    assert await store.load_document("s") == StoredDocument(2, b"")
    assert await store.delete("s")
    assert await store.load_document("s") == StoredDocument()
    await store.save(state("s"), ttl=10)
    assert await store.load_document("s") == StoredDocument()  # not back with a new session


async def test_the_memory_store_expires_the_document_with_its_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = MemorySessionStore()
    await store.save(state("s"), ttl=1)
    await store.write_document("s", b'{"a":1}', version=0)
    await trio.sleep(0.6)
    assert await store.touch("s", ttl=1)
    await trio.sleep(0.6)
    assert (await store.load_document("s")).version == 1  # renewed by the touch
    await trio.sleep(0.5)
    assert await store.load_document("s") == StoredDocument()
    await store.save(state("t"), ttl=1)
    await store.write_document("t", b'{"a":1}', version=0)
    await trio.sleep(1.1)
    assert store.sweep(trio.current_time()) == ["t"]
    await store.save(state("t"), ttl=1)
    assert await store.load_document("t") == StoredDocument()


# -- the handle --------------------------------------------------------------------------


async def _stored(session_id: str = "s") -> MemorySessionStore:
    store = MemorySessionStore()
    await store.save(state(session_id), ttl=60)
    return store


async def test_get_update_set_and_clear() -> None:
    store = await _stored()
    handle = SessionStateHandle(store, "s", limit=1000)
    before = handle.version
    assert handle.available and before is None
    assert await handle.get() == {} and handle.version == 0

    def in_place(doc: dict[str, Any]) -> None:
        doc["cart"] = ["tea"]

    assert await handle.update(in_place) == {"cart": ["tea"]}
    assert await handle.update(lambda doc: {**doc, "n": 1}) == {"cart": ["tea"], "n": 1}
    assert handle.version == 2
    assert await handle.update(lambda doc: doc) == {"cart": ["tea"], "n": 1}
    assert handle.version == 2  # nothing changed: nothing written
    await handle.set({"n": 5})
    assert await SessionStateHandle(store, "s", limit=1000).get() == {"n": 5}
    await handle.clear()
    assert await handle.get() == {} and handle.version == 4


async def test_a_set_after_a_read_loses_to_a_write_in_between() -> None:
    store = await _stored()
    mine = SessionStateHandle(store, "s", limit=1000)
    other = SessionStateHandle(store, "s", limit=1000)
    assert await mine.get() == {}
    await other.set({"by": "other"})
    with pytest.raises(SessionStateConflict) as raised:
        await mine.set({"by": "me"})
    assert raised.value.code == ErrorCode.INTERNAL_ERROR
    assert await other.get() == {"by": "other"}
    # Without a read first, set replaces whatever is there.
    await SessionStateHandle(store, "s", limit=1000).set({"by": "third"})
    assert await other.get() == {"by": "third"}


async def test_past_the_bound_nothing_is_written() -> None:
    store = await _stored()
    handle = SessionStateHandle(store, "s", limit=50)
    await handle.set({"a": 1})
    with pytest.raises(SessionDocumentTooLarge, match="over the bound of 50"):
        await handle.update(lambda doc: {**doc, "blob": "x" * 60})
    with pytest.raises(SessionDocumentTooLarge):
        await handle.set({"blob": "x" * 60})
    assert await handle.get() == {"a": 1}


async def test_a_session_that_ended_has_no_state_to_write() -> None:
    store = await _stored()
    handle = SessionStateHandle(store, "s", limit=1000)
    await handle.set({"a": 1})
    await store.delete("s")
    assert await handle.get() == {}
    for write in (handle.set({"a": 2}), handle.update(lambda d: {"a": 3}), handle.clear()):
        with pytest.raises(SessionStateGone, match="session ended"):
            await write


async def test_the_stateless_wire_has_no_session_state() -> None:
    handle = SessionStateHandle.unavailable("no session on this wire")
    assert not handle.available
    for call in (handle.get(), handle.update(lambda d: d), handle.set({}), handle.clear()):
        with pytest.raises(SessionStateUnavailable, match="no session on this wire"):
            await call


class _Racing(MemorySessionStore):
    """Another writer writes between every read and write of the handle under test."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def load_document(self, session_id: str) -> StoredDocument:
        stored = await super().load_document(session_id)
        self.reads += 1
        await super().write_document(session_id, b'{"by":"other"}', version=stored.version)
        return stored


async def test_update_gives_up_after_its_tries_with_a_clear_error() -> None:
    store = _Racing()
    await store.save(state("s"), ttl=60)
    handle = SessionStateHandle(store, "s", limit=1000, attempts=3)
    with pytest.raises(SessionStateConflict, match="3 tries"):
        await handle.update(lambda doc: {"by": "me"})
    assert store.reads == 3
    assert decode_session_document((await store.load_document("s")).data) == {"by": "other"}


class _Yielding(MemorySessionStore):
    """The memory store, yielding to other tasks before and after each read and
    write as often as the test says (as a network store would)."""

    def __init__(self, pauses: list[int]) -> None:
        super().__init__()
        self._pauses = pauses
        self._next = 0

    async def _pause(self) -> None:
        count = self._pauses[self._next % len(self._pauses)] if self._pauses else 0
        self._next += 1
        for _ in range(count):
            await trio.lowlevel.checkpoint()

    async def load_document(self, session_id: str) -> StoredDocument:
        await self._pause()
        stored = await super().load_document(session_id)
        await self._pause()
        return stored

    async def write_document(self, session_id: str, data: bytes, *, version: int) -> int | None:
        await self._pause()
        written = await super().write_document(session_id, data, version=version)
        await self._pause()
        return written


@settings(max_examples=60, deadline=None)
@given(
    writers=st.integers(min_value=2, max_value=4),
    each=st.integers(min_value=1, max_value=6),
    attempts=st.integers(min_value=1, max_value=4),
    pauses=st.lists(st.integers(min_value=0, max_value=3), max_size=12),
)
def test_concurrent_updates_never_lose_a_write(
    writers: int, each: int, attempts: int, pauses: list[int]
) -> None:
    """Every update that returns is in the final count, once; every other one
    raised SessionStateConflict and changed nothing."""

    async def main() -> tuple[int, int]:
        store = _Yielding(pauses)
        await store.save(state("s"), ttl=600)
        done = 0

        async def writer() -> None:
            nonlocal done
            handle = SessionStateHandle(store, "s", limit=1000, attempts=attempts)
            for _ in range(each):
                try:
                    await handle.update(lambda doc: {"n": doc.get("n", 0) + 1})
                except SessionStateConflict:
                    continue
                done += 1

        async with trio.open_nursery() as nursery:
            for _ in range(writers):
                nursery.start_soon(writer)
        final = decode_session_document((await store.load_document("s")).data)
        return final.get("n", 0), done

    final, done = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert final == done
    if attempts >= writers:
        # Each lost try means another writer's try won: enough tries always get through.
        assert done == writers * each


# -- served by the runtime ---------------------------------------------------------------


class _Counting(MemorySessionStore):
    """The memory store, counting the document reads and writes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def load_document(self, session_id: str) -> StoredDocument:
        self.calls += 1
        return await super().load_document(session_id)

    async def write_document(self, session_id: str, data: bytes, *, version: int) -> int | None:
        self.calls += 1
        return await super().write_document(session_id, data, version=version)


@pytest.fixture
async def served() -> AsyncIterator[tuple[McpHttp, MemoryBackend, _Counting]]:
    backend = MemoryBackend()
    store = _Counting()
    backend.sessions = store
    runtime = Runtime(
        app, backend=backend, config=RuntimeConfig(shutdown_grace=1, max_session_state=200)
    )
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        port = await start_front("h11", runtime, stop, nursery)
        yield McpHttp(HttpClient("127.0.0.1", port)), backend, store
        stop.set()


async def tool(mcp: McpHttp, name: str, arguments: dict[str, Any] | None = None) -> Any:
    reply = await mcp.call(1, "tools/call", {"name": name, "arguments": arguments or {}})
    assert reply.status == 200, reply
    return reply.json()


async def test_a_session_keeps_its_state_between_requests(
    served: tuple[McpHttp, MemoryBackend, _Counting],
) -> None:
    mcp, _, _ = served
    await mcp.initialize()
    other = McpHttp(mcp.client)
    await other.initialize()
    assert text_of((await tool(mcp, "remember", {"key": "a", "value": [1, "x"]}))["result"]) == (
        '{"a":[1,"x"]}'
    )
    assert text_of((await tool(mcp, "recall"))["result"]) == '{"a":[1,"x"]}'
    assert text_of((await tool(other, "recall"))["result"]) == "{}"  # sessions apart
    assert text_of((await tool(mcp, "count", {"times": 3}))["result"]) == "3"
    assert text_of((await tool(mcp, "forget"))["result"]) == "forgotten"
    assert text_of((await tool(mcp, "recall"))["result"]) == "{}"


async def test_requests_that_leave_the_state_alone_never_reach_for_it(
    served: tuple[McpHttp, MemoryBackend, _Counting],
) -> None:
    mcp, _, store = served
    await mcp.initialize()
    for n in range(5):
        assert text_of((await tool(mcp, "echo", {"text": str(n)}))["result"]) == str(n)
    assert (await mcp.call(2, "tools/list")).status == 200
    assert store.calls == 0
    await tool(mcp, "recall")
    assert store.calls == 1


async def test_past_the_configured_bound_the_tool_reports_it_and_keeps_the_state(
    served: tuple[McpHttp, MemoryBackend, _Counting],
) -> None:
    mcp, _, _ = served
    await mcp.initialize()
    await tool(mcp, "remember", {"key": "a", "value": 1})
    refused = (await tool(mcp, "fill", {"size": 300}))["result"]
    assert refused["isError"] is True
    assert "over the bound of 200" in text_of(refused)
    assert text_of((await tool(mcp, "recall"))["result"]) == '{"a":1}'
    assert text_of((await tool(mcp, "fill", {"size": 100}))["result"]) == "filled"


async def test_delete_takes_the_state_with_the_session(
    served: tuple[McpHttp, MemoryBackend, _Counting],
) -> None:
    mcp, backend, _ = served
    await mcp.initialize()
    await tool(mcp, "remember", {"key": "a", "value": 1})
    assert mcp.session_id is not None
    assert (await backend.sessions.load_document(mcp.session_id)).version == 1
    assert (await mcp.client.request("DELETE", "/mcp", mcp.headers())).status == 200
    assert await backend.sessions.load_document(mcp.session_id) == StoredDocument()


async def test_on_the_stateless_wire_session_state_is_a_clear_error(
    served: tuple[McpHttp, MemoryBackend, _Counting],
) -> None:
    mcp, _, store = served
    for request_id, name in enumerate(("recall", "remember", "echo")):
        arguments = {"key": "a", "value": 1} if name == "remember" else {}
        if name == "echo":
            arguments = {"text": "fine"}
        call = {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": stateless_meta()},
        }
        reply = await mcp.client.request(
            "POST", "/mcp", stateless_headers("tools/call", name), orjson.dumps(call)
        )
        body = reply.json()
        if name == "echo":
            assert text_of(body["result"]) == "fine"
            continue
        assert body["error"]["code"] == ErrorCode.INTERNAL_ERROR
        assert "not available on the stateless 2026-07-28 wire" in body["error"]["message"]
    assert store.calls == 0


async def test_the_readme_example_keeps_a_cart() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    source = readme.split("### Session state\n", 1)[1].split("```python\n", 1)[1]
    shop = MCPServer("shop", "1")
    exec(compile(source.split("```", 1)[0], "README.md", "exec"), {"app": shop, "Context": Context})
    runtime = Runtime(shop, config=RuntimeConfig(shutdown_grace=1))
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        mcp = McpHttp(HttpClient("127.0.0.1", await start_front("h11", runtime, stop, nursery)))
        await mcp.initialize()
        for item in ("tea", "milk"):
            await tool(mcp, "add_to_cart", {"item": item})
        listed = (await tool(mcp, "cart"))["result"]
        assert [item["text"] for item in listed["content"]] == ["tea", "milk"]
        stop.set()


async def test_a_stdio_session_keeps_its_state_in_the_process() -> None:
    async with stdio(app) as client:
        await client.initialize()
        await client.send(stdio_call(1, "remember", {"key": "a", "value": 1}))
        assert text_of((await client.receive())["result"]) == '{"a":1}'
        await client.send(stdio_call(2, "count", {"times": 2}))
        assert text_of((await client.receive())["result"]) == "2"
        await client.send(stdio_call(3, "recall"))
        assert text_of((await client.receive())["result"]) == '{"a":1,"n":2}'
