"""The app the session-state tests serve, in process and on every node of a cluster
(``scaled-mcp serve tests/session_state_app.py``): tools over ``ctx.session_state``."""

from __future__ import annotations

from typing import Any

import orjson

from scaled_mcp import Context, MCPServer

app = MCPServer("session-state-tests", "1.0.0")


def _shown(document: dict[str, Any]) -> str:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


@app.tool(description="Keep value under key in the session's state")
async def remember(ctx: Context, key: str, value: Any) -> str:
    def put(state: dict[str, Any]) -> None:
        state[key] = value

    return _shown(await ctx.session_state.update(put))


@app.tool(description="The session's state")
async def recall(ctx: Context) -> str:
    return _shown(await ctx.session_state.get())


@app.tool(description="Add one to the session's counter, times times")
async def count(ctx: Context, times: int = 1) -> str:
    def add(state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "n": state.get("n", 0) + 1}

    state: dict[str, Any] = {}
    for _ in range(times):
        state = await ctx.session_state.update(add)
    return str(state["n"])


@app.tool(description="Replace the session's state with a string of size characters")
async def fill(ctx: Context, size: int) -> str:
    await ctx.session_state.set({"blob": "x" * size})
    return "filled"


@app.tool(description="Empty the session's state")
async def forget(ctx: Context) -> str:
    await ctx.session_state.clear()
    return "forgotten"


@app.tool(description="Echo the text back, leaving the session's state alone")
async def echo(text: str) -> str:
    return text
