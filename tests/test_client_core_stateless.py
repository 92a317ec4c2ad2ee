"""The stateless-era client: the envelope, discovery, answers classified, multi round-trip calls."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.client import (
    Complete,
    Failed,
    InputRequired,
    ListChanged,
    LogReceived,
    ProgressUpdate,
    RetryWithVersion,
    StatelessCall,
    StatelessClient,
    SubscriptionAcknowledged,
    notification_event,
    progress_update,
    should_fall_back_to_handshake,
)
from scaled_mcp.protocol.jsonrpc import (
    ErrorCode,
    ErrorResponse,
    LocalProtocolError,
    Message,
    Notification,
    RemoteProtocolError,
    Request,
    Response,
    decode_message,
    encode_message,
    error_response_for,
    message_to_json,
)
from scaled_mcp.protocol.stateless import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_PROTOCOL_VERSION,
    META_SUBSCRIPTION_ID,
    CoreAnswer,
    InputRequest,
    RequestStateSealer,
    StatelessDispatcher,
    StatelessRequest,
    StatelessServerConfig,
    parse_request_meta,
)
from scaled_mcp.protocol.versions import LATEST_VERSION
from tests.spec import validate

CLIENT_INFO = {"name": "test-client", "version": "1.0"}
CAPABILITIES: dict[str, Any] = {"elicitation": {"form": {}}, "roots": {}}


def _client(**kwargs: Any) -> StatelessClient:
    kwargs.setdefault("client_info", CLIENT_INFO)
    kwargs.setdefault("capabilities", CAPABILITIES)
    return StatelessClient(**kwargs)


def test_every_request_carries_the_envelope() -> None:
    client = _client()
    request = client.request(
        "tools/call",
        {"name": "t", "_meta": {"trace": "x"}},
        progress_token="p",
        log_level="info",
    )
    meta = parse_request_meta(request)
    assert meta.protocol_version == LATEST_VERSION
    assert meta.client_capabilities == CAPABILITIES
    assert meta.client_info == CLIENT_INFO
    assert meta.progress_token == "p"
    assert meta.log_level == "info"
    assert meta.raw["trace"] == "x"
    validate(LATEST_VERSION, "CallToolRequest", message_to_json(request))
    discover = client.discover()
    assert discover.method == "server/discover"
    assert discover.params is not None
    assert discover.params["_meta"][META_PROTOCOL_VERSION] == LATEST_VERSION
    assert discover.id != request.id


def test_the_client_info_must_name_a_version() -> None:
    with pytest.raises(LocalProtocolError):
        StatelessClient(client_info={"name": "x"})
    with pytest.raises(LocalProtocolError):
        _client(protocol_version="2025-11-25")


@pytest.mark.parametrize("result", [{"content": []}, {"resultType": "complete", "content": []}])
def test_a_result_without_result_type_is_complete(result: dict[str, Any]) -> None:
    call = _client().call("tools/call", {"name": "t"})
    assert call.receive(Response(id=call.request.id, result=result)) == Complete(result)
    with pytest.raises(LocalProtocolError):
        call.retry({})


def test_input_required_then_retry_echoes_the_state_with_a_new_id() -> None:
    client = _client()
    call = client.call("tools/call", {"name": "t", "arguments": {"a": 1}})
    first = call.request
    state = '{"nonce": "x",  "odd spacing": true}'
    ask = {"method": "elicitation/create", "params": {"message": "ok?", "requestedSchema": {}}}
    outcome = call.receive(
        Response(
            id=first.id,
            result={
                "resultType": "input_required",
                "inputRequests": {"confirm": ask},
                "requestState": state,
            },
        )
    )
    assert outcome == InputRequired({"confirm": ask}, state)
    with pytest.raises(LocalProtocolError):
        call.retry({"other": {"action": "accept"}})
    retry = call.retry({"confirm": {"action": "accept", "content": {"confirmed": True}}})
    assert retry.id != first.id
    assert retry.params is not None
    assert retry.params["requestState"] == state
    assert retry.params["inputResponses"] == {
        "confirm": {"action": "accept", "content": {"confirmed": True}}
    }
    assert retry.params["arguments"] == {"a": 1}
    # An unrelated call made meanwhile carries nothing of it.
    unrelated = client.request("tools/call", {"name": "u"})
    assert unrelated.params is not None
    assert "requestState" not in unrelated.params
    assert "inputResponses" not in unrelated.params


def test_no_state_sent_means_no_state_echoed() -> None:
    call = _client().call("tools/call", {"name": "t"})
    ask = {"method": "roots/list"}
    call.receive(
        Response(
            id=call.request.id,
            result={"resultType": "input_required", "inputRequests": {"r": ask}},
        )
    )
    retry = call.retry({"r": {"roots": []}})
    assert retry.params is not None
    assert "requestState" not in retry.params


def test_rounds_are_bounded() -> None:
    call = _client(max_rounds=2).call("tools/call", {"name": "t"})
    answer = {"resultType": "input_required", "requestState": "s"}
    call.receive(Response(id=call.request.id, result=answer))
    call.retry()
    call.receive(Response(id=call.request.id, result=answer))
    with pytest.raises(LocalProtocolError):
        call.retry()


def test_unsupported_version_retries_with_one_both_speak() -> None:
    client = _client(supported_versions=("2026-07-28",))
    call = client.call("tools/list")
    error = ErrorResponse(
        id=call.request.id,
        code=int(ErrorCode.UNSUPPORTED_PROTOCOL_VERSION),
        message="no",
        data={"requested": "2026-07-28", "supported": ["2025-11-25"]},
    )
    # No revision in common: the call fails with the server's error.
    assert call.receive(error) == Failed(error)
    assert should_fall_back_to_handshake(400, error)
    assert not should_fall_back_to_handshake(401, None)
    assert not should_fall_back_to_handshake(403, None)


def test_the_revision_sent_is_retried_once_when_the_server_lists_it() -> None:
    client = _client()
    call = client.call("server/discover")
    first = call.request

    def refusal() -> ErrorResponse:
        return ErrorResponse(
            id=call.request.id,
            code=int(ErrorCode.UNSUPPORTED_PROTOCOL_VERSION),
            message="no",
            data={"requested": "2026-07-28", "supported": ["2026-07-28"]},
        )

    assert call.receive(refusal()) == RetryWithVersion("2026-07-28")
    retry = call.retry()
    assert retry.id != first.id
    assert retry.params is not None
    assert retry.params["_meta"][META_PROTOCOL_VERSION] == "2026-07-28"
    # The same answer again would loop: the call fails.
    assert isinstance(call.receive(refusal()), Failed)
    with pytest.raises(LocalProtocolError):
        call.retry()


def test_discover_as_a_call() -> None:
    client = _client()
    call = client.call("server/discover")
    result = {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}}
    outcome = call.receive(Response(id=call.request.id, result=result))
    assert isinstance(outcome, Complete)
    found = client.read_discover_result(outcome.result)
    assert found.version == "2026-07-28"
    assert client.server_capabilities == {"tools": {}}


@pytest.mark.parametrize(
    "result",
    [
        {"resultType": "input_required"},
        {"resultType": "input_required", "inputRequests": []},
        {"resultType": "input_required", "requestState": 3},
        {"resultType": "input_required", "inputRequests": {"a": {"method": "tools/call"}}},
        {
            "resultType": "input_required",
            "inputRequests": {"a": {"method": "roots/list", "params": 1}},
        },
        {"resultType": "something_else"},
    ],
)
def test_malformed_answers_fail_the_call(result: dict[str, Any]) -> None:
    call = _client().call("tools/call", {"name": "t"})
    outcome = call.receive(Response(id=call.request.id, result=result))
    assert isinstance(outcome, Failed)
    assert outcome.error.id == call.request.id


def test_an_answer_to_another_request_is_a_caller_bug() -> None:
    call = _client().call("tools/list")
    with pytest.raises(LocalProtocolError):
        call.receive(Response(id=999, result={}))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
_RESULTS = st.dictionaries(
    st.sampled_from(["resultType", "inputRequests", "requestState", "content"]),
    st.sampled_from(["complete", "input_required", "x"]) | _JSON,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(answers=st.lists(st.one_of(_RESULTS, st.integers()), min_size=1, max_size=12))
def test_any_answer_sequence_is_classified(answers: list[dict[str, Any] | int]) -> None:
    client = _client(max_rounds=4)
    call = client.call("tools/call", {"name": "t"})
    seen = {call.request.id}
    for answer in answers:
        message: Response | ErrorResponse
        if isinstance(answer, int):
            message = ErrorResponse(
                id=call.request.id,
                code=answer,
                message="e",
                data={"supported": ["2026-07-28", "2025-11-25"]},
            )
        else:
            message = Response(id=call.request.id, result=answer)
        outcome = call.receive(message)
        assert isinstance(outcome, Complete | InputRequired | RetryWithVersion | Failed)
        if not isinstance(outcome, InputRequired | RetryWithVersion):
            return
        if call.rounds >= 4:
            with pytest.raises(LocalProtocolError):
                call.retry()
            return
        responses = (
            {key: {"action": "decline"} for key in outcome.input_requests}
            if isinstance(outcome, InputRequired)
            else None
        )
        request = call.retry(responses)
        assert request.id not in seen
        seen.add(request.id)
        assert request.params is not None
        if isinstance(outcome, InputRequired):
            assert request.params.get("requestState") == outcome.request_state
        else:
            assert "requestState" not in request.params
        parse_request_meta(request)


# -- our client against our stateless dispatcher, in memory --------------------------

SECRET = b"k" * 32


def _wire(message: Message) -> Message:
    return decode_message(encode_message(message))


class _App:
    """A stateless server: the dispatcher and a tool that asks for confirmation."""

    def __init__(self) -> None:
        self.dispatcher = StatelessDispatcher(
            StatelessServerConfig(
                server_info={"name": "ours", "version": "1"},
                capabilities={"tools": {}},
                instructions="Be kind.",
            ),
            sealer=RequestStateSealer([("k1", SECRET)]),
        )

    def answer(self, message: Message) -> Message:
        assert isinstance(message, Request)
        try:
            handled = self.dispatcher.handle_request(message)
        except RemoteProtocolError as exc:
            return error_response_for(exc)
        if isinstance(handled, CoreAnswer):
            return handled.response
        assert isinstance(handled, StatelessRequest)
        if handled.method == "tools/list":
            return self.dispatcher.complete(handled, {"tools": [{"name": "confirm"}]})
        if handled.request_state is None:
            state = self.dispatcher.seal_state(handled, {"step": 1}, now=0.0, ttl=60.0)
            return self.dispatcher.input_required(
                handled,
                {"ok": InputRequest.elicit("Sure?", {"type": "object", "properties": {}})},
                request_state=state,
            )
        assert self.dispatcher.open_state(handled, now=1.0) == {"step": 1}
        assert handled.input_responses is not None
        action = handled.input_responses.elicit_result("ok")
        assert action is not None
        return self.dispatcher.complete(
            handled, {"content": [{"type": "text", "text": action["action"]}]}
        )


def test_our_client_against_our_stateless_server() -> None:
    app = _App()
    client = _client()
    found = client.read_discover(_wire(app.answer(_wire(client.discover()))))  # type: ignore[arg-type]
    assert found.version == LATEST_VERSION
    assert found.capabilities == {"tools": {}}
    assert found.server_info == {"name": "ours", "version": "1"}
    assert found.instructions == "Be kind."

    listing = client.call("tools/list")
    outcome = listing.receive(_wire(app.answer(_wire(listing.request))))  # type: ignore[arg-type]
    assert isinstance(outcome, Complete)
    assert outcome.result["tools"] == [{"name": "confirm"}]

    call: StatelessCall = client.call("tools/call", {"name": "confirm", "arguments": {}})
    outcome = call.receive(_wire(app.answer(_wire(call.request))))  # type: ignore[arg-type]
    assert isinstance(outcome, InputRequired)
    assert outcome.input_requests["ok"]["method"] == "elicitation/create"
    retry = call.retry({"ok": {"action": "accept", "content": {}}})
    outcome = call.receive(_wire(app.answer(_wire(retry))))  # type: ignore[arg-type]
    assert isinstance(outcome, Complete)
    assert outcome.result["content"][0]["text"] == "accept"


def test_our_stateless_server_refuses_a_version_and_names_its_own() -> None:
    app = _App()
    client = _client()
    request = client.request("tools/list")
    assert request.params is not None
    request.params["_meta"][META_PROTOCOL_VERSION] = "2030-01-01"
    error = _wire(app.answer(request))
    assert isinstance(error, ErrorResponse)
    call = client.call("tools/list")
    # The answer is for the forged request; aim it at this call's round.
    outcome = call.receive(
        ErrorResponse(id=call.request.id, code=error.code, message=error.message, data=error.data)
    )
    # The server lists the revision the client speaks: the call goes again with it.
    assert outcome == RetryWithVersion(LATEST_VERSION)
    answer = _wire(app.answer(_wire(call.retry())))
    assert isinstance(answer, Response)
    assert isinstance(call.receive(answer), Complete)
    assert call.request.params is not None
    assert call.request.params["_meta"][META_CLIENT_INFO] == CLIENT_INFO
    assert call.request.params["_meta"][META_CLIENT_CAPABILITIES] == CAPABILITIES


def test_a_discover_error_raises_with_its_code() -> None:
    client = _client()
    request = client.discover()
    with pytest.raises(RemoteProtocolError) as caught:
        client.read_discover(
            ErrorResponse(id=request.id, code=int(ErrorCode.METHOD_NOT_FOUND), message="no")
        )
    assert caught.value.code == ErrorCode.METHOD_NOT_FOUND
    with pytest.raises(RemoteProtocolError):
        client.read_discover(Response(id=request.id, result={"supportedVersions": "x"}))
    found = client.read_discover(
        Response(id=request.id, result={"supportedVersions": ["2025-11-25"], "capabilities": {}})
    )
    assert found.version is None


def test_server_info_beside_the_capabilities_is_read_too() -> None:
    client = _client()
    found = client.read_discover_result(
        {
            "supportedVersions": ["2026-07-28"],
            "capabilities": {},
            "serverInfo": {"name": "test", "version": "1.0"},
        }
    )
    assert found.server_info == {"name": "test", "version": "1.0"}


def test_stateless_notifications_and_requests() -> None:
    client = _client()
    call = client.call("tools/call", {"name": "t"}, progress_token="tok")
    assert call.progress_token == "tok"
    update = progress_update(
        Notification("notifications/progress", {"progressToken": "tok", "progress": 0.5})
    )
    assert update == ProgressUpdate("tok", 0.5)
    assert progress_update(Notification("notifications/progress", {"progress": 1})) is None
    assert (
        progress_update(
            Notification("notifications/progress", {"progressToken": 1, "progress": True})
        )
        is None
    )
    assert notification_event(
        Notification("notifications/message", {"level": "error", "data": "x", "logger": "l"})
    ) == LogReceived("error", "x", "l")
    assert notification_event(Notification("notifications/prompts/list_changed")) == ListChanged(
        "prompts"
    )
    assert notification_event(Notification("notifications/resources/updated", {})) is None
    cancel = client.cancel(call.request.id, "stop")
    assert cancel == Notification(
        "notifications/cancelled", {"requestId": call.request.id, "reason": "stop"}
    )
    refusal = client.refuse(Request("s1", "ping"))
    assert refusal.id == "s1"
    assert refusal.code == ErrorCode.METHOD_NOT_FOUND


def test_listen_asks_only_for_what_the_server_declared() -> None:
    client = _client()
    request = client.listen(tools_list_changed=True, resource_subscriptions=["file:///a"])
    assert request.method == "subscriptions/listen"
    assert request.params is not None
    assert request.params["notifications"] == {
        "toolsListChanged": True,
        "resourceSubscriptions": ["file:///a"],
    }
    client.read_discover_result(
        {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {"listChanged": True}}}
    )
    assert client.listen(tools_list_changed=True).method == "subscriptions/listen"
    with pytest.raises(LocalProtocolError):
        client.listen(resource_subscriptions=["file:///a"])


def test_the_listen_acknowledgement_is_read() -> None:
    ack = Notification(
        "notifications/subscriptions/acknowledged",
        {"_meta": {META_SUBSCRIPTION_ID: 4}, "notifications": {"toolsListChanged": True}},
    )
    assert notification_event(ack) == SubscriptionAcknowledged(4, {"toolsListChanged": True})
    broken = Notification("notifications/subscriptions/acknowledged", {"notifications": {}})
    assert notification_event(broken) is None
