"""The node's figures: bounded labels whatever the names, histograms that add up, snapshots
shared between workers (and stale ones dropped), and ``--workers 2`` served as one."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx2
import orjson
from hypothesis import given, settings, strategies as st
from prometheus_client.parser import text_string_to_metric_families

from scaled_mcp.runtime._metrics import LATENCY_BUCKETS, OTHER, Metrics

from .cluster import redis_server, workers
from .helpers import initialize_request

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}

OUTCOMES = st.sampled_from(["ok", "error", "tool_error", "input_required", "cancelled"])
NAMES = st.text(min_size=1, max_size=12)


def samples(body: bytes) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    ]


@settings(max_examples=60)
@given(
    calls=st.lists(st.tuples(NAMES, st.none() | NAMES, OUTCOMES, st.floats(0, 100)), max_size=200),
    max_methods=st.integers(1, 5),
    max_tools=st.integers(1, 5),
)
def test_labels_stay_bounded_and_counts_add_up(
    calls: list[tuple[str, str | None, str, float]], max_methods: int, max_tools: int
) -> None:
    metrics = Metrics("n", max_methods=max_methods, max_tools=max_tools)
    for method, tool, outcome, seconds in calls:
        metrics.observe(method, tool, outcome, seconds)
    methods = {method for method, _, _ in metrics.requests}
    tools = {tool for _, tool, _ in metrics.requests} - {""}
    assert len(methods - {OTHER}) <= max_methods
    assert len(tools - {OTHER}) <= max_tools
    # A name becomes a label only once it succeeded.
    succeeded = {method for method, _, outcome, _ in calls if outcome == "ok"}
    assert methods - {OTHER} <= succeeded
    assert sum(series.count for series in metrics.requests.values()) == len(calls)
    for series in metrics.requests.values():
        assert sum(series.buckets) == series.count
    exposed = samples(metrics.exposition()[0])
    counts = [value for name, _, value in exposed if name.endswith("_duration_seconds_count")]
    assert sum(counts) == len(calls)
    infinite = [
        v for name, labels, v in exposed if name.endswith("_bucket") and labels["le"] == "+Inf"
    ]
    assert infinite == counts


def test_a_bucket_holds_what_is_at_most_its_bound() -> None:
    metrics = Metrics("n")
    for seconds in (LATENCY_BUCKETS[0], LATENCY_BUCKETS[0] * 1.01, 1e9):
        metrics.observe("ping", None, "ok", seconds)
    (series,) = metrics.requests.values()
    assert series.buckets[0] == 1 and series.buckets[1] == 1 and series.buckets[-1] == 1


def test_workers_share_snapshots_and_drop_stale_ones(tmp_path: Path) -> None:
    first, second, gone = (Metrics(name, share_dir=str(tmp_path)) for name in ("w0", "w1", "w2"))
    first.observe("ping", None, "ok", 0.001)
    second.observe("ping", None, "ok", 0.001)
    second.observe("tools/call", "echo", "ok", 0.002)
    second.events_appended = 7
    for metrics in (first, second, gone):
        metrics.gauges["sessions"] = ("Sessions", lambda: 3)
        metrics.share()
    old = time.time() - 60
    os.utime(tmp_path / "w2.json", (old, old))  # a worker that died without cleaning up
    exposed = samples(first.exposition()[0])
    sessions = {labels["node"]: v for name, labels, v in exposed if name == "scaled_mcp_sessions"}
    assert sessions == {"w0": 3, "w1": 3}
    appended = {
        labels["node"]: v
        for name, labels, v in exposed
        if name == "scaled_mcp_events_appended_total"
    }
    assert appended == {"w0": 0, "w1": 7}
    second.unshare()
    assert not (tmp_path / "w1.json").exists()
    assert orjson.loads((tmp_path / "w0.json").read_bytes())["node"] == "w0"


def test_workers_serve_their_figures_as_one(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis, workers(EVERYTHING, redis.url, 2) as port:
        base = f"http://127.0.0.1:{port}"
        sent = 12
        for n in range(sent):  # a connection each: the kernel spreads them
            with httpx2.Client(base_url=base, timeout=30) as client:
                answer = client.post(
                    "/mcp", headers=HEADERS, content=orjson.dumps(initialize_request(request_id=n))
                )
                assert answer.status_code == 200
        deadline = time.monotonic() + 10
        while True:
            with httpx2.Client(base_url=base, timeout=30) as client:
                scraped = client.get("/metrics")
            assert scraped.status_code == 200
            exposed = samples(scraped.content)
            nodes = {labels["node"] for name, labels, _ in exposed if name == "scaled_mcp_sessions"}
            live = sum(v for name, _, v in exposed if name == "scaled_mcp_sessions")
            if (len(nodes) == 2 and live == sent) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # Any worker answers for both: each one's gauge, the sessions of all.
        assert len(nodes) == 2, nodes
        assert live == sent
