"""The core's pieces composed into a streamable HTTP server, with no I/O at all.

A dict stands in for the session store; requests are ``HttpRequest`` values and
answers are (status, headers, body) triples. This is how a runtime drives the
core: HTTP rules decide, the session or the stateless dispatcher handle the
messages, the SSE encoder frames them.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from scaled_mcp.protocol.http import (
    HttpConfig,
    HttpRequest,
    NeedSession,
    OpenStream,
    ProcessMessages,
    Reject,
    ResponseMode,
    TerminateSession,
    decide,
    decide_with_session,
    response_start,
)
from scaled_mcp.protocol.jsonrpc import (
    Message,
    RemoteProtocolError,
    encode_message,
    error_response_for,
)
from scaled_mcp.protocol.session import (
    ReplyReady,
    RequestReceived,
    ServerConfig,
    ServerSession,
    SessionState,
)
from scaled_mcp.protocol.sse import (
    ServerSentEvent,
    SSEDecoder,
    encode_message_event,
    format_event_id,
)
from scaled_mcp.protocol.stateless import (
    StatelessDispatcher,
    StatelessRequest,
    StatelessServerConfig,
)
from scaled_mcp.protocol.versions import Era

from .helpers import INITIALIZED, initialize_request
from .spec import validate

SERVER_INFO = {"name": "composed", "version": "1.0"}
CAPABILITIES: dict[str, Any] = {"tools": {}}
ACCEPT = ("accept", "application/json, text/event-stream")
JSON = ("content-type", "application/json")
HOST = ("host", "localhost:8000")

Answer = tuple[int, dict[str, str], bytes]


class ComposedServer:
    """Everything a runtime would do around the core, synchronously."""

    def __init__(self) -> None:
        self.config = HttpConfig()
        self.store: dict[str, SessionState] = {}
        self.ids = (f"session-{n}" for n in itertools.count(1))
        self.events = itertools.count(1)
        self.stateless = StatelessDispatcher(
            StatelessServerConfig(server_info=SERVER_INFO, capabilities=CAPABILITIES)
        )

    def handle(self, method: str, headers: list[tuple[str, str]], body: bytes = b"") -> Answer:
        request = HttpRequest(
            method=method, path="/mcp", query="", headers=tuple(headers), body=body
        )
        decision = decide(request, self.config)
        if isinstance(decision, NeedSession):
            decision = decide_with_session(decision, self.store.get(decision.session_id))
        if isinstance(decision, Reject):
            return decision.status, dict(decision.headers), decision.body
        if isinstance(decision, TerminateSession):
            del self.store[decision.session_id]
            return 200, {}, b""
        if isinstance(decision, OpenStream):
            status, start = response_start(ResponseMode.SSE)
            return status, dict(start), b": open\n\n"
        assert isinstance(decision, ProcessMessages)
        if decision.era is Era.STATELESS:
            return self._stateless(decision)
        return self._handshake(decision)

    def _handshake(self, decision: ProcessMessages) -> Answer:
        if decision.issue_session:
            session_id = next(self.ids)
            session = ServerSession(
                ServerConfig(server_info=SERVER_INFO, capabilities=CAPABILITIES),
                session_id=session_id,
                node_id="n1",
            )
        else:
            assert decision.session is not None
            session_id = decision.session.session_id
            session = ServerSession.from_state(
                ServerConfig(server_info=SERVER_INFO, capabilities=CAPABILITIES),
                decision.session,
                node_id="n1",
            )
        replies: list[Message] = []
        for item in decision.messages:
            if isinstance(item, RemoteProtocolError):
                replies.append(error_response_for(item))
                continue
            try:
                events = session.receive(item, now=1.0)
            except RemoteProtocolError as exc:
                replies.append(error_response_for(exc))
                continue
            for event in events:
                if isinstance(event, ReplyReady):
                    replies.append(event.message)
                elif isinstance(event, RequestReceived):
                    replies.append(
                        session.send_response(event.request.id, _app(event.request.method))
                    )
        self.store[session_id] = session.state
        return self._answer(
            decision.response_mode, replies, session_id if decision.issue_session else None
        )

    def _stateless(self, decision: ProcessMessages) -> Answer:
        (item,) = decision.messages
        assert not isinstance(item, RemoteProtocolError)
        try:
            handled = self.stateless.handle_request(item)  # type: ignore[arg-type]
        except RemoteProtocolError as exc:
            status, headers = exc.http_status, {"content-type": "application/json"}
            return status, headers, encode_message(error_response_for(exc))
        assert isinstance(handled, StatelessRequest)
        reply = self.stateless.complete(handled, _app(handled.method))
        return self._answer(decision.response_mode, [reply], None)

    def _answer(self, mode: ResponseMode, replies: list[Message], session_id: str | None) -> Answer:
        if not replies:
            return 202, {}, b""
        status, headers = response_start(mode, session_id)
        if mode is ResponseMode.SSE:
            stream = b"".join(
                encode_message_event(
                    encode_message(m), event_id=format_event_id("s", next(self.events))
                )
                for m in replies
            )
            return status, dict(headers), stream
        (reply,) = replies
        return status, dict(headers), encode_message(reply)


def _app(method: str) -> dict[str, Any]:
    if method == "tools/list":
        return {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}
    return {"content": [{"type": "text", "text": "hello"}]}


def _post(server: ComposedServer, body: Any, *extra: tuple[str, str]) -> Answer:
    return server.handle("POST", [HOST, ACCEPT, JSON, *extra], orjson.dumps(body))


def test_a_handshake_session_over_streamable_http() -> None:
    server = ComposedServer()
    status, headers, body = _post(
        server,
        initialize_request(),
    )
    assert status == 200
    session_id = headers["mcp-session-id"]
    init = orjson.loads(body)
    validate("2025-11-25", "JSONRPCResultResponse", init)
    assert init["result"]["protocolVersion"] == "2025-11-25"

    session = ("mcp-session-id", session_id)
    version = ("mcp-protocol-version", "2025-11-25")
    notified = _post(server, INITIALIZED, session, version)
    assert notified[0] == 202

    status, headers, body = _post(
        server,
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo"}},
        session,
        version,
    )
    assert status == 200
    if headers["content-type"].startswith("text/event-stream"):
        decoded = [e for e in SSEDecoder().feed(body) if isinstance(e, ServerSentEvent)]
        answer = orjson.loads(decoded[-1].data)
    else:
        answer = orjson.loads(body)
    assert answer == {"jsonrpc": "2.0", "id": 2, "result": _app("tools/call")}

    # No session id: 400. An unknown one: 404. A stream, then DELETE, then 404.
    missing = _post(server, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, version)
    assert missing[0] == 400
    unknown = _post(
        server,
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
        ("mcp-session-id", "nope"),
        version,
    )
    assert unknown[0] == 404
    stream = server.handle("GET", [HOST, ("accept", "text/event-stream"), session, version])
    assert stream[0] == 200
    assert stream[1]["content-type"].startswith("text/event-stream")
    assert server.handle("DELETE", [HOST, session, version])[0] == 200
    gone = _post(server, {"jsonrpc": "2.0", "id": 4, "method": "tools/list"}, session, version)
    assert gone[0] == 404


def test_the_stateless_wire_on_the_same_endpoint() -> None:
    server = ComposedServer()
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {}, "_meta": meta},
    }
    headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
    ]
    status, _, body = _post(server, call, *headers)
    assert status == 200
    answer = orjson.loads(body)
    validate("2026-07-28", "JSONRPCResultResponse", answer)
    assert answer["result"]["resultType"] == "complete"
    assert answer["result"]["content"] == [{"type": "text", "text": "hello"}]

    mismatch = _post(
        server,
        call,
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
        ("mcp-name", "echo"),
    )
    assert mismatch[0] == 400
    assert orjson.loads(mismatch[2])["error"]["code"] == -32020

    no_meta = dict(call, params={"name": "echo"})
    refused = _post(server, no_meta, *headers)
    assert refused[0] == 400
    assert orjson.loads(refused[2])["error"]["code"] == -32602


def test_bad_origin_and_bad_input() -> None:
    server = ComposedServer()
    origin = _post(
        server, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, ("origin", "https://evil.example")
    )
    assert origin[0] == 403
    not_json = server.handle("POST", [HOST, ACCEPT, JSON], b"{nope")
    assert not_json[0] == 400
    assert orjson.loads(not_json[2])["error"]["code"] == -32700
    wrong_accept = server.handle("POST", [HOST, ("accept", "text/html"), JSON], b"{}")
    assert wrong_accept[0] == 406
    wrong_type = server.handle("POST", [HOST, ACCEPT, ("content-type", "text/plain")], b"{}")
    assert wrong_type[0] == 415
    validate("2025-11-25", "JSONRPCErrorResponse", orjson.loads(not_json[2]))
