"""The handshake-era session machine: lifecycle, in-flight tables, per-revision rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.jsonrpc import (
    ErrorCode,
    ErrorResponse,
    LocalProtocolError,
    Message,
    Notification,
    RemoteProtocolError,
    Request,
    Response,
    error_response_for,
    message_to_json,
)
from scaled_mcp.protocol.session import (
    TRANSITIONS,
    ErrorReceived,
    NotificationReceived,
    ReplyReady,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    ServerConfig,
    ServerSession,
    SessionInitialized,
    SessionInput,
    SessionPhase,
    SessionState,
    node_of_request_id,
    render_state_diagram,
)
from scaled_mcp.protocol.versions import HANDSHAKE_VERSIONS
from tests.spec import validate

CAPABILITIES: dict[str, Any] = {
    "tools": {"listChanged": True},
    "resources": {"subscribe": True, "listChanged": True},
    "prompts": {"listChanged": True},
    "logging": {},
    "completions": {},
}
CONFIG = ServerConfig(
    server_info={"name": "test-server", "version": "1.0"},
    capabilities=CAPABILITIES,
    instructions="Be kind.",
)
CLIENT_CAPABILITIES: dict[str, Any] = {"sampling": {}, "roots": {"listChanged": True}}


def _result_response_name(version: str) -> str:
    return "JSONRPCResultResponse" if version >= "2025-11-25" else "JSONRPCResponse"


def initialize(version: str = "2025-11-25", capabilities: dict[str, Any] | None = None) -> Request:
    return Request(
        id=0,
        method="initialize",
        params={
            "protocolVersion": version,
            "capabilities": CLIENT_CAPABILITIES if capabilities is None else capabilities,
            "clientInfo": {"name": "client", "version": "2"},
        },
    )


def operating(
    version: str = "2025-11-25", capabilities: dict[str, Any] | None = None
) -> ServerSession:
    session = ServerSession(CONFIG, session_id="s1", node_id="node-a")
    session.receive(initialize(version, capabilities), now=1.0)
    session.receive(Notification(method="notifications/initialized"), now=2.0)
    assert phase(session) is SessionPhase.OPERATING
    return session


def phase(session: ServerSession) -> SessionPhase:
    """The session's phase (a call, so that type checkers do not narrow it)."""
    return session.phase


def reply_of(events: list[Any]) -> Message:
    assert len(events) == 1
    assert isinstance(events[0], ReplyReady)
    message: Message = events[0].message
    return message


def error_code(session: ServerSession, message: Message) -> int:
    with pytest.raises(RemoteProtocolError) as info:
        session.receive(message, now=5.0)
    return info.value.code


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_lifecycle_for_each_revision(version: str) -> None:
    session = ServerSession(CONFIG, session_id="s1", node_id="node-a")
    assert phase(session) is SessionPhase.NEW
    answer = reply_of(session.receive(initialize(version), now=1.0))
    assert isinstance(answer, Response)
    assert answer.result == {
        "protocolVersion": version,
        "capabilities": CAPABILITIES,
        "serverInfo": {"name": "test-server", "version": "1.0"},
        "instructions": "Be kind.",
    }
    validate(version, _result_response_name(version), message_to_json(answer))
    validate(version, "InitializeResult", answer.result)
    assert phase(session) is SessionPhase.INITIALIZING
    events = session.receive(Notification(method="notifications/initialized"), now=2.0)
    assert events == [SessionInitialized()]
    assert phase(session) is SessionPhase.OPERATING
    request = Request(id=7, method="tools/call", params={"name": "echo", "arguments": {}})
    assert session.receive(request, now=3.0) == [RequestReceived(request)]
    response = session.send_response(7, {"content": []})
    validate(version, _result_response_name(version), message_to_json(response))
    state = session.state
    assert state.protocol_version == version
    assert state.client_info == {"name": "client", "version": "2"}
    assert (state.created_at, state.last_activity) == (1.0, 3.0)
    session.close()
    assert phase(session) is SessionPhase.CLOSED
    assert error_code(session, Request(id=8, method="ping")) == ErrorCode.INVALID_REQUEST


def test_unknown_version_negotiates_the_latest_handshake_revision() -> None:
    session = ServerSession(CONFIG, session_id="s1", node_id="n")
    answer = reply_of(session.receive(initialize("1999-01-01"), now=0))
    assert isinstance(answer, Response)
    assert answer.result["protocolVersion"] == "2025-11-25"


def test_only_ping_before_initialize() -> None:
    session = ServerSession(CONFIG, session_id="s1", node_id="n")
    assert reply_of(session.receive(Request(id=1, method="ping"), now=0)) == Response(
        id=1, result={}
    )
    assert error_code(session, Request(id=2, method="tools/list")) == ErrorCode.INVALID_REQUEST
    assert phase(session) is SessionPhase.NEW
    with pytest.raises(RemoteProtocolError) as info:
        session.receive(Request(id=3, method="tools/list"), now=0)
    assert info.value.request_id == 3


def test_a_request_may_overtake_the_initialized_notification() -> None:
    session = ServerSession(CONFIG, session_id="s1", node_id="n")
    session.receive(initialize(), now=0)
    request = Request(id=1, method="tools/list")
    assert session.receive(request, now=0) == [RequestReceived(request)]
    assert phase(session) is SessionPhase.OPERATING
    assert session.receive(Notification(method="notifications/initialized"), now=0) == []


def test_second_initialize_is_refused() -> None:
    session = operating()
    assert error_code(session, initialize()) == ErrorCode.INVALID_REQUEST


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (Request(id=1, method="no/such"), ErrorCode.METHOD_NOT_FOUND),
        (Request(id=1, method="tools/call", params={"arguments": {}}), ErrorCode.INVALID_PARAMS),
        (Request(id=1, method="tools/call", params={"name": "x", "arguments": []}), -32602),
        (Request(id=1, method="resources/read", params={}), ErrorCode.INVALID_PARAMS),
        (Request(id=1, method="prompts/get", params={"name": 3}), ErrorCode.INVALID_PARAMS),
        (Request(id=1, method="prompts/get", params={"name": "p", "arguments": {"a": 1}}), -32602),
        (Request(id=1, method="logging/setLevel", params={"level": "loud"}), -32602),
        (Request(id=1, method="completion/complete", params={}), ErrorCode.INVALID_PARAMS),
        (Request(id=1, method="tools/list", params={"cursor": 5}), ErrorCode.INVALID_PARAMS),
        (Request(id=1, method="tools/list", params={"_meta": {"progressToken": 1.5}}), -32602),
        (Request(id=1, method="tasks/list"), ErrorCode.METHOD_NOT_FOUND),
    ],
)
def test_invalid_requests(message: Request, code: int) -> None:
    session = operating()
    with pytest.raises(RemoteProtocolError) as info:
        session.receive(message, now=0)
    assert info.value.code == code
    assert info.value.request_id == message.id
    validate("2025-11-25", "JSONRPCErrorResponse", message_to_json(error_response_for(info.value)))
    assert not session.is_in_flight(message.id)


def test_methods_need_the_server_capability() -> None:
    session = ServerSession(
        ServerConfig(server_info={"name": "s", "version": "1"}, capabilities={"tools": {}}),
        session_id="s",
        node_id="n",
    )
    session.receive(initialize(), now=0)
    for method in ("resources/list", "prompts/list", "logging/setLevel", "completion/complete"):
        assert error_code(session, Request(id=1, method=method)) == ErrorCode.METHOD_NOT_FOUND
    assert session.receive(Request(id=1, method="tools/list"), now=0)


def test_duplicate_in_flight_id_is_refused_and_ids_are_reusable_after_the_answer() -> None:
    session = operating()
    session.receive(Request(id="a", method="tools/list"), now=0)
    assert error_code(session, Request(id="a", method="tools/list")) == ErrorCode.INVALID_REQUEST
    session.send_response("a", {"tools": []})
    assert session.receive(Request(id="a", method="tools/list"), now=0)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("ping", None),
        ("logging/setLevel", {"level": "info"}),
        ("resources/subscribe", {"uri": "test://a"}),
        ("resources/unsubscribe", {"uri": "test://a"}),
        ("no/such/method", None),
    ],
)
def test_a_request_the_core_answers_may_not_reuse_an_id_in_flight(
    method: str, params: dict[str, Any] | None
) -> None:
    # "The request ID MUST NOT have been previously used by the requestor within
    # the same session": answering it would send the client two responses with that id.
    session = operating()
    session.receive(Request(id=7, method="tools/call", params={"name": "slow"}), now=0)
    with pytest.raises(RemoteProtocolError) as info:
        session.receive(Request(id=7, method=method, params=params), now=0)
    assert info.value.code == ErrorCode.INVALID_REQUEST
    assert info.value.request_id == 7
    assert session.state.log_level is None
    assert session.state.subscriptions == frozenset()
    assert session.is_in_flight(7)
    assert phase(session) is SessionPhase.OPERATING
    session.send_response(7, {"content": []})
    assert session.receive(Request(id=7, method="ping"), now=0)


def test_answering_twice_is_a_local_error() -> None:
    session = operating()
    session.receive(Request(id=1, method="tools/list"), now=0)
    session.send_error(1, ErrorCode.INTERNAL_ERROR, "boom")
    with pytest.raises(LocalProtocolError):
        session.send_response(1, {})


def test_cancellation() -> None:
    session = operating()
    session.receive(Request(id=1, method="tools/call", params={"name": "slow"}), now=0)
    cancel = Notification(
        method="notifications/cancelled", params={"requestId": 1, "reason": "user"}
    )
    assert session.receive(cancel, now=0) == [RequestCancelled(1, "user")]
    assert not session.is_in_flight(1)
    # "MAY ignore the cancellation notification if the request is unknown, already completed"
    assert session.receive(cancel, now=0) == []
    bad = Notification(method="notifications/cancelled", params={"requestId": None})
    assert session.receive(bad, now=0) == []
    # The initialize request is never in flight, so it cannot be cancelled.
    assert (
        session.receive(
            Notification(method="notifications/cancelled", params={"requestId": 0}), now=0
        )
        == []
    )


def test_notifications() -> None:
    session = operating()
    roots = Notification(method="notifications/roots/list_changed")
    assert session.receive(roots, now=0) == [NotificationReceived(roots)]
    assert session.receive(Notification(method="notifications/unknown"), now=0) == []


def test_set_level_filters_logs() -> None:
    session = operating()
    everything = session.log("debug", {"x": 1}, logger="l")
    assert everything is not None
    validate("2025-11-25", "LoggingMessageNotification", message_to_json(everything))
    answer = reply_of(
        session.receive(
            Request(id=1, method="logging/setLevel", params={"level": "warning"}), now=0
        )
    )
    assert answer == Response(id=1, result={})
    assert session.state.log_level == "warning"
    assert session.log("info", "quiet") is None
    assert session.log("error", "loud") is not None
    with pytest.raises(LocalProtocolError):
        session.log("loud", "x")


@pytest.mark.parametrize("level", ["loud", None, 3, [], {}])
def test_set_level_refuses_what_is_not_a_level(level: object) -> None:
    session = operating()
    request = Request(id=1, method="logging/setLevel", params={"level": level})
    assert error_code(session, request) == ErrorCode.INVALID_PARAMS
    assert session.state.log_level is None


def test_subscriptions() -> None:
    session = operating()
    subscribe = Request(id=1, method="resources/subscribe", params={"uri": "test://a"})
    assert reply_of(session.receive(subscribe, now=0)) == Response(id=1, result={})
    assert session.state.subscriptions == frozenset({"test://a"})
    updated = session.resource_updated("test://a")
    assert updated is not None
    validate("2025-11-25", "ResourceUpdatedNotification", message_to_json(updated))
    assert session.resource_updated("test://b") is None
    session.receive(
        Request(id=2, method="resources/unsubscribe", params={"uri": "test://a"}), now=0
    )
    assert session.resource_updated("test://a") is None
    changed = session.list_changed("tools")
    validate("2025-11-25", "ToolListChangedNotification", message_to_json(changed))


def test_which_broadcasts_a_session_takes() -> None:
    tools_changed = Notification("notifications/tools/list_changed")
    updated_a = Notification("notifications/resources/updated", {"uri": "test://a"})
    updated_b = Notification("notifications/resources/updated", {"uri": "test://b"})
    session = ServerSession(CONFIG, session_id="s1", node_id="node-a")
    assert not session.wants_broadcast(tools_changed)  # not initialized yet
    session.receive(initialize(), now=0)
    assert not session.wants_broadcast(tools_changed)  # not operating yet
    session.receive(Notification(method="notifications/initialized"), now=0)
    assert session.wants_broadcast(tools_changed)
    assert not session.wants_broadcast(updated_a)
    session.receive(Request(id=1, method="resources/subscribe", params={"uri": "test://a"}), now=0)
    assert session.wants_broadcast(updated_a)
    assert not session.wants_broadcast(updated_b)
    assert not session.wants_broadcast(Notification("notifications/resources/updated"))
    assert not session.wants_broadcast(Notification("notifications/message", {"uri": "test://a"}))
    session.close()
    assert not session.wants_broadcast(tools_changed)


def test_the_progress_token_of_a_request_in_flight() -> None:
    session = operating()
    call = Request(id=1, method="tools/call", params={"name": "t", "_meta": {"progressToken": 7}})
    session.receive(call, now=0)
    session.receive(Request(id=2, method="tools/call", params={"name": "t"}), now=0)
    assert session.progress_token(1) == 7
    assert session.progress_token(2) is None
    session.send_response(1, {"content": []})
    assert session.progress_token(1) is None  # answered: no longer in flight


def test_subscribe_needs_the_capability() -> None:
    session = ServerSession(
        ServerConfig(server_info={"name": "s", "version": "1"}, capabilities={"resources": {}}),
        session_id="s",
        node_id="n",
    )
    session.receive(initialize(), now=0)
    subscribe = Request(id=1, method="resources/subscribe", params={"uri": "x"})
    assert error_code(session, subscribe) == ErrorCode.METHOD_NOT_FOUND
    with pytest.raises(LocalProtocolError):
        session.list_changed("resources")


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_progress(version: str) -> None:
    session = operating(version)
    session.receive(
        Request(id=1, method="tools/call", params={"name": "t", "_meta": {"progressToken": "p"}}),
        now=0,
    )
    first = session.progress(1, 1, total=3, message="one")
    assert first is not None
    assert first.params is not None
    assert ("message" in first.params) == (version >= "2025-03-26")
    validate(version, "ProgressNotification", message_to_json(first))
    with pytest.raises(LocalProtocolError):
        session.progress(1, 1)  # "The progress value MUST increase"
    assert session.progress(1, 2) is not None
    session.receive(Request(id=2, method="tools/call", params={"name": "t"}), now=0)
    assert session.progress(2, 1) is None  # no token: no progress
    session.send_response(1, {"content": []})
    with pytest.raises(LocalProtocolError):
        session.progress(1, 3)


def test_server_requests_carry_the_node_and_route_answers() -> None:
    session = operating()
    request = session.send_request("sampling/createMessage", {"messages": [], "maxTokens": 10})
    assert node_of_request_id(request.id) == "node-a"
    validate("2025-11-25", "CreateMessageRequest", message_to_json(request))
    roots = session.send_request("roots/list")
    assert roots.id != request.id
    answer = Response(id=request.id, result={"role": "assistant", "model": "m", "content": {}})
    assert session.receive(answer, now=0) == [ResponseReceived(answer, request)]
    failure = ErrorResponse(id=roots.id, code=-1, message="no")
    assert session.receive(failure, now=0) == [ErrorReceived(failure, roots)]
    # An answer to nothing we asked is ignored.
    assert session.receive(answer, now=0) == []
    assert session.receive(Response(id="other.1", result={}), now=0) == []


def test_node_of_request_id() -> None:
    assert node_of_request_id("n1.42") == "n1"
    for value in (42, "n1", "n1.x", ".4", "n1.", None, "n1.٣"):
        assert node_of_request_id(value) is None
    with pytest.raises(LocalProtocolError):
        ServerSession(CONFIG, session_id="s", node_id="a.b")


def test_server_requests_need_client_capabilities_and_revision() -> None:
    session = operating(capabilities={})
    for method in ("sampling/createMessage", "roots/list", "elicitation/create"):
        with pytest.raises(LocalProtocolError):
            session.send_request(method, {})
    assert session.send_request("ping").method == "ping"
    with pytest.raises(LocalProtocolError):
        session.send_request("tools/list")
    # Elicitation exists from 2025-06-18.
    old = operating("2025-03-26", capabilities={"elicitation": {}})
    with pytest.raises(LocalProtocolError):
        old.send_request("elicitation/create", {"message": "?", "requestedSchema": {}})
    new = operating("2025-11-25", capabilities={"elicitation": {}})
    form = new.send_request(
        "elicitation/create",
        {"message": "?", "requestedSchema": {"type": "object", "properties": {}}},
    )
    validate("2025-11-25", "ElicitRequest", message_to_json(form))
    with pytest.raises(LocalProtocolError):  # {} means form mode only
        new.send_request("elicitation/create", {"mode": "url", "message": "?", "url": "x"})
    url = operating("2025-11-25", capabilities={"elicitation": {"url": {}}})
    assert url.send_request("elicitation/create", {"mode": "url", "message": "?"})


def test_nothing_but_ping_is_sent_before_the_session_operates() -> None:
    session = ServerSession(CONFIG, session_id="s", node_id="n")
    with pytest.raises(LocalProtocolError):
        session.send_request("ping")
    session.receive(initialize(), now=0)
    assert session.send_request("ping")
    with pytest.raises(LocalProtocolError):
        session.send_request("roots/list")


def test_in_flight_and_pending_tables_are_bounded() -> None:
    config = ServerConfig(
        server_info={"name": "s", "version": "1"},
        capabilities={"tools": {}},
        max_in_flight=2,
        max_pending=1,
    )
    session = ServerSession(config, session_id="s", node_id="n")
    session.receive(initialize(), now=0)
    session.receive(Request(id=1, method="tools/list"), now=0)
    session.receive(Request(id=2, method="tools/list"), now=0)
    assert error_code(session, Request(id=3, method="tools/list")) == ErrorCode.INVALID_REQUEST
    session.send_request("roots/list")
    with pytest.raises(LocalProtocolError):
        session.send_request("roots/list")


def test_state_round_trip_rebuilds_an_equivalent_session() -> None:
    session = operating("2025-06-18")
    session.receive(Request(id=1, method="resources/subscribe", params={"uri": "u"}), now=9.0)
    data = orjson.loads(orjson.dumps(session.state.to_json()))
    rebuilt = ServerSession.from_state(CONFIG, SessionState.from_json(data), node_id="node-b")
    assert rebuilt.state == session.state
    assert rebuilt.resource_updated("u") is not None
    request = Request(id=2, method="tools/call", params={"name": "x"})
    assert rebuilt.receive(request, now=10.0) == [RequestReceived(request)]


def test_refresh_takes_the_shared_data_and_keeps_the_work_in_flight() -> None:
    session = operating("2025-06-18")
    call = Request(id=1, method="tools/call", params={"name": "x", "_meta": {"progressToken": "p"}})
    session.receive(call, now=3.0)
    asked = session.send_request("roots/list")
    # Another node takes the same session's next messages.
    elsewhere = ServerSession.from_state(CONFIG, session.state, node_id="node-b")
    elsewhere.receive(Request(id=2, method="logging/setLevel", params={"level": "error"}), now=4.0)
    elsewhere.receive(Request(id=3, method="resources/subscribe", params={"uri": "u"}), now=4.0)
    session.refresh(elsewhere.state)
    assert session.log_level == "error"
    assert session.subscriptions == {"u"}
    assert session.log("info", "quiet") is None
    # The requests in flight here are still here, both ways.
    assert session.is_in_flight(1)
    assert session.progress(1, 0.5) is not None
    answer = Response(id=asked.id, result={"roots": []})
    assert session.receive(answer, now=5.0) == [ResponseReceived(answer, asked)]
    assert session.send_response(1, {"content": []}) == Response(id=1, result={"content": []})
    # An expiry elsewhere closes it here too.
    closed = attrs.evolve(elsewhere.state, phase=SessionPhase.CLOSED)
    session.refresh(closed)
    assert phase(session) is SessionPhase.CLOSED
    assert error_code(session, Request(id=4, method="ping")) == ErrorCode.INVALID_REQUEST


def test_refresh_of_a_session_initialized_elsewhere_takes_the_negotiated_version() -> None:
    # A session this node knows only as new (a legacy stream opened here) that
    # another node initialized.
    here = ServerSession(CONFIG, session_id="s1", node_id="node-a")
    there = operating("2025-03-26")
    here.refresh(there.state)
    assert here.state == there.state
    assert here.protocol_version == "2025-03-26"
    request = Request(id=1, method="tools/call", params={"name": "x"})
    assert here.receive(request, now=9.0) == [RequestReceived(request)]


def test_refresh_takes_only_its_own_session() -> None:
    session = operating()
    other = ServerSession(CONFIG, session_id="s2", node_id="node-a")
    with pytest.raises(LocalProtocolError):
        session.refresh(other.state)


def test_state_diagram_doc_is_generated_from_the_table() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "state-machine.md").read_text()
    assert f"```mermaid\n{render_state_diagram()}```" in doc


# -- properties ----------------------------------------------------------------

_METHODS = [
    "initialize", "ping", "tools/list", "tools/call", "resources/read", "resources/subscribe",
    "prompts/get", "logging/setLevel", "completion/complete", "no/such", "tasks/get",
    "notifications/initialized", "notifications/cancelled", "notifications/progress",
]  # fmt: skip
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
_ids = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", "node-a.1", "node-a.2"]))
_params = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.text(max_size=3), _json),
            "uri": st.one_of(st.text(max_size=3), _json),
            "level": st.sampled_from(["debug", "error", "nope"]),
            "requestId": _ids,
            "protocolVersion": st.sampled_from([*HANDSHAKE_VERSIONS, "x"]),
            "capabilities": st.just({}),
            "clientInfo": st.just({"name": "c", "version": "1"}),
            "arguments": _json,
            "_meta": st.one_of(_json, st.fixed_dictionaries({"progressToken": _json})),
            "ref": _json,
            "argument": _json,
        },
    ),
)
_messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Request, id=_ids, method=st.sampled_from(_METHODS), params=_params),
    st.builds(Notification, method=st.sampled_from(_METHODS), params=_params),
    st.builds(Response, id=_ids, result=st.just({})),
    st.builds(ErrorResponse, id=_ids, code=st.integers(-32700, 0), message=st.just("e")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_messages, st.booleans()), max_size=12))
def test_any_message_sequence_yields_events_or_a_protocol_error(
    steps: list[tuple[Message, bool]],
) -> None:
    session = ServerSession(CONFIG, session_id="s", node_id="node-a")
    for message, answer in steps:
        try:
            events = session.receive(message, now=0)
        except RemoteProtocolError as exc:
            assert exc.code in {int(code) for code in ErrorCode}
            if isinstance(message, Request):
                assert exc.request_id == message.id
            continue
        finally:
            assert session.phase in SessionPhase
        for event in events:
            if isinstance(event, RequestReceived) and answer:
                session.send_response(event.request.id, {})
            if isinstance(event, ReplyReady):
                assert isinstance(event.message, (Response, ErrorResponse))
        if phase(session) is SessionPhase.OPERATING and answer:
            session.send_request("ping")
    SessionState.from_json(orjson.loads(orjson.dumps(session.state.to_json())))


@given(st.sampled_from(list(SessionPhase)), st.sampled_from(list(SessionInput)))
def test_every_phase_input_pair_moves_by_the_table_or_is_refused(
    phase: SessionPhase, kind: SessionInput
) -> None:
    session = ServerSession(CONFIG, session_id="s", node_id="n")
    if phase is not SessionPhase.NEW:
        session.receive(initialize(), now=0)
    session.phase = phase
    target = TRANSITIONS.get((phase, kind))
    try:
        session._move(kind)
    except RemoteProtocolError as exc:
        assert target is None
        assert exc.code == ErrorCode.INVALID_REQUEST
        assert session.phase is phase
    else:
        assert session.phase is target


def _stored_without_times(session: ServerSession) -> SessionState:
    return attrs.evolve(session.state, created_at=0.0, last_activity=0.0)


def test_the_shared_fields_change_with_what_a_message_changes() -> None:
    session = ServerSession(CONFIG, session_id="s", node_id="n")
    fresh = session.shared_fields()
    session.receive(initialize(), now=1.0)
    initialized = session.shared_fields()
    assert initialized != fresh
    session.receive(Notification(method="notifications/initialized"), now=2.0)
    operating_fields = session.shared_fields()
    assert operating_fields != initialized
    session.receive(Request(id=1, method="ping"), now=3.0)
    session.receive(Request(id=2, method="tools/list"), now=4.0)
    assert session.shared_fields() == operating_fields
    session.receive(Request(id=3, method="logging/setLevel", params={"level": "error"}), now=5.0)
    level_set = session.shared_fields()
    assert level_set != operating_fields
    session.receive(Request(id=4, method="resources/subscribe", params={"uri": "x://a"}), now=6.0)
    assert session.shared_fields() != level_set


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_messages, st.booleans()), max_size=12))
def test_unchanged_shared_fields_mean_an_unchanged_stored_state(
    steps: list[tuple[Message, bool]],
) -> None:
    # The runtime writes a session's state to the cluster store only when its
    # shared fields changed (and now and then, for the activity times).
    session = ServerSession(CONFIG, session_id="s", node_id="node-a")
    for message, answer in steps:
        fields, stored = session.shared_fields(), _stored_without_times(session)
        try:
            events = session.receive(message, now=0)
        except RemoteProtocolError:
            events = []
        for event in events:
            if isinstance(event, RequestReceived) and answer:
                session.send_response(event.request.id, {})
        if session.shared_fields() == fields:
            assert _stored_without_times(session) == stored
