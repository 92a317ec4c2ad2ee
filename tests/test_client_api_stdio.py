"""The client over stdio: ``scaled-mcp serve --stdio`` run as a child process,
in both eras; a server that dies mid-call, and one that will not exit."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import trio

from scaled_mcp.client import Client, ClientError, ConnectionLost
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import TextContent

ROOT = Path(__file__).resolve().parent.parent
SERVE = [
    sys.executable,
    "-m",
    "scaled_mcp.cli",
    "serve",
    "--stdio",
    str(ROOT / "examples/everything.py"),
]
#: A process start and an import of the package take a while on a loaded machine.
HANG = 60.0


@pytest.mark.parametrize("mode", ["handshake", "stateless", "auto"])
async def test_a_server_run_over_stdio(mode: str) -> None:
    logs: list[str] = []
    with trio.fail_after(HANG):
        async with Client(
            SERVE,
            mode=mode,  # type: ignore[arg-type]
            log_handler=lambda level, data, logger: logs.append(level),
        ) as client:
            assert client.stateless is (mode != "handshake")
            names = [tool.name for tool in await client.list_tools()]
            assert "test_simple_text" in names
            result = await client.call_tool("test_simple_text")
            assert result.content and isinstance(result.content[0], TextContent)
            await client.set_logging_level("info")
            await client.call_tool("test_tool_with_logging")
            assert logs
            await client.ping()


CRASH_AFTER_ONE_LINE = [
    sys.executable,
    "-c",
    "import sys, json; line = json.loads(sys.stdin.readline());"
    "print(json.dumps({'jsonrpc': '2.0', 'id': line['id'], 'result': {"
    "'protocolVersion': '2025-11-25', 'capabilities': {'tools': {}},"
    "'serverInfo': {'name': 'short-lived', 'version': '1'}}}), flush=True);"
    "sys.stdin.readline(); sys.stdin.readline()",
]


async def test_a_server_that_exits_mid_call_fails_the_call() -> None:
    with trio.fail_after(HANG):
        async with Client(CRASH_AFTER_ONE_LINE, mode="handshake") as client:
            assert client.server_info["name"] == "short-lived"
            with pytest.raises(ConnectionLost):
                await client.call_tool("anything")


DEAF = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
]


async def test_a_server_that_never_answers_is_killed_on_exit() -> None:
    started = time.monotonic()
    with trio.fail_after(HANG), pytest.raises(ClientError) as raised:
        async with Client(DEAF, mode="handshake", timeout=1):
            pass
    assert raised.value.code == ErrorCode.REQUEST_TIMEOUT
    # One second of handshake, then the exit grace twice (stdin closed, SIGTERM ignored).
    assert time.monotonic() - started < 30


async def test_an_empty_or_bad_target_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        Client([])
    with pytest.raises(ValueError, match="not an http"):
        Client("ftp://example.com/mcp")
    with pytest.raises(TypeError):
        Client(42)  # type: ignore[arg-type]


async def test_the_example_client_lists_and_calls() -> None:
    with trio.fail_after(HANG):
        done = await trio.run_process(
            [
                sys.executable,
                str(ROOT / "examples/client.py"),
                "--",
                *SERVE,
                "test_tool_with_progress",
            ],
            capture_stdout=True,
            capture_stderr=True,
        )
    out = done.stdout.decode()
    assert "tool test_simple_text" in out
    assert "progress 100/100" in out
