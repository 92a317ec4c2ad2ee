"""The skills extension's scenarios of the official conformance harness (``sep-2640-*``).

``examples/everything.py`` serves ``examples/skills/``; the harness's three server
scenarios of the extension (enumeration, the ``SKILL.md`` manifest, directory
reads) must pass with no failed or warned check on both HTTP fronts and through
a round-robin proxy in front of three nodes sharing a Redis (one cluster start).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .cluster import nginx, nodes, redis_server
from .conformance import HARNESS, HARNESS_DIR, node, serve

SCENARIOS = ("sep-2640-skills-enumeration", "sep-2640-skills-manifest", "sep-2640-skills-directory")
FRONTS = {
    "h11": ("--http", "h11"),
    "hypercorn-sse": ("--http", "hypercorn", "--response", "sse"),
}


def run_scenarios(url: str, output: Path) -> list[dict[str, object]]:
    """Run the skills scenarios against ``url`` (side by side: most of a run is the
    harness starting); every check recorded, by scenario."""
    command = [str(node()), str(HARNESS), "server", "--url", url]
    runs = [
        subprocess.Popen(
            [*command, "--scenario", scenario, "-o", str(output / scenario)],
            cwd=HARNESS_DIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"},
        )
        for scenario in SCENARIOS
    ]
    for run in runs:
        try:
            run.wait(timeout=120)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
    checks: list[dict[str, object]] = []
    for scenario in SCENARIOS:
        recorded = sorted((output / scenario).glob("*/checks.json"))
        assert recorded, f"the harness recorded no checks for {scenario}"
        for path in recorded:
            for check in json.loads(path.read_text()):
                check["scenario"] = scenario
                checks.append(check)
    return checks


def assert_all_pass(checks: list[dict[str, object]]) -> None:
    bad = [
        f"{c['scenario']}: {c['id']} {c['status']}: {c.get('errorMessage')}"
        for c in checks
        if c["status"] not in ("SUCCESS", "INFO")
    ]
    assert bad == []
    assert {c["scenario"] for c in checks} == set(SCENARIOS)
    # Every check of the three scenarios is scored (none skipped as not applicable).
    assert sum(c["status"] == "SUCCESS" for c in checks) >= 45


@pytest.mark.parametrize("front", sorted(FRONTS))
def test_the_skills_scenarios_pass_on_each_front(front: str, tmp_path: Path) -> None:
    assert HARNESS.is_file(), "run `python tests/conformance.py` (scripts/test does) first"
    with serve("examples/everything.py", *FRONTS[front]) as url:
        assert_all_pass(run_scenarios(url, tmp_path))


def test_the_skills_scenarios_pass_through_the_cluster(tmp_path: Path) -> None:
    assert HARNESS.is_file(), "run `python tests/conformance.py` (scripts/test does) first"
    with (
        redis_server(tmp_path) as redis,
        nodes("examples/everything.py", 3, redis.url, "--http", "h11", folder=tmp_path) as started,
        nginx(tmp_path, [n.port for n in started]) as proxy,
    ):
        assert_all_pass(run_scenarios(f"http://localhost:{proxy}/mcp", tmp_path / "out"))
