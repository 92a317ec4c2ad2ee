"""The 2026-07-28 dispatcher: what each request gets, its configuration, the official examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.jsonrpc import (
    LocalProtocolError,
    Notification,
    RemoteProtocolError,
    Request,
    message_from_json,
    message_to_json,
)
from scaled_mcp.protocol.stateless import (
    INPUT_REQUIRED_METHODS,
    MAX_INPUT_RESPONSES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROGRESS_TOKEN,
    META_PROTOCOL_VERSION,
    STATELESS_METHODS,
    CacheHint,
    CancelRequested,
    CoreAnswer,
    StatelessRequest,
    StatelessServerConfig,
    Subscription,
    parse_request_meta,
)
from tests.spec import definitions, examples, validate
from tests.stateless import (
    FULL_CAPABILITIES,
    REV,
    SERVER_INFO,
    app_request,
    dispatcher,
    error_json,
    json_values,
    load_example,
    meta,
    random_meta,
    request,
)

# -- dispatch -------------------------------------------------------------------------


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


def test_the_official_discover_example_has_our_shape() -> None:
    official = load_example("DiscoverResult")
    ours = dispatcher().discover_result()
    assert set(official) == set(ours)
    assert set(official["_meta"]) == set(ours["_meta"])
