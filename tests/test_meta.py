"""The 2026-07-28 ``_meta`` envelope: parsing, version, client capabilities, log and progress."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from scaled_mcp.protocol.jsonrpc import (
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    message_to_json,
)
from scaled_mcp.protocol.stateless import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROGRESS_TOKEN,
    META_PROTOCOL_VERSION,
    RequestMeta,
    check_protocol_version,
    log_message,
    missing_client_capabilities,
    parse_request_meta,
    progress_notification,
    require_client_capabilities,
)
from tests.spec import is_valid, validate
from tests.stateless import (
    CLIENT_INFO,
    REV,
    app_request,
    dispatcher,
    error_json,
    meta,
    random_meta,
    request,
)

# -- the envelope ------------------------------------------------------------------


def test_parse_request_meta_reads_every_field() -> None:
    raw = meta(
        **{
            META_LOG_LEVEL: "warning",
            META_PROGRESS_TOKEN: "tok",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
        }
    )
    raw[META_CLIENT_CAPABILITIES] = {"sampling": {"tools": {}}, "elicitation": {}}
    parsed = parse_request_meta(request("tools/list", _meta=raw))
    assert parsed == RequestMeta(
        protocol_version=REV,
        client_capabilities={"sampling": {"tools": {}}, "elicitation": {}},
        client_info=CLIENT_INFO,
        log_level="warning",
        progress_token="tok",
        raw=raw,
    )
    assert parsed.raw["traceparent"].startswith("00-")


def test_an_integral_float_progress_token_is_an_integer() -> None:
    parsed = parse_request_meta(request("tools/list", _meta=meta(**{META_PROGRESS_TOKEN: 7.0})))
    assert parsed.progress_token == 7
    assert type(parsed.progress_token) is int
    with pytest.raises(RemoteProtocolError):
        parse_request_meta(request("tools/list", _meta=meta(**{META_PROGRESS_TOKEN: 1e300})))


def test_client_info_is_optional() -> None:
    raw = meta()
    del raw[META_CLIENT_INFO]
    parsed = parse_request_meta(request("server/discover", _meta=raw))
    assert parsed.client_info is None
    assert parsed.log_level is None
    assert parsed.progress_token is None


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (None, "params._meta"),
        ({}, "params._meta"),
        ({"_meta": None}, "params._meta"),
        ({"_meta": []}, "params._meta"),
        ({"_meta": {META_CLIENT_CAPABILITIES: {}}}, META_PROTOCOL_VERSION),
        ({"_meta": {META_PROTOCOL_VERSION: REV}}, META_CLIENT_CAPABILITIES),
        ({"_meta": {}}, "missing"),
        ({"_meta": {META_PROTOCOL_VERSION: 20260728, META_CLIENT_CAPABILITIES: {}}}, "string"),
        ({"_meta": {META_PROTOCOL_VERSION: REV, META_CLIENT_CAPABILITIES: []}}, "object"),
        ({"_meta": {META_PROTOCOL_VERSION: REV, META_CLIENT_CAPABILITIES: None}}, "object"),
        ({"_meta": meta(**{META_CLIENT_CAPABILITIES: {"sampling": True}})}, "sampling"),
        ({"_meta": meta(**{META_CLIENT_CAPABILITIES: {"elicitation": {"url": 1}}})}, "url"),
        ({"_meta": meta(**{META_CLIENT_CAPABILITIES: {"extensions": {"a/b": 1}}})}, "extensions"),
        ({"_meta": meta(**{META_CLIENT_INFO: "me"})}, META_CLIENT_INFO),
        ({"_meta": meta(**{META_CLIENT_INFO: {"name": "x"}})}, META_CLIENT_INFO),
        ({"_meta": meta(**{META_LOG_LEVEL: "verbose"})}, "log level"),
        ({"_meta": meta(**{META_LOG_LEVEL: 3})}, "log level"),
        ({"_meta": meta(**{META_PROGRESS_TOKEN: True})}, "progressToken"),
        ({"_meta": meta(**{META_PROGRESS_TOKEN: 1.5})}, "progressToken"),
        ({"_meta": meta(**{META_PROGRESS_TOKEN: None})}, "progressToken"),
        ({"_meta": meta(**{META_CLIENT_INFO: None})}, META_CLIENT_INFO),
        ({"_meta": meta(**{META_LOG_LEVEL: None})}, "log level"),
    ],
)
def test_malformed_envelopes_are_invalid_params(params: Any, fragment: str) -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        parse_request_meta(Request(101, "server/discover", params))
    exc = excinfo.value
    assert (exc.code, exc.http_status, exc.request_id) == (-32602, 400, 101)
    assert fragment in exc.message
    validate(REV, "JSONRPCErrorResponse", error_json(exc))
    validate(REV, "InvalidParamsError", error_json(exc)["error"])


def test_unsupported_version() -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        check_protocol_version("v999.0.0", (REV,), request_id=301)
    exc = excinfo.value
    assert (exc.code, exc.http_status, exc.request_id) == (-32022, 400, 301)
    assert exc.data == {"requested": "v999.0.0", "supported": [REV]}
    validate(REV, "UnsupportedProtocolVersionError", error_json(exc))
    check_protocol_version(REV, (REV,))


@settings(max_examples=400, deadline=None)
@given(raw=random_meta)
def test_random_meta_is_parsed_or_rejected_with_its_code(raw: dict[str, Any]) -> None:
    req = Request(7, "tools/list", {"_meta": raw})
    error: RemoteProtocolError | None = None
    try:
        parsed = parse_request_meta(req)
        check_protocol_version(parsed.protocol_version, (REV,), request_id=7)
    except RemoteProtocolError as exc:
        error = exc
    # Accepted exactly when the schema says it is a RequestMetaObject of our version.
    valid = is_valid(REV, "RequestMetaObject", raw) and raw.get(META_PROTOCOL_VERSION) == REV
    assert (error is None) == valid
    if error is not None:
        assert error.code in (-32602, -32022)
        assert error.http_status == 400
        assert error.request_id == 7
        if error.code == -32022:
            validate(REV, "UnsupportedProtocolVersionError", error_json(error))
        return
    assert parsed.protocol_version == REV


# -- client capabilities --------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "required", "missing"),
    [
        ({}, {"sampling": {}}, {"sampling": {}}),
        ({"sampling": {}}, {"sampling": {}}, {}),
        ({"sampling": {}}, {"sampling": {"tools": {}}}, {"sampling": {"tools": {}}}),
        ({"sampling": {"tools": {}}}, {"sampling": {"tools": {}}}, {}),
        ({"elicitation": {}}, {"elicitation": {"form": {}}}, {}),
        ({"elicitation": {}}, {"elicitation": {"url": {}}}, {"elicitation": {"url": {}}}),
        (
            {"elicitation": {"url": {}}},
            {"elicitation": {"form": {}}},
            {"elicitation": {"form": {}}},
        ),
        ({"elicitation": {"url": {}, "form": {}}}, {"elicitation": {"url": {}}}, {}),
        ({"roots": {}}, {"roots": {}, "sampling": {}}, {"sampling": {}}),
        ({"extensions": {"a.b/c": {}}}, {"extensions": {"a.b/c": {}}}, {}),
        ({"extensions": {}}, {"extensions": {"a.b/c": {}}}, {"extensions": {"a.b/c": {}}}),
    ],
)
def test_missing_client_capabilities(
    declared: dict[str, Any], required: dict[str, Any], missing: dict[str, Any]
) -> None:
    assert missing_client_capabilities(declared, required) == missing


def test_require_client_capabilities() -> None:
    parsed = parse_request_meta(request("tools/call", name="x"))
    assert not parsed.has_client_capabilities({"sampling": {}})
    with pytest.raises(RemoteProtocolError) as excinfo:
        require_client_capabilities(parsed, {"sampling": {}}, request_id=401)
    exc = excinfo.value
    assert (exc.code, exc.http_status, exc.request_id) == (-32021, 400, 401)
    # An object keyed by capability, not an array of names.
    assert exc.data == {"requiredCapabilities": {"sampling": {}}}
    validate(REV, "MissingRequiredClientCapabilityError", error_json(exc))
    capable = parse_request_meta(
        request("tools/call", _meta=meta(**{META_CLIENT_CAPABILITIES: {"sampling": {}}}))
    )
    require_client_capabilities(capable, {"sampling": {}})


# -- logging and progress ---------------------------------------------------------------


def test_no_log_without_a_requested_level() -> None:
    d = dispatcher()
    event = app_request(d, request("tools/call", name="test_logging_tool"))
    for level in ("debug", "error", "emergency"):
        assert d.log(event, level, "x") is None


@pytest.mark.parametrize("threshold", ["debug", "info", "warning", "emergency"])
def test_log_levels_at_or_above_the_request_level(threshold: str) -> None:
    d = dispatcher()
    event = app_request(
        d, request("tools/call", name="t", _meta=meta(**{META_LOG_LEVEL: threshold}))
    )
    levels = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
    for level in levels:
        note = d.log(event, level, {"msg": level}, logger="db")
        if levels.index(level) >= levels.index(threshold):
            assert note is not None
            body = message_to_json(note)
            validate(REV, "LoggingMessageNotification", body)
            assert body["params"] == {"level": level, "data": {"msg": level}, "logger": "db"}
        else:
            assert note is None
    with pytest.raises(LocalProtocolError):
        d.log(event, "verbose", "x")


def test_no_log_when_the_server_does_not_declare_logging() -> None:
    d = dispatcher({"tools": {}})
    event = app_request(d, request("tools/call", name="t", _meta=meta(**{META_LOG_LEVEL: "debug"})))
    assert d.log(event, "error", "x") is None
    assert log_message(event.meta, "error", "x") is not None


def test_progress() -> None:
    d = dispatcher()
    silent = app_request(d, request("tools/call", name="t"))
    assert d.progress(silent, 1) is None
    for token in ("abc", 7):
        event = app_request(
            d, request("tools/call", name="t", _meta=meta(**{META_PROGRESS_TOKEN: token}))
        )
        note = d.progress(event, 50, total=100, message="half")
        assert note is not None
        body = message_to_json(note)
        validate(REV, "ProgressNotification", body)
        assert body["params"]["progressToken"] == token
        with pytest.raises(LocalProtocolError):
            progress_notification(event.meta, float("nan"))
        with pytest.raises(LocalProtocolError):
            progress_notification(event.meta, True)


def test_request_meta_validates_when_built_by_hand() -> None:
    RequestMeta(REV, {})
    for kwargs in (
        {"protocol_version": 1, "client_capabilities": {}},
        {"protocol_version": REV, "client_capabilities": []},
        {"protocol_version": REV, "client_capabilities": {}, "log_level": "loud"},
        {"protocol_version": REV, "client_capabilities": {}, "progress_token": 1.0},
        {"protocol_version": REV, "client_capabilities": {}, "client_info": "x"},
    ):
        with pytest.raises(LocalProtocolError):
            RequestMeta(**kwargs)
