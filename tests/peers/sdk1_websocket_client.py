# mypy: ignore-errors
"""The official Python SDK 1.x's WebSocket client (``mcp.client.websocket``, the
last SDK line that has one) against a server: run by the SDK 1.x venv's Python as
``python sdk1_websocket_client.py ws://HOST:PORT/mcp '[["echo", {"text": "hi"}], ...]'``.
It initializes, lists the tools (the first page), makes each call in turn, pings,
and prints what it saw as one JSON object.

Not imported by the tests (it needs ``mcp<2``): ``tests/peers/sdk1.py`` runs it.
"""

import json
import sys
import warnings

import anyio
from mcp import ClientSession
from mcp.client.websocket import websocket_client


async def main(url: str, calls: list[list]) -> None:
    seen: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        connect = websocket_client(url)
    with anyio.fail_after(30):
        async with connect as (read, write), ClientSession(read, write) as session:
            init = await session.initialize()
            seen["protocolVersion"] = init.protocolVersion
            seen["serverName"] = init.serverInfo.name
            listed = await session.list_tools()
            seen["tools"] = sorted(tool.name for tool in listed.tools)
            results = []
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                results.append(result.model_dump(mode="json", by_alias=True, exclude_none=True))
            seen["calls"] = results
            await session.send_ping()
            seen["ping"] = True
    print(json.dumps(seen))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], json.loads(sys.argv[2]))
