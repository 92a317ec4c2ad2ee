"""The app the cluster tests run on every node (``scaled-mcp serve tests/cluster_app.py``)."""

from __future__ import annotations

import trio

from scaled_mcp import Context, MCPServer

app = MCPServer("cluster-tests", "1.0.0")


@app.tool(description="Echo the text back")
async def echo(text: str) -> str:
    return text


@app.tool(description="Ask the client's model")
async def ask_model(ctx: Context, prompt: str) -> str:
    result = await ctx.sample([prompt], max_tokens=10)
    return f"model said: {getattr(result.content, 'text', None)}"


@app.tool(description="Report progress, then wait until cancelled or the time is up")
async def wait(ctx: Context, seconds: float) -> str:
    await ctx.report_progress(1, 2, "started")
    await trio.sleep(seconds)
    return "waited"


@app.tool(description="Log at every level")
async def chatty(ctx: Context) -> str:
    for level in ("debug", "info", "warning", "error"):
        await ctx.log(level, f"a {level} message")
    return "logged"


@app.tool(description="Tell every session's GET stream that the tools changed")
async def touch_tools() -> str:
    app.remove_tool("echo")
    app.add_tool(echo, description="Echo the text back")
    return "touched"


@app.resource("test://watched", mime_type="text/plain")
async def watched() -> str:
    return "now"


@app.tool(description="Tell the subscribers of a resource that it changed")
async def update(ctx: Context, uri: str) -> str:
    await ctx.notify_resource_updated(uri)
    return "updated"


@app.tool(description="Ask the user for a name")
async def ask_user(ctx: Context) -> str:
    result = await ctx.elicit(
        "Name?", {"type": "object", "properties": {"name": {"type": "string"}}}
    )
    return f"{result.action}: {(result.content or {}).get('name')}"
