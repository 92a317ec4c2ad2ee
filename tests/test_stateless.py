"""Tests for the stateless era (2026-07-28): envelope, dispatch, results, MRTR, subscriptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaled_mcp.protocol._errors import LocalProtocolError, RemoteProtocolError
from scaled_mcp.protocol._input_required import (
    INPUT_REQUIRED_METHODS,
    MAX_INPUT_RESPONSES,
    InputRequest,
    InputResponses,
    input_required_result,
    parse_input_responses,
    parse_request_state,
)
from scaled_mcp.protocol._jsonrpc import (
    Notification,
    Request,
    error_response_for,
    message_from_json,
    message_to_json,
)
from scaled_mcp.protocol._meta import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROGRESS_TOKEN,
    META_PROTOCOL_VERSION,
    META_SUBSCRIPTION_ID,
    RequestMeta,
    check_protocol_version,
    log_message,
    missing_client_capabilities,
    parse_request_meta,
    progress_notification,
    require_client_capabilities,
)
from scaled_mcp.protocol._request_state import RequestStateSealer
from scaled_mcp.protocol._results import (
    CACHEABLE_METHODS,
    CacheHint,
    complete_result,
)
from scaled_mcp.protocol._state import LOG_LEVELS
from scaled_mcp.protocol._stateless import (
    STATELESS_METHODS,
    CancelRequested,
    CoreAnswer,
    StatelessDispatcher,
    StatelessRequest,
    StatelessServerConfig,
)
from scaled_mcp.protocol._subscriptions import (
    Subscription,
    SubscriptionFilter,
)
from tests.spec import EXAMPLES_DIR, definitions, examples, is_valid, validate

REV = "2026-07-28"
SERVER_INFO = {"name": "scaled-test", "version": "0.1.0"}
FULL_CAPABILITIES: dict[str, Any] = {
    "tools": {"listChanged": True},
    "prompts": {"listChanged": True},
    "resources": {"listChanged": True, "subscribe": True},
    "completions": {},
    "logging": {},
}
CLIENT_INFO = {"name": "conformance-client", "version": "1.0.0"}


def meta(**extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        META_PROTOCOL_VERSION: REV,
        META_CLIENT_INFO: CLIENT_INFO,
        META_CLIENT_CAPABILITIES: {},
    }
    for key, value in extra.items():
        out[key] = value
    return out


def request(method: str, request_id: int | str = 1, _meta: Any = None, **params: Any) -> Request:
    body = dict(params)
    body["_meta"] = meta() if _meta is None else _meta
    return Request(request_id, method, body)


def dispatcher(capabilities: dict[str, Any] | None = None, **config: Any) -> StatelessDispatcher:
    cfg = StatelessServerConfig(
        server_info=dict(SERVER_INFO),
        capabilities=FULL_CAPABILITIES if capabilities is None else capabilities,
        instructions="Use the tools.",
        **config,
    )
    return StatelessDispatcher(cfg, sealer=RequestStateSealer([("k1", b"s" * 32)]))


def error_json(exc: RemoteProtocolError) -> dict[str, Any]:
    return message_to_json(error_response_for(exc))


def load_example(folder: str) -> Any:
    (path,) = (EXAMPLES_DIR / folder).glob("*.json")
    return json.loads(path.read_text())


def app_request(d: StatelessDispatcher, req: Request) -> StatelessRequest:
    event = d.handle_request(req)
    assert isinstance(event, StatelessRequest)
    return event


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)
# The schema's JSONValue has no null and no fractions; the envelope parser does
# not look inside capability objects, so their contents stay within it.
_schema_json = st.recursive(
    st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8,
)
_capability_objects = st.one_of(
    st.just({}), st.dictionaries(st.text(max_size=5), _schema_json, max_size=3), json_leaf
)
_any_meta = st.builds(
    lambda extra, known: {**extra, **known},
    st.dictionaries(st.text(max_size=10), json_values, max_size=2),
    st.fixed_dictionaries(
        {},
        optional={
            META_PROTOCOL_VERSION: st.one_of(
                st.just(REV), st.sampled_from(["2025-11-25", "v999", ""]), json_values
            ),
            META_CLIENT_CAPABILITIES: st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "elicitation": st.one_of(
                            _capability_objects,
                            st.fixed_dictionaries({}, optional={"form": _capability_objects}),
                            st.just({"url": {}}),
                        ),
                        "sampling": st.one_of(
                            _capability_objects,
                            st.fixed_dictionaries({}, optional={"tools": _capability_objects}),
                        ),
                        "roots": _capability_objects,
                        "experimental": st.one_of(
                            _capability_objects,
                            st.dictionaries(st.text(max_size=5), _capability_objects, max_size=2),
                        ),
                        "extensions": st.one_of(
                            _capability_objects,
                            st.dictionaries(st.text(max_size=5), _capability_objects, max_size=2),
                        ),
                    },
                ),
                json_values,
            ),
            META_CLIENT_INFO: st.one_of(
                st.just(CLIENT_INFO),
                st.fixed_dictionaries(
                    {"name": st.one_of(st.text(max_size=5), json_values)},
                    optional={"version": st.one_of(st.text(max_size=5), json_values)},
                ),
                json_values,
            ),
            META_LOG_LEVEL: st.one_of(st.sampled_from(LOG_LEVELS), json_values),
            META_PROGRESS_TOKEN: st.one_of(st.text(max_size=5), st.integers(), json_values),
        },
    ),
)


_valid_meta = st.builds(
    lambda extra, known: {**extra, **known},
    st.dictionaries(st.text(max_size=10), json_values, max_size=2),
    st.fixed_dictionaries(
        {
            META_PROTOCOL_VERSION: st.just(REV),
            META_CLIENT_CAPABILITIES: st.fixed_dictionaries(
                {},
                optional={
                    "elicitation": st.sampled_from([{}, {"form": {}}, {"url": {}}]),
                    "sampling": st.sampled_from([{}, {"tools": {}}]),
                    "roots": st.just({}),
                    "extensions": st.dictionaries(st.text(max_size=5), st.just({}), max_size=2),
                },
            ),
        },
        optional={
            META_CLIENT_INFO: st.just(CLIENT_INFO),
            META_LOG_LEVEL: st.sampled_from(LOG_LEVELS),
            META_PROGRESS_TOKEN: st.one_of(st.text(max_size=5), st.integers()),
        },
    ),
)


def _perturb(raw: dict[str, Any], key: str, value: Any, delete: bool) -> dict[str, Any]:
    out = dict(raw)
    if delete:
        out.pop(key, None)
    else:
        out[key] = value
    return out


random_meta = st.one_of(
    _any_meta,
    _valid_meta,
    st.builds(
        _perturb,
        _valid_meta,
        st.sampled_from(
            [
                META_PROTOCOL_VERSION,
                META_CLIENT_CAPABILITIES,
                META_CLIENT_INFO,
                META_LOG_LEVEL,
                META_PROGRESS_TOKEN,
            ]
        ),
        st.one_of(json_values, st.sampled_from(["v999", "2025-11-25", "notice"])),
        st.booleans(),
    ),
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


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from([*STATELESS_METHODS, "initialize", "ping", "x/y", "tasks/get"]),
    params=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "uri",
                "arguments",
                "cursor",
                "notifications",
                "inputResponses",
                "requestState",
            ]
        ),
        json_values,
        max_size=4,
    ),
    raw=st.one_of(random_meta, st.just(meta())),
)
def test_dispatch_never_fails_otherwise(method: str, params: dict[str, Any], raw: Any) -> None:
    d = dispatcher()
    body = dict(params)
    body["_meta"] = raw
    error: RemoteProtocolError | None = None
    try:
        event = d.handle_request(Request("r", method, body))
    except RemoteProtocolError as exc:
        error = exc
    if error is not None:
        assert error.code in (-32602, -32022, -32601)
        assert error.request_id == "r"
        assert error.http_status == (404 if error.code == -32601 else 400)
        validate(REV, "JSONRPCErrorResponse", error_json(error))
        return
    assert isinstance(event, CoreAnswer | Subscription | StatelessRequest)


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


# -- dispatch -------------------------------------------------------------------------


def test_discover_is_answered_by_the_core() -> None:
    d = dispatcher()
    event = d.handle_request(request("server/discover", "discover-1"))
    assert isinstance(event, CoreAnswer)
    body = message_to_json(event.response)
    validate(REV, "DiscoverResultResponse", body)
    result = body["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"] == [REV]
    assert result["capabilities"] == FULL_CAPABILITIES
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"] == SERVER_INFO
    assert result["instructions"] == "Use the tools."
    assert (result["ttlMs"], result["cacheScope"]) == (300_000, "public")
    # The result is a fresh copy each time.
    result["capabilities"]["tools"]["listChanged"] = False
    assert d.discover_result()["capabilities"] == FULL_CAPABILITIES


def test_discover_without_client_info_or_server_info() -> None:
    d = dispatcher({}, include_server_info=False, discover_cache=CacheHint(60_000, "private"))
    raw = meta()
    del raw[META_CLIENT_INFO]
    event = d.handle_request(request("server/discover", 105, _meta=raw))
    assert isinstance(event, CoreAnswer)
    body = message_to_json(event.response)
    validate(REV, "DiscoverResultResponse", body)
    assert "_meta" not in body["result"]
    assert body["result"]["capabilities"] == {}
    assert (body["result"]["ttlMs"], body["result"]["cacheScope"]) == (60_000, "private")


def test_discover_with_an_unsupported_version() -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        dispatcher().handle_request(
            request("server/discover", 301, _meta=meta(**{META_PROTOCOL_VERSION: "v999.0.0"}))
        )
    exc = excinfo.value
    assert (exc.code, exc.http_status, exc.request_id) == (-32022, 400, 301)
    assert exc.data["requested"] == "v999.0.0"
    assert set(exc.data["supported"]) <= set(dispatcher().discover_result()["supportedVersions"])


def test_a_handshake_version_in_meta_is_unsupported_here() -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        dispatcher().handle_request(
            request("tools/list", _meta=meta(**{META_PROTOCOL_VERSION: "2025-11-25"}))
        )
    assert excinfo.value.code == -32022


def test_missing_meta_on_discover() -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        dispatcher().handle_request(Request(101, "server/discover", {}))
    assert (excinfo.value.code, excinfo.value.http_status, excinfo.value.request_id) == (
        -32602,
        400,
        101,
    )


@pytest.mark.parametrize(
    "method",
    [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "unknown/method",
        "notifications/initialized",
        "sampling/createMessage",
        "tasks/get",
    ],
)
def test_removed_and_unknown_methods(method: str) -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        dispatcher().handle_request(request(method, 500))
    exc = excinfo.value
    assert (exc.code, exc.http_status, exc.request_id) == (-32601, 404, 500)
    body = error_json(exc)
    validate(REV, "JSONRPCErrorResponse", body)
    validate(REV, "MethodNotFoundError", body["error"])
    if method == "initialize":
        assert REV in exc.message
        assert exc.data["supported"] == [REV]


@pytest.mark.parametrize(
    ("capabilities", "method", "exists"),
    [
        ({}, "tools/list", False),
        ({}, "tools/call", False),
        ({}, "prompts/list", False),
        ({}, "resources/read", False),
        ({}, "completion/complete", False),
        ({}, "server/discover", True),
        ({"tools": {}}, "tools/list", True),
        ({"tools": {}}, "prompts/get", False),
        ({"prompts": {}}, "prompts/list", True),
        ({"resources": {}}, "resources/templates/list", True),
        ({"completions": {}}, "completion/complete", True),
        ({"tools": {}}, "subscriptions/listen", False),
        ({"tools": {"listChanged": False}}, "subscriptions/listen", False),
        ({"tools": {"listChanged": True}}, "subscriptions/listen", True),
        ({"resources": {"subscribe": True}}, "subscriptions/listen", True),
    ],
)
def test_capability_gated_methods(capabilities: dict[str, Any], method: str, exists: bool) -> None:
    d = dispatcher(capabilities)
    assert d.method_exists(method) is exists
    params: dict[str, Any] = {"name": "x", "uri": "file:///x", "notifications": {}}
    if exists:
        assert d.handle_request(request(method, **params)) is not None
    else:
        with pytest.raises(RemoteProtocolError) as excinfo:
            d.handle_request(request(method, 203, **params))
        assert (excinfo.value.code, excinfo.value.http_status) == (-32601, 404)


def test_extension_methods_reach_the_app() -> None:
    d = dispatcher(extension_methods=frozenset({"tasks/get"}))
    event = app_request(d, request("tasks/get", taskId="t1"))
    assert event.method == "tasks/get"
    assert event.input_responses is None


def test_app_requests_carry_the_parsed_meta() -> None:
    raw = meta(**{META_LOG_LEVEL: "info", META_PROGRESS_TOKEN: 5})
    event = app_request(dispatcher(), request("tools/call", 9, _meta=raw, name="echo"))
    assert event.request_id == 9
    assert event.method == "tools/call"
    assert event.target == "echo"
    assert event.meta.log_level == "info"
    assert event.meta.progress_token == 5
    assert not event.is_retry
    listing = app_request(dispatcher(), request("tools/list", cursor="c2"))
    assert listing.target is None


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("tools/call", {}, "name"),
        ("tools/call", {"name": ""}, "name"),
        ("tools/call", {"name": 3}, "name"),
        ("tools/call", {"name": "x", "arguments": []}, "arguments"),
        ("prompts/get", {"name": None}, "name"),
        ("resources/read", {}, "uri"),
        ("tools/list", {"cursor": 1}, "cursor"),
        ("tools/call", {"name": "x", "inputResponses": []}, "inputResponses"),
        ("tools/call", {"name": "x", "inputResponses": {"k": 1}}, "inputResponses"),
        ("tools/call", {"name": "x", "requestState": 1}, "requestState"),
        ("subscriptions/listen", {}, "notifications"),
        ("subscriptions/listen", {"notifications": []}, "notifications"),
        ("subscriptions/listen", {"notifications": {"toolsListChanged": 1}}, "toolsListChanged"),
        ("subscriptions/listen", {"notifications": {"resourceSubscriptions": "x"}}, "resource"),
        ("subscriptions/listen", {"notifications": {"resourceSubscriptions": [1]}}, "resource"),
    ],
)
def test_params_the_core_reads_are_checked(
    method: str, params: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        dispatcher().handle_request(request(method, 77, **params))
    exc = excinfo.value
    assert (exc.code, exc.http_status, exc.request_id) == (-32602, 400, 77)
    assert fragment in exc.message


def test_mrtr_fields_are_read_only_where_mrtr_exists() -> None:
    d = dispatcher()
    listing = app_request(d, request("tools/list", inputResponses=[], requestState=5))
    assert listing.input_responses is None
    assert listing.request_state is None
    for method in INPUT_REQUIRED_METHODS:
        event = app_request(
            d,
            request(
                method,
                name="n",
                uri="file:///n",
                inputResponses={"k": {"action": "accept"}},
                requestState="s",
            ),
        )
        assert event.is_retry
        assert event.request_state == "s"
        assert event.input_responses is not None
        assert "k" in event.input_responses


def test_too_many_input_responses() -> None:
    many = {f"k{i}": {"action": "cancel"} for i in range(MAX_INPUT_RESPONSES + 1)}
    with pytest.raises(RemoteProtocolError) as excinfo:
        dispatcher().handle_request(request("tools/call", 3, name="x", inputResponses=many))
    assert excinfo.value.code == -32602
    assert excinfo.value.request_id == 3
    d = dispatcher(max_input_responses=2)
    with pytest.raises(RemoteProtocolError):
        d.handle_request(
            request("tools/call", name="x", inputResponses=dict(list(many.items())[:3]))
        )


def test_a_caller_parsed_meta_is_used() -> None:
    d = dispatcher()
    req = request("tools/list")
    parsed = parse_request_meta(req)
    event = d.handle_request(req, meta=parsed)
    assert isinstance(event, StatelessRequest)
    assert event.meta is parsed


def test_notifications() -> None:
    d = dispatcher()
    example = load_example("CancelledNotification")
    note = message_from_json(example)
    assert isinstance(note, Notification)
    assert d.handle_notification(note) == CancelRequested("123", "User requested cancellation")
    assert d.handle_notification(
        Notification("notifications/cancelled", {"requestId": 4})
    ) == CancelRequested(4, None)
    for params in (None, {}, {"requestId": None}, {"requestId": 1.5}, {"requestId": [1]}):
        assert d.handle_notification(Notification("notifications/cancelled", params)) is None
    assert d.handle_notification(Notification("notifications/initialized")) is None
    assert d.handle_notification(Notification("notifications/roots/list_changed")) is None
    with pytest.raises(LocalProtocolError):
        d.handle_notification(request("tools/list"))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        d.handle_request(Notification("tools/list"))  # type: ignore[arg-type]


# -- results --------------------------------------------------------------------------


def test_complete_results() -> None:
    d = dispatcher()
    call = app_request(d, request("tools/call", 11, name="echo"))
    response = d.complete(call, {"content": [{"type": "text", "text": "hi"}]})
    body = message_to_json(response)
    validate(REV, "CallToolResultResponse", body)
    assert body["result"]["resultType"] == "complete"
    assert body["result"]["_meta"]["io.modelcontextprotocol/serverInfo"] == SERVER_INFO
    assert "ttlMs" not in body["result"]
    # The application's own _meta survives.
    response = d.complete(call, {"content": [], "_meta": {"com.example/x": 1}})
    assert response.result["_meta"]["com.example/x"] == 1
    with pytest.raises(LocalProtocolError):
        d.complete(call, {"content": [], "resultType": "input_required"})
    with pytest.raises(LocalProtocolError):
        d.complete(call, {"content": []}, cache=CacheHint(10))
    with pytest.raises(LocalProtocolError):
        d.complete(call, {"content": [], "_meta": []})


def test_cacheable_results_always_carry_hints() -> None:
    d = dispatcher()
    listing = app_request(d, request("tools/list", 12))
    body = message_to_json(d.complete(listing, {"tools": []}))
    validate(REV, "ListToolsResultResponse", body)
    assert (body["result"]["ttlMs"], body["result"]["cacheScope"]) == (0, "private")
    explicit = d.complete(listing, {"tools": []}, cache=CacheHint(300_000, "public"))
    assert (explicit.result["ttlMs"], explicit.result["cacheScope"]) == (300_000, "public")
    own = d.complete(listing, {"tools": [], "ttlMs": 5, "cacheScope": "public"})
    assert (own.result["ttlMs"], own.result["cacheScope"]) == (5, "public")
    for method, result, schema in (
        ("prompts/list", {"prompts": []}, "ListPromptsResultResponse"),
        ("resources/list", {"resources": []}, "ListResourcesResultResponse"),
        (
            "resources/templates/list",
            {"resourceTemplates": []},
            "ListResourceTemplatesResultResponse",
        ),
        (
            "resources/read",
            {"contents": [{"uri": "file:///a", "text": "a"}]},
            "ReadResourceResultResponse",
        ),
    ):
        event = app_request(d, request(method, uri="file:///a"))
        assert method in CACHEABLE_METHODS
        validate(REV, schema, message_to_json(d.complete(event, result)))


def test_a_retry_result_is_never_cacheable() -> None:
    d = dispatcher()
    retry = app_request(d, request("resources/read", uri="file:///a", requestState="s"))
    response = d.complete(retry, {"contents": []}, cache=CacheHint(999, "public"))
    assert (response.result["ttlMs"], response.result["cacheScope"]) == (0, "private")


def test_complete_result_function() -> None:
    assert complete_result({"x": 1}) == {"x": 1, "resultType": "complete"}
    out = complete_result(
        {"_meta": {"io.modelcontextprotocol/serverInfo": {"name": "app", "version": "2"}}},
        server_info=SERVER_INFO,
        cache=CacheHint(1, "public"),
    )
    assert out["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "app"
    assert (out["ttlMs"], out["cacheScope"]) == (1, "public")
    validate(REV, "CacheableResult", out)
    with pytest.raises(LocalProtocolError):
        complete_result([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ttl", "scope"), [(-1, "public"), (1.5, "public"), (True, "public"), (1, "shared")]
)
def test_bad_cache_hints(ttl: Any, scope: str) -> None:
    with pytest.raises(LocalProtocolError):
        CacheHint(ttl, scope)


def test_cache_hint_of() -> None:
    assert CacheHint.of({"ttlMs": 3, "cacheScope": "private"}) == CacheHint(3, "private")
    assert CacheHint.of({"ttlMs": -3, "cacheScope": "private"}) is None
    assert CacheHint.of({"ttlMs": 3}) is None


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


# -- multi round-trip requests -------------------------------------------------------------

FORM = InputRequest.elicit(
    "What is your name?",
    {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
)
SAMPLE = InputRequest.create_message(
    [{"role": "user", "content": {"type": "text", "text": "Capital of France?"}}], 100
)
ROOTS = InputRequest.list_roots()
URL = InputRequest.elicit_url("Sign in", "https://example.com/login")
ALL_CLIENT_CAPS: dict[str, Any] = {
    "elicitation": {"form": {}, "url": {}},
    "sampling": {},
    "roots": {},
}


def test_input_requests_validate_against_the_schema() -> None:
    validate(REV, "ElicitRequest", FORM.to_json())
    validate(REV, "ElicitRequest", URL.to_json())
    validate(REV, "CreateMessageRequest", SAMPLE.to_json())
    validate(REV, "ListRootsRequest", ROOTS.to_json())
    assert FORM.required_capabilities() == {"elicitation": {"form": {}}}
    assert URL.required_capabilities() == {"elicitation": {"url": {}}}
    assert SAMPLE.required_capabilities() == {"sampling": {}}
    assert ROOTS.required_capabilities() == {"roots": {}}
    tooled = InputRequest.create_message(
        [],
        10,
        tools=[{"name": "t", "inputSchema": {"type": "object"}}],
        includeContext="thisServer",
    )
    assert tooled.required_capabilities() == {"sampling": {"tools": {}, "context": {}}}


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("tools/call", {}),
        ("elicitation/create", None),
        ("elicitation/create", {"message": "m"}),
        ("elicitation/create", {"message": "m", "mode": "url"}),
        ("elicitation/create", {"message": "m", "mode": "telepathy"}),
        ("sampling/createMessage", {"messages": []}),
        ("roots/list", []),
    ],
)
def test_bad_input_requests(method: str, params: Any) -> None:
    with pytest.raises(LocalProtocolError):
        InputRequest(method, params)


def test_input_required_result() -> None:
    result = input_required_result(
        {"user_name": FORM, "capital": SAMPLE, "roots": ROOTS},
        "opaque",
        client_capabilities=ALL_CLIENT_CAPS,
        server_info=SERVER_INFO,
    )
    validate(REV, "InputRequiredResult", result)
    validate(REV, "JSONRPCResultResponse", {"jsonrpc": "2.0", "id": 1, "result": result})
    assert result["resultType"] == "input_required"
    assert list(result["inputRequests"]) == ["user_name", "capital", "roots"]
    assert result["requestState"] == "opaque"
    assert "ttlMs" not in result
    only_state = input_required_result(None, "s")
    assert only_state == {"resultType": "input_required", "requestState": "s"}
    validate(REV, "InputRequiredResult", only_state)
    with pytest.raises(LocalProtocolError):
        input_required_result({}, None)
    with pytest.raises(LocalProtocolError):
        input_required_result({"": FORM})
    with pytest.raises(LocalProtocolError):
        input_required_result({"k": {"method": "roots/list"}})  # type: ignore[dict-item]
    with pytest.raises(LocalProtocolError):
        input_required_result(None, "")
    with pytest.raises(LocalProtocolError):
        input_required_result({f"k{i}": ROOTS for i in range(33)})


@pytest.mark.parametrize(
    ("declared", "requests", "missing"),
    [
        ({}, {"a": FORM}, {"elicitation": {"form": {}}}),
        ({"elicitation": {}}, {"a": URL}, {"elicitation": {"url": {}}}),
        ({"sampling": {}}, {"a": FORM, "b": SAMPLE}, {"elicitation": {"form": {}}}),
        ({"elicitation": {}}, {"a": SAMPLE, "b": ROOTS}, {"sampling": {}, "roots": {}}),
    ],
)
def test_input_requests_need_declared_capabilities(
    declared: dict[str, Any], requests: dict[str, InputRequest], missing: dict[str, Any]
) -> None:
    d = dispatcher()
    event = app_request(
        d, request("tools/call", 41, name="t", _meta=meta(**{META_CLIENT_CAPABILITIES: declared}))
    )
    with pytest.raises(RemoteProtocolError) as excinfo:
        d.input_required(event, requests)
    exc = excinfo.value
    assert (exc.code, exc.http_status, exc.request_id) == (-32021, 400, 41)
    assert exc.data == {"requiredCapabilities": missing}
    validate(REV, "MissingRequiredClientCapabilityError", error_json(exc))


def test_input_required_only_where_the_spec_allows_it() -> None:
    d = dispatcher()
    listing = app_request(d, request("tools/list"))
    with pytest.raises(LocalProtocolError):
        d.input_required(listing, None, request_state="s")
    for method in INPUT_REQUIRED_METHODS:
        event = app_request(d, request(method, name="p", uri="file:///p"))
        response = d.input_required(event, None, request_state="s")
        validate(REV, "InputRequiredResult", response.result)
        assert response.result["_meta"]["io.modelcontextprotocol/serverInfo"] == SERVER_INFO


def test_official_input_responses_example() -> None:
    example = load_example("InputResponses")
    parsed = parse_input_responses(example, request_id=2)
    assert isinstance(parsed, InputResponses)
    assert len(parsed) == 2
    assert set(parsed) == {"github_login", "capital_of_france"}
    elicit = parsed.elicit_result("github_login")
    assert elicit is not None
    assert elicit["content"] == {"name": "octocat"}
    sample = parsed.result_for("capital_of_france", SAMPLE)
    assert sample is not None
    assert sample["model"] == "claude-3-sonnet-20240307"
    assert parsed.get("missing") is None
    assert parsed.elicit_result("missing") is None
    assert parsed.create_message_result("missing") is None
    assert parsed.list_roots_result("missing") is None


@pytest.mark.parametrize(
    ("value", "reader"),
    [
        ({"action": "maybe"}, "elicit_result"),
        ({"action": "accept", "content": []}, "elicit_result"),
        ({"action": "accept", "content": {"a": {"nested": 1}}}, "elicit_result"),
        ({"action": "accept", "content": {"a": [1]}}, "elicit_result"),
        ({"role": "robot", "model": "m", "content": {}}, "create_message_result"),
        ({"role": "assistant", "content": {}}, "create_message_result"),
        ({"role": "assistant", "model": "m"}, "create_message_result"),
        ({"role": "assistant", "model": "m", "content": [1]}, "create_message_result"),
        ({"roots": "x"}, "list_roots_result"),
        ({"roots": [{"name": "no uri"}]}, "list_roots_result"),
    ],
)
def test_malformed_answers_are_invalid_params(value: dict[str, Any], reader: str) -> None:
    parsed = parse_input_responses({"k": value, "extra": {"ignored": True}}, request_id=8)
    assert parsed is not None
    with pytest.raises(RemoteProtocolError) as excinfo:
        getattr(parsed, reader)("k")
    assert (excinfo.value.code, excinfo.value.request_id) == (-32602, 8)


def test_good_answers_of_every_kind() -> None:
    parsed = parse_input_responses(
        {
            "e": {"action": "accept", "content": {"n": "x", "i": 1, "b": True, "l": ["a"]}},
            "s": {"role": "assistant", "model": "m", "content": [{"type": "text", "text": "t"}]},
            "r": {"roots": [{"uri": "file:///test/root", "name": "Test Root"}]},
        }
    )
    assert parsed is not None
    assert parsed.result_for("e", FORM) is not None
    assert parsed.result_for("s", SAMPLE) is not None
    assert parsed.result_for("r", ROOTS) is not None
    validate(REV, "InputResponses", parsed.responses)


def test_parse_request_state() -> None:
    assert parse_request_state(None) is None
    assert parse_request_state("abc") == "abc"
    with pytest.raises(RemoteProtocolError) as excinfo:
        parse_request_state({"x": 1}, request_id=4)
    assert (excinfo.value.code, excinfo.value.request_id) == (-32602, 4)


def test_a_full_multi_round_trip_with_sealed_state() -> None:
    d = dispatcher()
    caps = meta(**{META_CLIENT_CAPABILITIES: {"elicitation": {}}})
    first = app_request(d, request("tools/call", 1, _meta=caps, name="greet", arguments={}))
    state = d.seal_state(first, {"step": 1}, now=1000.0, ttl=60.0, principal="alice")
    response = d.input_required(first, {"user_name": FORM}, request_state=state)
    validate(REV, "InputRequiredResult", response.result)

    retry = app_request(
        d,
        request(
            "tools/call",
            2,
            _meta=caps,
            name="greet",
            arguments={},
            inputResponses={"user_name": {"action": "accept", "content": {"name": "Alice"}}},
            requestState=response.result["requestState"],
        ),
    )
    assert d.open_state(retry, now=1001.0, principal="alice") == {"step": 1}
    assert retry.input_responses is not None
    answer = retry.input_responses.result_for("user_name", FORM)
    assert answer is not None
    assert answer["content"]["name"] == "Alice"
    done = d.complete(retry, {"content": [{"type": "text", "text": "Hello, Alice!"}]})
    validate(REV, "CallToolResultResponse", message_to_json(done))

    def reopen(req: Request, **kwargs: Any) -> RemoteProtocolError:
        event = app_request(d, req)
        with pytest.raises(RemoteProtocolError) as excinfo:
            d.open_state(event, **{"now": 1001.0, "principal": "alice", **kwargs})
        assert excinfo.value.request_id == req.id
        assert (excinfo.value.code, excinfo.value.http_status) == (-32602, 400)
        return excinfo.value

    tampered = request(
        "tools/call", 3, name="greet", arguments={}, requestState=state + "-TAMPERED"
    )
    assert "integrity" in reopen(tampered).message
    other_tool = request("tools/call", 4, name="delete", arguments={}, requestState=state)
    assert "different request" in reopen(other_tool).message
    other_args = request("tools/call", 5, name="greet", arguments={"x": 1}, requestState=state)
    assert "different request" in reopen(other_args).message
    same = request("tools/call", 6, name="greet", arguments={}, requestState=state)
    assert "different request" in reopen(same, principal="mallory").message
    assert "expired" in reopen(same, now=1060.0).message

    with pytest.raises(LocalProtocolError):
        d.open_state(first, now=0.0)
    bare = StatelessDispatcher(d.config)
    with pytest.raises(LocalProtocolError):
        bare.seal_state(first, 1, now=0.0, ttl=1.0)


# -- subscriptions/listen ------------------------------------------------------------------


def listen(d: StatelessDispatcher, notifications: Any, request_id: int | str = 1) -> Subscription:
    event = d.handle_request(
        request("subscriptions/listen", request_id, notifications=notifications)
    )
    assert isinstance(event, Subscription)
    return event


def test_acknowledgement_reflects_what_the_server_honours() -> None:
    d = dispatcher({"tools": {"listChanged": True}, "resources": {"subscribe": True}})
    sub = listen(
        d,
        {
            "toolsListChanged": True,
            "promptsListChanged": True,
            "resourcesListChanged": True,
            "resourceSubscriptions": ["file:///a", "file:///b", "file:///a"],
        },
        42,
    )
    assert sub.subscription_id == 42
    assert sub.requested.prompts_list_changed
    ack = message_to_json(sub.acknowledgement())
    validate(REV, "SubscriptionsAcknowledgedNotification", ack)
    assert ack["params"] == {
        "_meta": {META_SUBSCRIPTION_ID: 42},
        "notifications": {
            "toolsListChanged": True,
            "resourceSubscriptions": ["file:///a", "file:///b"],
        },
    }


def test_delivery_follows_the_filter() -> None:
    d = dispatcher()
    sub = listen(d, {"promptsListChanged": True, "resourceSubscriptions": ["file:///watched"]}, "L")
    assert sub.deliver(Notification("notifications/tools/list_changed")) is None
    assert sub.deliver(Notification("notifications/resources/list_changed")) is None
    prompts = sub.deliver(Notification("notifications/prompts/list_changed"))
    assert prompts is not None
    body = message_to_json(prompts)
    validate(REV, "PromptListChangedNotification", body)
    assert body["params"]["_meta"][META_SUBSCRIPTION_ID] == "L"
    watched = sub.deliver(
        Notification(
            "notifications/resources/updated",
            {"uri": "file:///watched", "_meta": {"com.example/x": 1}},
        )
    )
    assert watched is not None
    body = message_to_json(watched)
    validate(REV, "ResourceUpdatedNotification", body)
    assert body["params"]["_meta"] == {"com.example/x": 1, META_SUBSCRIPTION_ID: "L"}
    unwatched = Notification("notifications/resources/updated", {"uri": "file:///other"})
    assert sub.deliver(unwatched) is None
    assert sub.deliver(Notification("notifications/resources/updated")) is None
    # Request-scoped notifications never go on a listen stream.
    assert sub.deliver(Notification("notifications/progress", {"progressToken": 1})) is None
    assert sub.deliver(Notification("notifications/message", {"level": "error"})) is None
    everything = listen(
        d, {"toolsListChanged": True, "promptsListChanged": True, "resourcesListChanged": True}
    )
    for kind, schema in (
        ("tools", "ToolListChangedNotification"),
        ("resources", "ResourceListChangedNotification"),
    ):
        note = everything.deliver(Notification(f"notifications/{kind}/list_changed"))
        assert note is not None
        validate(REV, schema, message_to_json(note))


def test_closing_a_subscription() -> None:
    sub = listen(dispatcher(), {"toolsListChanged": True}, 9)
    closing = message_to_json(sub.closing_response())
    validate(REV, "SubscriptionsListenResultResponse", closing)
    assert closing["id"] == 9
    assert closing["result"]["_meta"][META_SUBSCRIPTION_ID] == 9
    cancel = message_to_json(sub.cancellation("shutting down"))
    validate(REV, "CancelledNotification", cancel)
    assert cancel["params"] == {"requestId": 9, "reason": "shutting down"}
    validate(REV, "CancelledNotification", message_to_json(sub.cancellation()))


def test_subscription_filter_limits_and_round_trip() -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        SubscriptionFilter.from_json(
            {"resourceSubscriptions": ["a", "b", "c"]}, max_resource_subscriptions=2, request_id=5
        )
    assert (excinfo.value.code, excinfo.value.request_id) == (-32602, 5)
    d = dispatcher(max_resource_subscriptions=1)
    with pytest.raises(RemoteProtocolError):
        listen(d, {"resourceSubscriptions": ["a", "b"]})
    f = SubscriptionFilter.from_json({"toolsListChanged": False, "resourceSubscriptions": []})
    assert f.to_json() == {}
    g = SubscriptionFilter(True, False, True, ("u",))
    assert SubscriptionFilter.from_json(g.to_json()) == g
    with pytest.raises(LocalProtocolError):
        SubscriptionFilter(resource_subscriptions=["u"])  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        SubscriptionFilter(tools_list_changed=1)  # type: ignore[arg-type]


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server_info": {"name": "x"}},
        {"server_info": "x"},
        {"capabilities": {"tools": True}},
        {"capabilities": []},
        {"supported_versions": ()},
        {"supported_versions": ("2025-11-25",)},
        {"instructions": 5},
        {"extension_methods": frozenset({"tools/list"})},
    ],
)
def test_bad_config_is_a_local_error(kwargs: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"server_info": SERVER_INFO, **kwargs}
    with pytest.raises(LocalProtocolError):
        StatelessServerConfig(**fields)


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


# -- the official examples -------------------------------------------------------------------

_CLIENT_REQUEST_TYPES = {
    ref["$ref"].rsplit("/", 1)[1] for ref in definitions(REV)["ClientRequest"]["anyOf"]
}
_REQUEST_EXAMPLES = [(name, path) for name, path in examples() if name in _CLIENT_REQUEST_TYPES]


def test_there_are_request_examples() -> None:
    assert {name for name, _ in _REQUEST_EXAMPLES} >= {
        "CallToolRequest",
        "DiscoverRequest",
        "SubscriptionsListenRequest",
        "ListToolsRequest",
    }


@pytest.mark.parametrize(("type_name", "path"), _REQUEST_EXAMPLES, ids=lambda v: str(v))
def test_official_request_examples_pass_the_envelope(type_name: str, path: Path) -> None:
    message = message_from_json(json.loads(path.read_text()))
    assert isinstance(message, Request)
    parsed = parse_request_meta(message)
    assert parsed.protocol_version == REV
    event = dispatcher().handle_request(message)
    expected = {"DiscoverRequest": CoreAnswer, "SubscriptionsListenRequest": Subscription}
    assert isinstance(event, expected.get(type_name, StatelessRequest))


def test_official_listen_examples_round_trip() -> None:
    d = dispatcher(
        {"tools": {"listChanged": True}, "resources": {"subscribe": True}},
        include_server_info=False,
    )
    message = message_from_json(load_example("SubscriptionsListenRequest"))
    assert isinstance(message, Request)
    sub = d.handle_request(message)
    assert isinstance(sub, Subscription)
    assert message_to_json(sub.acknowledgement()) == load_example(
        "SubscriptionsAcknowledgedNotification"
    )
    assert message_to_json(sub.closing_response()) == load_example(
        "SubscriptionsListenResultResponse"
    )
    tools = sub.deliver(Notification("notifications/tools/list_changed"))
    assert tools is not None
    assert message_to_json(tools) == load_example("ToolListChangedNotification")
    # The official update example watches another URI: not for this stream.
    updated = message_from_json(load_example("ResourceUpdatedNotification"))
    assert isinstance(updated, Notification)
    assert sub.deliver(updated) is None
    assert sub.deliver(Notification("notifications/prompts/list_changed")) is None


def test_the_official_discover_example_has_our_shape() -> None:
    official = load_example("DiscoverResult")
    ours = dispatcher().discover_result()
    assert set(official) == set(ours)
    assert set(official["_meta"]) == set(ours["_meta"])
