"""The HTTP transport rules: statuses, headers and error codes for every request shape."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from scaled_mcp.protocol.http import (
    DEFAULT_MAX_BODY_SIZE,
    LEGACY_ENDPOINT_EVENT,
    Headers,
    HttpConfig,
    HttpDecision,
    HttpRequest,
    NeedSession,
    OpenLegacyStream,
    OpenStream,
    Preflight,
    ProcessMessages,
    Reject,
    ResponseMode,
    TerminateSession,
    body_too_large,
    cors_headers,
    decide,
    decide_with_session,
    decode_header_value,
    is_valid_session_id,
    legacy_endpoint_url,
    param_header_paths,
    precheck,
    reject_for,
    response_start,
    resume_point,
    service_unavailable,
    status_for_error,
    stream_conflict,
    stream_expired,
    validate_param_headers,
)
from scaled_mcp.protocol.jsonrpc import (
    ErrorCode,
    LocalProtocolError,
    Notification,
    RemoteProtocolError,
    Request,
    Response,
)
from scaled_mcp.protocol.session import SessionPhase, SessionState
from scaled_mcp.protocol.versions import SUPPORTED_VERSIONS, Era

from .helpers import INITIALIZED, initialize_request, stateless_meta
from .spec import validate

CONFIG = HttpConfig()
STATELESS = "2026-07-28"
META_KEY = "io.modelcontextprotocol/protocolVersion"
META = stateless_meta()
POST_HEADERS: Headers = (
    ("host", "localhost:3000"),
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
)
INITIALIZE = initialize_request()
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def post(
    body: Any,
    *headers: tuple[str, str],
    path: str = "/mcp",
    query: str = "",
    base: Headers = POST_HEADERS,
    config: HttpConfig = CONFIG,
) -> HttpDecision:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return decide(HttpRequest("POST", path, query, base + headers, raw), config)


def get(*headers: tuple[str, str], path: str = "/mcp", config: HttpConfig = CONFIG) -> HttpDecision:
    base: Headers = (("host", "localhost"), ("accept", "text/event-stream"))
    return decide(HttpRequest("GET", path, "", base + headers), config)


def delete(*headers: tuple[str, str], config: HttpConfig = CONFIG) -> HttpDecision:
    return decide(HttpRequest("DELETE", "/mcp", "", (("host", "localhost"), *headers)), config)


def stateless(
    method: str, params: dict[str, Any] | None = None, request_id: int | None = 7
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "jsonrpc": "2.0",
        "method": method,
        "params": {**(params or {}), "_meta": META},
    }
    if request_id is not None:
        body["id"] = request_id
    return body


def v26(*headers: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (("mcp-protocol-version", STATELESS), *headers)


def session(
    version: str = "2025-11-25", phase: SessionPhase = SessionPhase.OPERATING
) -> SessionState:
    return SessionState(session_id="sess-1", protocol_version=version, phase=phase)


def rejected(decision: object, status: int, code: int | None = None) -> dict[str, Any]:
    """Assert ``decision`` is a rejection with ``status`` (and ``code``); return its body."""
    assert isinstance(decision, Reject), decision
    assert decision.status == status, decision
    assert ("content-type", "application/json") in decision.headers
    body: dict[str, Any] = orjson.loads(decision.body)
    validate("2025-11-25", "JSONRPCErrorResponse", body)
    assert body["error"]["code"] == decision.code
    if code is not None:
        assert decision.code == code, decision
    return body


def need(decision: object) -> NeedSession:
    assert isinstance(decision, NeedSession), decision
    return decision


# --- configuration and requests ----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"endpoint_path": "mcp"},
        {"legacy_sse_path": "/mcp"},
        {"legacy_messages_path": "/sse"},
        {"max_body_size": 0},
        {"max_batch_size": 0},
        {"max_session_id_length": 0},
        {"max_event_id_length": 0},
        {"response_mode": ResponseMode.ACCEPTED},
        {"supported_versions": ()},
        {"supported_versions": ("1999-01-01",)},
        {"allowed_hosts": ("bad host:x",)},
        {"allowed_origins": ("localhost",)},
    ],
)
def test_config_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(LocalProtocolError):
        HttpConfig(**kwargs)


def test_config_defaults() -> None:
    assert CONFIG.endpoint_path == "/mcp"
    assert CONFIG.legacy_sse_path == "/sse"
    assert CONFIG.legacy_messages_path == "/messages"
    assert CONFIG.max_body_size == DEFAULT_MAX_BODY_SIZE == 4 * 1024 * 1024
    assert CONFIG.response_mode is ResponseMode.JSON
    assert CONFIG.supported_versions == SUPPORTED_VERSIONS
    assert CONFIG.legacy_enabled
    assert CONFIG.handshake_enabled


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("localhost:3000", True),
        ("LOCALHOST:3000", True),
        ("127.0.0.1:8080", True),
        ("[::1]", True),
        ("[::1]:8080", True),
        ("evil.example.com", False),
        ("localhost.evil.com", False),
        ("localhost:abc", False),
        ("localhost:", False),
        ("[::1", False),
        ("[::1]x", False),
        ("", False),
        (":80", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    assert CONFIG.host_allowed(host) is allowed


def test_host_with_port_entry() -> None:
    config = HttpConfig(allowed_hosts=("mcp.example.com:443", "other.example"))
    assert config.host_allowed("mcp.example.com:443")
    assert not config.host_allowed("mcp.example.com:80")
    assert not config.host_allowed("mcp.example.com")
    assert config.host_allowed("other.example:1")


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:3000", True),
        ("https://127.0.0.1", True),
        ("http://[::1]:5173", True),
        ("HTTP://LOCALHOST", True),
        ("http://evil.example.com", False),
        ("null", False),
        ("localhost", False),
        ("ftp://localhost", False),
        ("http://", False),
    ],
)
def test_origin_allowed(origin: str, allowed: bool) -> None:
    assert CONFIG.origin_allowed(origin) is allowed


def test_request_lowercases_header_names_and_from_wire_splits_target() -> None:
    request = HttpRequest("GET", "/mcp", "", [("Mcp-Session-Id", "X"), ("ACCEPT", "a")])
    assert request.headers == (("mcp-session-id", "X"), ("accept", "a"))
    wire = HttpRequest.from_wire(
        b"POST", b"/messages?sessionId=a%2Fb", [(b"Host", b"h\xe9")], b"{}"
    )
    assert wire.method == "POST"
    assert (wire.path, wire.query) == ("/messages", "sessionId=a%2Fb")
    assert wire.headers == (("host", "h\u00e9"),)
    assert HttpRequest.from_wire("GET", "/mcp", []).query == ""


# --- DNS rebinding protection ------------------------------------------------------------


def test_foreign_origin_gets_403_everywhere() -> None:
    evil = ("origin", "http://evil.example.com")
    body = rejected(post(INITIALIZE, evil), 403)
    assert "id" not in body  # "a JSON-RPC error response that has no id"
    rejected(get(evil), 403)
    rejected(delete(evil), 403)
    rejected(get(evil, path="/sse"), 403)
    rejected(post(INITIALIZE, evil, path="/messages", query="sessionId=a"), 403)
    rejected(post(INITIALIZE, evil, path="/nowhere"), 403)


def test_dns_rebinding_scenario() -> None:
    # dns-rebinding.ts sends Host and Origin both set to the attacker's host,
    # then both set to the real localhost host: 4xx, then 2xx.
    attack = decide(
        HttpRequest(
            "POST",
            "/mcp",
            "",
            (
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("host", "evil.example.com"),
                ("origin", "http://evil.example.com"),
                ("mcp-protocol-version", "2025-11-25"),
                ("mcp-method", "initialize"),
            ),
            orjson.dumps(INITIALIZE),
        ),
        CONFIG,
    )
    assert isinstance(attack, Reject)
    assert 400 <= attack.status < 500
    ok = post(
        INITIALIZE,
        ("origin", "http://localhost:3000"),
        ("mcp-protocol-version", "2025-11-25"),
        ("mcp-method", "initialize"),
    )
    assert isinstance(ok, ProcessMessages)
    assert ok.issue_session


def test_foreign_host_gets_421_and_missing_host_400() -> None:
    base = POST_HEADERS[1:]
    rejected(post(INITIALIZE, ("host", "evil.example.com"), base=base), 421)
    rejected(post(INITIALIZE, base=base), 400)
    rejected(post(INITIALIZE, ("host", "localhost"), ("host", "evil.com"), base=base), 400)


def test_checks_can_be_turned_off() -> None:
    config = HttpConfig(allowed_hosts=None, allowed_origins=None)
    decision = post(
        INITIALIZE,
        ("host", "mcp.example.com"),
        ("origin", "https://app.example.com"),
        config=config,
    )
    assert isinstance(decision, ProcessMessages)
    no_host = post(INITIALIZE, base=POST_HEADERS[1:], config=config)
    assert isinstance(no_host, ProcessMessages)


def test_no_origin_is_accepted_and_null_origin_configurable() -> None:
    assert isinstance(post(INITIALIZE), ProcessMessages)
    rejected(post(INITIALIZE, ("origin", "null")), 403)
    config = HttpConfig(allowed_origins=("null",))
    assert isinstance(post(INITIALIZE, ("origin", "null"), config=config), ProcessMessages)
    rejected(post(INITIALIZE, ("origin", "http://localhost"), config=config), 403)


# --- paths and methods -------------------------------------------------------------------


def test_unknown_path_is_404() -> None:
    rejected(post(INITIALIZE, path="/mcp/"), 404)
    rejected(get(path="/"), 404)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "HEAD", "OPTIONS", "post"])
def test_other_methods_get_405_with_allow(method: str) -> None:
    decision = decide(HttpRequest(method, "/mcp", "", (("host", "localhost"),)), CONFIG)
    rejected(decision, 405)
    assert isinstance(decision, Reject)
    assert ("allow", "GET, POST, DELETE") in decision.headers


def test_legacy_paths_allow_one_method_each() -> None:
    sse = post(INITIALIZE, path="/sse")
    rejected(sse, 405)
    assert isinstance(sse, Reject)
    assert ("allow", "GET") in sse.headers
    messages = get(path="/messages")
    rejected(messages, 405)
    assert isinstance(messages, Reject)
    assert ("allow", "POST") in messages.headers


def test_disabled_features_answer_405_or_404() -> None:
    no_get = HttpConfig(enable_get_stream=False)
    decision = get(("mcp-session-id", "sess-1"), config=no_get)
    rejected(decision, 405)
    assert isinstance(decision, Reject)
    assert ("allow", "POST, DELETE") in decision.headers
    no_delete = HttpConfig(allow_session_delete=False)
    decision = delete(("mcp-session-id", "sess-1"), config=no_delete)
    rejected(decision, 405)
    assert isinstance(decision, Reject)
    assert ("allow", "GET, POST") in decision.headers
    no_legacy = HttpConfig(legacy_sse_path=None)
    rejected(get(path="/sse", config=no_legacy), 404)
    rejected(post(INITIALIZE, path="/messages", query="sessionId=a", config=no_legacy), 404)


# --- Accept and Content-Type -------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        ("application/json, text/event-stream", True),
        ("text/event-stream, application/json", True),
        ("application/json;q=0.9,text/event-stream;q=0.1", True),
        ("*/*", True),
        ("application/*, text/*", True),
        ("application/json", False),
        ("text/event-stream", False),
        ("*/*, text/event-stream;q=0", False),
        ("application/json, text/event-stream;q=0.000", False),
        ("text/html", False),
        ("", False),
        ("garbage", False),
    ],
)
def test_post_accept(accept: str, ok: bool) -> None:
    base = (POST_HEADERS[0], POST_HEADERS[1], ("accept", accept))
    decision = post(INITIALIZE, base=base)
    if ok:
        assert isinstance(decision, ProcessMessages)
    else:
        rejected(decision, 406)


def test_accept_headers_may_be_split() -> None:
    base = (*POST_HEADERS[:2], ("accept", "application/json"), ("accept", "text/event-stream"))
    assert isinstance(post(INITIALIZE, base=base), ProcessMessages)


def test_post_without_accept_is_406() -> None:
    rejected(post(INITIALIZE, base=POST_HEADERS[:2]), 406)


def test_get_accept() -> None:
    no_accept = decide(
        HttpRequest("GET", "/mcp", "", (("host", "localhost"), ("mcp-session-id", "s"))), CONFIG
    )
    rejected(no_accept, 406)
    json_only = decide(
        HttpRequest("GET", "/mcp", "", (("host", "localhost"), ("accept", "application/json"))),
        CONFIG,
    )
    rejected(json_only, 406)
    assert isinstance(get(("mcp-session-id", "s"), ("accept", "*/*")), NeedSession)


def test_legacy_get_accept_is_lenient() -> None:
    bare = decide(HttpRequest("GET", "/sse", "", (("host", "localhost"),)), CONFIG)
    assert isinstance(bare, OpenLegacyStream)
    html = decide(
        HttpRequest("GET", "/sse", "", (("host", "localhost"), ("accept", "text/html"))), CONFIG
    )
    rejected(html, 406)


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("text/plain", False),
        ("application/jsonx", False),
        ("", False),
    ],
)
def test_post_content_type(content_type: str, ok: bool) -> None:
    base = (POST_HEADERS[0], ("content-type", content_type), POST_HEADERS[2])
    decision = post(INITIALIZE, base=base)
    if ok:
        assert isinstance(decision, ProcessMessages)
    else:
        rejected(decision, 415)


def test_missing_content_type_is_415_on_both_post_endpoints() -> None:
    base = (POST_HEADERS[0], POST_HEADERS[2])
    rejected(post(INITIALIZE, base=base), 415)
    rejected(post(INITIALIZE, base=base, path="/messages", query="sessionId=a"), 415)


# --- body size ---------------------------------------------------------------------------


def test_content_length_over_the_limit_is_refused_before_the_body() -> None:
    config = HttpConfig(max_body_size=100)
    head = HttpRequest("POST", "/mcp", "", (*POST_HEADERS, ("content-length", "101")))
    rejected(precheck(head, config), 413)
    rejected(decide(head, config), 413)
    fine = HttpRequest("POST", "/mcp", "", (*POST_HEADERS, ("content-length", "100")))
    assert precheck(fine, config) is None
    huge = HttpRequest("POST", "/mcp", "", (*POST_HEADERS, ("content-length", "9" * 40)))
    rejected(precheck(huge, config), 413)


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "", "\u0661"])
def test_malformed_content_length_is_400(value: str) -> None:
    head = HttpRequest("POST", "/mcp", "", (*POST_HEADERS, ("content-length", value)))
    rejected(precheck(head, CONFIG), 400)


def test_conflicting_content_lengths_are_400() -> None:
    head = HttpRequest(
        "POST", "/mcp", "", (*POST_HEADERS, ("content-length", "2"), ("content-length", "3"))
    )
    rejected(precheck(head, CONFIG), 400)
    same = HttpRequest(
        "POST", "/mcp", "", (*POST_HEADERS, ("content-length", "2"), ("content-length", "2"))
    )
    assert precheck(same, CONFIG) is None


def test_body_over_the_limit_is_413() -> None:
    config = HttpConfig(max_body_size=64)
    rejected(post(b" " * 65, config=config), 413)
    rejected(body_too_large(config), 413)


def test_precheck_passes_a_good_head() -> None:
    assert precheck(HttpRequest("POST", "/mcp", "", POST_HEADERS), CONFIG) is None
    rejected(precheck(HttpRequest("POST", "/elsewhere", "", POST_HEADERS), CONFIG), 404)


# --- JSON and JSON-RPC -------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[1,", b"nul"])
def test_invalid_json_is_400_parse_error(body: bytes) -> None:
    error = rejected(post(body), 400, ErrorCode.PARSE_ERROR)
    assert "id" not in error


@pytest.mark.parametrize(
    ("body", "request_id"),
    [
        (b"1", None),
        (b'"x"', None),
        (b'{"jsonrpc":"1.0","id":5,"method":"ping"}', 5),
        (b'{"jsonrpc":"2.0","id":null,"method":"ping"}', None),
        (b'{"jsonrpc":"2.0","id":6}', 6),
        (b"[]", None),
    ],
)
def test_invalid_jsonrpc_is_400_invalid_request(body: bytes, request_id: int | None) -> None:
    error = rejected(post(body, ("mcp-session-id", "s")), 400, ErrorCode.INVALID_REQUEST)
    assert error.get("id") == request_id


# --- the handshake era -------------------------------------------------------------------


def test_initialize_issues_a_session() -> None:
    decision = post(INITIALIZE)
    assert isinstance(decision, ProcessMessages)
    assert decision.era is Era.HANDSHAKE
    assert decision.issue_session
    assert decision.session_id is None
    assert decision.session is None
    assert decision.protocol_version is None  # negotiated by the handshake
    assert decision.response_mode is ResponseMode.JSON
    assert decision.messages == (Request(1, "initialize", INITIALIZE["params"]),)
    sse = post(INITIALIZE, config=HttpConfig(response_mode=ResponseMode.SSE))
    assert isinstance(sse, ProcessMessages)
    assert sse.response_mode is ResponseMode.SSE


def test_initialize_ignores_an_unknown_version_header() -> None:
    decision = post(INITIALIZE, ("mcp-protocol-version", "2099-01-01"))
    assert isinstance(decision, ProcessMessages)
    assert decision.issue_session


def test_initialize_with_a_session_id_is_400() -> None:
    error = rejected(post(INITIALIZE, ("mcp-session-id", "old")), 400, ErrorCode.INVALID_REQUEST)
    assert error["id"] == 1


def test_request_without_session_is_400() -> None:
    error = rejected(post(TOOLS_LIST), 400, ErrorCode.INVALID_REQUEST)
    assert error["id"] == 2
    rejected(post(INITIALIZED), 400)
    rejected(get(), 400)
    rejected(delete(), 400)


@pytest.mark.parametrize("session_id", ["has space", "caf\u00e9", "tab\there", "x" * 257, "a\x7f"])
def test_malformed_session_id_is_400(session_id: str) -> None:
    rejected(post(TOOLS_LIST, ("mcp-session-id", session_id)), 400)
    rejected(get(("mcp-session-id", session_id)), 400)
    rejected(delete(("mcp-session-id", session_id)), 400)


def test_two_session_ids_are_400() -> None:
    rejected(post(TOOLS_LIST, ("mcp-session-id", "a"), ("mcp-session-id", "b")), 400)


def test_session_id_limits() -> None:
    assert is_valid_session_id("!~" * 10)
    assert not is_valid_session_id("")
    assert not is_valid_session_id("x" * 257)
    assert is_valid_session_id("x" * 257, max_length=300)


def test_post_with_session() -> None:
    pending = need(
        post(TOOLS_LIST, ("mcp-session-id", "sess-1"), ("MCP-Protocol-Version", "2025-11-25"))
    )
    assert pending.session_id == "sess-1"
    assert pending.method == "POST"
    assert not pending.legacy
    decision = decide_with_session(pending, session())
    assert isinstance(decision, ProcessMessages)
    assert decision.era is Era.HANDSHAKE
    assert decision.protocol_version == "2025-11-25"
    assert decision.session_id == "sess-1"
    assert decision.session == session()
    assert decision.response_mode is ResponseMode.JSON
    assert not decision.issue_session


def test_unknown_or_closed_session_is_404() -> None:
    pending = need(post(TOOLS_LIST, ("mcp-session-id", "sess-1")))
    error = rejected(decide_with_session(pending, None), 404)
    assert error["id"] == 2
    rejected(decide_with_session(pending, session(phase=SessionPhase.CLOSED)), 404)
    rejected(decide_with_session(need(get(("mcp-session-id", "sess-1"))), None), 404)
    rejected(decide_with_session(need(delete(("mcp-session-id", "sess-1"))), None), 404)


def test_lookup_of_the_wrong_session_is_a_caller_bug() -> None:
    pending = need(post(TOOLS_LIST, ("mcp-session-id", "other")))
    with pytest.raises(LocalProtocolError):
        decide_with_session(pending, session())


def test_missing_version_header_uses_the_negotiated_version() -> None:
    pending = need(post(TOOLS_LIST, ("mcp-session-id", "sess-1")))
    assert pending.protocol_version is None
    decision = decide_with_session(pending, session("2025-06-18"))
    assert isinstance(decision, ProcessMessages)
    assert decision.protocol_version == "2025-06-18"


def test_version_header_must_match_the_session() -> None:
    pending = need(
        post(TOOLS_LIST, ("mcp-session-id", "sess-1"), ("mcp-protocol-version", "2025-06-18"))
    )
    error = rejected(decide_with_session(pending, session("2025-11-25")), 400)
    assert error["id"] == 2
    pending_get = need(get(("mcp-session-id", "sess-1"), ("mcp-protocol-version", "2025-06-18")))
    rejected(decide_with_session(pending_get, session("2025-11-25")), 400)


def test_unsupported_version_header_is_400() -> None:
    error = rejected(
        post(TOOLS_LIST, ("mcp-session-id", "s"), ("mcp-protocol-version", "2099-01-01")),
        400,
        ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
    )
    assert error["id"] == 2
    assert error["error"]["data"] == {
        "supported": [STATELESS],
        "requested": "2099-01-01",
    }
    validate(STATELESS, "UnsupportedProtocolVersionError", error)
    rejected(get(("mcp-session-id", "s"), ("mcp-protocol-version", "bogus")), 400, -32022)
    rejected(delete(("mcp-session-id", "s"), ("mcp-protocol-version", "bogus")), 400, -32022)


def test_notifications_and_responses_only_are_202() -> None:
    pending = need(post(INITIALIZED, ("mcp-session-id", "sess-1")))
    decision = decide_with_session(pending, session(phase=SessionPhase.INITIALIZING))
    assert isinstance(decision, ProcessMessages)
    assert decision.response_mode is ResponseMode.ACCEPTED
    assert decision.messages == (Notification("notifications/initialized"),)
    assert response_start(decision.response_mode) == (202, ())
    reply = {"jsonrpc": "2.0", "id": "srv-1", "result": {}}
    pending = need(post(reply, ("mcp-session-id", "sess-1")))
    decision = decide_with_session(pending, session())
    assert isinstance(decision, ProcessMessages)
    assert decision.response_mode is ResponseMode.ACCEPTED
    assert decision.messages == (Response("srv-1", {}),)


def test_batches_only_in_2025_03_26() -> None:
    batch = [TOOLS_LIST, INITIALIZED]
    pending = need(
        post(batch, ("mcp-session-id", "sess-1"), ("mcp-protocol-version", "2025-03-26"))
    )
    decision = decide_with_session(pending, session("2025-03-26"))
    assert isinstance(decision, ProcessMessages)
    assert decision.batch
    assert len(decision.messages) == 2
    assert decision.response_mode is ResponseMode.JSON
    # With the header naming a later revision the batch is refused at once.
    rejected(
        post(batch, ("mcp-session-id", "sess-1"), ("mcp-protocol-version", "2025-06-18")),
        400,
        ErrorCode.INVALID_REQUEST,
    )
    # Without a header the session's negotiated revision decides.
    pending = need(post(batch, ("mcp-session-id", "sess-1")))
    rejected(decide_with_session(pending, session("2025-06-18")), 400, ErrorCode.INVALID_REQUEST)
    assert isinstance(decide_with_session(pending, session("2025-03-26")), ProcessMessages)


def test_batch_items_may_be_invalid_and_are_answered() -> None:
    pending = need(post([INITIALIZED, 5], ("mcp-session-id", "sess-1")))
    decision = decide_with_session(pending, session("2025-03-26"))
    assert isinstance(decision, ProcessMessages)
    assert isinstance(decision.messages[1], RemoteProtocolError)
    assert decision.response_mode is ResponseMode.JSON


def test_initialize_must_not_be_batched() -> None:
    rejected(post([INITIALIZE]), 400, ErrorCode.INVALID_REQUEST)


def test_batch_over_the_limit_is_413() -> None:
    config = HttpConfig(max_batch_size=2)
    rejected(post([INITIALIZED] * 3, ("mcp-session-id", "s"), config=config), 413)


def test_get_opens_the_session_stream() -> None:
    pending = need(get(("mcp-session-id", "sess-1"), ("last-event-id", "stream-1:42")))
    assert pending.method == "GET"
    assert pending.last_event_id == "stream-1:42"
    decision = decide_with_session(pending, session())
    assert decision == OpenStream("sess-1", session(), "2025-11-25", "stream-1:42")
    fresh = decide_with_session(need(get(("mcp-session-id", "sess-1"))), session())
    assert isinstance(fresh, OpenStream)
    assert fresh.last_event_id is None


def test_resume_point_of_a_get_stream() -> None:
    assert resume_point(OpenStream("s", session(), "2025-11-25", None)) == (None, -1)
    assert resume_point(OpenStream("s", session(), "2025-11-25", "n1-7:42")) == ("n1-7", 42)
    bad = resume_point(OpenStream("s", session(), "2025-11-25", "no-sequence"))
    assert isinstance(bad, Reject)
    assert bad.status == 400


@pytest.mark.parametrize(
    ("reject", "status", "code", "request_id"),
    [
        (stream_conflict(), 409, ErrorCode.INVALID_REQUEST, None),
        (stream_expired(), 404, ErrorCode.INVALID_REQUEST, None),
        (service_unavailable("the store is down"), 503, ErrorCode.INTERNAL_ERROR, None),
        (service_unavailable("full", 7), 503, ErrorCode.INTERNAL_ERROR, 7),
    ],
)
def test_stream_and_availability_rejections(
    reject: Reject, status: int, code: int, request_id: int | None
) -> None:
    assert (reject.status, reject.code) == (status, code)
    body = orjson.loads(reject.body)
    assert body["error"]["code"] == code
    assert body.get("id") == request_id
    assert ("content-type", "application/json") in reject.headers
    validate("2025-11-25", "JSONRPCErrorResponse", body)


@pytest.mark.parametrize("event_id", ["x" * 257, "caf\u00e9"])
def test_malformed_last_event_id_is_400(event_id: str) -> None:
    rejected(get(("mcp-session-id", "sess-1"), ("last-event-id", event_id)), 400)


def test_delete_terminates_the_session() -> None:
    # session-lifecycle.ts sends DELETE with only the session and version headers.
    pending = need(delete(("mcp-session-id", "sess-1"), ("MCP-Protocol-Version", "2025-11-25")))
    decision = decide_with_session(pending, session())
    assert decision == TerminateSession("sess-1", session())
    after = need(post(TOOLS_LIST, ("mcp-session-id", "sess-1")))
    rejected(decide_with_session(after, session(phase=SessionPhase.CLOSED)), 404)


def test_stateless_version_on_get_or_delete_is_405() -> None:
    for decision in (
        get(("mcp-session-id", "s"), ("mcp-protocol-version", STATELESS)),
        delete(("mcp-session-id", "s"), ("mcp-protocol-version", STATELESS)),
    ):
        rejected(decision, 405)
        assert isinstance(decision, Reject)
        assert ("allow", "POST") in decision.headers


# --- the stateless era -------------------------------------------------------------------


def test_stateless_request() -> None:
    body = stateless("tools/call", {"name": "echo", "arguments": {"x": 1}})
    decision = post(
        body,
        *v26(("mcp-method", "tools/call"), ("mcp-name", "echo"), ("mcp-session-id", "ignored")),
        ("Mcp-Param-Region", " us-west1 "),
    )
    assert isinstance(decision, ProcessMessages)
    assert decision.era is Era.STATELESS
    assert decision.protocol_version == STATELESS
    assert decision.session_id is None
    assert not decision.issue_session
    assert decision.response_mode is ResponseMode.JSON
    assert decision.param_headers == (("mcp-param-region", "us-west1"),)
    assert isinstance(decision.messages[0], Request)


def test_subscriptions_listen_always_streams() -> None:
    decision = post(stateless("subscriptions/listen"), *v26(("mcp-method", "subscriptions/listen")))
    assert isinstance(decision, ProcessMessages)
    assert decision.response_mode is ResponseMode.SSE


def test_stateless_notification_is_202_and_needs_no_method_header() -> None:
    decision = post(stateless("notifications/cancelled", request_id=None), *v26())
    assert isinstance(decision, ProcessMessages)
    assert decision.response_mode is ResponseMode.ACCEPTED
    rejected(
        post(stateless("notifications/cancelled", request_id=None), *v26(("mcp-method", "x"))),
        400,
        ErrorCode.HEADER_MISMATCH,
    )


def test_stateless_body_must_be_one_request_or_notification() -> None:
    reply = {"jsonrpc": "2.0", "id": 3, "result": {}}
    error = rejected(post(reply, *v26()), 400, ErrorCode.INVALID_REQUEST)
    assert error["id"] == 3
    rejected(post([stateless("tools/list")], *v26(("mcp-method", "tools/list"))), 400, -32600)


def test_missing_meta_fields_pass_to_the_message_layer() -> None:
    # The -32602 for a malformed _meta is the message layer's: stdio needs it too.
    body = {"jsonrpc": "2.0", "id": 101, "method": "server/discover", "params": {}}
    decision = post(body, *v26(("mcp-method", "server/discover")))
    assert isinstance(decision, ProcessMessages)
    assert decision.era is Era.STATELESS


def test_removed_methods_route_to_the_stateless_era() -> None:
    # stateless.ts expects 404 + -32601 for initialize sent with _meta and the header.
    decision = post(stateless("initialize"), *v26(("mcp-method", "initialize")))
    assert isinstance(decision, ProcessMessages)
    assert decision.era is Era.STATELESS
    assert not decision.issue_session


def header_mismatch(decision: object) -> dict[str, Any]:
    error = rejected(decision, 400, ErrorCode.HEADER_MISMATCH)
    validate(STATELESS, "HeaderMismatchError", error)
    return error


def test_version_header_and_meta_must_agree() -> None:
    body = stateless("server/discover", request_id=302)
    body["params"]["_meta"] = {**META, "io.modelcontextprotocol/protocolVersion": "v999.0.0"}
    error = header_mismatch(post(body, *v26(("mcp-method", "server/discover"))))
    assert error["id"] == 302
    # A handshake-era header does not let modern _meta through either.
    header_mismatch(
        post(
            stateless("tools/list"), ("mcp-protocol-version", "2025-11-25"), ("mcp-session-id", "s")
        )
    )


def test_unsupported_version_in_header_and_meta() -> None:
    body = stateless("server/discover", request_id=301)
    body["params"]["_meta"] = {**META, "io.modelcontextprotocol/protocolVersion": "v999.0.0"}
    error = rejected(
        post(body, ("mcp-protocol-version", "v999.0.0"), ("mcp-method", "server/discover")),
        400,
        ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
    )
    assert error["id"] == 301
    assert error["error"]["data"]["requested"] == "v999.0.0"
    assert STATELESS in error["error"]["data"]["supported"]
    validate(STATELESS, "UnsupportedProtocolVersionError", error)


def test_modern_meta_without_the_header_is_a_mismatch() -> None:
    header_mismatch(post(stateless("tools/list"), ("mcp-method", "tools/list")))


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ((("mcp-method", "tools/list"),), True),
        ((("MCP-METHOD", "tools/list"),), True),
        ((("Mcp-Method", "  tools/list\t"),), True),
        ((), False),
        ((("mcp-method", "prompts/list"),), False),
        ((("mcp-method", "TOOLS/LIST"),), False),
        ((("mcp-method", "tools/list"), ("mcp-method", "prompts/list")), False),
        ((("mcp-method", "tools/li\u00a7t"),), False),
    ],
)
def test_mcp_method_header(headers: tuple[tuple[str, str], ...], ok: bool) -> None:
    decision = post(stateless("tools/list"), *v26(*headers))
    if ok:
        assert isinstance(decision, ProcessMessages)
    else:
        assert header_mismatch(decision)["id"] == 7


@pytest.mark.parametrize(
    ("method", "params", "name", "ok"),
    [
        ("tools/call", {"name": "echo"}, "echo", True),
        ("tools/call", {"name": "echo"}, "  echo  ", True),
        ("tools/call", {"name": "echo"}, "wrong_tool_name", False),
        ("tools/call", {"name": "echo"}, None, False),
        ("tools/call", {"name": "Hello, 世界"}, "=?base64?SGVsbG8sIOS4lueVjA==?=", True),
        ("tools/call", {"name": "=?base64?literal?="}, "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", True),
        ("tools/call", {"name": "echo"}, "=?base64?SGVsbG8?=", False),
        ("tools/call", {"name": "echo"}, "=?base64?SGVs!!!bG8=?=", False),
        ("tools/call", {"name": "SGVsbG8="}, "SGVsbG8=", True),
        ("tools/call", {}, "echo", False),
        ("tools/call", {}, None, True),
        ("prompts/get", {"name": "p"}, "p", True),
        ("prompts/get", {"name": "p"}, None, False),
        ("resources/read", {"uri": "file:///a.txt"}, "file:///a.txt", True),
        ("resources/read", {"uri": "file:///a.txt"}, "file:///b.txt", False),
        ("resources/read", {"uri": "file:///a.txt"}, None, False),
        ("tasks/get", {"taskId": "t1"}, "t1", True),
        ("tasks/get", {"taskId": "t1"}, "t2", False),
        ("tasks/get", {"taskId": "t1"}, None, True),
        ("tools/list", {}, "anything", True),
    ],
)
def test_mcp_name_header(method: str, params: dict[str, Any], name: str | None, ok: bool) -> None:
    headers = [("mcp-method", method)]
    if name is not None:
        headers.append(("mcp-name", name))
    decision = post(stateless(method, params), *v26(*headers))
    if ok:
        assert isinstance(decision, ProcessMessages), decision
    else:
        header_mismatch(decision)


def test_duplicate_version_headers_are_a_mismatch() -> None:
    header_mismatch(
        post(
            stateless("tools/list"),
            ("mcp-protocol-version", STATELESS),
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-method", "tools/list"),
        )
    )


# --- one endpoint, both eras, and configurations serving one era -------------------------


def test_both_eras_on_one_endpoint() -> None:
    modern = post(stateless("tools/list"), *v26(("mcp-method", "tools/list")))
    legacy = post(INITIALIZE, ("mcp-protocol-version", "2025-06-18"))
    assert isinstance(modern, ProcessMessages)
    assert modern.era is Era.STATELESS
    assert isinstance(legacy, ProcessMessages)
    assert legacy.era is Era.HANDSHAKE


def test_stateless_only_server() -> None:
    config = HttpConfig(supported_versions=(STATELESS,))
    error = header_mismatch(post(INITIALIZE, config=config))
    assert STATELESS in error["error"]["message"]
    rejected(post(INITIALIZE, ("mcp-protocol-version", "2025-11-25"), config=config), 400, -32022)
    decision = get(("mcp-session-id", "s"), config=config)
    rejected(decision, 405)
    assert isinstance(decision, Reject)
    assert ("allow", "POST") in decision.headers
    rejected(get(path="/sse", config=config), 404)
    ok = post(stateless("tools/list"), *v26(("mcp-method", "tools/list")), config=config)
    assert isinstance(ok, ProcessMessages)


def test_handshake_only_server() -> None:
    config = HttpConfig(supported_versions=("2025-06-18", "2025-11-25"))
    error = rejected(
        post(stateless("tools/list"), *v26(("mcp-method", "tools/list")), config=config),
        400,
        ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
    )
    assert error["error"]["data"]["supported"] == ["2025-06-18", "2025-11-25"]


# --- the 2024-11-05 HTTP+SSE transport ---------------------------------------------------


def test_legacy_get_opens_a_stream_with_an_endpoint_event() -> None:
    assert get(path="/sse") == OpenLegacyStream()
    assert LEGACY_ENDPOINT_EVENT == "endpoint"
    assert legacy_endpoint_url("abc-123", CONFIG) == "/messages?sessionId=abc-123"
    assert (
        legacy_endpoint_url("a+b/c", CONFIG, root_path="/app")
        == "/app/messages?sessionId=a%2Bb%2Fc"
    )
    with pytest.raises(LocalProtocolError):
        legacy_endpoint_url("bad id", CONFIG)
    assert response_start(ResponseMode.SSE)[1][0] == ("content-type", "text/event-stream")


def legacy_post(body: Any, query: str = "sessionId=abc-123") -> HttpDecision:
    base = (("host", "localhost"), ("content-type", "application/json"))
    return post(body, path="/messages", query=query, base=base)


def test_legacy_post_goes_to_the_stream() -> None:
    pending = need(legacy_post(INITIALIZE))
    assert pending.legacy
    assert pending.session_id == "abc-123"
    rejected(decide_with_session(pending, None), 404)
    decision = decide_with_session(pending, None, legacy_stream_open=True)
    assert isinstance(decision, ProcessMessages)
    assert decision.response_mode is ResponseMode.LEGACY_STREAM
    assert decision.session_id == "abc-123"
    assert decision.session is None
    assert decision.protocol_version is None
    assert not decision.issue_session
    assert response_start(decision.response_mode) == (202, ())
    state = SessionState("abc-123", "2024-11-05", SessionPhase.OPERATING)
    after = decide_with_session(need(legacy_post(TOOLS_LIST)), state, legacy_stream_open=True)
    assert isinstance(after, ProcessMessages)
    assert after.protocol_version == "2024-11-05"
    closed = SessionState("abc-123", "2024-11-05", SessionPhase.CLOSED)
    rejected(
        decide_with_session(need(legacy_post(TOOLS_LIST)), closed, legacy_stream_open=True), 404
    )


def test_legacy_post_ignores_the_version_header_and_accept() -> None:
    base = (("host", "localhost"), ("content-type", "application/json"), ("accept", "text/html"))
    decision = post(
        TOOLS_LIST,
        ("mcp-protocol-version", "bogus"),
        path="/messages",
        query="sessionId=a",
        base=base,
    )
    assert isinstance(decision, NeedSession)


@pytest.mark.parametrize(
    "query", ["", "session=abc", "sessionId=", "sessionId=a%20b", "sessionId=a&sessionId=b"]
)
def test_legacy_post_needs_one_good_session_id(query: str) -> None:
    rejected(legacy_post(TOOLS_LIST, query=query), 400)


def test_legacy_post_rejects_too_many_query_fields_and_bad_bodies() -> None:
    rejected(legacy_post(TOOLS_LIST, query="&".join(f"k{i}=v" for i in range(40))), 400)
    rejected(legacy_post(b"{"), 400, ErrorCode.PARSE_ERROR)


def test_legacy_batches_follow_the_negotiated_version() -> None:
    pending = need(legacy_post([TOOLS_LIST]))
    rejected(decide_with_session(pending, None, legacy_stream_open=True), 400, -32600)
    state = SessionState("abc-123", "2025-03-26", SessionPhase.OPERATING)
    decision = decide_with_session(pending, state, legacy_stream_open=True)
    assert isinstance(decision, ProcessMessages)
    assert decision.batch


# --- responses ---------------------------------------------------------------------------


def test_response_start() -> None:
    assert response_start(ResponseMode.JSON) == (200, (("content-type", "application/json"),))
    status, headers = response_start(ResponseMode.SSE, "sess-1")
    assert status == 200
    assert dict(headers) == {
        "content-type": "text/event-stream",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
        "mcp-session-id": "sess-1",
    }
    assert response_start(ResponseMode.ACCEPTED) == (202, ())
    assert response_start(ResponseMode.LEGACY_STREAM) == (202, ())
    with pytest.raises(LocalProtocolError):
        response_start(ResponseMode.JSON, "no spaces allowed")
    with pytest.raises(LocalProtocolError):
        response_start(ResponseMode.JSON, "")


@pytest.mark.parametrize(
    ("era", "code", "status"),
    [
        (Era.STATELESS, -32601, 404),
        (Era.STATELESS, -32602, 400),
        (Era.STATELESS, -32021, 400),
        (Era.STATELESS, -32022, 400),
        (Era.STATELESS, -32020, 400),
        (Era.STATELESS, -32600, 400),
        (Era.STATELESS, -32700, 400),
        (Era.STATELESS, -32603, 200),
        (Era.STATELESS, 12345, 200),
        (Era.HANDSHAKE, -32601, 200),
        (Era.HANDSHAKE, -32602, 200),
    ],
)
def test_status_for_error(era: Era, code: int, status: int) -> None:
    assert status_for_error(era, code) == status


def test_reject_for_a_protocol_error() -> None:
    error = RemoteProtocolError("nope", code=-32021, http_status=400, request_id="r", data={"a": 1})
    reject = reject_for(error, (("x-extra", "1"),))
    assert reject.status == 400
    assert reject.code == -32021
    assert reject.message == "nope"
    assert reject.headers == (("content-type", "application/json"), ("x-extra", "1"))
    assert orjson.loads(reject.body) == {
        "jsonrpc": "2.0",
        "id": "r",
        "error": {"code": -32021, "message": "nope", "data": {"a": 1}},
    }


# --- custom parameter headers ------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "query": {"type": "string"},
        "limit": {"type": "integer", "x-mcp-header": "Limit"},
        "dry": {"type": "boolean", "x-mcp-header": "Dry"},
        "nested": {
            "type": "object",
            "properties": {"tenant": {"type": "string", "x-mcp-header": "Tenant"}},
        },
        "listed": {"type": "array", "items": {"type": "string", "x-mcp-header": "Ignored"}},
    },
}


def test_param_header_paths() -> None:
    assert param_header_paths(SCHEMA) == {
        "Region": ("region",),
        "Limit": ("limit",),
        "Dry": ("dry",),
        "Tenant": ("nested", "tenant"),
    }
    duplicate = {"properties": {"a": {"x-mcp-header": "X"}, "b": {"x-mcp-header": "x"}}}
    with pytest.raises(LocalProtocolError):
        param_header_paths(duplicate)
    assert param_header_paths({"properties": "nonsense"}) == {}


@pytest.mark.parametrize(
    ("arguments", "headers", "ok"),
    [
        ({"region": "us-west1"}, (("mcp-param-region", "us-west1"),), True),
        ({"region": "us-west1"}, (("mcp-param-region", "eu-west1"),), False),
        ({"region": "us-west1"}, (), False),
        ({"region": None}, (), True),
        ({}, (), True),
        ({}, (("mcp-param-region", "us-west1"),), False),
        ({"region": "Hello"}, (("mcp-param-region", "=?base64?SGVsbG8=?="),), True),
        ({"region": "Hello"}, (("mcp-param-region", "=?base64?SGVsbG8?="),), False),
        ({"region": "Hello"}, (("mcp-param-region", "=?base64?SGVs!!!bG8=?="),), False),
        ({"region": "SGVsbG8="}, (("mcp-param-region", "SGVsbG8="),), True),
        ({"region": "=?base64?SGVsbG8="}, (("mcp-param-region", "=?base64?SGVsbG8="),), True),
        ({"limit": 42}, (("mcp-param-limit", "42"),), True),
        ({"limit": 42}, (("mcp-param-limit", "42.0"),), True),
        ({"limit": 42}, (("mcp-param-limit", "4.2e1"),), True),
        ({"limit": 42}, (("mcp-param-limit", "43"),), False),
        ({"limit": 42}, (("mcp-param-limit", "4_2"),), False),
        ({"dry": True}, (("mcp-param-dry", "true"),), True),
        ({"dry": False}, (("mcp-param-dry", "false"),), True),
        ({"dry": True}, (("mcp-param-dry", "True"),), False),
        ({"nested": {"tenant": "acme"}}, (("mcp-param-tenant", "acme"),), True),
        ({"nested": "flat"}, (), True),
        ({"region": "a"}, (("mcp-param-region", "a"), ("mcp-param-region", "b")), False),
        ({"region": "a\u00e9"}, (("mcp-param-region", "a\u00e9"),), False),
        ({"region": "a"}, (("mcp-param-region", "a"), ("mcp-param-unknown", "zzz")), True),
    ],
)
def test_validate_param_headers(arguments: dict[str, Any], headers: Headers, ok: bool) -> None:
    annotations = param_header_paths(SCHEMA)
    if ok:
        validate_param_headers(headers, arguments, annotations)
    else:
        with pytest.raises(RemoteProtocolError) as info:
            validate_param_headers(headers, arguments, annotations, request_id=9)
        assert info.value.code == ErrorCode.HEADER_MISMATCH
        assert info.value.http_status == 400
        assert info.value.request_id == 9


def test_decode_header_value() -> None:
    assert decode_header_value("plain") == "plain"
    assert decode_header_value("=?base64?IHBhZGRlZCA=?=") == " padded "
    assert decode_header_value("=?base64?bGluZTEKbGluZTI=?=") == "line1\nline2"
    assert decode_header_value("=?base64??=") == ""
    assert decode_header_value("=?base64?=") == "=?base64?="
    for bad in ("=?base64?/w==?=", "=?base64?\u00e9?=", "a\x00b", "caf\u00e9"):
        with pytest.raises(RemoteProtocolError):
            decode_header_value(bad)


# --- one table of representative requests ------------------------------------------------

SID = ("mcp-session-id", "sess-1")
LOCAL = ("host", "localhost")
SSE_ACCEPT = ("accept", "text/event-stream")
LIST_BODY = orjson.dumps(TOOLS_LIST)
MODERN_BODY = orjson.dumps(stateless("tools/list"))
TOO_BIG = ("content-length", str(DEFAULT_MAX_BODY_SIZE + 1))


def http(
    method: str, path: str, *headers: tuple[str, str], body: bytes = b"", query: str = ""
) -> HttpRequest:
    return HttpRequest(method, path, query, headers, body)


def post_mcp(*headers: tuple[str, str], body: bytes = b"") -> HttpRequest:
    return http("POST", "/mcp", *POST_HEADERS, *headers, body=body)


LEGACY_POST = http("POST", "/messages", *POST_HEADERS, body=LIST_BODY, query="sessionId=s")
BAD_VERSION = ("mcp-protocol-version", "x")


PM, NS = ProcessMessages, NeedSession
TABLE: list[tuple[str, HttpRequest, type[object], int | None, int | None]] = [
    # (name, request, decision type, status, JSON-RPC code)
    ("initialize", post_mcp(body=orjson.dumps(INITIALIZE)), PM, None, None),
    ("no session", post_mcp(body=LIST_BODY), Reject, 400, -32600),
    ("with session", post_mcp(SID, body=LIST_BODY), NS, None, None),
    ("bad json", post_mcp(SID, body=b"{]"), Reject, 400, -32700),
    ("bad rpc", post_mcp(SID, body=b"{}"), Reject, 400, -32600),
    ("no accept", http("POST", "/mcp", *POST_HEADERS[:2], body=b"{}"), Reject, 406, -32600),
    ("no type", http("POST", "/mcp", POST_HEADERS[0], POST_HEADERS[2]), Reject, 415, -32600),
    ("evil origin", post_mcp(("origin", "http://e.com")), Reject, 403, -32600),
    ("evil host", http("GET", "/mcp", ("host", "evil.com")), Reject, 421, -32600),
    ("unknown path", http("GET", "/x", LOCAL), Reject, 404, -32600),
    ("put", http("PUT", "/mcp", LOCAL), Reject, 405, -32600),
    ("get", http("GET", "/mcp", LOCAL, SSE_ACCEPT, SID), NS, None, None),
    ("get no accept", http("GET", "/mcp", LOCAL, SID), Reject, 406, -32600),
    ("delete", http("DELETE", "/mcp", LOCAL, SID), NS, None, None),
    ("delete no session", http("DELETE", "/mcp", LOCAL), Reject, 400, -32600),
    ("legacy get", http("GET", "/sse", LOCAL), OpenLegacyStream, None, None),
    ("legacy post", LEGACY_POST, NS, None, None),
    ("legacy no id", http("POST", "/messages", *POST_HEADERS, body=LIST_BODY), Reject, 400, -32600),
    ("stateless", post_mcp(*v26(("mcp-method", "tools/list")), body=MODERN_BODY), PM, None, None),
    ("no mcp-method", post_mcp(*v26(), body=MODERN_BODY), Reject, 400, -32020),
    ("bad version", post_mcp(SID, BAD_VERSION, body=LIST_BODY), Reject, 400, -32022),
    ("too big", post_mcp(TOO_BIG), Reject, 413, -32600),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "kind", "status", "code"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_table(
    request_: HttpRequest, kind: type[object], status: int | None, code: int | None
) -> None:
    decision = decide(request_, CONFIG)
    assert isinstance(decision, kind), decision
    if status is not None:
        rejected(decision, status, code)


# --- properties --------------------------------------------------------------------------

METHODS = st.sampled_from(["GET", "POST", "DELETE", "PUT", "OPTIONS", "get"]) | st.text(max_size=8)
PATHS = st.sampled_from(["/mcp", "/sse", "/messages", "/", "/mcp/"]) | st.text(max_size=12)
QUERIES = st.sampled_from(["", "sessionId=s1", "sessionId=", "sessionId=a&sessionId=b"]) | st.text(
    max_size=20
)
HEADER_VALUES: dict[str, list[str]] = {
    "host": ["localhost", "localhost:3000", "[::1]:1", "evil.com", "", "[::1"],
    "origin": ["http://localhost:3000", "null", "http://evil.com", "x"],
    "accept": ["application/json, text/event-stream", "text/event-stream", "*/*", "*/*;q=0", ""],
    "content-type": ["application/json", "text/plain", "application/json; charset=utf-8"],
    "content-length": ["0", "10", "99999999999", "-1", "x"],
    "mcp-session-id": ["s1", "sess-1", "bad id", "x" * 300],
    "mcp-protocol-version": [*SUPPORTED_VERSIONS, "v999", ""],
    "mcp-method": ["tools/list", "tools/call", "initialize", "TOOLS/LIST"],
    "mcp-name": ["echo", "=?base64?ZWNobw==?=", "=?base64?!!?=", " echo "],
    "mcp-param-region": ["us", "=?base64?dXM=?="],
    "last-event-id": ["1", "s:2", "x" * 300],
}
HEADER_NAMES = st.sampled_from(sorted(HEADER_VALUES))


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(0, 10))):
        if draw(st.booleans()):
            name = draw(HEADER_NAMES)
            value = draw(st.sampled_from(HEADER_VALUES[name]) | st.text(max_size=12))
        else:
            name = draw(st.text(max_size=10))
            value = draw(st.text(max_size=10))
        out.append((name, value))
    return out


JSON_BODIES = st.sampled_from(
    [
        INITIALIZE,
        TOOLS_LIST,
        INITIALIZED,
        [TOOLS_LIST, INITIALIZED],
        [INITIALIZE],
        stateless("tools/list"),
        stateless("tools/call", {"name": "echo"}),
        stateless("notifications/x", request_id=None),
        {"jsonrpc": "2.0", "id": 1, "result": {}},
        {"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"_meta": {META_KEY: {}}}},
        [],
        [1, 2],
        {},
    ]
).map(orjson.dumps)  # fmt: skip
BODIES = JSON_BODIES | st.binary(max_size=64)
CONFIGS = st.sampled_from(
    [
        CONFIG,
        HttpConfig(allowed_hosts=None, allowed_origins=None, response_mode=ResponseMode.SSE),
        HttpConfig(supported_versions=(STATELESS,)),
        HttpConfig(supported_versions=("2024-11-05", "2025-03-26"), max_body_size=32),
        HttpConfig(enable_get_stream=False, allow_session_delete=False, legacy_sse_path=None),
    ]
)
SESSIONS = st.none() | st.builds(
    SessionState,
    session_id=st.just("placeholder"),
    protocol_version=st.sampled_from(SUPPORTED_VERSIONS),
    phase=st.sampled_from(SessionPhase),
)


def check_decision(decision: object) -> None:
    assert isinstance(
        decision,
        Reject | ProcessMessages | OpenStream | TerminateSession | OpenLegacyStream | NeedSession,
    ), decision
    if isinstance(decision, Reject):
        assert 400 <= decision.status < 500, decision
        body = orjson.loads(decision.body)
        assert body["jsonrpc"] == "2.0"
        assert body["error"]["code"] == decision.code


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=METHODS,
    path=PATHS,
    query=QUERIES,
    header_list=headers(),
    body=BODIES,
    config=CONFIGS,
    state=SESSIONS,
    stream_open=st.booleans(),
)
def test_any_request_gets_a_decision_or_a_4xx(
    method: str,
    path: str,
    query: str,
    header_list: list[tuple[str, str]],
    body: bytes,
    config: HttpConfig,
    state: SessionState | None,
    stream_open: bool,
) -> None:
    request = HttpRequest(method, path, query, header_list, body)
    decision = decide(request, config)
    check_decision(decision)
    head = precheck(request, config)
    if head is not None:
        assert isinstance(decision, Reject)
        assert decision.status == head.status
    if isinstance(decision, NeedSession):
        if state is not None:
            state = SessionState(decision.session_id, state.protocol_version, state.phase)
        final = decide_with_session(decision, state, legacy_stream_open=stream_open)
        check_decision(final)
        assert not isinstance(final, NeedSession | OpenLegacyStream)


@settings(max_examples=200, deadline=None)
@given(header_list=headers(), body=JSON_BODIES, data=st.data())
def test_header_names_are_case_insensitive(
    header_list: list[tuple[str, str]], body: bytes, data: st.DataObject
) -> None:
    def recase(name: str) -> str:
        flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
        return "".join(c.upper() if flip else c for c, flip in zip(name, flips, strict=True))

    lower = HttpRequest("POST", "/mcp", "", [(n.lower(), v) for n, v in header_list], body)
    mixed = HttpRequest("POST", "/mcp", "", [(recase(n.lower()), v) for n, v in header_list], body)
    # RemoteProtocolError items compare by identity: compare the decisions' reprs.
    assert repr(decide(lower, CONFIG)) == repr(decide(mixed, CONFIG))


# --- the fuzz target runs under pytest ---------------------------------------------------

FUZZ_DIR = Path(__file__).resolve().parent.parent / "fuzz"


def load_fuzz_target() -> Any:
    spec = importlib.util.spec_from_file_location("fuzz_http", FUZZ_DIR / "fuzz_http.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fuzz_target_on_its_corpus_and_random_bytes() -> None:
    target = load_fuzz_target()
    seeds = sorted((FUZZ_DIR / "corpus" / "http").iterdir())
    assert seeds
    for seed in seeds:
        target.TestOneInput(seed.read_bytes())
    for size in range(0, 300, 7):
        target.TestOneInput(bytes((i * 131 + size) % 256 for i in range(size)))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_target_on_hypothesis_bytes(data: bytes) -> None:
    load_fuzz_target_cached().TestOneInput(data)


_FUZZ_MODULE: list[Any] = []


def load_fuzz_target_cached() -> Any:
    if not _FUZZ_MODULE:
        _FUZZ_MODULE.append(load_fuzz_target())
    return _FUZZ_MODULE[0]


# --- corners -------------------------------------------------------------------------------


def test_turned_off_checks_allow_anything() -> None:
    config = HttpConfig(allowed_hosts=None, allowed_origins=None)
    assert config.host_allowed("anything at all")
    assert config.origin_allowed("null")


def test_duplicate_name_and_event_id_headers() -> None:
    body = stateless("tools/call", {"name": "echo"})
    header_mismatch(
        post(body, *v26(("mcp-method", "tools/call"), ("mcp-name", "echo"), ("mcp-name", "x")))
    )
    rejected(get(("mcp-session-id", "s"), ("last-event-id", "a:1"), ("last-event-id", "b:2")), 400)


def test_hand_built_pending_decisions_are_caller_bugs() -> None:
    legacy = NeedSession("s", "POST", True, None, None, ResponseMode.LEGACY_STREAM, None)
    with pytest.raises(LocalProtocolError):
        decide_with_session(legacy, None, legacy_stream_open=True)
    no_body = NeedSession("sess-1", "POST", False, None, None, ResponseMode.JSON, None)
    with pytest.raises(LocalProtocolError):
        decide_with_session(no_body, session())


def test_param_headers_for_numbers_and_objects() -> None:
    annotations = {"Ratio": ("ratio",), "Blob": ("blob",)}
    validate_param_headers((("mcp-param-ratio", "0.5"),), {"ratio": 0.5}, annotations)
    for value in ("0.25", "half", "1" * 70):
        with pytest.raises(RemoteProtocolError):
            validate_param_headers((("mcp-param-ratio", value),), {"ratio": 0.5}, annotations)
    # A value that cannot be mirrored is not expected in a header, and must not appear.
    validate_param_headers((), {"blob": {"a": 1}}, annotations)
    with pytest.raises(RemoteProtocolError):
        validate_param_headers((("mcp-param-blob", "x"),), {"blob": {"a": 1}}, annotations)
    assert param_header_paths({"properties": {"a": 1, "b": {"x-mcp-header": 5}}}) == {}


# -- CORS (opt-in) -------------------------------------------------------------


def _cors_config(**kwargs: Any) -> HttpConfig:
    return HttpConfig(
        cors=True, allowed_origins=("https://app.example",), allowed_hosts=None, **kwargs
    )


def test_options_is_not_allowed_without_cors() -> None:
    request = HttpRequest(
        method="OPTIONS", path="/mcp", query="", headers=(("host", "localhost"),), body=b""
    )
    rejected(decide(request, HttpConfig()), 405)


def test_cors_preflight_from_an_allowed_origin() -> None:
    request = HttpRequest(
        method="OPTIONS",
        path="/mcp",
        query="",
        headers=(
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type, mcp-session-id, Mcp-Param-Region"),
        ),
        body=b"",
    )
    decision = decide(request, _cors_config(cors_max_age=60))
    assert isinstance(decision, Preflight)
    headers = dict(decision.headers)
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert set(headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "DELETE"}
    allowed = headers["access-control-allow-headers"].split(", ")
    assert {"mcp-session-id", "mcp-protocol-version", "content-type", "mcp-param-region"} <= set(
        allowed
    )
    assert headers["access-control-max-age"] == "60"
    assert headers["vary"] == "origin"


def test_cors_preflight_refusals() -> None:
    config = _cors_config()

    def preflight(*headers: tuple[str, str], path: str = "/mcp") -> object:
        return decide(
            HttpRequest(method="OPTIONS", path=path, query="", headers=headers, body=b""), config
        )

    rejected(preflight(("origin", "https://evil.example")), 403)
    rejected(preflight(), 400)
    rejected(preflight(("origin", "https://app.example"), path="/other"), 404)
    rejected(
        preflight(("origin", "https://app.example"), ("access-control-request-method", "PUT")), 405
    )


def test_cors_headers_on_responses() -> None:
    config = _cors_config()
    request = HttpRequest(
        method="POST", path="/mcp", query="", headers=(("origin", "https://app.example"),), body=b""
    )
    headers = dict(cors_headers(request, config))
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert "mcp-session-id" in headers["access-control-expose-headers"]
    assert cors_headers(request, HttpConfig(allowed_hosts=None)) == ()
    no_origin = HttpRequest(method="POST", path="/mcp", query="", headers=(), body=b"")
    assert cors_headers(no_origin, config) == ()
    with pytest.raises(LocalProtocolError):
        HttpConfig(cors_max_age=-1)


def test_a_checked_head_is_checked_again_under_another_config() -> None:
    # Heads that passed are remembered per config: the same head under a config
    # that refuses its Host is refused.
    head = get(("mcp-session-id", "sess-1"))
    assert isinstance(head, NeedSession)
    strict = HttpConfig(allowed_hosts=["example.com"])
    rejected(get(("mcp-session-id", "sess-1"), config=strict), 421)
    assert isinstance(get(("mcp-session-id", "sess-1")), NeedSession)


def test_remembered_heads_are_bounded() -> None:
    heads = CONFIG._checked_heads
    for n in range(heads.limit + 10):
        need(get(("mcp-session-id", f"sess-{n}")))
    assert 0 < len(heads.entries) <= heads.limit


def test_remembered_host_verdicts_are_bounded_and_keep_the_first() -> None:
    config = HttpConfig()
    verdicts = config._host_verdicts
    assert config.host_allowed("localhost:8000")
    for n in range(verdicts.limit + 10):
        assert not config.host_allowed(f"evil-{n}.example")
    assert len(verdicts.entries) == verdicts.limit
    assert verdicts.entries["localhost:8000"] is True
    assert config.host_allowed("localhost:8000")
    assert not config.host_allowed("evil.example")


def test_what_a_config_remembers_is_not_part_of_it() -> None:
    used = HttpConfig()
    assert isinstance(get(("mcp-session-id", "sess-1"), config=used), NeedSession)
    assert used._checked_heads.entries and used._host_verdicts.entries
    fresh = HttpConfig()
    assert used == fresh
    assert hash(used) == hash(fresh)
    assert repr(used) == repr(fresh)
    assert not fresh._checked_heads.entries
