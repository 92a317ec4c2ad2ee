"""The operator's endpoints: ``/healthz``, ``/readyz`` and ``/metrics`` routed by the core
(any Host, GET and HEAD only, paths movable and optional), answered by the runtime on both fronts,
readiness following the broker (a real redis-server that goes away) and the drain."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
import trio
from hypothesis import given, strategies as st
from prometheus_client.parser import text_string_to_metric_families

from scaled_mcp import MCPServer
from scaled_mcp.protocol.http import (
    HttpConfig,
    HttpRequest,
    ProbeKind,
    Reject,
    ServeProbe,
    decide,
    precheck,
    readiness_reply,
)
from scaled_mcp.protocol.jsonrpc import LocalProtocolError
from scaled_mcp.protocol.oauth import Principal, ResourceServerConfig
from scaled_mcp.runtime import Authorization, Runtime, RuntimeConfig

from .cluster import free_port, redis_server, stop, wait_for_port
from .helpers import (
    FRONTS,
    MemoryResponder,
    answer_request,
    http_request,
    mcp_headers,
    open_session,
    post,
    serving,
    serving_in_memory,
    stateless_meta,
)

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")

app = MCPServer("operations-tests")


@app.tool()
async def echo(text: str) -> str:
    return text


@app.tool()
async def fail() -> str:
    raise RuntimeError("broken on purpose")


# -- the core's routing -------------------------------------------------------------------


@given(host=st.text(min_size=0, max_size=40))
def test_probes_answer_any_host(host: str) -> None:
    config = HttpConfig()  # only localhost names pass the Host check of /mcp
    for path, kind in (
        ("/healthz", ProbeKind.HEALTH),
        ("/readyz", ProbeKind.READY),
        ("/metrics", ProbeKind.METRICS),
    ):
        request = HttpRequest.from_parsed("GET", path, (("host", host),), b"")
        assert decide(request, config) == ServeProbe(kind)
        assert precheck(request, config) is None


def test_probes_take_get_and_head_only_and_check_origin() -> None:
    config = HttpConfig()
    refused = decide(http_request("POST", b"{}", {"host": "10.0.0.1"}, path="/readyz"), config)
    assert isinstance(refused, Reject) and refused.status == 405
    assert ("allow", "GET, HEAD") in refused.headers
    head = decide(http_request("HEAD", b"", {"host": "10.0.0.1"}, path="/readyz"), config)
    assert head == ServeProbe(ProbeKind.READY)
    foreign = http_request("GET", b"", {"origin": "https://evil.example"}, path="/metrics")
    rejected = decide(foreign, config)
    assert isinstance(rejected, Reject) and rejected.status == 403


def test_probe_paths_move_and_turn_off() -> None:
    config = HttpConfig(metrics_path="/ops/metrics", health_path=None)
    moved = decide(http_request("GET", b"", path="/ops/metrics"), config)
    assert moved == ServeProbe(ProbeKind.METRICS)
    for gone in ("/metrics", "/healthz"):
        answer = decide(http_request("GET", b"", path=gone), config)
        assert isinstance(answer, Reject) and answer.status == 404
    with pytest.raises(LocalProtocolError, match="already another endpoint"):
        HttpConfig(ready_path="/mcp")
    with pytest.raises(LocalProtocolError, match="already another endpoint"):
        HttpConfig(ready_path="/healthz")
    with pytest.raises(LocalProtocolError, match="must start with '/'"):
        HttpConfig(metrics_path="metrics")


@given(problem=st.text(max_size=60))
def test_readiness_reply_is_one_line(problem: str) -> None:
    status, _, body = readiness_reply(problem)
    assert status == 503
    assert body.startswith(b"not ready: ") and body.count(b"\n") == 1
    assert readiness_reply(None)[0] == 200


# -- the runtime in memory ------------------------------------------------------------------


async def ask(runtime: Runtime, path: str) -> MemoryResponder:
    responder = MemoryResponder()
    request = http_request("GET", b"", {"host": "10.9.9.9"}, path=path)
    await answer_request(runtime, request, responder)
    return responder


async def until_status(runtime: Runtime, path: str, status: int, wait: float) -> MemoryResponder:
    """Ask ``path`` until it answers ``status`` (within ``wait`` seconds): that answer."""
    with trio.fail_after(wait):
        while (answer := await ask(runtime, path)).status != status:  # noqa: ASYNC110
            await trio.sleep(0.02)
    return answer


def families(body: bytes) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


async def test_health_ready_and_drain_in_memory() -> None:
    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=1, readiness_interval=0.05))
    async with serving_in_memory(runtime):
        await until_status(runtime, "/readyz", 200, wait=5)
        health = await ask(runtime, "/healthz")
        assert (health.status, health.body) == (200, b"ok\n")
        assert health.headers["cache-control"] == "no-store"
        assert (await ask(runtime, "/metrics")).status == 404  # metrics are off
        runtime.operations.stop_ready()
        drained = await ask(runtime, "/readyz")
        assert (drained.status, drained.body) == (503, b"not ready: draining\n")
        assert (await ask(runtime, "/healthz")).status == 200


async def test_metrics_count_requests_with_bounded_labels() -> None:
    config = RuntimeConfig(shutdown_grace=1, metrics=True, node_id="nodeA")
    runtime = Runtime(app, config=config)
    assert runtime.operations.metrics is not None
    runtime.operations.metrics.max_tools = 1
    async with serving_in_memory(runtime):
        headers = await open_session(runtime)
        calls = [("echo", {"text": "a"}), ("echo", {"text": "b"}), ("fail", {}), ("nope", {})]
        for n, (name, arguments) in enumerate(calls):
            params = {"name": name, "arguments": arguments}
            body = {"jsonrpc": "2.0", "id": n + 1, "method": "tools/call", "params": params}
            assert (await post(runtime, body, headers)).status == 200
        params = {"name": "echo", "arguments": {"text": "c"}, "_meta": stateless_meta()}
        call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": params}
        modern = mcp_headers(version="2026-07-28", mcp_method="tools/call", mcp_name="echo")
        stateless = await post(runtime, call, modern)
        assert stateless.status == 200, stateless.body
        scraped = await ask(runtime, "/metrics")
    assert scraped.status == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    found = families(scraped.body)
    counts = {
        (labels["method"], labels["tool"], labels["outcome"]): value
        for labels, value in found["scaled_mcp_request_duration_seconds_count"]
    }
    assert counts[("tools/call", "echo", "ok")] == 3  # both eras
    # Only one tool may be a label here: the failing one and the unknown one are "other".
    assert counts[("tools/call", "other", "tool_error")] == 1
    assert counts[("tools/call", "other", "error")] == 1
    assert all(labels["node"] == "nodeA" for labels, _ in found["scaled_mcp_sessions"])
    assert found["scaled_mcp_sessions"][0][1] == 1
    # No session id, no request id: the label names are these and no others.
    names = {name for samples in found.values() for labels, _ in samples for name in labels}
    assert names == {"node", "method", "tool", "outcome", "operation", "le"}
    trips = {labels["operation"]: n for labels, n in found["scaled_mcp_backend_calls_total"]}
    assert trips["sessions.save"] >= 1


@pytest.mark.parametrize("front", FRONTS)
async def test_probes_on_both_fronts(front: str) -> None:
    config = RuntimeConfig(shutdown_grace=1, metrics=True, readiness_interval=0.05)
    async with (
        serving(app, front, config) as port,
        httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        # A Kubernetes probe names the pod by its address.
        headers = {"host": f"10.20.30.40:{port}"}
        health = await client.get("/healthz", headers=headers)
        assert (health.status_code, health.text) == (200, "ok\n")
        with trio.fail_after(5):
            while (await client.get("/readyz", headers=headers)).status_code != 200:  # noqa: ASYNC110
                await trio.sleep(0.02)
        metrics = await client.get("/metrics", headers=headers)
        assert metrics.status_code == 200
        assert "scaled_mcp_request_duration_seconds" in metrics.text
        refused = await client.post("/mcp", headers=headers, content=b"{}")
        assert refused.status_code == 421  # the MCP endpoint still checks Host


async def _exchange(port: int, data: bytes) -> bytes:
    """What the server sends on one connection for ``data``, until it closes."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(data)
        received = b""
        with trio.fail_after(5):
            while chunk := await stream.receive_some():
                received += chunk
    return received


async def _never(token: str) -> Principal | None:
    return None


@pytest.mark.parametrize("front", FRONTS)
async def test_head_gets_the_headers_of_get_and_no_body(front: str) -> None:
    resource = ResourceServerConfig(
        resource="http://127.0.0.1/mcp", authorization_servers=("http://issuer.example",)
    )
    config = RuntimeConfig(
        shutdown_grace=1,
        metrics=True,
        readiness_interval=0.05,
        auth=Authorization(resource, _never),
    )
    closing = b"GET /healthz HTTP/1.1\r\nHost: 10.0.0.9\r\nConnection: close\r\n\r\n"
    async with serving(app, front, config) as port:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/healthz", "/metrics", "/mcp"):
            get = await _exchange(
                port,
                b"GET %s HTTP/1.1\r\nHost: 10.0.0.9\r\n" % path.encode()
                + b"Connection: close\r\n\r\n",
            )
            get_head, _, get_body = get.partition(b"\r\n\r\n")
            # HEAD, then a GET on the same connection: the HEAD's answer has no
            # body, or the GET's answer would be read as part of it.
            both = await _exchange(
                port, b"HEAD %s HTTP/1.1\r\nHost: 10.0.0.9\r\n\r\n" % path.encode() + closing
            )
            head, _, rest = both.partition(b"\r\n\r\n")
            assert head.split(b"\r\n")[0] == get_head.split(b"\r\n")[0], (path, both)
            assert rest.startswith(b"HTTP/1.1 200"), (path, both)
            assert rest.endswith(b"\r\n\r\nok\n"), (path, both)
            if path != "/metrics":  # the figures change between two scrapes
                length = [
                    line
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length")
                ]
                assert length == [b"content-length: %d" % len(get_body)], (path, head)


# -- readiness follows the broker -----------------------------------------------------------


async def test_not_ready_within_seconds_of_the_broker_going(tmp_path: Path) -> None:
    from scaled_mcp_redis import RedisBackend

    with redis_server(tmp_path) as redis:
        config = RuntimeConfig(shutdown_grace=1, readiness_interval=0.25, readiness_timeout=1.0)
        runtime = Runtime(app, backend=RedisBackend(redis.url), config=config)
        async with serving_in_memory(runtime):
            await until_status(runtime, "/readyz", 200, wait=10)
            redis.stop()
            gone = time.monotonic()
            answer = await until_status(runtime, "/readyz", 503, wait=10)
            assert time.monotonic() - gone < 3.0
            assert answer.body.startswith(b"not ready: the broker does not answer")
            assert (await ask(runtime, "/healthz")).status == 200
            redis.start()
            await until_status(runtime, "/readyz", 200, wait=10)


# -- the drain, from the command line -------------------------------------------------------


def test_sigterm_turns_readiness_off_before_the_node_stops_accepting() -> None:
    port = free_port()
    command = [sys.executable, "-m", "scaled_mcp.cli", "serve", EVERYTHING,
               "--bind", f"127.0.0.1:{port}", "--drain-delay", "2", "--http", "h11"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process, "the node")
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 10
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "never ready"
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            while (answer := client.get("/readyz")).status_code != 503:
                assert time.monotonic() - signalled < 1.5, "still ready after SIGTERM"
                time.sleep(0.05)
            assert answer.text == "not ready: draining\n"
        # Still accepting new connections during the delay.
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}") as fresh:
            assert fresh.get("/healthz").status_code == 200
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - signalled >= 1.9
    finally:
        stop(process)
