"""``scaled-mcp check`` against our own everything server: on the h11 front, on
hypercorn answering every POST with an SSE stream (so that the stream checks run),
and through the 3-node cluster behind a round-robin proxy. Nothing may fail or
warn: a failure is a defect of the server or of the check, and either is a bug."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from scaled_mcp.harness import Outcome, Report, check
from scaled_mcp.protocol.versions import SUPPORTED_VERSIONS

from .cluster import nginx, nodes, redis_server
from .conformance import serve

EVERYTHING = "examples/everything.py"


def assert_clean(
    report: Report, min_passed: int, revisions: tuple[str, ...] = SUPPORTED_VERSIONS
) -> Counter[Outcome]:
    bad = [
        f"{r.check_id}@{r.revision} {r.outcome.value}: {r.reason}"
        for r in report.results
        if r.outcome in (Outcome.FAIL, Outcome.WARN)
    ]
    assert report.errors == []
    assert bad == []
    assert report.revisions == revisions
    counts = Counter(r.outcome for r in report.results)
    assert counts[Outcome.PASS] >= min_passed, counts
    assert report.exit_status == 0
    return counts


async def test_our_everything_server_passes_every_check_in_every_revision() -> None:
    with serve(EVERYTHING, "--http", "h11") as url:
        report = await check(url, timeout=10.0)  # every revision it claims: all of them
    counts = assert_clean(report, 89)
    assert counts[Outcome.SKIP] < counts[Outcome.PASS]


async def test_our_server_passes_the_stream_checks_when_it_answers_with_streams() -> None:
    # hypercorn, every POST answered with a primed SSE stream: the stream checks run.
    with serve(EVERYTHING, "--http", "hypercorn", "--response", "sse") as url:
        report = await check(url, revisions=["2025-11-25"], timeout=10.0)
    assert_clean(report, 20, ("2025-11-25",))
    ran = {r.check_id for r in report.results if r.outcome is Outcome.PASS}
    assert {"transport.resume-post-stream", "transport.event-ids-unique"} <= ran


async def test_our_cluster_passes_every_check(tmp_path: Path) -> None:
    # Three nodes behind a round-robin proxy: each request may land on another node.
    revisions = ("2025-11-25", "2026-07-28")
    with (
        redis_server(tmp_path) as redis,
        nodes(EVERYTHING, 3, redis.url, "--http", "h11", folder=tmp_path) as started,
        nginx(tmp_path, [node.port for node in started]) as proxy,
    ):
        report = await check(f"http://localhost:{proxy}/mcp", revisions=revisions, timeout=10.0)
    assert_clean(report, 35, revisions)
