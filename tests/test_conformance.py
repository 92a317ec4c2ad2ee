"""The official conformance harness, both legs, against both HTTP fronts.

Each run must end with no failed and no warned check. The h11 front answers in
JSON unless a handler streams; the hypercorn front is run with ``--response
sse`` so that both ways of answering a POST are scored.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from .conformance import HARNESS, run_harness, serve

FRONTS = {
    "h11": ("--http", "h11"),
    "hypercorn-sse": ("--http", "hypercorn", "--response", "sse"),
}

# The scenarios each leg runs (conformance 0.2.0-alpha.12, --suite all).
MIN_SCENARIOS = {"2025-11-25": 33, "2026-07-28": 40}


@pytest.mark.parametrize("front", sorted(FRONTS))
@pytest.mark.parametrize("spec_version", sorted(MIN_SCENARIOS))
def test_official_harness_passes(front: str, spec_version: str, tmp_path: Path) -> None:
    assert HARNESS.is_file(), "run `python tests/conformance.py` (scripts/test does) first"
    with serve("examples/everything.py", *FRONTS[front]) as url:
        checks = run_harness(url, spec_version, tmp_path)
    bad = [
        f"{c['scenario']}: {c['id']} {c['status']}: {c.get('errorMessage')}"
        for c in checks
        if c["status"] not in ("SUCCESS", "INFO")
    ]
    assert bad == []
    statuses = Counter(str(c["status"]) for c in checks)
    scenarios = {str(c["scenario"]) for c in checks}
    assert len(scenarios) >= MIN_SCENARIOS[spec_version]
    # The official Python SDK's everything server scores 84 and 152 here.
    assert statuses["SUCCESS"] >= {"2025-11-25": 83, "2026-07-28": 152}[spec_version]
