"""The node's heartbeat to its peers: a broker outage is one warning, not one a beat,
and its end is said."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio

from scaled_mcp import MCPServer
from scaled_mcp.cluster import BackendUnavailable, MemoryBackend
from scaled_mcp.runtime import Runtime, RuntimeConfig


async def test_a_broker_outage_is_logged_once_and_its_end_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = MemoryBackend()
    beat = backend.nodes.heartbeat
    down = True
    beats = 0

    async def heartbeat(*args: Any, **kwargs: Any) -> None:
        nonlocal beats
        beats += 1
        if down:
            raise BackendUnavailable("Redis is unavailable: test")
        await beat(*args, **kwargs)

    backend.nodes.heartbeat = heartbeat  # type: ignore[method-assign]
    config = RuntimeConfig(shutdown_grace=0.1, node_heartbeat_ttl=0.06)  # a beat every 20 ms
    caplog.set_level(logging.DEBUG, logger="scaled_mcp.runtime")
    async with Runtime(MCPServer("peers"), backend=backend, config=config).run():
        with trio.fail_after(5):
            while beats < 8:  # noqa: ASYNC110
                await trio.sleep(0.01)
        down = False
        with trio.fail_after(5):
            while not any("restored" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
                await trio.sleep(0.01)
    failed = [r for r in caplog.records if "heartbeat failed" in r.getMessage()]
    assert [r.levelno for r in failed if r.levelno >= logging.INFO] == [logging.WARNING]
    assert len(failed) >= 8  # the others are there, at debug level
