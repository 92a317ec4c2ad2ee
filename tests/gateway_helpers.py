"""What the gateway's tests share: the upstream servers they put behind it.

* :data:`STDIO_UPSTREAM`: our server, run over stdio by each gateway node
  (``scaled-mcp serve tests.gateway_helpers:STDIO_UPSTREAM --stdio``); its tools
  name the upstream process that runs them.
* :func:`official_upstream`: a server built on the official SDK (``mcp`` 2.3's
  ``MCPServer`` on uvicorn, a child process: ``python -m tests.gateway_helpers
  PORT``), whose ``whoami`` tool tells which ``Authorization`` header reached it.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import trio

from scaled_mcp import Context, MCPServer

from .cluster import ROOT, STATE_KEY, Node, free_port, stop

#: Seconds a child server may take to listen (a loaded machine imports slowly).
START_WITHIN: Final = 240.0


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Wait (up to :data:`START_WITHIN`) until ``process`` listens on ``port``."""
    deadline = time.monotonic() + START_WITHIN
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not listen within {START_WITHIN:g} s") from None
            time.sleep(0.1)


#: The command a gateway runs for :data:`STDIO_UPSTREAM`.
STDIO_COMMAND: Final = (
    f"{sys.executable} -m scaled_mcp.cli serve tests.gateway_helpers:STDIO_UPSTREAM --stdio"
)

STDIO_UPSTREAM = MCPServer("stdio-upstream", "1.0.0", instructions="Behind a gateway.")
"""What each gateway node of the stdio tests runs as its upstream."""


@STDIO_UPSTREAM.tool(description="The upstream process's id, and its parent's (the gateway node)")
async def whoami() -> str:
    return f"{os.getpid()} {os.getppid()}"


@STDIO_UPSTREAM.tool(description="Report progress naming the gateway node, then wait")
async def hold(ctx: Context, seconds: float) -> str:
    await ctx.report_progress(1, 2, str(os.getppid()))
    await trio.sleep(seconds)
    return "held"


@STDIO_UPSTREAM.tool(description="Ask the user for a name")
async def ask_user(ctx: Context) -> str:
    result = await ctx.elicit(
        "Name?", {"type": "object", "properties": {"name": {"type": "string"}}}
    )
    return f"{result.action}: {(result.content or {}).get('name')} from {os.getpid()}"


@STDIO_UPSTREAM.resource("test://pid", name="pid", mime_type="text/plain")
async def pid() -> str:
    return str(os.getpid())


def official_upstream_app() -> Any:
    """The official SDK's ``MCPServer`` (Starlette app, streamable HTTP on ``/mcp``)."""
    from mcp.server.mcpserver import Context as SdkContext, MCPServer as SdkServer
    from pydantic import BaseModel

    server = SdkServer("official-upstream", instructions="The official SDK behind a gateway.")

    class Name(BaseModel):
        name: str

    @server.tool(description="Echo the text back")
    async def echo(text: str) -> str:
        return text

    @server.tool(description="The Authorization header that reached this server")
    async def whoami(ctx: SdkContext) -> str:
        headers = ctx.headers or {}
        return str(headers.get("authorization", "none"))

    @server.tool(description="Report progress at each step")
    async def steps(ctx: SdkContext, count: int = 3) -> str:
        for step in range(1, count + 1):
            await ctx.report_progress(step, count, f"step {step}")
        return "done"

    @server.tool(description="Ask the user for a name")
    async def ask_user(ctx: SdkContext) -> str:
        answer = await ctx.elicit("Name?", Name)
        data = getattr(answer, "data", None)
        return f"{answer.action}: {getattr(data, 'name', None)}"

    @server.tool(description="Wait, then answer")
    async def wait(seconds: float) -> str:
        import anyio

        await anyio.sleep(seconds)
        return "waited"

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
def official_upstream(port: int | None = None) -> Iterator[int]:
    """The official SDK's server in a child process for the duration of the context; its port."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.gateway_helpers", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "the official SDK's server")
        yield port
    finally:
        stop(process)


@contextmanager
def gateway_nodes(
    upstream: list[str], count: int, broker: str, folder: Path, tag: str
) -> Iterator[list[Node]]:
    """``count`` gateway nodes (``scaled-mcp serve`` with the ``upstream`` options
    instead of TARGET) sharing ``broker``, named ``<tag>0`` …, logging into ``folder``."""
    started: list[Node] = []
    try:
        for n in range(count):
            port = free_port()
            command = [
                sys.executable, "-m", "scaled_mcp.cli", "serve", *upstream,
                "--bind", f"127.0.0.1:{port}", "--http", "h11", "--broker", broker,
                "--node-id", f"{tag}{n}", "--state-key", STATE_KEY,
            ]  # fmt: skip
            log = open(folder / f"{tag}{n}.log", "ab")  # noqa: SIM115
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
            started.append(Node(f"{tag}{n}", port, process))
        for node in started:
            wait_for_port(node.port, node.process, f"gateway node {node.name}")
        yield started
    finally:
        for node in started:
            stop(node.process)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        official_upstream_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
    )
