"""Fuzz target for the HTTP transport rules.

The one invariant: whatever the method, path, query, headers and body, and
whatever session the store holds, :func:`decide` and
:func:`decide_with_session` return a decision or a 4xx :class:`Reject` whose
body is a JSON-RPC error -- never another exception, never a hang.

Input layout: everything is drawn with ``atheris.FuzzedDataProvider``. Each
part is either picked from a list of meaningful values (so that deep branches
are reached) or made of raw fuzz data: the configuration, the method, the
path, the query, up to 16 headers, the session the lookup returns, and the
body (a known message or the remaining bytes).

The seed corpus (``fuzz/corpus/http/``) holds a few plain byte patterns and
the inputs kept from a fuzzing run that reach the most branches of the rules.

Run: ``.venv/bin/python fuzz/fuzz_http.py fuzz/corpus/http/ -max_total_time=60``.
``TestOneInput`` is also called by the test suite on the seed corpus.
"""

from __future__ import annotations

import sys

import atheris
import orjson

from scaled_mcp.protocol.http import (
    HttpConfig,
    HttpRequest,
    NeedSession,
    OpenLegacyStream,
    OpenStream,
    Preflight,
    ProcessMessages,
    Reject,
    ResponseMode,
    TerminateSession,
    cors_headers,
    decide,
    decide_with_session,
    precheck,
)
from scaled_mcp.protocol.session import SessionPhase, SessionState
from scaled_mcp.protocol.versions import SUPPORTED_VERSIONS

CONFIGS = (
    HttpConfig(),
    HttpConfig(allowed_hosts=None, allowed_origins=None, response_mode=ResponseMode.SSE),
    HttpConfig(supported_versions=("2026-07-28",)),
    HttpConfig(supported_versions=("2024-11-05", "2025-03-26"), max_body_size=64, max_batch_size=2),
    HttpConfig(enable_get_stream=False, allow_session_delete=False, legacy_sse_path=None),
    HttpConfig(cors=True, allowed_origins=None),
    HttpConfig(cors=True),
)
METHODS = ("POST", "GET", "DELETE", "PUT", "HEAD", "OPTIONS")
PATHS = ("/mcp", "/sse", "/messages", "/", "/mcp/")
QUERIES = ("", "sessionId=s1", "sessionId=", "sessionId=a%20b", "sessionId=s1&sessionId=s2")
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
HEADER_VALUES: dict[str, tuple[str, ...]] = {
    "host": ("localhost", "localhost:3000", "127.0.0.1:1", "[::1]:8080", "evil.com", "[::1"),
    "origin": ("http://localhost:3000", "https://[::1]", "null", "http://evil.com", "x"),
    "accept": ("application/json, text/event-stream", "text/event-stream", "*/*", "*/*;q=0"),
    "content-type": ("application/json", "application/json; charset=utf-8", "text/plain"),
    "content-length": ("0", "42", "99999999999999999999999", "-1", "1e3"),
    "mcp-session-id": ("s1", "sess-1", "bad id", "caf\u00e9"),
    "mcp-protocol-version": (*SUPPORTED_VERSIONS, "v999.0.0", ""),
    "mcp-method": ("tools/list", "tools/call", "initialize", "subscriptions/listen", "TOOLS/LIST"),
    "mcp-name": ("echo", " echo ", "=?base64?ZWNobw==?=", "=?base64?ZWNobw?=", "=?base64?!?="),
    "mcp-param-region": ("us-west1", "=?base64?dXM=?="),
    "last-event-id": ("s:1", "x" * 300, ""),
}
HEADER_NAMES = tuple(sorted(HEADER_VALUES))
BODIES = tuple(
    orjson.dumps(body)
    for body in (
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
        },
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "r", "result": {}},
        [{"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, 5],
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": META}},
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "echo", "_meta": META},
        },
        {"jsonrpc": "2.0", "method": "notifications/x", "params": {"_meta": META}},
        [],
        {},
    )
)
SESSION_VERSIONS = (*SUPPORTED_VERSIONS, "bogus")
DECISIONS = (
    Reject,
    ProcessMessages,
    OpenStream,
    TerminateSession,
    OpenLegacyStream,
    NeedSession,
    Preflight,
)


def _text(fdp: atheris.FuzzedDataProvider, choices: tuple[str, ...], size: int) -> str:
    if fdp.ConsumeBool():
        return str(fdp.PickValueInList(list(choices)))
    return str(fdp.ConsumeUnicodeNoSurrogates(size))


def _check(decision: object) -> None:
    if not isinstance(decision, DECISIONS):
        raise AssertionError(f"not a decision: {decision!r}")
    if isinstance(decision, Reject):
        if not 400 <= decision.status < 500:
            raise AssertionError(f"rejection outside 4xx: {decision!r}")
        body = orjson.loads(decision.body)
        if body.get("jsonrpc") != "2.0" or body["error"]["code"] != decision.code:
            raise AssertionError(f"rejection without a JSON-RPC error body: {decision!r}")


def TestOneInput(data: bytes) -> None:
    """Build one request from ``data`` (layout in the module docstring); check the invariant."""
    fdp = atheris.FuzzedDataProvider(data)
    config = CONFIGS[fdp.ConsumeIntInRange(0, len(CONFIGS) - 1)]
    method = _text(fdp, METHODS, 8)
    path = _text(fdp, PATHS, 16)
    query = _text(fdp, QUERIES, 32)
    headers: list[tuple[str, str]] = []
    for _ in range(fdp.ConsumeIntInRange(0, 16)):
        if fdp.ConsumeBool():
            name = str(fdp.PickValueInList(list(HEADER_NAMES)))
            value = _text(fdp, HEADER_VALUES[name], 32)
        else:
            name = str(fdp.ConsumeUnicodeNoSurrogates(16))
            value = str(fdp.ConsumeUnicodeNoSurrogates(32))
        headers.append((name, value))
    session_pick = fdp.ConsumeIntInRange(0, len(SESSION_VERSIONS))
    phase = list(SessionPhase)[fdp.ConsumeIntInRange(0, len(SessionPhase) - 1)]
    stream_open = fdp.ConsumeBool()
    if fdp.ConsumeBool():
        body = BODIES[fdp.ConsumeIntInRange(0, len(BODIES) - 1)]
    else:
        body = bytes(fdp.ConsumeBytes(fdp.remaining_bytes()))

    request = HttpRequest(method, path, query, headers, body)
    decision = decide(request, config)
    _check(decision)
    cors_headers(request, config)
    head = precheck(request, config)
    if head is not None and not (isinstance(decision, Reject) and decision.status == head.status):
        raise AssertionError(f"precheck {head!r} disagrees with decide {decision!r}")
    if isinstance(decision, NeedSession):
        session = None
        if session_pick < len(SESSION_VERSIONS):
            session = SessionState(decision.session_id, SESSION_VERSIONS[session_pick], phase)
        final = decide_with_session(decision, session, legacy_stream_open=stream_open)
        _check(final)
        if isinstance(final, NeedSession | OpenLegacyStream):
            raise AssertionError(f"the second step did not finish: {final!r}")


def main() -> None:
    """Run the fuzzer (libFuzzer options come from the command line)."""
    atheris.instrument_all()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
