"""An MCP server mounted inside a Starlette application, beside the app's own routes.

Serve it with hypercorn's trio worker (the runtime is trio):

    hypercorn --worker-class trio examples/starlette_mount.py:app

MCP is then at ``/api/mcp`` (and its probes at ``/api/healthz`` …), the app's own
route at ``/hello``. Starlette's ``Mount`` does not forward lifespan events, so the
parent's lifespan runs the MCP runtime (``mcp.lifespan``); an application with a
lifespan of its own enters ``mcp.lifespan(app)`` inside it.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from scaled_mcp import MCPServer
from scaled_mcp.runtime import Runtime, RuntimeConfig
from scaled_mcp_hypercorn import MCPASGIApp

server = MCPServer("mounted")


@server.tool()
async def echo(text: str) -> str:
    """Say it back."""
    return text


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("the parent's own route")


mcp = MCPASGIApp(Runtime(server, config=RuntimeConfig(shutdown_grace=1)))
app = Starlette(routes=[Route("/hello", hello), Mount("/api", app=mcp)], lifespan=mcp.lifespan)
