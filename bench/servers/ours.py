"""The benchmark app: one ``echo`` tool (``scaled-mcp serve bench/servers/ours.py``)."""

from __future__ import annotations

from scaled_mcp import MCPServer

app = MCPServer("bench-echo", "1.0.0")


@app.tool(description="Echo the text back")
async def echo(text: str) -> str:
    return text
