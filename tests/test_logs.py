"""Log lines name the node, the session and the request a handler serves, in both eras;
``--log-format json`` writes one JSON object a line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import given, strategies as st

from scaled_mcp import MCPServer
from scaled_mcp.runtime import (
    TEXT_FORMAT,
    JsonLogFormatter,
    LogFields,
    Runtime,
    RuntimeConfig,
    serving_request,
)

from .helpers import mcp_headers, open_session, post, serving_in_memory, stateless_meta

app = MCPServer("logs-tests")
_log = logging.getLogger("tests.logs")


@app.tool()
async def shout(text: str) -> str:
    _log.warning("shouting %s", text)
    return text.upper()


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def kept() -> Iterator[Kept]:
    handler = Kept()
    handler.addFilter(LogFields("nodeL"))
    handler.setFormatter(JsonLogFormatter())
    _log.addHandler(handler)
    yield handler
    _log.removeHandler(handler)


async def test_handler_lines_carry_node_session_and_request(kept: Kept) -> None:
    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=1))
    async with serving_in_memory(runtime):
        headers = await open_session(runtime)
        params = {"name": "shout", "arguments": {"text": "a"}}
        body = {"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": params}
        assert (await post(runtime, body, headers)).status == 200
        modern = {"name": "shout", "arguments": {"text": "b"}, "_meta": stateless_meta()}
        call = {"jsonrpc": "2.0", "id": "r-2", "method": "tools/call", "params": modern}
        wire = mcp_headers(version="2026-07-28", mcp_method="tools/call", mcp_name="shout")
        assert (await post(runtime, call, wire)).status == 200
    first, second = (orjson.loads(line) for line in kept.lines)
    assert first["message"] == "shouting a" and first["level"] == "warning"
    assert (first["node"], first["session"], first["request"]) == (
        "nodeL",
        headers["mcp-session-id"],
        41,
    )
    assert (second["node"], second["session"], second["request"]) == ("nodeL", None, "r-2")
    assert serving_request.get() is None  # reset once the handler returned


@given(message=st.text(max_size=200), request=st.integers() | st.text(max_size=20))
def test_one_json_object_per_line(message: str, request: int | str) -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "%s", (message,), None)
    token = serving_request.set(("s-1", request))
    try:
        LogFields("n1").filter(record)
    finally:
        serving_request.reset(token)
    line = JsonLogFormatter().format(record)
    assert "\n" not in line
    assert orjson.loads(line)["message"] == message
    assert orjson.loads(line)["request"] in (request, str(request))
    text = logging.Formatter(TEXT_FORMAT).format(record)
    assert text.endswith(f"[node=n1 session=s-1 request={request}]")
