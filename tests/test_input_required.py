"""Multi round-trip requests: input requests, input-required results, the retry's answers."""

from __future__ import annotations

from typing import Any

import pytest

from scaled_mcp.protocol.jsonrpc import (
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    message_to_json,
)
from scaled_mcp.protocol.stateless import (
    INPUT_REQUIRED_METHODS,
    META_CLIENT_CAPABILITIES,
    InputRequest,
    InputResponses,
    StatelessDispatcher,
    input_required_result,
    parse_input_responses,
    parse_request_state,
)
from tests.spec import validate
from tests.stateless import (
    REV,
    SERVER_INFO,
    app_request,
    dispatcher,
    error_json,
    load_example,
    meta,
    request,
)

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
