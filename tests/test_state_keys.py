"""The cluster's shared ``requestState`` keys: the stored set (a codec, its rotation), and
nodes without ``--state-key`` sharing it through their backend -- in memory and on a real
redis-server -- so that an input-required round trip continues on another node, and a
rotation keeps the rounds in flight valid while new ones are sealed with the new key."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
from hypothesis import given, strategies as st

from scaled_mcp.cluster import (
    STATE_KEYS_NAME,
    Backend,
    BackendUnavailable,
    MemoryBackend,
    SharedKey,
    SharedKeySet,
)
from scaled_mcp.runtime import Runtime, RuntimeConfig
from scaled_mcp_redis import RedisBackend

from .cluster import Redis, free_port
from .helpers import Probe, make_app, start_front, stateless_meta, text_of
from .http_client import HttpClient, McpHttp, stateless_headers

ROOT = Path(__file__).resolve().parent.parent

# -- the stored set -----------------------------------------------------------------------

key_ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
secrets_ = st.binary(min_size=32, max_size=64)
instants = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@st.composite
def key_sets(draw: st.DrawFn) -> SharedKeySet:
    ids = draw(st.lists(key_ids, min_size=1, max_size=16, unique=True))
    keys = [
        SharedKey(
            key_id,
            draw(secrets_),
            draw(instants),
            draw(st.none() | instants),
        )
        for key_id in ids
    ]
    return SharedKeySet(tuple(keys))


@given(key_sets())
def test_a_stored_set_reads_back_as_written(keys: SharedKeySet) -> None:
    assert SharedKeySet.decode(keys.encode()) == keys


@given(st.binary(max_size=300) | key_sets().map(lambda k: k.encode()[:-7]))
def test_anything_else_is_refused_with_a_value_error(data: bytes) -> None:
    with suppress(ValueError):
        SharedKeySet.decode(data)


def test_refusals_never_name_a_secret() -> None:
    secret = b"s" * 40
    good = SharedKeySet.minted("k0", secret)
    short = orjson.loads(good.encode())
    short["keys"][0]["secret"] = "c2hvcnQ="
    bad = [
        b"not json",
        orjson.dumps({"keys": []}),
        orjson.dumps(short),
        orjson.dumps({"keys": [good.keys[0].to_json(), good.keys[0].to_json()]}),
    ]
    for data in bad:
        with pytest.raises(ValueError, match=r"requestState keys|key k0") as refused:
            SharedKeySet.decode(data)
        assert "c" * 8 not in str(refused.value) and "c3Nz" not in str(refused.value)
    assert "sss" not in repr(good)


@given(
    key_sets(),
    key_ids,
    secrets_,
    st.floats(min_value=1, max_value=4e9),
    st.floats(min_value=0, max_value=120),
    st.floats(min_value=1, max_value=3600),
)
def test_a_rotation_seals_later_and_keeps_the_old_keys_for_the_grace(
    keys: SharedKeySet, key_id: str, secret: bytes, now: float, activation: float, grace: float
) -> None:
    if any(key.key_id == key_id for key in keys.keys):
        with pytest.raises(ValueError, match="already"):
            keys.rotated(key_id, secret, now=now, activation=activation, grace=grace)
        return
    live = [k for k in keys.keys if k.retire_at is None or k.retire_at > now]
    try:
        rotated = keys.rotated(key_id, secret, now=now, activation=activation, grace=grace)
    except ValueError as exc:
        assert len(live) == 16 and "more than 16" in str(exc)
        return
    assert SharedKeySet.decode(rotated.encode()) == rotated
    starts = now + activation
    after = rotated.in_force(starts)
    assert after[0] == (key_id, secret)  # the new key seals once active
    if starts > now and live:  # before that, it opens tokens but does not seal
        before = rotated.in_force(now)
        assert before[0][0] != key_id and (key_id, secret) in before
        assert before[0] == keys.in_force(now)[0]
    # The keys sealing or opening until the rotation keep opening through the grace...
    opening = {k.key_id for k in keys.keys if k.retire_at is None}
    assert opening <= {k for k, _ in rotated.in_force(starts + grace * 0.99)}
    # ...and no longer after it.
    assert [k for k, _ in rotated.in_force(starts + grace + 1)] == [key_id]


# -- nodes sharing the set ----------------------------------------------------------------

FORM: dict[str, Any] = {"elicitation": {"form": {}}}
ASK = stateless_headers("tools/call", "ask_user")


def ask(request_id: int, **more: Any) -> bytes:
    params = {"name": "ask_user", "arguments": {}, "_meta": stateless_meta(FORM), **more}
    return orjson.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    )


async def asked(mcp: McpHttp) -> dict[str, Any]:
    """An input-required result of ``ask_user``."""
    first = await mcp.client.request("POST", "/mcp", ASK, ask(1))
    assert first.status == 200, first.body
    result: dict[str, Any] = first.json()["result"]
    assert result["resultType"] == "input_required"
    return result


async def answered(mcp: McpHttp, result: dict[str, Any], name: str = "Ada") -> str:
    """The final answer of a retry of ``result`` on ``mcp``."""
    (key,) = result["inputRequests"]
    retry = ask(
        2,
        inputResponses={key: {"action": "accept", "content": {"name": name}}},
        requestState=result["requestState"],
    )
    reply = await mcp.client.request("POST", "/mcp", ASK, retry)
    assert reply.status == 200, reply.body
    return text_of(reply.json()["result"])


def key_id_of(result: dict[str, Any]) -> str:
    return str(result["requestState"].split(".")[1])


@asynccontextmanager
async def two_nodes(
    backends: tuple[Backend, Backend], **config: Any
) -> AsyncIterator[tuple[tuple[McpHttp, McpHttp], tuple[Runtime, Runtime]]]:
    """Two nodes, without keys of their own, on ``backends`` (which share a store)."""
    stop = trio.Event()
    runtimes = tuple(
        Runtime(
            make_app(Probe()),
            backend=backend,
            config=RuntimeConfig(ask_timeout=5, shutdown_grace=1, **config),
        )
        for backend in backends
    )
    async with AsyncExitStack() as stack:
        for runtime in runtimes:
            await stack.enter_async_context(runtime.run())
        nursery = await stack.enter_async_context(trio.open_nursery())
        ports = [await start_front("h11", runtime, stop, nursery) for runtime in runtimes]
        clients = tuple(McpHttp(HttpClient("127.0.0.1", port)) for port in ports)
        yield (clients[0], clients[1]), (runtimes[0], runtimes[1])
        stop.set()


async def test_two_nodes_on_one_memory_backend_share_the_key() -> None:
    backend = MemoryBackend()
    async with two_nodes((backend, backend)) as ((a, b), (node_a, node_b)):
        assert node_a.dispatcher.sealer is not None and node_b.dispatcher.sealer is not None
        assert node_a.dispatcher.sealer.key_ids == node_b.dispatcher.sealer.key_ids
        result = await asked(a)
        assert await answered(b, result) == "accept: Ada"
        stored = await backend.nodes.shared(STATE_KEYS_NAME, b"unused")
        assert SharedKeySet.decode(stored).keys[0].key_id == key_id_of(result)


async def test_explicit_keys_win_and_the_store_is_not_read() -> None:
    backend = MemoryBackend()
    keys = {"mine": b"m" * 32}
    runtime = Runtime(make_app(Probe()), backend=backend, config=RuntimeConfig(
        request_state_keys=keys))  # fmt: skip
    async with runtime.run():
        assert runtime.dispatcher.sealer is not None
        assert runtime.dispatcher.sealer.key_ids == ("mine",)
    assert await backend.nodes.shared(STATE_KEYS_NAME, b"none yet") == b"none yet"


async def test_a_rotation_in_memory_keeps_rounds_in_flight() -> None:
    backend = MemoryBackend()
    async with two_nodes((backend, backend), state_key_refresh=0.2) as ((a, b), _):
        before = await asked(a)
        stored = await backend.nodes.shared(STATE_KEYS_NAME, b"")
        rotated = SharedKeySet.decode(stored).rotated(
            "next", b"n" * 32, now=time.time(), activation=0, grace=600
        )
        assert await backend.nodes.replace_shared(STATE_KEYS_NAME, stored, rotated.encode())
        assert not await backend.nodes.replace_shared(STATE_KEYS_NAME, stored, b"late")
        await trio.sleep(0.5)  # both nodes re-read the set
        after = await asked(b)
        assert key_id_of(after) == "next" != key_id_of(before)
        assert await answered(b, before, "Bo") == "accept: Bo"
        assert await answered(a, after, "Cy") == "accept: Cy"


async def test_a_store_that_lost_the_keys_gets_new_ones_and_old_rounds_complete() -> None:
    backend = MemoryBackend()
    async with two_nodes((backend, backend), state_key_refresh=0.2) as ((a, b), _):
        before = await asked(a)
        stored = await backend.nodes.shared(STATE_KEYS_NAME, b"")
        # As if Redis restarted empty and a node minted a new set.
        fresh = SharedKeySet.minted("fresh", b"f" * 32).encode()
        assert await backend.nodes.replace_shared(STATE_KEYS_NAME, stored, fresh)
        await trio.sleep(0.5)
        after = await asked(a)
        assert key_id_of(after) == "fresh"
        assert await answered(b, before, "Bo") == "accept: Bo"
        assert await answered(b, after, "Cy") == "accept: Cy"


class _Unreachable(MemoryBackend):
    """A memory backend whose shared values do not answer until ``up`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False
        shared = self.nodes.shared

        async def flaky(name: str, initial: bytes) -> bytes:
            if not self.up:
                raise BackendUnavailable("the broker is down")
            return await shared(name, initial)

        self.nodes.shared = flaky  # type: ignore[method-assign]


async def test_a_node_that_cannot_read_the_keys_seals_nothing_until_it_can() -> None:
    backend = _Unreachable()
    async with two_nodes((backend, MemoryBackend()), state_key_refresh=0.2) as ((a, b), _):
        echo = {"name": "echo", "arguments": {"text": "hi"}, "_meta": stateless_meta()}
        plain = await a.client.request(
            "POST",
            "/mcp",
            stateless_headers("tools/call", "echo"),
            orjson.dumps({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": echo}),
        )
        assert plain.status == 200 and text_of(plain.json()["result"]) == "hi"  # served
        question = await a.client.request("POST", "/mcp", ASK, ask(7))
        error = question.json()["error"]
        assert question.json()["id"] == 7 and "requestState keys" in error["message"]
        result = await asked(b)
        (key,) = result["inputRequests"]
        retry = ask(
            8,
            inputResponses={key: {"action": "accept", "content": {"name": "Ada"}}},
            requestState=result["requestState"],
        )
        refused = await a.client.request("POST", "/mcp", ASK, retry)
        assert refused.status == 503 and refused.json()["id"] == 8
        assert "requestState keys" in refused.json()["error"]["message"]
        backend.up = True
        with trio.fail_after(5):
            while True:
                await trio.sleep(0.1)
                reply = await a.client.request("POST", "/mcp", ASK, ask(9))
                if "result" in reply.json():
                    break
        assert reply.json()["result"]["resultType"] == "input_required"


# -- on a real redis-server ---------------------------------------------------------------


async def test_the_redis_value_is_minted_once_and_replaced_by_compare_and_set(
    redis: Redis,
) -> None:
    async with RedisBackend(redis.url, prefix="v1:").run() as backend:
        nodes = backend.nodes
        assert await nodes.shared("x", b"first") == b"first"
        assert await nodes.shared("x", b"second") == b"first"
        assert not await nodes.replace_shared("x", b"second", b"third")
        assert await nodes.replace_shared("x", b"first", b"third")
        assert await nodes.shared("x", b"fourth") == b"third"
    async with RedisBackend(
        f"redis://127.0.0.1:{free_port()}/0", operation_timeout=1
    ).run() as gone:
        with pytest.raises(BackendUnavailable):
            await gone.nodes.shared("x", b"y")


async def rotate(redis: Redis, *options: str) -> str:
    done = await trio.run_process(
        [sys.executable, "-m", "scaled_mcp.cli", "cluster", "rotate-state-key",
         "--broker", redis.url, *options],
        cwd=ROOT, capture_stdout=True, capture_stderr=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


async def test_two_redis_nodes_share_the_key_and_survive_a_rotation(redis: Redis) -> None:
    backends = (RedisBackend(redis.url), RedisBackend(redis.url))
    async with two_nodes(backends, state_key_refresh=0.3) as ((a, b), _):
        before = await asked(a)
        assert await answered(b, before) == "accept: Ada"
        said = await rotate(redis, "--activate-after", "1", "--grace", "600")
        new_id = said.split("requestState key ")[1].split()[0]
        assert new_id != key_id_of(before) and f"key {key_id_of(before)} opens" in said
        stored = redis.cli("GET", "mcp:v:request-state-keys")
        for key in SharedKeySet.decode(stored.strip().encode()).keys:
            assert key.secret.hex() not in said  # the secrets are never printed
        await trio.sleep(1.8)  # active, and read by both nodes
        after = await asked(b)
        assert key_id_of(after) == new_id
        assert await answered(a, before, "Bo") == "accept: Bo"  # in flight: still valid
        assert await answered(a, after, "Cy") == "accept: Cy"


def test_rotating_the_memory_broker_or_an_absent_one_is_one_line() -> None:
    def run(broker: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scaled_mcp.cli", "cluster", "rotate-state-key",
             "--broker", broker],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    memory = run("memory")
    assert memory.returncode == 2 and len(memory.stderr.splitlines()) == 1
    absent = run(f"redis://127.0.0.1:{free_port()}/0")
    assert absent.returncode == 1 and len(absent.stderr.splitlines()) == 1
    assert "cannot rotate" in absent.stderr
