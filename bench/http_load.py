"""HTTP benchmark: ``tools/call`` of an ``echo`` tool, ours beside the peers, same load generator.

Each server runs alone as a subprocess on 127.0.0.1; wrk (Debian package ``wrk``) loads
it with 1, 16 and 64 connections on both wires: the 2025-11-25 session wire (one
session, opened before the run, every request carries its ``Mcp-Session-Id``) and the
stateless 2026-07-28 wire (the ``_meta`` envelope and the standard headers on every
request). Rounds alternate between the servers so that the machine's noise spreads
over all of them; the tables give medians.

Servers: ours on the direct h11 front and on hypercorn (``scaled-mcp serve``), the
official Python SDK (``mcp``, uvicorn, JSON responses) and FastMCP (uvicorn, JSON
responses; in its own venv under ``.cache/bench-peers``, made on first use, because it
pins its own ``mcp``). A server is checked with one real request per wire before it
is loaded; one that answers wrongly is not measured. On request, the ceilings
(``servers/ceiling.py``): a fixed answer from a bare trio + h11 loop and from a bare
ASGI app on hypercorn's trio worker.

    .venv/bin/python bench/http_load.py                      # everything, 3 rounds of 5 s
    .venv/bin/python bench/http_load.py --rounds 1 --duration 3 --servers ours-h11 sdk
    .venv/bin/python bench/http_load.py --servers ours-h11 sdk ceiling-h11 ceiling-hypercorn
    .venv/bin/python bench/http_load.py --servers ours-h11 --baseline ../old-checkout

``--baseline DIR`` adds ``base-h11``: our h11 front running the source tree of another
checkout (its ``src`` and ``adapters`` first on ``PYTHONPATH``), interleaved round by
round with this tree's, to tell whether a change made the server slower.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PEERS = ROOT / ".cache" / "bench-peers"
FASTMCP_SPEC = "fastmcp>=4.1,<4.2"

CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "echo", "arguments": {"text": "hello"}},
}
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
}
ACCEPT = "application/json, text/event-stream"


@dataclass
class Server:
    name: str
    command: list[str]
    ready: re.Pattern[bytes] | None = None  # a stderr line that says it listens
    env: dict[str, str] | None = None  # added to the environment (``base-h11``'s tree)


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Results:
    runs: dict[tuple[str, str, int], list[Run]] = field(default_factory=dict)
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fastmcp_python() -> Path:
    """The Python of FastMCP's venv, made with uv on first use."""
    python = PEERS / "fastmcp" / "bin" / "python"
    if python.exists():
        return python
    uv = shutil.which("uv") or ""
    if not uv:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "uv"], check=True)
        uv = str(Path(sys.executable).parent / "uv")
    PEERS.mkdir(parents=True, exist_ok=True)
    subprocess.run([uv, "venv", "-q", "--python", "python3", str(PEERS / "fastmcp")], check=True)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), FASTMCP_SPEC, "uvicorn"],
        check=True,
        timeout=600,
    )
    return python


def servers(port: int, chosen: Sequence[str], baseline: Path | None = None) -> list[Server]:
    serving = re.compile(rb"serving on")
    scaled = [str(VENV_PYTHON), "-m", "scaled_mcp.cli", "serve", "bench/servers/ours.py"]
    bind = ["--bind", f"127.0.0.1:{port}"]
    every = {
        "ours-h11": lambda: Server("ours-h11", [*scaled, "--http", "h11", *bind], serving),
        "base-h11": lambda: Server(
            "base-h11",
            [*scaled, "--http", "h11", *bind],
            serving,
            env={"PYTHONPATH": f"{baseline}/src{os.pathsep}{baseline}/adapters"},
        ),
        "ours-hypercorn": lambda: Server(
            "ours-hypercorn", [*scaled, "--http", "hypercorn", *bind], serving
        ),
        "sdk": lambda: Server("sdk", [str(VENV_PYTHON), "bench/servers/sdk.py", str(port)]),
        "fastmcp": lambda: Server(
            "fastmcp", [str(fastmcp_python()), "bench/servers/fastmcp_echo.py", str(port)]
        ),
        "ceiling-h11": lambda: Server(
            "ceiling-h11", [str(VENV_PYTHON), "bench/servers/ceiling.py", str(port), "h11"]
        ),
        "ceiling-hypercorn": lambda: Server(
            "ceiling-hypercorn",
            [str(VENV_PYTHON), "bench/servers/ceiling.py", str(port), "hypercorn"],
        ),
    }
    return [every[name]() for name in chosen]


@contextmanager
def running(server: Server, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, **server.env} if server.env else None
    process = subprocess.Popen(
        server.command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with status {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server.name} did not listen within 30 s") from None
                time.sleep(0.1)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def post(
    port: int, body: dict[str, Any], headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        all_headers = {"content-type": "application/json", "accept": ACCEPT, **headers}
        conn.request("POST", "/mcp", json.dumps(body), all_headers)
        response = conn.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        conn.close()


def result_of(body: bytes) -> Any:
    """The JSON-RPC message of a JSON body or of the last SSE data line."""
    text = body.decode()
    if text.lstrip().startswith("{"):
        return json.loads(text)
    data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    return json.loads([d for d in data if d][-1])


def prepare(wire: str, port: int) -> dict[str, str]:
    """Check the server answers ``echo`` correctly on ``wire``; the headers to load it with."""
    if wire == "session":
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        }
        status, headers, body = post(port, init, {})
        if status != 200 or "mcp-session-id" not in headers:
            raise RuntimeError(f"initialize answered {status} {body[:200]!r}")
        wire_headers = {
            "mcp-session-id": headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25",
        }
        post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, wire_headers)
        call: dict[str, Any] = CALL
    else:
        wire_headers = {
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": "tools/call",
            "mcp-name": "echo",
        }
        call = {**CALL, "params": {**CALL["params"], "_meta": META}}  # type: ignore[dict-item]
    status, _, body = post(port, call, wire_headers)
    message = result_of(body) if status == 200 else None
    text = None
    if isinstance(message, dict) and isinstance(message.get("result"), dict):
        content = message["result"].get("content") or [{}]
        text = content[0].get("text")
    if text != "hello":
        raise RuntimeError(f"tools/call answered {status} {body[:200]!r}")
    return wire_headers


def lua_script(wire: str, headers: dict[str, str], directory: Path) -> Path:
    body = CALL if wire == "session" else {**CALL, "params": {**CALL["params"], "_meta": META}}  # type: ignore[dict-item]
    # Every request gets an id of its own: ids must not repeat within a session, and a
    # peer may not answer concurrent requests that share one. Each run starts its ids
    # where the last one stopped (the first id is wrk's script argument).
    text = json.dumps(body, separators=(",", ":"))
    prefix, suffix = text.split('"id":1', 1)
    head, tail = json.dumps(prefix + '"id":'), json.dumps(suffix)
    lines = [
        'wrk.method = "POST"',
        "local n = 0",
        "function init(args) n = tonumber(args[1]) end",
        "function request()",
        "  n = n + 1",
        f"  return wrk.format(nil, nil, nil, {head} .. n .. {tail})",
        "end",
    ]
    for name, value in {"content-type": "application/json", "accept": ACCEPT, **headers}.items():
        lines.append(f'wrk.headers["{name}"] = {json.dumps(value)}')
    path = directory / f"{wire}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
#: The first request id of each wrk run: far apart, so that ids never repeat.
_FIRST_IDS = itertools.count(1000, 10_000_000)


def _ms(value: str) -> float:
    number = re.match(r"([\d.]+)(us|ms|s)", value)
    if number is None:
        raise ValueError(value)
    return float(number.group(1)) * _UNITS[number.group(2)]


def wrk(port: int, script: Path, connections: int, duration: float) -> Run:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/mcp",
        "--",
        str(next(_FIRST_IDS)),
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: (.*)"):
        found = re.search(pattern, out)
        if found:
            errors += sum(int(n) for n in re.findall(r"\d+", found.group(1)))
    return Run(rps, p50, p99, errors)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for package in ("mcp", "uvicorn", "hypercorn", "h11", "trio", "orjson"):
        with suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    fastmcp = PEERS / "fastmcp" / "bin" / "python"
    if fastmcp.exists():
        version = subprocess.run(
            [str(fastmcp), "-c", "import fastmcp; print(fastmcp.__version__)"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        versions.append(f"fastmcp {version}")
    return (
        f"{cpu}, {os.cpu_count()} logical cores, Python {platform.python_version()}; "
        + ", ".join(versions)
    )


def report(results: Results, wires: Sequence[str], connections: Sequence[int]) -> str:
    lines = []
    names = sorted({key[0] for key in results.runs}, key=lambda n: list(_ORDER).index(n))
    for wire in wires:
        for count in connections:
            lines.append(f"\n{wire} wire, {count} connection{'s' if count > 1 else ''}")
            base = results.runs.get(("base-h11", wire, count))
            base_rps = statistics.median(r.rps for r in base) if base else None
            lines.append(
                f"  {'server':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs sdk':>8}"
                + (f"{'vs base':>9}" if base_rps else "")
            )
            sdk = results.runs.get(("sdk", wire, count))
            sdk_rps = statistics.median(r.rps for r in sdk) if sdk else None
            for name in names:
                runs = results.runs.get((name, wire, count))
                if not runs:
                    why = results.skipped.get((name, wire), "not run")
                    lines.append(f"  {name:<16}  skipped: {why}")
                    continue
                rps = statistics.median(r.rps for r in runs)
                ratio = f"{rps / sdk_rps:7.2f}x" if sdk_rps else "       -"
                if base_rps:
                    ratio += f"{rps / base_rps:8.2f}x"
                lines.append(
                    f"  {name:<16}{rps:9.0f}{statistics.median(r.p50_ms for r in runs):9.2f}"
                    f"{statistics.median(r.p99_ms for r in runs):9.2f}"
                    f"{sum(r.errors for r in runs):8d} {ratio}"
                )
    return "\n".join(lines)


_ORDER = (
    "ours-h11",
    "base-h11",
    "ours-hypercorn",
    "sdk",
    "fastmcp",
    "ceiling-h11",
    "ceiling-hypercorn",
)
#: Not MCP servers: a fixed answer on the bare fronts (see servers/ceiling.py).
_CEILINGS = ("ceiling-h11", "ceiling-hypercorn")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=_ORDER,
        default=[name for name in _ORDER if name not in (*_CEILINGS, "base-h11")],
        help="the ceilings (a fixed answer on bare h11 / hypercorn) only when named",
    )
    parser.add_argument(
        "--wires", nargs="+", choices=("session", "stateless"), default=["session", "stateless"]
    )
    parser.add_argument("--connections", nargs="+", type=int, default=[1, 16, 64])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="save the raw results here")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another checkout whose h11 front runs beside ours as base-h11",
    )
    args = parser.parse_args(argv)
    servers_chosen = list(args.servers)
    if args.baseline is not None:
        if not (args.baseline / "src" / "scaled_mcp").is_dir():
            parser.error(f"--baseline {args.baseline}: no src/scaled_mcp there")
        args.baseline = args.baseline.resolve()
        if "base-h11" not in servers_chosen:
            servers_chosen.insert(1, "base-h11")
    elif "base-h11" in servers_chosen:
        parser.error("base-h11 needs --baseline DIR")
    if shutil.which("wrk") is None:
        print("bench/http_load.py: wrk is missing (apt-get install wrk)", file=sys.stderr)
        return 2
    results = Results()
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(1, args.rounds + 1):
            for server_name in servers_chosen:
                port = free_port()
                try:
                    (server,) = servers(port, [server_name], args.baseline)
                except subprocess.CalledProcessError as exc:
                    for wire in args.wires:
                        results.skipped[(server_name, wire)] = f"could not install: {exc}"
                    continue
                print(f"round {round_number}: {server.name}", file=sys.stderr)
                with running(server, port):
                    for wire in args.wires:
                        if (server.name, wire) in results.skipped:
                            continue
                        try:
                            headers = prepare(wire, port)
                        except (RuntimeError, OSError, ValueError) as exc:
                            results.skipped[(server.name, wire)] = str(exc)[:160]
                            continue
                        script = lua_script(wire, headers, Path(scratch))
                        for count in args.connections:
                            wrk(port, script, count, 1.0)  # warm-up
                            run = wrk(port, script, count, args.duration)
                            results.runs.setdefault((server.name, wire, count), []).append(run)
    print(f"Machine: {machine()}")
    print(f"{args.rounds} rounds of {args.duration:g} s per point; medians over rounds.")
    print(report(results, args.wires, args.connections))
    if args.json is not None:
        raw = {
            "/".join(map(str, key)): [run.__dict__ for run in runs]
            for key, runs in results.runs.items()
        }
        args.json.write_text(
            json.dumps(
                {"runs": raw, "skipped": {"/".join(k): v for k, v in results.skipped.items()}},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
