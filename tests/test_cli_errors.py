"""The command line's first contact: where it cannot listen, bad numbers, secrets kept out
of its messages. Every case runs the real command in a subprocess."""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scaled_mcp._cli_options import bind_failure
from scaled_mcp.cli import main

from .cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")
#: An address of TEST-NET-1 (RFC 5737): no machine running the tests has it.
FOREIGN_ADDRESS = "192.0.2.1"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "scaled_mcp.cli", *args],
        capture_output=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=env,
    )


def assert_one_line(result: subprocess.CompletedProcess[bytes], *fragments: bytes) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count(b"\n") == 1, result.stderr
    assert result.stderr.startswith(b"scaled-mcp: ")
    for fragment in fragments:
        assert fragment in result.stderr
    assert b"Traceback" not in result.stderr
    assert result.stdout == b""


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


FRONTS = [
    pytest.param(("--http", "h11"), id="h11"),
    pytest.param(("--http", "hypercorn"), id="hypercorn"),
    pytest.param(
        ("--http", "h11", "--workers", "2", "--broker", "redis://127.0.0.1:1/0"), id="h11-workers"
    ),
    pytest.param(
        ("--http", "hypercorn", "--workers", "2", "--broker", "redis://127.0.0.1:1/0"),
        id="hypercorn-workers",
    ),
]


@pytest.mark.parametrize("front", FRONTS)
def test_a_port_in_use_is_one_line(front: tuple[str, ...], busy_port: int) -> None:
    result = run_cli("serve", EVERYTHING, "--bind", f"127.0.0.1:{busy_port}", *front)
    assert_one_line(result, b"already in use", b"--bind", str(busy_port).encode())


@pytest.mark.parametrize("front", FRONTS)
def test_an_address_the_machine_lacks_is_one_line(front: tuple[str, ...]) -> None:
    result = run_cli("serve", EVERYTHING, "--bind", f"{FOREIGN_ADDRESS}:{free_port()}", *front)
    assert_one_line(result, b"no such address", b"--bind", FOREIGN_ADDRESS.encode())


@pytest.mark.parametrize("front", FRONTS)
def test_a_host_name_that_does_not_resolve_is_one_line(front: tuple[str, ...]) -> None:
    result = run_cli("serve", EVERYTHING, "--bind", "no-such-host.invalid:8000", *front)
    assert_one_line(result, b"does not resolve", b"--bind", b"no-such-host.invalid")


def test_a_listening_failure_inside_the_servers_task_group_is_found() -> None:
    # The address can be taken between the check and the front's own bind: the
    # failure then comes out of trio's task groups, and is still told in one line.
    in_use = OSError(errno.EADDRINUSE, "Address already in use")
    group = BaseExceptionGroup("serving", [ExceptionGroup("front", [ValueError(), in_use])])
    line = bind_failure(group, "127.0.0.1", 8000)
    assert line is not None
    assert "127.0.0.1:8000" in line
    assert "--bind" in line
    assert bind_failure(ExceptionGroup("other", [ValueError("x")]), "h", 1) is None
    assert bind_failure(OSError(errno.EPIPE, "Broken pipe"), "h", 1) is None


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-sessions", "-1"),
        ("--max-sessions", "0"),
        ("--max-sessions", "many"),
        ("--max-sessions", "100000001"),
        ("--workers", "0"),
        ("--workers", "-3"),
        ("--workers", "1025"),
        ("--workers", "2.5"),
    ],
)
def test_numeric_options_have_a_range(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", EVERYTHING, f"{option}={value}"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"scaled-mcp: argument {option}: expected an integer from")
    assert repr(value) in err


def test_the_log_level_is_one_of_the_levels() -> None:
    result = run_cli("serve", EVERYTHING, "--log-level", "loud")
    assert_one_line(result, b"--log-level", b"invalid choice")


SECRET = "do-not-print-this-secret-value"


@pytest.mark.parametrize(
    "key",
    [
        f"k1:{SECRET}",  # too short
        SECRET,  # no ID: prefix: the whole value may be the secret
        f":{SECRET}{SECRET}",  # no id
    ],
)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_rejected_state_key_is_not_echoed(key: str, workers: str) -> None:
    args = ["serve", EVERYTHING, "--state-key", key]
    if workers == "2":
        args += ["--workers", "2", "--broker", "redis://127.0.0.1:1/0"]
    result = run_cli(*args)
    assert_one_line(result, b"bad state key", b"32 bytes")
    assert SECRET.encode() not in result.stderr


def test_a_broker_password_is_not_echoed() -> None:
    result = run_cli("serve", EVERYTHING, "--broker", f"mongodb://user:{SECRET}@db:27017")
    assert_one_line(result, b"unsupported broker", b"user:***@db:27017")
    assert SECRET.encode() not in result.stderr
