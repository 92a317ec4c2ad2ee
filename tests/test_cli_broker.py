"""A broker that does not answer: said at start-up, retried, and each request that needs it
gets a 503 that echoes its JSON-RPC id."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.jsonrpc import Notification, Request, encode_message, request_id_of

from .cluster import Redis, free_port, redis_server, stop
from .helpers import initialize_request, stateless_meta

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


class Node:
    """``scaled-mcp serve`` in a subprocess, its stderr read line by line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scaled_mcp.cli", "serve", EVERYTHING, *args,
             "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.lines.put(raw.decode(errors="replace"))

    def wait_for(self, fragment: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {fragment!r}; saw {self.seen}") from None
            self.seen.append(line)
            if fragment in line:
                return line

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


@contextmanager
def node(*args: str, env: dict[str, str] | None = None) -> Iterator[Node]:
    started = Node(*args, env=env)
    try:
        yield started
    finally:
        stop(started.process)


def post(url: str, body: Any, **headers: str) -> httpx2.Response:
    return httpx2.post(url, content=orjson.dumps(body), headers={**HEADERS, **headers}, timeout=30)


@pytest.mark.parametrize("front", ["h11", "hypercorn"])
def test_an_unreachable_broker_is_said_at_start_up_and_retried(front: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there, for now
    with node("--http", front, "--broker", f"redis://127.0.0.1:{port}/0") as server:
        server.wait_for("serving on")
        line = server.wait_for("is unreachable")
        assert f"redis://127.0.0.1:{port}/0" in line
        assert "retrying" in line
        assert "--broker" in line
        refused = post(server.url, initialize_request("2025-06-18", request_id=41))
        assert refused.status_code == 503
        assert refused.json()["id"] == 41
        stateless = post(
            server.url,
            {
                "jsonrpc": "2.0",
                "id": "s-7",
                "method": "tools/call",
                "params": {"name": "test_simple_text", "_meta": stateless_meta()},
            },
            **{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call"},
            **{"mcp-name": "test_simple_text"},
        )
        # The stateless wire needs no store for a plain call: it is served.
        assert stateless.status_code == 200, stateless.text
        redis = Redis(port, tmp_path)
        redis.start()
        try:
            server.wait_for("answers now")
            answered = post(server.url, initialize_request("2025-06-18", request_id=42))
            assert answered.status_code == 200, answered.text
            assert answered.json()["id"] == 42
        finally:
            redis.stop()
        assert server.process.poll() is None


def test_a_reachable_broker_says_nothing(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis, node("--http", "h11", "--broker", redis.url) as server:
        server.wait_for("serving on")
        assert post(server.url, initialize_request("2025-06-18")).status_code == 200
        time.sleep(4)  # longer than the probe's deadline
        stop(server.process)
        rest = server.process.stderr.read() if server.process.stderr else b""
        assert b"unreachable" not in rest
        assert not any("unreachable" in line for line in server.seen)


request_ids = st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=20))


@given(request_ids, st.text(min_size=1, max_size=20))
def test_the_id_of_a_request_is_read_from_its_body(request_id: int | str, method: str) -> None:
    body = encode_message(Request(request_id, method, {}))
    assert request_id_of(body) == request_id
    assert request_id_of(encode_message(Notification(method, {}))) is None
    assert request_id_of(b"[" + body + b"]") is None  # a batch has no one id


@given(st.binary(max_size=200))
def test_any_body_gives_an_id_or_none(body: bytes) -> None:
    found = request_id_of(body)
    assert found is None or type(found) in (int, str)


def test_unreadable_ids_are_none() -> None:
    assert request_id_of(b'{"jsonrpc":"2.0","id":true,"method":"m"}') is None
    assert request_id_of(b'{"jsonrpc":"2.0","id":null,"method":"m"}') is None
    assert request_id_of(b'{"jsonrpc":"2.0","id":1.5,"method":"m"}') is None
    assert request_id_of(b'{"jsonrpc":"2.0","id":3,"result":{}}') is None
    assert request_id_of(b"{not json") is None
    assert request_id_of(b"") is None
