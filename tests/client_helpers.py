"""What the client's end-to-end tests share: the apps they serve, and the official
Python SDK's server run as a peer.

* :func:`make_e2e_app`: our server with a feature of each kind (tools that stream
  progress and logs, ask the client's model and user, close their SSE stream
  mid-call; a static resource, a template, prompts), paged two items at a time so
  that listing follows cursors.
* :data:`CLUSTER_APP`: the app every node of the client's cluster tests serves
  (``scaled-mcp serve tests.client_helpers:CLUSTER_APP``); its tools name the
  process that runs them, so a test can kill the node holding a call.
* :func:`official_server`: the official SDK's ``MCPServer`` on uvicorn in a child
  process (``python -m tests.client_helpers PORT`` runs it).
"""

import os
import subprocess
import sys
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import trio

from scaled_mcp import Context, MCPServer, ToolError

from .cluster import ROOT, free_port, stop, wait_for_port
from .helpers import Probe

# -- our app ----------------------------------------------------------------------------


def make_e2e_app(probe: Probe | None = None) -> MCPServer:
    """Our server as the client's end-to-end tests see it (two items a page);
    its ``block`` tool reports to ``probe``."""
    probe = probe or Probe()
    app = MCPServer("client-e2e", "1.0.0", instructions="Tests of the client.", page_size=2)

    @app.tool(description="Echo the text back")
    async def echo(text: str) -> str:
        return text

    @app.tool(description="Add two numbers; the sum as structured content")
    async def add(a: int, b: int) -> dict[str, int]:
        return {"sum": a + b}

    @app.tool(description="Report progress and log at each step")
    async def steps(ctx: Context, count: int = 3) -> str:
        for step in range(1, count + 1):
            await ctx.report_progress(step, count, f"step {step}")
            await ctx.info(f"step {step}")
        return "done"

    @app.tool(description="Ask the client's model")
    async def ask_model(ctx: Context, prompt: str) -> str:
        result = await ctx.sample([prompt], max_tokens=10)
        return f"model said: {getattr(result.content, 'text', None)}"

    @app.tool(description="Ask the user for a name")
    async def ask_user(ctx: Context) -> str:
        result = await ctx.elicit(
            "Name?", {"type": "object", "properties": {"name": {"type": "string"}}}
        )
        return f"{result.action}: {(result.content or {}).get('name')}"

    @app.tool(description="Fail as a tool does")
    async def refuse() -> str:
        raise ToolError("not today")

    @app.tool(description="Close the SSE stream mid-call, then go on")
    async def reconnect(ctx: Context) -> str:
        await ctx.report_progress(1, 3, "before the break")
        await ctx.close_sse_stream()
        await trio.sleep(0.2)
        await ctx.report_progress(2, 3, "after the break")
        await trio.sleep(0.2)
        return "after the break"

    @app.tool(description="Tell the clients that the tools changed")
    async def touch() -> str:
        app.remove_tool("echo")
        app.add_tool(echo, description="Echo the text back")
        return "touched"

    @app.tool(description="Tell the subscribers of a resource that it changed")
    async def update(ctx: Context, uri: str) -> str:
        await ctx.notify_resource_updated(uri)
        return "updated"

    @app.tool(description="Report progress, then wait until cancelled")
    async def block(ctx: Context) -> str:
        await ctx.report_progress(0, 1, "blocking")
        probe.started.set()
        try:
            await trio.sleep_forever()
        finally:
            probe.cancelled.set()

    @app.resource("test://static", name="static", mime_type="text/plain")
    async def static() -> str:
        return "static text"

    @app.resource("test://second", name="second", mime_type="text/plain")
    async def second() -> str:
        return "second text"

    @app.resource("test://third", name="third", mime_type="text/plain")
    async def third() -> str:
        return "third text"

    @app.resource("test://items/{id}", name="item", mime_type="text/plain")
    async def item(id: str) -> str:
        return f"item {id}"

    @app.prompt(description="Greet someone")
    async def greet(name: str) -> str:
        return f"Hello, {name}!"

    @app.prompt(description="A prompt without arguments")
    async def plain() -> str:
        return "plain prompt"

    return app


#: The tools of :func:`make_e2e_app`, in the order it lists them.
E2E_TOOLS = (
    "echo",
    "add",
    "steps",
    "ask_model",
    "ask_user",
    "refuse",
    "reconnect",
    "touch",
    "update",
    "block",
)


# -- what the client sends ---------------------------------------------------------------


class Recorder(httpx2.Auth):
    """An ``httpx2.Auth`` that changes nothing and keeps each request's method and headers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        self.requests.append((request.method, {k.lower(): v for k, v in request.headers.items()}))
        yield request

    def resumed_with(self) -> list[str]:
        """The ``Last-Event-ID`` of each GET that resumed a stream."""
        return [
            headers["last-event-id"]
            for method, headers in self.requests
            if method == "GET" and "last-event-id" in headers
        ]


# -- the cluster's app ------------------------------------------------------------------

CLUSTER_APP = MCPServer("client-cluster-tests", "1.0.0")
"""What each node of the client's cluster tests serves."""


@CLUSTER_APP.tool(description="Echo the text back, with the serving process's id")
async def echo(text: str) -> str:
    return f"{text} from {os.getpid()}"


@CLUSTER_APP.tool(description="Report progress naming the serving process, then wait")
async def hold(ctx: Context, seconds: float) -> str:
    await ctx.report_progress(1, 2, str(os.getpid()))
    await trio.sleep(seconds)
    return "held"


@CLUSTER_APP.tool(description="Tell every session's GET stream that the tools changed")
async def touch_tools() -> str:
    CLUSTER_APP.remove_tool("echo")
    CLUSTER_APP.add_tool(echo, description="Echo the text back, with the serving process's id")
    return "touched"


# -- the official SDK's server ----------------------------------------------------------


def official_app() -> Any:
    """The official SDK's ``MCPServer`` (Starlette app, streamable HTTP on ``/mcp``)."""
    from mcp.server.mcpserver import Context as SdkContext, MCPServer as SdkServer
    from mcp.server.mcpserver.exceptions import ToolError as SdkToolError

    server = SdkServer("official-peer", instructions="The official SDK's server.")

    @server.tool(description="Echo the text back")
    async def echo(text: str) -> str:
        return text

    @server.tool(description="Add two numbers")
    async def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Report progress at each step")
    async def steps(ctx: SdkContext, count: int = 3) -> str:
        for step in range(1, count + 1):
            await ctx.report_progress(step, count, f"step {step}")
        return "done"

    @server.tool(description="Fail as a tool does")
    async def refuse() -> str:
        raise SdkToolError("not today")

    @server.resource("test://static", name="static", mime_type="text/plain")
    async def static() -> str:
        return "static text"

    @server.resource("test://items/{id}", name="item", mime_type="text/plain")
    async def item(id: str) -> str:
        return f"item {id}"

    @server.prompt(description="Greet someone")
    async def greet(name: str) -> str:
        return f"Hello, {name}!"

    return server.streamable_http_app()


@contextmanager
def official_server() -> Iterator[int]:
    """The official SDK's server in a child process for the duration of the context; its port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.client_helpers", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "the official SDK's server")
        yield port
    finally:
        stop(process)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        official_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
    )
