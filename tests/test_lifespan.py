"""The lifespan: entered by the node before it serves, left after it drained,
its value in ``ctx.lifespan`` on both eras; mounted servers' lifespans run
with the parent's; a failure stops start-up with one line (CLI exit status 2)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from scaled_mcp import Context, MCPServer
from scaled_mcp.runtime import Runtime, RuntimeConfig, StartupError
from tests.helpers import (
    ERAS,
    EraClient,
    mcp_headers,
    post_stream,
    serving_in_memory,
    stateless_meta,
    text_of,
)


def _recording_app(events: list[str], name: str = "main") -> MCPServer:
    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[dict[str, str]]:
        events.append(f"enter {server.server_info['name']}")
        try:
            yield {"pool": f"pool of {server.server_info['name']}"}
        finally:
            events.append(f"exit {server.server_info['name']}")

    app = MCPServer(name, lifespan=lifespan)

    @app.tool()
    async def pool(ctx: Context) -> str:
        events.append(f"call {name}")
        return str(ctx.lifespan["pool"])

    return app


@pytest.mark.parametrize("era", ERAS)
async def test_handlers_reach_the_lifespans_value(era: str) -> None:
    events: list[str] = []
    runtime = Runtime(_recording_app(events), config=RuntimeConfig(shutdown_grace=1))
    assert events == []
    async with serving_in_memory(runtime):
        assert events == ["enter main"]
        result = await EraClient(runtime, era).result("tools/call", {"name": "pool"})
        assert text_of(result) == "pool of main"
    assert events == ["enter main", "call main", "exit main"]


async def test_the_lifespan_is_left_after_the_drain() -> None:
    events: list[str] = []
    release = trio.Event()

    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[None]:
        events.append("enter")
        yield
        events.append("exit")

    app = MCPServer("drain", lifespan=lifespan)

    @app.tool()
    async def slow() -> str:
        await release.wait()
        events.append("finished")
        return "done"

    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=5))
    async with serving_in_memory(runtime) as front:
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "slow", "_meta": stateless_meta()},
        }
        headers = mcp_headers(version="2026-07-28", mcp_method="tools/call", mcp_name="slow")
        post_stream(front, runtime, body, headers)
        await trio.sleep(0.05)

        async def release_later() -> None:
            await trio.sleep(0.2)
            events.append("released")
            release.set()

        front.start_soon(release_later)
    # The drain waited for the handler; only then was the lifespan left.
    assert events == ["enter", "released", "finished", "exit"]


@pytest.mark.parametrize("era", ERAS)
async def test_mounted_lifespans_run_with_the_parents(era: str) -> None:
    events: list[str] = []
    parent = _recording_app(events, "main")
    child = _recording_app(events, "weather")
    parent.mount(child, prefix="weather")
    runtime = Runtime(parent, config=RuntimeConfig(shutdown_grace=1))
    async with serving_in_memory(runtime):
        assert events == ["enter main", "enter weather"]
        client = EraClient(runtime, era)
        own = await client.result("tools/call", {"name": "pool"})
        mounted = await client.result("tools/call", {"name": "weather_pool"})
        # Each handler sees its own server's lifespan value.
        assert text_of(own) == "pool of main"
        assert text_of(mounted) == "pool of weather"
    assert events[-2:] == ["exit weather", "exit main"]


async def test_a_failing_lifespan_stops_start_up_with_one_line() -> None:
    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[None]:
        if server.server_info["name"] == "broken":
            raise ConnectionRefusedError("database at db:5432\nrefused the connection")
        yield

    runtime = Runtime(MCPServer("broken", lifespan=lifespan))
    with pytest.raises(StartupError) as caught:
        async with runtime.run():
            pytest.fail("the node served although its lifespan failed")
    message = str(caught.value)
    assert "\n" not in message
    assert "database at db:5432 refused the connection" in message


async def test_a_server_without_lifespan_gives_none() -> None:
    app = MCPServer("plain")

    @app.tool()
    async def value(ctx: Context) -> str:
        return repr(ctx.lifespan)

    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=1))
    async with serving_in_memory(runtime):
        result = await EraClient(runtime, "handshake").result("tools/call", {"name": "value"})
    assert text_of(result) == "None"


def test_the_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    target = tmp_path / "broken_app.py"
    target.write_text(
        textwrap.dedent(
            """
            from contextlib import asynccontextmanager
            from scaled_mcp import MCPServer

            @asynccontextmanager
            async def lifespan(server):
                raise RuntimeError("no database configured")
                yield

            app = MCPServer("broken", lifespan=lifespan)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "scaled_mcp.cli", "serve", f"{target}:app", "--stdio"],
        input=b"",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.decode().strip().splitlines()
    assert lines == ["scaled-mcp: the lifespan failed: no database configured"]
