# mypy: ignore-errors
"""FastMCP with one ``echo`` tool, on uvicorn (a benchmark peer; it runs in its own venv).

``python bench/servers/fastmcp_echo.py PORT``: streamable HTTP on ``/mcp``, JSON responses.
"""

import os
import sys

os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")  # read when fastmcp is imported

import uvicorn
from fastmcp import FastMCP

server = FastMCP("bench-echo-fastmcp")


@server.tool(description="Echo the text back")
async def echo(text: str) -> str:
    return text


app = server.http_app(path="/mcp", json_response=True)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
