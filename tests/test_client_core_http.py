"""The client's HTTP decisions: headers our server accepts, x-mcp-header rules, answers."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.client import (
    ACCEPT_POST,
    ClientSession,
    HttpAnswer,
    StatelessClient,
    classify_http_response,
    delete_headers,
    encode_header_value,
    error_in_body,
    get_headers,
    legacy_post_url,
    param_header_value,
    post_headers,
    tool_param_headers,
    valid_tools,
    wants_standalone_stream,
)
from scaled_mcp.protocol.http import (
    HttpConfig,
    HttpRequest,
    NeedSession,
    OpenStream,
    ProcessMessages,
    Reject,
    TerminateSession,
    decide,
    decide_with_session,
    decode_header_value,
    legacy_endpoint_url,
    param_header_paths,
    validate_param_headers,
)
from scaled_mcp.protocol.jsonrpc import (
    ErrorResponse,
    Notification,
    RemoteProtocolError,
    Request,
    Response,
    encode_message,
)
from scaled_mcp.protocol.session import ReplyReady, ServerConfig, ServerSession
from scaled_mcp.protocol.versions import HANDSHAKE_VERSIONS, LATEST_VERSION

CLIENT = StatelessClient(client_info={"name": "c", "version": "1"})

# -- value encoding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("us-west1", True),
        ("us west 1", True),
        ("", True),
        ("Hello, 世界", False),
        (" padded ", False),
        (" us-west1", False),
        ("us-west1 ", False),
        ("line1\nline2", False),
        ("line1\r\nline2", False),
        ("\tindented", False),
        ("=?base64?aGk=?=", False),
    ],
)
def test_values_that_need_it_are_base64(value: str, plain: bool) -> None:
    encoded = encode_header_value(value)
    assert (encoded == value) is plain
    if not plain:
        assert encoded.startswith("=?base64?")
        assert encoded.endswith("?=")
        assert base64.b64decode(encoded[9:-2]).decode() == value
    assert decode_header_value(encoded) == value


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_text_round_trips_through_the_servers_decoding(value: str) -> None:
    encoded = encode_header_value(value)
    assert encoded.isascii()
    # What an HTTP front sees: the value with optional whitespace stripped.
    assert decode_header_value(encoded.strip(" \t")) == value


def test_argument_values_as_headers() -> None:
    assert param_header_value(True) == "true"
    assert param_header_value(False) == "false"
    assert param_header_value(42) == "42"
    assert param_header_value(3.5) == "3.5"
    assert param_header_value(None) is None
    assert param_header_value(float("nan")) is None
    assert param_header_value([1]) is None
    assert param_header_value({"a": 1}) is None


# -- x-mcp-header annotations -----------------------------------------------------------


def _tool(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "inputSchema": {"type": "object", "properties": properties}}


INVALID_TOOLS = [
    _tool("invalid_empty_header", {"value": {"type": "string", "x-mcp-header": ""}}),
    _tool("invalid_object_header", {"data": {"type": "object", "x-mcp-header": "Data"}}),
    _tool(
        "invalid_array_header",
        {"items": {"type": "array", "items": {"type": "string"}, "x-mcp-header": "Items"}},
    ),
    _tool("invalid_null_header", {"nil": {"type": "null", "x-mcp-header": "Nil"}}),
    _tool("invalid_number_header", {"n": {"type": "number", "x-mcp-header": "N"}}),
    _tool(
        "invalid_duplicate_same_case",
        {
            "field1": {"type": "string", "x-mcp-header": "Region"},
            "field2": {"type": "string", "x-mcp-header": "Region"},
        },
    ),
    _tool(
        "invalid_duplicate_diff_case",
        {
            "field1": {"type": "string", "x-mcp-header": "MyField"},
            "field2": {"type": "string", "x-mcp-header": "myfield"},
        },
    ),
    _tool("invalid_space_in_name", {"v": {"type": "string", "x-mcp-header": "My Field"}}),
    _tool("invalid_colon_in_name", {"v": {"type": "string", "x-mcp-header": "My:Field"}}),
    _tool("invalid_non_ascii_name", {"v": {"type": "string", "x-mcp-header": "Régión"}}),
    _tool("invalid_control_char_name", {"v": {"type": "string", "x-mcp-header": "My\x01F"}}),
    _tool("invalid_not_a_string", {"v": {"type": "string", "x-mcp-header": 5}}),
]
VALID_TOOL = _tool(
    "valid_tool",
    {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "priority": {"type": "integer", "x-mcp-header": "Priority"},
        "verbose": {"type": ["boolean", "null"], "x-mcp-header": "Verbose"},
        "nested": {
            "type": "object",
            "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}},
        },
        "query": {"type": "string"},
    },
)


def test_tools_with_invalid_annotations_are_dropped() -> None:
    for tool in INVALID_TOOLS:
        assert tool_param_headers(tool) is None, tool["name"]
    plain = {"name": "plain", "inputSchema": {"type": "object"}}
    assert valid_tools([*INVALID_TOOLS, VALID_TOOL, plain]) == [VALID_TOOL, plain]
    assert tool_param_headers(VALID_TOOL) == {
        "Region": ("region",),
        "Priority": ("priority",),
        "Verbose": ("verbose",),
        "Zone": ("nested", "zone"),
    }


def test_our_servers_annotations_read_the_same() -> None:
    assert tool_param_headers(VALID_TOOL) == param_header_paths(VALID_TOOL["inputSchema"])


# -- request headers ----------------------------------------------------------------------


def _headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out = dict(pairs)
    assert len(out) == len(pairs), "a header twice"
    return out


def test_post_headers_in_the_handshake_era() -> None:
    initialize = Request(1, "initialize", {})
    headers = _headers(post_headers(initialize, protocol_version=None))
    assert headers == {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-method": "initialize",
    }
    call = Request(2, "tools/call", {"name": "echo"})
    headers = _headers(post_headers(call, protocol_version="2025-06-18", session_id="sid"))
    assert headers["mcp-protocol-version"] == "2025-06-18"
    assert headers["mcp-session-id"] == "sid"
    assert headers["mcp-name"] == "echo"
    answer = Response(3, {})
    assert "mcp-method" not in _headers(post_headers(answer, protocol_version="2025-06-18"))


def test_get_and_delete_headers() -> None:
    assert _headers(
        get_headers(protocol_version="2025-11-25", session_id="s", last_event_id="e1")
    ) == {
        "accept": "text/event-stream",
        "mcp-protocol-version": "2025-11-25",
        "mcp-session-id": "s",
        "last-event-id": "e1",
    }
    assert _headers(delete_headers(protocol_version="2025-11-25", session_id="s")) == {
        "mcp-protocol-version": "2025-11-25",
        "mcp-session-id": "s",
    }


def test_null_and_absent_arguments_send_no_header() -> None:
    annotations = tool_param_headers(VALID_TOOL)
    call = CLIENT.request(
        "tools/call",
        {"name": "valid_tool", "arguments": {"region": "eu", "priority": 1, "verbose": None}},
    )
    headers = _headers(
        post_headers(call, protocol_version=LATEST_VERSION, param_headers=annotations)
    )
    assert headers["mcp-param-region"] == "eu"
    assert headers["mcp-param-priority"] == "1"
    assert "mcp-param-verbose" not in headers
    assert "mcp-param-zone" not in headers


def _accepted_by_our_server(request: Request | Notification, headers: list[tuple[str, str]]) -> Any:
    http = HttpRequest(
        method="POST",
        path="/mcp",
        headers=(("host", "localhost"), *headers),
        body=encode_message(request),
    )
    decision = decide(http, HttpConfig())
    assert not isinstance(decision, Reject), decision
    assert isinstance(decision, ProcessMessages)
    return decision


_ARGUMENT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(min_size=1),
    region=_ARGUMENT,
    priority=_ARGUMENT,
    zone=_ARGUMENT,
)
def test_our_server_accepts_what_the_client_sends(
    name: str, region: Any, priority: Any, zone: Any
) -> None:
    annotations = tool_param_headers(VALID_TOOL)
    assert annotations is not None
    arguments: dict[str, Any] = {"region": region, "priority": priority, "nested": {"zone": zone}}
    call = CLIENT.request("tools/call", {"name": name, "arguments": arguments})
    headers = post_headers(call, protocol_version=LATEST_VERSION, param_headers=annotations)
    for _, value in headers:
        value.encode("latin-1")  # every value can go on the wire
    decision = _accepted_by_our_server(call, headers)
    # The Mcp-Param-* check a server makes once it knows the tool's schema.
    validate_param_headers(
        decision.param_headers, arguments, param_header_paths(VALID_TOOL["inputSchema"])
    )


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("tools/list", {}),
        ("prompts/get", {"name": "greet ünïcode"}),
        ("resources/read", {"uri": "file:///path/to/file%20name.txt"}),
        ("server/discover", {}),
    ],
)
def test_standard_headers_pass_our_server(method: str, params: dict[str, Any]) -> None:
    request = CLIENT.request(method, params)
    _accepted_by_our_server(request, post_headers(request, protocol_version=LATEST_VERSION))


def test_a_tampered_param_header_is_caught_by_our_server() -> None:
    annotations = tool_param_headers(VALID_TOOL)
    call = CLIENT.request("tools/call", {"name": "valid_tool", "arguments": {"region": "eu"}})
    headers = [
        (name, "us" if name == "mcp-param-region" else value)
        for name, value in post_headers(
            call, protocol_version=LATEST_VERSION, param_headers=annotations
        )
    ]
    decision = _accepted_by_our_server(call, headers)
    with pytest.raises(RemoteProtocolError):
        validate_param_headers(
            decision.param_headers, {"region": "eu"}, param_header_paths(VALID_TOOL["inputSchema"])
        )


# -- answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "content_type", "has_session", "expected"),
    [
        (200, "application/json", True, HttpAnswer.JSON),
        (200, "application/json; charset=utf-8", False, HttpAnswer.JSON),
        (200, "Text/Event-Stream", True, HttpAnswer.SSE),
        (200, "text/html", True, HttpAnswer.ERROR),
        (202, None, True, HttpAnswer.ACCEPTED),
        (404, "application/json", True, HttpAnswer.SESSION_GONE),
        (404, "application/json", False, HttpAnswer.ERROR),
        (401, None, False, HttpAnswer.UNAUTHORIZED),
        (403, None, True, HttpAnswer.FORBIDDEN),
        (405, None, True, HttpAnswer.NOT_ALLOWED),
        (400, "application/json", True, HttpAnswer.ERROR),
        (500, None, True, HttpAnswer.ERROR),
    ],
)
def test_http_answers(
    status: int, content_type: str | None, has_session: bool, expected: HttpAnswer
) -> None:
    assert classify_http_response(status, content_type, has_session=has_session) is expected


def test_the_error_in_a_body() -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -32600, "message": "bad"}})
    assert error_in_body(body) == ErrorResponse(id=1, code=-32600, message="bad")
    assert error_in_body(b"not json") is None
    assert error_in_body(b'{"jsonrpc": "2.0", "id": 1, "result": {}}') is None
    assert error_in_body(b"[1, 2]") is None


def test_the_legacy_endpoint_stays_on_its_origin() -> None:
    base = "http://localhost:8000/sse"
    assert legacy_post_url(base, "/messages?sessionId=abc") == (
        "http://localhost:8000/messages?sessionId=abc"
    )
    assert legacy_post_url(base, "messages?sessionId=abc") == (
        "http://localhost:8000/messages?sessionId=abc"
    )
    assert legacy_post_url(base, "http://evil.example/messages") is None


def test_the_version_header_matches_the_envelope() -> None:
    request = CLIENT.request("tools/list")
    # Even when the caller names another revision, the envelope's wins.
    headers = _headers(post_headers(request, protocol_version="2025-11-25"))
    assert headers["mcp-protocol-version"] == LATEST_VERSION


# -- a whole handshake-era session's headers through our server's HTTP rules ----------------


def _decide(
    message: Request | Notification,
    headers: list[tuple[str, str]],
    server: ServerSession,
    method: str = "POST",
) -> ProcessMessages | OpenStream | TerminateSession:
    http = HttpRequest(
        method=method,
        path="/mcp",
        headers=(("host", "localhost"), *headers),
        body=encode_message(message) if method == "POST" else b"",
    )
    decision = decide(http, HttpConfig())
    if isinstance(decision, NeedSession):
        decision = decide_with_session(decision, server.state)
    assert isinstance(decision, ProcessMessages | OpenStream | TerminateSession), decision
    return decision


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_a_handshake_sessions_headers_pass_our_server(version: str) -> None:
    client = ClientSession(client_info={"name": "c", "version": "1"}, protocol_version=version)
    server = ServerSession(
        ServerConfig(server_info={"name": "s", "version": "1"}, capabilities={"tools": {}}),
        session_id="session-1",
        node_id="n",
    )
    initialize = client.initialize()
    decision = _decide(initialize, post_headers(initialize, protocol_version=None), server)
    assert isinstance(decision, ProcessMessages)
    assert decision.issue_session
    (reply,) = server.receive(initialize, now=0.0)
    assert isinstance(reply, ReplyReady)
    client.receive(reply.message)
    client.session_id = "session-1"
    negotiated = client.negotiated_version
    assert negotiated == version
    for message in (
        client.initialized(),
        client.send_request("tools/list"),
        client.send_request("tools/call", {"name": "echo", "arguments": {}}),
        client.send_request("ping"),
    ):
        headers = post_headers(message, protocol_version=negotiated, session_id=client.session_id)
        decision = _decide(message, headers, server)
        assert isinstance(decision, ProcessMessages)
        assert decision.session_id == "session-1"
        server.receive(message, now=0.0)
    stream = get_headers(protocol_version=negotiated, session_id=client.session_id)
    assert isinstance(_decide(Notification("x"), stream, server, "GET"), OpenStream)
    end = delete_headers(protocol_version=negotiated, session_id="session-1")
    assert isinstance(_decide(Notification("x"), end, server, "DELETE"), TerminateSession)


@settings(max_examples=100, deadline=None)
@given(
    session_id=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
    root=st.sampled_from(["", "/app", "/a/b"]),
)
def test_the_legacy_endpoint_our_server_names_is_posted_to(session_id: str, root: str) -> None:
    endpoint = legacy_endpoint_url(session_id, HttpConfig(), root_path=root)
    url = legacy_post_url(f"http://localhost:8000{root}/sse", endpoint)
    assert url is not None
    assert url.startswith(f"http://localhost:8000{root}/messages?sessionId=")
    http = HttpRequest.from_wire(
        "POST",
        url.removeprefix(f"http://localhost:8000{root}"),
        [("host", "localhost"), ("content-type", "application/json"), ("accept", ACCEPT_POST)],
        encode_message(Request(1, "initialize", {})),
    )
    decision = decide(http, HttpConfig())
    assert isinstance(decision, NeedSession)
    assert decision.legacy
    assert decision.session_id == session_id


@pytest.mark.parametrize(
    ("server", "client", "expected"),
    [
        ({"tools": {}}, {}, False),
        ({"tools": {}}, {"sampling": {}, "roots": {}}, False),
        ({"tools": {"listChanged": True}}, {}, True),
        ({"prompts": {"listChanged": False}}, {}, False),
        ({"resources": {"subscribe": True}}, {}, True),
        ({"logging": {}}, {}, True),
        ({}, {"roots": {"listChanged": True}}, True),
    ],
)
def test_the_get_stream_opens_only_for_what_can_come_on_it(
    server: dict[str, Any], client: dict[str, Any], expected: bool
) -> None:
    assert wants_standalone_stream(server, client) is expected
