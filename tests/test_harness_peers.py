"""``scaled-mcp check --call-tools`` against servers built on other implementations: the
official Python SDK's ``MCPServer`` and FastMCP (``tests/peers/``).

Every failure and warning it reports there is a real defect of that server, listed in
``tests/peers/<peer>.expected`` / ``.warnings`` and written up in
``docs/harness-findings.md``. The test fails on a failure or warning not listed (a new
defect, or a false positive of ours to fix) and on a listed one that no longer shows
(fixed upstream, or the check broken): the lists stay exactly what the checker finds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scaled_mcp.client import Client
from scaled_mcp.harness import ExpectedFailures, Outcome, Report, check
from scaled_mcp.protocol.versions import SUPPORTED_VERSIONS

from .peers import HERE, running

FINDINGS = Path(__file__).parent.parent / "docs" / "harness-findings.md"


def _listed(expected: ExpectedFailures, report: Report, outcome: Outcome) -> list[str]:
    """The entries of ``expected`` that no result with ``outcome`` matches (stale ones)."""
    found = [(r.check_id, r.revision) for r in report.results if r.outcome is outcome]
    stale = [i for i in expected.everywhere if not any(c == i for c, _ in found)]
    stale += [f"{i}@{v}" for i, v in expected.per_revision if (i, v) not in found]
    return stale


def _unlisted(expected: ExpectedFailures, report: Report, outcome: Outcome) -> list[str]:
    return [
        f"{r.check_id}@{r.revision}: {r.reason}"
        for r in report.results
        if r.outcome is outcome and not expected.covers(r.check_id, r.revision)
    ]


async def _warm_up(url: str) -> None:
    """A first use of each list: a cold peer on a loaded machine may take seconds over its
    first answers (conformance is checked here, not start-up latency)."""
    async with Client(url, timeout=60.0) as client:
        await client.list_tools()
        await client.list_prompts()
        await client.list_resources()


@pytest.mark.parametrize("peer", ["sdk", "fastmcp"])
async def test_what_the_checker_finds_in_a_peer_is_what_is_written_up(peer: str) -> None:
    failures = ExpectedFailures.load(HERE / f"{peer}.expected")
    warnings = ExpectedFailures.load(HERE / f"{peer}.warnings")
    with running(peer) as url:
        await _warm_up(url)
        report = await check(url, call_tools=True, timeout=15.0, expected_failures=failures)
    assert report.errors == []
    assert report.revisions == SUPPORTED_VERSIONS  # both peers claim every revision
    assert _unlisted(failures, report, Outcome.FAIL) == []
    assert report.exit_status == 0
    assert _listed(failures, report, Outcome.FAIL) == []
    assert _unlisted(warnings, report, Outcome.WARN) == []
    assert _listed(warnings, report, Outcome.WARN) == []
    # The checks did run: most pass, and the tool calls were made.
    passed = {r.check_id for r in report.results if r.outcome is Outcome.PASS}
    assert {
        "tools.call-valid-arguments",
        "tools.output-schema",
        "features.messages-valid",
    } <= passed
    assert sum(r.outcome is Outcome.PASS for r in report.results) > 100


def test_every_listed_finding_is_written_up() -> None:
    text = FINDINGS.read_text(encoding="utf-8")
    for peer in ("sdk", "fastmcp"):
        for kind in ("expected", "warnings"):
            listed = ExpectedFailures.load(HERE / f"{peer}.{kind}")
            ids = set(listed.everywhere) | {i for i, _ in listed.per_revision}
            for check_id in ids:
                assert f"`{check_id}`" in text, (peer, check_id)
