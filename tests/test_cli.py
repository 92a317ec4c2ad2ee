"""The command line: loading TARGET, refusing bad arguments, serving stdio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from scaled_mcp.cli import TargetError, load_target

from .helpers import INITIALIZED, initialize_request, lines, stateless_meta, text_of

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")


def run_cli(
    *args: str, stdin: bytes = b"", timeout: float = 30
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "scaled_mcp.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("serve", "no/such/app.py"), b"no such file"),
        (("serve", f"{EVERYTHING}:missing"), b"has no MCPServer named 'missing'"),
        (("serve", "no_such_module_anywhere:app"), b"cannot import"),
        (("serve", EVERYTHING, "--bind", "nowhere"), b"expected HOST:PORT"),
        (("serve", EVERYTHING, "--http", "gopher"), b"invalid choice"),
        (("serve",), b"the following arguments are required"),
        (("fly",), b"invalid choice"),
    ],
)
def test_bad_arguments_get_one_line_and_status_2(args: tuple[str, ...], message: bytes) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count(b"\n") == 1
    assert result.stdout == b""


def test_the_engine_loads_without_the_redis_extra() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['coredis'] = sys.modules['hiredis'] = None\n"
        "import scaled_mcp\n"
        "for info in pkgutil.walk_packages(scaled_mcp.__path__, 'scaled_mcp.'):\n"
        "    importlib.import_module(info.name)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=ROOT)


@pytest.mark.parametrize("missing", ["coredis", "hiredis"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_redis_broker_without_the_extra_names_it(missing: str, workers: str) -> None:
    # The Redis backend's dependencies are the extra scaled-mcp[redis]: without them,
    # the broker is refused in one line before anything is served.
    hide = f"import sys; sys.modules[{missing!r}] = None; from scaled_mcp.cli import main; "
    code = hide + "raise SystemExit(main(sys.argv[1:]))"
    args = ["serve", EVERYTHING, "--broker", "redis://127.0.0.1:6379/0", "--workers", workers]
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        timeout=30,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert b"pip install 'scaled-mcp[redis]'" in result.stderr
    assert missing.encode() in result.stderr
    assert result.stderr.count(b"\n") == 1
    assert result.stdout == b""


def test_targets_load_by_path_name_or_module(tmp_path: Path) -> None:
    assert load_target(EVERYTHING).server_info["name"] == "scaled-mcp-everything"
    assert load_target(f"{EVERYTHING}:app").server_info["name"] == "scaled-mcp-everything"
    two = tmp_path / "two.py"
    two.write_text("from scaled_mcp import MCPServer\na = MCPServer('a')\nb = MCPServer('b')\n")
    with pytest.raises(TargetError, match="several"):
        load_target(str(two))
    assert load_target(f"{two}:b").server_info["name"] == "b"
    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n")
    with pytest.raises(TargetError, match="syntax error"):
        load_target(str(broken))
    failing = tmp_path / "failing.py"
    failing.write_text("raise RuntimeError('no database')\n")
    with pytest.raises(TargetError, match="no database"):
        load_target(str(failing))


def test_stdio_serves_one_session_until_stdin_ends() -> None:
    stdin = (
        lines(
            initialize_request("2025-06-18"),
            INITIALIZED,
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "test_simple_text"},
            },
            {"jsonrpc": "2.0", "id": 3, "method": "no/such/method"},
        )
        + b"{not json\n"
    )
    result = run_cli("serve", EVERYTHING, "--stdio", stdin=stdin)
    assert result.returncode == 0, result.stderr
    replies = [orjson.loads(line) for line in result.stdout.splitlines()]
    by_id = {reply.get("id"): reply for reply in replies}
    assert by_id[1]["result"]["protocolVersion"] == "2025-06-18"
    assert text_of(by_id[2]["result"]) == "This is a simple text response for testing."
    assert by_id[3]["error"]["code"] == -32601
    assert by_id[None]["error"]["code"] == -32700
    assert len(replies) == 4


def test_stdio_serves_the_stateless_wire_too() -> None:
    meta = stateless_meta({"elicitation": {"form": {}}})
    stdin = lines(
        {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "test_simple_text", "arguments": {}, "_meta": meta},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {
                "name": "test_input_required_result_elicitation",
                "arguments": {},
                "_meta": meta,
            },
        },
        {"jsonrpc": "2.0", "id": 4, "method": "initialize", "params": {"_meta": meta}},
    )
    result = run_cli("serve", EVERYTHING, "--stdio", stdin=stdin)
    assert result.returncode == 0, result.stderr
    by_id = {reply.get("id"): reply for reply in map(orjson.loads, result.stdout.splitlines())}
    assert "2026-07-28" in by_id[1]["result"]["supportedVersions"]
    assert by_id[2]["result"]["resultType"] == "complete"
    assert text_of(by_id[2]["result"]) == "This is a simple text response for testing."
    assert by_id[3]["result"]["resultType"] == "input_required"
    assert "user_name" in by_id[3]["result"]["inputRequests"]
    assert by_id[4]["error"]["code"] == -32602  # a handshake initialize, malformed
