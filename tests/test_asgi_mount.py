"""Mounted in a Starlette application served by hypercorn's trio worker
(``examples/starlette_mount.py``): MCP under the mount's path beside the parent's own
routes, the runtime run by the parent's lifespan (and stopped with it), a clear 503
without it, and a clear start-up failure under asyncio."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.routing import Mount

from scaled_mcp.client import Client
from scaled_mcp.runtime import Runtime, RuntimeConfig
from scaled_mcp_hypercorn import MCPASGIApp

from .helpers import JSON_AND_SSE, initialize_request

EXAMPLE = Path(__file__).parent.parent / "examples" / "starlette_mount.py"


def example() -> Any:
    """A fresh copy of the example module (its runtime runs once)."""
    spec = importlib.util.spec_from_file_location("starlette_mount", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parent(mcp: MCPASGIApp, *, lifespan: bool = True) -> Starlette:
    routes = [Mount("/api", app=mcp)]
    return Starlette(routes=routes, lifespan=mcp.lifespan if lifespan else None)


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """``app`` on hypercorn's trio worker for the context; its base URL."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(
            functools.partial(serve, app, config, shutdown_trigger=stop.wait)
        )
        yield "http://" + bound[0].removeprefix("http://")
        stop.set()


HEADERS = {"content-type": "application/json", "accept": JSON_AND_SSE}


async def test_mcp_mounted_beside_the_parents_routes() -> None:
    mounted = example()
    runtime = mounted.mcp.runtime
    async with served(mounted.app) as base, httpx2.AsyncClient() as http:
        assert runtime.is_running  # started by the parent's lifespan
        opened = await http.post(f"{base}/api/mcp", json=initialize_request(), headers=HEADERS)
        assert opened.status_code == 200, opened.text
        assert opened.headers["mcp-session-id"]
        assert opened.json()["result"]["serverInfo"]["name"] == "mounted"
        own = await http.get(f"{base}/hello")
        assert (own.status_code, own.text) == (200, "the parent's own route")
        assert (await http.get(f"{base}/api/healthz")).status_code == 200
        assert (await http.post(f"{base}/mcp", json={}, headers=HEADERS)).status_code == 404
    assert not runtime.is_running  # stopped with the parent


async def test_the_2024_11_05_transport_announces_its_messages_url_under_the_mount() -> None:
    mounted = example()
    async with served(mounted.app) as base:
        with trio.fail_after(20):
            # The client POSTs its messages to the URL the stream announces.
            async with Client(f"{base}/api/sse") as client:
                assert [tool.name for tool in await client.list_tools()]
        async with httpx2.AsyncClient() as http, http.stream("GET", f"{base}/api/sse") as events:
            async for line in events.aiter_lines():
                if line.startswith("data:"):
                    assert line.removeprefix("data:").strip().startswith("/api/messages?")
                    break


async def test_without_the_lifespan_a_request_is_told_why() -> None:
    runtime = Runtime(example().server, config=RuntimeConfig(shutdown_grace=1))
    app = parent(MCPASGIApp(runtime), lifespan=False)
    async with served(app) as base, httpx2.AsyncClient() as http:
        refused = await http.post(f"{base}/api/mcp", json=initialize_request(), headers=HEADERS)
    assert refused.status_code == 503
    assert "enter MCPASGIApp.lifespan()" in refused.json()["error"]["message"]


def test_under_asyncio_the_parent_fails_at_start_up() -> None:
    app = parent(MCPASGIApp(Runtime(example().server)))
    sent: list[dict[str, Any]] = []

    async def startup() -> None:
        queue: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        await queue.put({"type": "lifespan.startup"})

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        with pytest.raises(RuntimeError, match="runs on trio"):
            await app({"type": "lifespan", "asgi": {"version": "3.0"}}, queue.get, send)

    asyncio.run(startup())
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "hypercorn's trio worker" in sent[0]["message"]
