"""The whole benchmark suite in one command (``bash scripts/bench``): every benchmark of
bench/ run in turn, with progress, into a dated report (markdown and PNG plots).

Steps (each a child process with a deadline; one that fails is reported and the
suite goes on):

1. ``engine``: the protocol core beside the official SDK, µs per message (``engine.py``).
2. ``http``: ``tools/call`` over HTTP, req/s against connections for every server:
   ours on both fronts, the official SDK, FastMCP and the bare ceilings (``http_load.py``, wrk).
3. ``latency``: each server's latency distribution at 16 connections, measured by
   ``scaled-mcp bench`` (HDR histogram).
4. ``sessions``: memory per idle session, ours beside the SDK (``sessions.py``).
5. ``cluster``: one node against three behind nginx on Redis (``cluster.py``; needs
   ``redis-server`` and ``nginx``).
6. ``loadtool``: ``scaled-mcp bench`` beside wrk on the same server (``load_tool.py``).
7. ``websocket``: tools/call per second over one WebSocket beside streamable HTTP, on
   both fronts (``websocket.py``).

    .venv/bin/python bench/suite.py                  # the full suite (~30 minutes)
    .venv/bin/python bench/suite.py --quick          # a few minutes, fewer rounds
    .venv/bin/python bench/suite.py --only http latency --out /tmp/report
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from http_load import VENV_PYTHON, free_port, machine, running, servers
from report import write_report

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
STEPS = ("engine", "http", "latency", "sessions", "cluster", "loadtool", "websocket")


def _run(command: list[str], log: Path, timeout: float) -> str:
    """Run a benchmark script; its stdout (the log keeps stdout and stderr)."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        out.write(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"exit status {done.returncode}: {' / '.join(tail)}")
    return done.stdout


def engine(quick: bool, out: Path, log: Path) -> dict[str, Any]:
    rounds, messages = ("3", "500") if quick else ("9", "2000")
    command = [str(VENV_PYTHON), "bench/engine.py", "-r", rounds, "-n", messages, "--json"]
    data: dict[str, Any] = json.loads(_run(command, log, 1800))
    return data


def http(quick: bool, out: Path, log: Path) -> dict[str, Any]:
    chosen = ["ours-h11", "ours-hypercorn", "sdk", "ceiling-h11"]
    if not quick:
        chosen += ["fastmcp", "ceiling-hypercorn"]
    connections = ["1", "16", "64"]
    rounds, duration = ("1", "2") if quick else ("3", "5")
    raw = out / "http.json"
    command = [str(VENV_PYTHON), "bench/http_load.py", "--servers", *chosen]
    command += ["--connections", *connections, "--rounds", rounds, "--duration", duration]
    text = _run([*command, "--json", str(raw)], log, 3600)
    data: dict[str, Any] = json.loads(raw.read_text())
    data["table"] = text
    return data


def latency(quick: bool, out: Path, log: Path) -> dict[str, Any]:
    chosen = ["ours-h11", "ours-hypercorn", "sdk"] + ([] if quick else ["fastmcp"])
    duration = "3" if quick else "10"
    found: dict[str, Any] = {}
    for name in chosen:
        port = free_port()
        (server,) = servers(port, [name])
        with running(server, port):
            command = [str(VENV_PYTHON), "-m", "scaled_mcp.cli", "bench"]
            command += [f"http://127.0.0.1:{port}/mcp", "--tool", "echo"]
            command += ["--args", '{"text": "hello"}', "-c", "16", "-d", duration, "--json", "-q"]
            found[name] = json.loads(_run(command, log, 600))
    return found


def sessions(quick: bool, out: Path, log: Path) -> dict[str, Any]:
    ours, sdk = ("2000", "300") if quick else ("20000", "3000")
    text = _run([str(VENV_PYTHON), "bench/sessions.py", "--ours", ours, "--sdk", sdk], log, 1800)
    rows = {
        m.group(1).strip(): float(m.group(2))
        for m in re.finditer(r"^  (.+?)\s+([\d.]+) KiB$", text, re.M)
    }
    return {"kib_per_session": rows, "table": text}


def cluster(quick: bool, out: Path, log: Path) -> dict[str, Any]:
    missing = [b for b in ("redis-server", "nginx") if not _have(b)]
    if missing:
        raise RuntimeError(f"needs {' and '.join(missing)} (apt-get install redis-server nginx)")
    rounds, duration = ("1", "2") if quick else ("3", "5")
    command = [str(VENV_PYTHON), "bench/cluster.py", "--rounds", rounds, "--duration", duration]
    text = _run(command, log, 1800)
    rows = {
        m.group(1).strip(): [float(m.group(2)), float(m.group(3)), float(m.group(4))]
        for m in re.finditer(r"^  (\S.+?)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+\d+$", text, re.M)
    }
    return {"rows": rows, "table": text}


def loadtool(quick: bool, out: Path, log: Path) -> dict[str, Any]:
    rounds, duration = ("1", "3") if quick else ("3", "5")
    command = [str(VENV_PYTHON), "bench/load_tool.py", "--rounds", rounds, "--duration", duration]
    text = _run(command, log, 1800)
    return {"table": text}


def websocket(quick: bool, out: Path, log: Path) -> dict[str, Any]:
    rounds, duration = ("1", "2") if quick else ("3", "3")
    command = [
        str(VENV_PYTHON), "bench/websocket.py", "--fronts", "h11", "hypercorn",
        "--rounds", rounds, "--duration", duration,
    ]  # fmt: skip
    text = _run(command, log, 1800)
    return {"table": text}


def _have(binary: str) -> bool:
    return shutil.which(binary) is not None or any(
        Path(folder, binary).exists() for folder in ("/usr/sbin", "/usr/bin")
    )


RUNNERS: dict[str, Callable[[bool, Path, Path], dict[str, Any]]] = {
    "engine": engine,
    "http": http,
    "latency": latency,
    "sessions": sessions,
    "cluster": cluster,
    "loadtool": loadtool,
    "websocket": websocket,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds: a few minutes")
    parser.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--out", type=Path, default=None, help="the report's folder")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench/suite.py: wrk is missing (apt-get install wrk)", file=sys.stderr)
        return 2
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d-%H%M")
    out = args.out or BENCH / "reports" / (stamp + ("-quick" if args.quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    log = out / "suite.log"
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick, "date": stamp}
    failures: dict[str, str] = {}
    began = time.monotonic()
    for number, step in enumerate(args.only, 1):
        print(f"[{number}/{len(args.only)}] {step} ...", end="", flush=True)
        started = time.monotonic()
        try:
            results[step] = RUNNERS[step](args.quick, out, log)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
            failures[step] = str(exc)[:300]
            print(f" failed after {time.monotonic() - started:.0f} s: {failures[step]}")
            continue
        print(f" done in {time.monotonic() - started:.0f} s")
    results["failures"] = failures
    results["seconds"] = time.monotonic() - began
    (out / "results.json").write_text(json.dumps(results, indent=2))
    report = write_report(results, out)
    print(f"report: {report} ({results['seconds']:.0f} s; log: {log})")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
