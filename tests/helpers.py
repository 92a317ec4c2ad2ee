"""What the tests share: the messages a client opens with, a context for calling an
app directly, the app the runtime tests serve, and a node serving on a front.

No test module imports another; what two of them need lives here (or, for a
client on a real socket, in ``http_client``).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import orjson
import trio

from scaled_mcp import Context, McpError, MCPServer, ToolError
from scaled_mcp.protocol.jsonrpc import RequestId
from scaled_mcp.protocol.stateless import InputRequest
from scaled_mcp.protocol.versions import Era
from scaled_mcp.runtime import Runtime, RuntimeConfig, serve_h11
from scaled_mcp_hypercorn import serve as serve_hypercorn

# -- messages ---------------------------------------------------------------------------

#: What a client sends once ``initialize`` is answered.
INITIALIZED: Final[dict[str, Any]] = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def initialize_request(
    version: str = "2025-11-25",
    capabilities: dict[str, Any] | None = None,
    *,
    request_id: RequestId = 1,
) -> dict[str, Any]:
    """A handshake-era client's ``initialize`` request."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "tests", "version": "1"},
        },
    }


def stateless_meta(capabilities: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    """The ``_meta`` envelope of a 2026-07-28 request."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities or {},
        "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "1"},
    }
    meta.update(more)
    return meta


def lines(*messages: object) -> bytes:
    """``messages`` as newline-delimited JSON, as a stdio client writes them."""
    return b"".join(orjson.dumps(message) + b"\n" for message in messages)


def text_of(result: Mapping[str, Any]) -> str:
    """The text of a tool result's first content block."""
    return str(result["content"][0]["text"])


# -- calling an app directly ------------------------------------------------------------


class BareExchange:
    """The smallest Exchange: a handshake-era request that asks nothing of the client."""

    era = Era.HANDSHAKE
    request_id: RequestId = 1
    protocol_version = "2025-11-25"
    session_id = "s"
    client_info: Mapping[str, Any] = {"name": "tests", "version": "1"}
    client_capabilities: Mapping[str, Any] = {}
    progress_token = None

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        return None

    async def log(self, level: str, data: Any, logger: str | None) -> None:
        return None

    async def ask(
        self, method: str, params: dict[str, Any], answer_within: float
    ) -> dict[str, Any]:
        raise McpError(-32603, "no client here")

    def answer(self, key: str, question: InputRequest) -> dict[str, Any] | None:
        return None

    def answered(self) -> dict[str, Any]:
        return {}

    async def resource_updated(self, uri: str) -> None:
        return None

    async def close_stream(self) -> None:
        return None


def ctx() -> Context:
    """A context for ``app.handle(...)`` called with no transport around it."""
    return Context(BareExchange())


# -- the app the runtime tests serve ----------------------------------------------------


class Probe:
    """What the tools of :func:`make_app` saw, for the tests to check."""

    def __init__(self) -> None:
        self.cancelled = trio.Event()
        self.started = trio.Event()
        #: Set by a test to let ``held`` and ``reconnect`` go on.
        self.release = trio.Event()
        self.finished = 0


def make_app(probe: Probe) -> MCPServer:
    """The app the runtime tests serve, on any transport; its tools report to ``probe``."""
    app = MCPServer("runtime-tests", "1.0.0")

    @app.tool()
    async def echo(text: str) -> str:
        return text

    @app.tool()
    async def steps(ctx: Context, count: int = 3) -> str:
        for step in range(1, count + 1):
            await ctx.report_progress(step, count)
            await ctx.info(f"step {step}")
        return "done"

    @app.tool()
    async def ask_model(ctx: Context, prompt: str) -> str:
        result = await ctx.sample([prompt], max_tokens=10)
        return f"model said: {getattr(result.content, 'text', None)}"

    @app.tool()
    async def ask_user(ctx: Context) -> str:
        result = await ctx.elicit(
            "Name?", {"type": "object", "properties": {"name": {"type": "string"}}}
        )
        return f"{result.action}: {(result.content or {}).get('name')}"

    @app.tool()
    async def block(ctx: Context) -> str:
        probe.started.set()
        try:
            await trio.sleep_forever()
        finally:
            probe.cancelled.set()

    @app.tool()
    async def stream_then_block(ctx: Context) -> str:
        await ctx.report_progress(1, 2)
        probe.started.set()
        try:
            await trio.sleep_forever()
        finally:
            probe.cancelled.set()

    @app.tool()
    async def held() -> str:
        probe.started.set()
        await probe.release.wait()
        probe.finished += 1
        return "released"

    @app.tool()
    async def nap(seconds: float) -> str:
        await trio.sleep(seconds)
        return f"slept {seconds:g}"

    @app.tool()
    async def broken() -> str:
        raise RuntimeError("secret internals /etc/passwd")

    @app.tool()
    async def refuse() -> str:
        raise ToolError("not today")

    @app.tool()
    async def reconnect(ctx: Context) -> str:
        await ctx.close_sse_stream()
        await probe.release.wait()
        return "after the break"

    @app.tool()
    def blocking_sync(text: str) -> str:
        return text.upper()

    @app.resource("test://watched", mime_type="text/plain")
    async def watched() -> str:
        return "now"

    @app.resource("test://broken")
    async def broken_resource() -> str:
        raise RuntimeError("boom")

    return app


# -- a node on a front ------------------------------------------------------------------

#: The HTTP fronts a node can serve on.
FRONTS: Final = ("h11", "hypercorn")


async def start_front(front: str, runtime: Runtime, stop: trio.Event, nursery: trio.Nursery) -> int:
    """Serve ``runtime`` with ``front`` on a free 127.0.0.1 port until ``stop``; the port."""
    if front == "h11":
        listeners = await nursery.start(
            functools.partial(serve_h11, runtime, "127.0.0.1", 0, shutdown=stop)
        )
        return int(listeners[0].socket.getsockname()[1])
    bound = await nursery.start(
        functools.partial(serve_hypercorn, runtime, ["127.0.0.1:0"], shutdown=stop)
    )
    return int(bound[0].rpartition(":")[2])


@asynccontextmanager
async def serving(
    app: MCPServer, front: str, config: RuntimeConfig | None = None
) -> AsyncIterator[int]:
    """A node serving ``app`` on ``front`` for the duration of the context; its port."""
    runtime = Runtime(app, config=config or RuntimeConfig(shutdown_grace=1))
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        yield await start_front(front, runtime, stop, nursery)
        stop.set()
