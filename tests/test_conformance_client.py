"""The official conformance harness in client mode: our client, every scenario, three legs.

``examples/conformance_client.py`` is our :class:`scaled_mcp.client.Client` under the
harness's mock servers. Each leg must end with no failed and no warned check: the
2025-11-25 and 2026-07-28 legs, and the leg without ``--spec-version`` where every
scenario runs at its own revision (the extensions and the 2025-03-26 back-compat
scenarios run only there). A check the harness skips (``initialize``'s headers on the
stateless wire, which never sends it) is neither.
"""

from __future__ import annotations

import shlex
import sys
from collections import Counter
from pathlib import Path

import pytest

from .conformance import HARNESS, ROOT, run_client_harness

CLIENT = shlex.join([sys.executable, str(ROOT / "examples" / "conformance_client.py")])

# The client scenarios each leg runs (conformance 0.2.0-alpha.12, --suite all).
SCENARIOS = {"2025-11-25": 19, "2026-07-28": 33, "all": 48}


@pytest.mark.parametrize("leg", sorted(SCENARIOS))
def test_official_harness_passes_our_client(leg: str, tmp_path: Path) -> None:
    assert HARNESS.is_file(), "run `python tests/conformance.py` (scripts/test does) first"
    checks = run_client_harness(CLIENT, None if leg == "all" else leg, tmp_path)
    bad = [
        f"{c['scenario']}: {c['id']} {c['status']}: {c.get('errorMessage')}"
        for c in checks
        if c["status"] not in ("SUCCESS", "INFO", "SKIPPED")
    ]
    assert bad == []
    scenarios = {str(c["scenario"]) for c in checks}
    assert len(scenarios) == SCENARIOS[leg], sorted(scenarios)
    statuses = Counter(str(c["status"]) for c in checks)
    # The official Python SDK's client scores 247 and 405 checks on the first two legs.
    assert statuses["SUCCESS"] >= {"2025-11-25": 247, "2026-07-28": 405, "all": 482}[leg]
