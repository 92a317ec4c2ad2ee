"""``scaled-mcp check``: its exit status, table, JSON, JUnit and expected failures,
against the broken server of the engine's tests and against our own server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest
import trio

from scaled_mcp.cli import main

from .conformance import serve
from .test_harness_engine import SEEN_HEADERS, broken_server


async def run_cli(*argv: str) -> int:
    """``scaled-mcp ARGV`` in a worker thread (it runs its own trio loop)."""
    return await trio.to_thread.run_sync(main, list(argv))


async def test_a_broken_server_fails_with_status_1_in_json_and_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "check.xml"
    async with broken_server() as url:
        status = await run_cli(
            "check", url, "--revision", "2025-11-25", "--select", "jsonrpc.",
            "--timeout", "1", "--json", "--junit", str(junit),
        )  # fmt: skip
    assert status == 1
    report = orjson.loads(capsys.readouterr().out)
    assert report["exit_status"] == 1 and report["revisions"] == ["2025-11-25"]
    failed = {r["id"] for r in report["results"] if r["outcome"] == "FAIL"}
    assert "jsonrpc.parse-error" in failed and "jsonrpc.id-types" in failed
    (suite,) = ET.parse(junit).getroot()
    assert suite.get("name") == "jsonrpc" and int(suite.get("failures") or 0) == len(failed)


async def test_expected_failures_make_the_run_pass_and_show_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "expected.txt"
    async with broken_server() as url:
        first = await run_cli("check", url, "--revision", "2025-11-25", "--select", "jsonrpc.",
                              "--timeout", "1", "--json")  # fmt: skip
        report = orjson.loads(capsys.readouterr().out)
        failing = sorted({r["id"] for r in report["results"] if r["outcome"] == "FAIL"})
        expected.write_text("# known defects\n" + "\n".join(f"{i}@2025-11-25" for i in failing))
        second = await run_cli("check", url, "--revision", "2025-11-25", "--select", "jsonrpc.",
                               "--timeout", "1", "--expected-failures", str(expected))  # fmt: skip
    assert (first, second) == (1, 0)
    table = capsys.readouterr().out
    assert "== jsonrpc" in table and "xFAIL jsonrpc.parse-error" in table
    assert f"{len(failing)} expected failures" in table


async def test_our_server_passes_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve("examples/everything.py", "--http", "h11") as url:
        status = await run_cli("check", url, "--revision", "2025-06-18", "--select",
                               "transport.", "--header", "X-Test: 1", "-v")  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "PASS  transport.origin" in out and " 0 failed" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "ftp://example.com/mcp"],
        ["check", "http://127.0.0.1:1/mcp", "--expected-failures", "/nonexistent/file"],
    ],
)
def test_a_bad_command_line_is_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("scaled-mcp: ")


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "http://x/mcp", "--header", "no colon"],
        ["check", "http://x/mcp", "--revision", "2099-01-01"],
        ["check", "http://x/mcp", "--timeout", "0"],
    ],
)
def test_a_bad_option_is_refused_by_the_parser(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2


def test_an_unreachable_server_is_a_failed_run(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", "http://127.0.0.1:1/mcp", "--timeout", "2"])
    assert status == 1
    assert "ERROR http://127.0.0.1:1/mcp: the server accepted none" in capsys.readouterr().out


async def test_the_bearer_token_and_headers_go_with_every_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    SEEN_HEADERS.clear()
    async with broken_server() as url:
        await run_cli("check", url, "--revision", "2025-11-25", "--select", "jsonrpc.ping",
                      "--select", "lifecycle.initialize", "--bearer", "tok-1",
                      "--header", "X-Tenant: blue", "--timeout", "1")  # fmt: skip
    capsys.readouterr()
    assert SEEN_HEADERS
    assert all(h.get("authorization") == "Bearer tok-1" for h in SEEN_HEADERS)
    assert all(h.get("x-tenant") == "blue" for h in SEEN_HEADERS)
