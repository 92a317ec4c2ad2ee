"""The app the authorization cluster tests run on every node (``tests/test_auth_cluster.py``)."""

from __future__ import annotations

import os

import trio

from scaled_mcp import Context, MCPServer

app = MCPServer("auth-cluster-tests", "1.0.0")


@app.tool(description="Who is calling, and which process answers")
async def whoami(ctx: Context) -> str:
    principal = ctx.principal
    assert principal is not None
    return f"{principal.subject} {os.getpid()}"


@app.tool(description="Needs the write scope", scopes=["write"])
async def write(text: str) -> str:
    return f"wrote {text}"


@app.tool(description="Waits, as a task when the client declares the extension", task="optional")
async def wait(seconds: float) -> str:
    await trio.sleep(seconds)
    return f"waited {seconds}"
