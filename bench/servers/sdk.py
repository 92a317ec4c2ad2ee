"""The official Python SDK's server with one ``echo`` tool, on uvicorn (a benchmark peer).

``python bench/servers/sdk.py PORT``: streamable HTTP on ``/mcp`` with JSON responses.
The same endpoint serves both wires: the SDK's session manager sends a request whose
``Mcp-Protocol-Version`` is not one of the handshake versions (2026-07-28) to its
single-exchange handler, and keeps sessions for the 2025-11-25 wire (``stateless_http``
stays off: it is the 2025 stateless mode, without sessions).
"""

from __future__ import annotations

import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer("bench-echo-sdk")


@server.tool(description="Echo the text back")
async def echo(text: str) -> str:
    return text


app = server.streamable_http_app(json_response=True)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
