"""The feature, stateless-wire and tool-call checks: against a server built to break each
requirement they enforce (every defect must be the FAIL or WARN of its check), and
against our everything server (nothing fails, nothing warns, with tool calls too)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any

import h11
import orjson
import trio

from scaled_mcp.harness import Outcome, Report, check

from .conformance import serve

# -- a server with a defect for each check ----------------------------------------------------

TOOLS = [
    {"name": "bad_schema", "inputSchema": {"type": "object", "properties": {"a": {"type": 7}}}},
    {"name": "boom", "inputSchema": {"type": "object"}},  # a server error when called
    {
        "name": "structured",
        "inputSchema": {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        },
        "outputSchema": {"type": "object", "properties": {"x": {"type": "string"}}},
    },
]
CAPABILITIES: dict[str, Any] = {"tools": {}, "resources": {}, "prompts": {}}  # no completions


def _rpc(request_id: Any, result: Any = None, error: Any = None) -> dict[str, Any]:
    if error is not None:
        return {"jsonrpc": "2.0", "id": request_id, "error": error}
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _result(method: str, params: dict[str, Any]) -> tuple[int, Any, Any]:
    """(status, result, error) of the broken server, per method."""
    internal = {"code": -32603, "message": "internal"}
    if method == "initialize":
        version = params.get("protocolVersion")
        info = {"name": "broken", "version": "1"}
        return (
            200,
            {"protocolVersion": version, "capabilities": CAPABILITIES, "serverInfo": info},
            None,
        )
    if method == "server/discover":  # no resultType, no cache hints
        return 200, {"supportedVersions": ["2026-07-28"], "capabilities": CAPABILITIES}, None
    if method == "tools/list":  # ignores cursors, even invalid ones
        return 200, {"tools": TOOLS}, None
    if method == "resources/list":  # refuses the cursor it gave
        if params.get("cursor") == "page-2":
            return 200, None, internal
        return 200, {"resources": [{"uri": "r://one", "name": "one"}], "nextCursor": "page-2"}, None
    if method == "resources/templates/list":  # two pages, well paginated
        if params.get("cursor") == "templates-2":
            return 200, {"resourceTemplates": [{"uriTemplate": "r://b/{y}", "name": "b"}]}, None
        first = [{"uriTemplate": "r://a/{x}", "name": "a"}]
        return 200, {"resourceTemplates": first, "nextCursor": "templates-2"}, None
    if method == "resources/read":  # an empty contents array for a resource that does not exist
        return 200, {"contents": []}, None
    if method == "prompts/list":
        prompt = {"name": "p", "arguments": [{"name": "a", "required": True}]}
        return 200, {"prompts": [prompt]}, None
    if method == "prompts/get":  # answers without its required argument; fails with it
        if "a" in (params.get("arguments") or {}):
            return 200, None, internal
        return 200, {"messages": []}, None
    if method == "completion/complete":  # answers, though completions is not declared
        return 200, {"completion": {"values": ["x"]}}, None
    if method == "tools/call":
        name = params.get("name")
        if name == "boom":
            return 500, None, None
        if name == "structured":  # accepts invalid arguments; no structuredContent
            return 200, {"content": [{"type": "text", "text": "ok"}]}, None
        content = [{"type": "text", "text": "no such tool"}]
        return 200, {"content": content, "isError": True}, None  # not a protocol error
    return 200, None, {"code": -32601, "message": "Method not found"}


def broken_answer(method: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """The broken server's HTTP answer. It ignores every header and ``_meta``."""
    if method != "POST":
        return 405, {}, b""
    message = orjson.loads(body)
    if "id" not in message:
        return 202, {}, b""
    status, result, error = _result(message["method"], message.get("params") or {})
    if status >= 500:
        return status, {"content-type": "text/plain"}, b"boom"
    headers = {"content-type": "application/json", "mcp-session-id": "s"}
    return status, headers, orjson.dumps(_rpc(message["id"], result, error))


async def _serve_connection(stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    request: h11.Request | None = None
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(65536)
            if not data:
                return
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            request, body = event, b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            status, headers, payload = broken_answer(request.method.decode(), body)
            fields = [*headers.items(), ("content-length", str(len(payload)))]
            await stream.send_all(conn.send(h11.Response(status_code=status, headers=fields)))
            await stream.send_all(conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage()))
            conn.start_next_cycle()
        else:
            return


@asynccontextmanager
async def broken_server() -> AsyncIterator[str]:
    """The broken server on a free port: its URL."""

    async def handle(stream: trio.SocketStream) -> None:
        with trio.move_on_after(30), suppress(trio.BrokenResourceError, h11.RemoteProtocolError):
            await _serve_connection(stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield f"http://127.0.0.1:{port}/mcp"
        nursery.cancel_scope.cancel()


def outcomes(report: Report, revision: str) -> dict[str, tuple[Outcome, str]]:
    return {
        r.check_id: (r.outcome, r.reason)
        for r in report.results
        if r.revision == revision and r.check_id.startswith(("features.", "stateless.", "tools."))
    }


SELECT = ("features.", "stateless.", "tools.")

#: Every defect of the broken server, as the outcome of the check that must see it.
EXPECTED_HANDSHAKE = {
    "features.tools-list": Outcome.PASS,
    "features.resources-list": Outcome.FAIL,  # its own cursor refused
    "features.resource-templates-list": Outcome.PASS,  # both pages
    "features.prompts-list": Outcome.PASS,
    "features.invalid-cursor": Outcome.WARN,  # tools/list ignores it
    "features.tool-schemas": Outcome.FAIL,  # {"type": 7}
    "features.resources-read": Outcome.WARN,  # resources/list fails
    "features.resource-not-found": Outcome.FAIL,  # an empty contents array
    "features.prompts-get": Outcome.WARN,  # the only prompt cannot be got
    "features.prompts-missing-argument": Outcome.WARN,  # a result without it
    "features.completion": Outcome.FAIL,  # answers though not declared
    "features.messages-valid": Outcome.PASS,
    "tools.call-valid-arguments": Outcome.FAIL,  # boom: HTTP 500
    "tools.call-invalid-arguments": Outcome.FAIL,  # boom: HTTP 500; structured accepts them
    "tools.output-schema": Outcome.FAIL,  # no structuredContent
    "tools.unknown-tool": Outcome.WARN,  # an isError result
}
EXPECTED_STATELESS = {
    **EXPECTED_HANDSHAKE,
    "features.messages-valid": Outcome.FAIL,  # results without resultType
    "stateless.discover": Outcome.FAIL,  # no resultType
    "stateless.meta-required": Outcome.FAIL,  # ignores _meta
    "stateless.header-mismatch": Outcome.FAIL,  # ignores the headers
    "stateless.unsupported-version": Outcome.FAIL,  # answers 1999-01-01
    "stateless.cache-hints": Outcome.FAIL,  # none
}


async def test_each_defect_is_found_by_its_check() -> None:
    async with broken_server() as url:
        report = await check(
            url,
            revisions=["2025-11-25", "2026-07-28"],
            select=SELECT,
            call_tools=True,
            timeout=2.0,
        )
    for revision, expected in (
        ("2025-11-25", EXPECTED_HANDSHAKE),
        ("2026-07-28", EXPECTED_STATELESS),
    ):
        got = outcomes(report, revision)
        wrong = {
            check_id: got.get(check_id)
            for check_id, outcome in expected.items()
            if got.get(check_id, (None, ""))[0] is not outcome
        }
        assert wrong == {}, revision
    handshake = outcomes(report, "2025-11-25")
    assert "HTTP 500" in handshake["tools.call-valid-arguments"][1]
    assert (
        "'type'" in handshake["features.tool-schemas"][1]
        or "7" in handshake["features.tool-schemas"][1]
    )
    assert "page-2" in handshake["features.resources-list"][1]


async def test_tool_calls_need_call_tools() -> None:
    async with broken_server() as url:
        report = await check(url, revisions=["2025-11-25"], select=("tools.",), timeout=2.0)
    got = outcomes(report, "2025-11-25")
    for check_id in ("tools.call-valid-arguments", "tools.call-invalid-arguments"):
        assert got[check_id] == (Outcome.SKIP, "calls tools: run with --call-tools")
    assert got["tools.unknown-tool"][0] is Outcome.WARN  # no side effect: it runs


async def test_our_everything_server_passes_with_tool_calls() -> None:
    with serve("examples/everything.py", "--http", "h11") as url:
        report = await check(
            url,
            revisions=["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"],
            select=SELECT,
            call_tools=True,
            timeout=10.0,
        )
    bad = [
        f"{r.check_id}@{r.revision} {r.outcome.value}: {r.reason}"
        for r in report.results
        if r.outcome in (Outcome.FAIL, Outcome.WARN)
    ]
    assert bad == []
    passed = {(r.check_id, r.revision) for r in report.results if r.outcome is Outcome.PASS}
    for check_id in (
        "features.tools-list",
        "features.invalid-cursor",
        "features.tool-schemas",
        "features.prompts-get",
        "features.completion",
        "features.messages-valid",
        "tools.call-valid-arguments",
        "tools.call-invalid-arguments",
    ):
        assert (check_id, "2025-11-25") in passed, check_id
    for check_id in (
        "stateless.discover",
        "stateless.meta-required",
        "stateless.header-mismatch",
        "stateless.unsupported-version",
        "stateless.cache-hints",
    ):
        assert (check_id, "2026-07-28") in passed, check_id


#: A stdio server whose one tool makes it exit (the answer never comes).
CRASHING_STDIO = """
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    method, params = message.get("method"), message.get("params") or {}
    if method == "initialize":
        result = {"protocolVersion": params["protocolVersion"], "capabilities": {"tools": {}},
                  "serverInfo": {"name": "crashing", "version": "1"}}
    elif method == "tools/list":
        result = {"tools": [{"name": "crash", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call" and params.get("name") == "crash":
        sys.exit(1)
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "no such tool"}], "isError": True}
    else:
        reply = {"jsonrpc": "2.0", "id": message["id"],
                 "error": {"code": -32601, "message": "Method not found"}}
        print(json.dumps(reply), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
"""


async def test_tool_calls_over_stdio_see_a_server_that_exits() -> None:
    report = await check(
        command=[sys.executable, "-c", CRASHING_STDIO],
        revisions=["2025-11-25"],
        select=("tools.",),
        call_tools=True,
        timeout=5.0,
    )
    got = outcomes(report, "2025-11-25")
    assert got["tools.call-valid-arguments"][0] is Outcome.FAIL
    assert "no JSON-RPC answer" in got["tools.call-valid-arguments"][1]
    assert got["tools.unknown-tool"][0] is Outcome.WARN  # an isError result
    assert {r.transport for r in report.results} == {"stdio"}
