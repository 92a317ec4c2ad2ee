"""The official conformance harness against the gateway in front of our everything
server over stdio (``scaled-mcp serve --upstream-command "... examples/everything.py
--stdio"``), on the h11 front, both legs.

It passes as the direct server does: on the 2026-07-28 wire each upstream request
declares the downstream client's capabilities (those the gateway forwards), so the
upstream asks nothing of a client that declared none.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from .conformance import HARNESS, run_harness, serve

UPSTREAM = f"{sys.executable} -m scaled_mcp.cli serve examples/everything.py --stdio"
#: The checks that do not pass through the gateway, by leg (none).
KNOWN: dict[str, set[str]] = {"2025-11-25": set(), "2026-07-28": set()}
#: What the direct server scores (``test_conformance.py``), less the known checks.
MIN_SUCCESS = {"2025-11-25": 80, "2026-07-28": 152}


@pytest.mark.parametrize("spec_version", sorted(KNOWN))
def test_the_official_harness_through_the_gateway(spec_version: str, tmp_path: Path) -> None:
    assert HARNESS.is_file(), "run `python tests/conformance.py` (scripts/test does) first"
    with serve("--upstream-command", UPSTREAM, "--http", "h11") as url:
        checks = run_harness(url, spec_version, tmp_path)
    bad = {
        str(c["id"]): f"{c['scenario']}: {c['status']}: {c.get('errorMessage')}"
        for c in checks
        if c["status"] not in ("SUCCESS", "INFO")
    }
    assert set(bad) == KNOWN[spec_version], bad
    statuses = Counter(str(c["status"]) for c in checks)
    assert statuses["SUCCESS"] >= MIN_SUCCESS[spec_version]
