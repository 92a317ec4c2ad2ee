"""The client session machine: its table, every (phase, message) pair, and our server in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.client import (
    CLIENT_TRANSITIONS,
    ClientEvent,
    ClientInput,
    ClientPhase,
    ClientSession,
    HandshakeCompleted,
    HandshakeFailed,
    ListChanged,
    LogReceived,
    ProgressReceived,
    ReplyToServer,
    RequestFailed,
    ResourceUpdated,
    ResultReceived,
    ServerCancelled,
    ServerNotification,
    ServerRequest,
    render_client_state_diagram,
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
from scaled_mcp.protocol.session import (
    ReplyReady,
    RequestReceived,
    ResponseReceived,
    ServerConfig,
    ServerSession,
    SessionInitialized,
    SessionPhase,
)
from scaled_mcp.protocol.versions import HANDSHAKE_VERSIONS, LATEST_HANDSHAKE_VERSION
from tests.spec import validate

CLIENT_INFO = {"name": "test-client", "version": "1.0"}
CLIENT_CAPABILITIES: dict[str, Any] = {
    "sampling": {},
    "roots": {"listChanged": True},
    "elicitation": {"form": {}},
}
SERVER_CAPABILITIES: dict[str, Any] = {
    "tools": {"listChanged": True},
    "resources": {"subscribe": True, "listChanged": True},
    "prompts": {},
    "logging": {},
    "completions": {},
}


def _session(**kwargs: Any) -> ClientSession:
    kwargs.setdefault("client_info", CLIENT_INFO)
    kwargs.setdefault("capabilities", CLIENT_CAPABILITIES)
    return ClientSession(**kwargs)


def _init_result(request: Request, version: str = LATEST_HANDSHAKE_VERSION) -> Response:
    return Response(
        id=request.id,
        result={
            "protocolVersion": version,
            "capabilities": SERVER_CAPABILITIES,
            "serverInfo": {"name": "s", "version": "1"},
            "instructions": "hi",
        },
    )


def _ready(**kwargs: Any) -> ClientSession:
    session = _session(**kwargs)
    events = session.receive(_init_result(session.initialize()))
    assert isinstance(events[0], HandshakeCompleted)
    session.initialized()
    return session


def _in_phase(phase: ClientPhase) -> ClientSession:
    session = _session()
    if phase is ClientPhase.NEW:
        return session
    request = session.initialize()
    if phase is ClientPhase.INITIALIZING:
        return session
    session.receive(_init_result(request))
    if phase is ClientPhase.INITIALIZED:
        return session
    if phase is ClientPhase.READY:
        session.initialized()
        return session
    session.close()
    return session


# -- the table ------------------------------------------------------------------------


def test_every_phase_is_reachable_and_closable() -> None:
    targets = {ClientPhase.NEW} | set(CLIENT_TRANSITIONS.values())
    assert targets == set(ClientPhase)
    for phase in ClientPhase:
        if phase is not ClientPhase.CLOSED:
            assert CLIENT_TRANSITIONS[(phase, ClientInput.CLOSE)] is ClientPhase.CLOSED
    assert not any(phase is ClientPhase.CLOSED for phase, _ in CLIENT_TRANSITIONS)


def test_the_diagram_draws_every_move() -> None:
    diagram = render_client_state_diagram()
    assert diagram.startswith("stateDiagram-v2\n")
    assert diagram.count("-->") == len(CLIENT_TRANSITIONS) + 2


# -- the handshake ------------------------------------------------------------------


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_initialize_is_a_valid_request_of_each_revision(version: str) -> None:
    session = _session(protocol_version=version)
    request = session.initialize()
    validate(version, "InitializeRequest", message_to_json(request))
    assert session.phase is ClientPhase.INITIALIZING
    with pytest.raises(LocalProtocolError):
        session.initialize()


def test_the_handshake_accepts_an_older_revision_it_speaks() -> None:
    session = _session()
    request = session.initialize()
    assert request.params is not None
    assert request.params["protocolVersion"] == LATEST_HANDSHAKE_VERSION
    (event,) = session.receive(_init_result(request, "2025-03-26"))
    assert event == HandshakeCompleted(
        "2025-03-26", {"name": "s", "version": "1"}, SERVER_CAPABILITIES, "hi"
    )
    phases = [session.phase]
    assert session.negotiated_version == "2025-03-26"
    notification = session.initialized()
    assert notification.method == "notifications/initialized"
    phases.append(session.phase)
    assert phases == [ClientPhase.INITIALIZED, ClientPhase.READY]


@pytest.mark.parametrize(
    "result",
    [
        {"protocolVersion": "1999-01-01", "capabilities": {}, "serverInfo": {"name": "s"}},
        {"protocolVersion": "2026-07-28", "capabilities": {}, "serverInfo": {"name": "s"}},
        {"capabilities": {}, "serverInfo": {"name": "s"}},
        {"protocolVersion": "2025-11-25", "capabilities": [], "serverInfo": {"name": "s"}},
        {"protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": "s"},
        {"protocolVersion": "2025-11-25", "capabilities": {}, "instructions": 3},
    ],
)
def test_a_bad_initialize_answer_fails_the_handshake(result: dict[str, Any]) -> None:
    session = _session()
    request = session.initialize()
    (event,) = session.receive(Response(id=request.id, result=result))
    assert isinstance(event, HandshakeFailed)
    assert event.error is None
    assert session.phase is ClientPhase.CLOSED
    with pytest.raises(LocalProtocolError):
        session.send_request("tools/list")


def test_a_version_the_client_does_not_speak_is_refused_clearly() -> None:
    session = _session(supported_versions=("2025-06-18", "2025-11-25"))
    request = session.initialize()
    (event,) = session.receive(_init_result(request, "2024-11-05"))
    assert isinstance(event, HandshakeFailed)
    assert "2024-11-05" in event.reason


def test_an_initialize_error_fails_the_handshake() -> None:
    session = _session()
    request = session.initialize()
    error = ErrorResponse(id=request.id, code=int(ErrorCode.INVALID_PARAMS), message="no")
    (event,) = session.receive(error)
    assert event == HandshakeFailed("initialize failed: no", error)


def test_initialize_cannot_be_cancelled() -> None:
    session = _session()
    request = session.initialize()
    with pytest.raises(LocalProtocolError):
        session.cancel(request.id)


def test_only_ping_goes_before_the_handshake() -> None:
    session = _session()
    assert session.send_request("ping").method == "ping"
    with pytest.raises(LocalProtocolError):
        session.send_request("tools/list")
    session.initialize()
    with pytest.raises(LocalProtocolError):
        session.send_request("tools/list")
    with pytest.raises(LocalProtocolError):
        session.send_notification("notifications/roots/list_changed")


# -- requests and their answers -----------------------------------------------------


def test_requests_need_the_server_capability() -> None:
    session = _session()
    request = session.initialize()
    session.receive(
        Response(
            id=request.id,
            result={
                "protocolVersion": "2025-11-25",
                "capabilities": {"resources": {}},
                "serverInfo": {"name": "s", "version": "1"},
            },
        )
    )
    session.initialized()
    for method in (
        "tools/list",
        "tools/call",
        "prompts/get",
        "logging/setLevel",
        "completion/complete",
    ):
        with pytest.raises(LocalProtocolError):
            session.send_request(method)
    with pytest.raises(LocalProtocolError, match="subscribe"):
        session.send_request("resources/subscribe", {"uri": "x"})
    assert session.send_request("resources/read", {"uri": "x"}).method == "resources/read"
    # Methods the core does not know (extensions) are the caller's business.
    assert session.send_request("x/y").method == "x/y"


def test_completion_needs_no_capability_in_2024_11_05() -> None:
    session = _session(protocol_version="2024-11-05")
    request = session.initialize()
    session.receive(
        Response(
            id=request.id,
            result={
                "protocolVersion": "2024-11-05",
                "capabilities": {},
                "serverInfo": {"name": "s"},
            },
        )
    )
    session.initialized()
    assert session.send_request("completion/complete").method == "completion/complete"


def test_answers_leave_the_table_and_progress_maps_to_the_request() -> None:
    session = _ready()
    call = session.send_request("tools/call", {"name": "t"}, progress_token=True)
    assert call.params is not None
    token = call.params["_meta"]["progressToken"]
    other = session.send_request("tools/list")
    progress = Notification(
        "notifications/progress",
        {"progressToken": token, "progress": 1, "total": 2, "message": "m"},
    )
    assert session.receive(progress) == [ProgressReceived(call, 1, 2, "m")]
    # Progress for a token nobody gave is dropped.
    assert (
        session.receive(
            Notification("notifications/progress", {"progressToken": "zz", "progress": 1})
        )
        == []
    )
    assert session.receive(Response(id=call.id, result={"content": []})) == [
        ResultReceived(call, {"content": []})
    ]
    assert session.receive(progress) == []
    error = ErrorResponse(id=other.id, code=-1, message="x")
    assert session.receive(error) == [RequestFailed(other, error)]
    # A second answer to the same id is dropped.
    assert session.receive(error) == []
    assert session.in_flight == ()


def test_cancel_forgets_the_request() -> None:
    session = _ready()
    request = session.send_request("tools/call", {"name": "t"}, progress_token=True)
    notification = session.cancel(request.id, "bored")
    assert notification == Notification(
        "notifications/cancelled", {"requestId": request.id, "reason": "bored"}
    )
    validate("2025-11-25", "CancelledNotification", message_to_json(notification))
    assert session.cancel(request.id) is None
    # The answer that races the cancellation is dropped.
    assert session.receive(Response(id=request.id, result={})) == []


def test_the_in_flight_table_is_bounded() -> None:
    session = _ready(max_in_flight=3)
    requests = [session.send_request("ping") for _ in range(3)]
    with pytest.raises(LocalProtocolError):
        session.send_request("ping")
    session.receive(Response(id=requests[0].id, result={}))
    session.send_request("ping")
    assert [r.id for r in session.fail_all()] == [3, 4, 5]
    assert session.in_flight == ()


# -- what the server asks -----------------------------------------------------------


def test_server_requests_need_the_declared_capability() -> None:
    session = _ready(capabilities={"roots": {}})
    (reply,) = session.receive(
        Request("s.1", "sampling/createMessage", {"messages": [], "maxTokens": 5})
    )
    assert isinstance(reply, ReplyToServer)
    assert isinstance(reply.message, ErrorResponse)
    assert reply.message.code == ErrorCode.METHOD_NOT_FOUND
    (reply,) = session.receive(
        Request("s.2", "elicitation/create", {"message": "m", "requestedSchema": {}})
    )
    assert isinstance(reply, ReplyToServer)
    assert isinstance(reply.message, ErrorResponse)
    (event,) = session.receive(Request("s.3", "roots/list"))
    assert event == ServerRequest(Request("s.3", "roots/list"))
    answer = session.answer("s.3", {"roots": []})
    validate("2025-11-25", "JSONRPCResponse", message_to_json(answer))
    with pytest.raises(LocalProtocolError):
        session.answer("s.3", {"roots": []})
    (reply,) = session.receive(Request("s.4", "nope/nope"))
    assert isinstance(reply, ReplyToServer)
    assert isinstance(reply.message, ErrorResponse)
    assert reply.message.code == ErrorCode.METHOD_NOT_FOUND


def test_elicitation_modes_follow_the_declaration() -> None:
    session = _ready(capabilities={"elicitation": {}})
    form = {"message": "m", "requestedSchema": {"type": "object", "properties": {}}}
    assert session.receive(Request(1, "elicitation/create", form)) == [
        ServerRequest(Request(1, "elicitation/create", form))
    ]
    url = {"mode": "url", "message": "m", "url": "https://x", "elicitationId": "e"}
    (reply,) = session.receive(Request(2, "elicitation/create", url))
    assert isinstance(reply, ReplyToServer)
    assert isinstance(reply.message, ErrorResponse)
    assert reply.message.code == ErrorCode.INVALID_PARAMS
    session = _ready(capabilities={"elicitation": {"url": {}}})
    assert isinstance(session.receive(Request(2, "elicitation/create", url))[0], ServerRequest)


def test_server_pings_are_answered_and_server_cancellation_is_reported() -> None:
    session = _ready()
    assert session.receive(Request("p", "ping")) == [ReplyToServer(Response(id="p", result={}))]
    session.receive(Request("r", "roots/list"))
    cancelled = Notification("notifications/cancelled", {"requestId": "r", "reason": "late"})
    assert session.receive(cancelled) == [ServerCancelled("r", "late")]
    assert session.receive(cancelled) == []
    with pytest.raises(LocalProtocolError):
        session.answer("r", {"roots": []})


def test_server_notifications_become_events() -> None:
    session = _ready()
    assert session.receive(
        Notification("notifications/message", {"level": "info", "data": {"a": 1}})
    ) == [LogReceived("info", {"a": 1})]
    assert (
        session.receive(Notification("notifications/message", {"level": "loud", "data": 1})) == []
    )
    assert session.receive(Notification("notifications/tools/list_changed")) == [
        ListChanged("tools")
    ]
    assert session.receive(Notification("notifications/resources/updated", {"uri": "u"})) == [
        ResourceUpdated("u")
    ]
    other = Notification("notifications/elicitation/complete", {"elicitationId": "e"})
    assert session.receive(other) == [ServerNotification(other)]


def test_server_requests_in_flight_are_bounded() -> None:
    session = _ready(max_server_requests=2)
    assert isinstance(session.receive(Request(1, "roots/list"))[0], ServerRequest)
    (dup,) = session.receive(Request(1, "roots/list"))
    assert isinstance(dup, ReplyToServer)
    assert isinstance(session.receive(Request(2, "roots/list"))[0], ServerRequest)
    (over,) = session.receive(Request(3, "roots/list"))
    assert isinstance(over, ReplyToServer)
    assert isinstance(over.message, ErrorResponse)
    assert over.message.code == ErrorCode.INVALID_REQUEST


# -- every (phase, message) pair ------------------------------------------------------

_IDS = st.one_of(st.integers(min_value=-3, max_value=40), st.sampled_from(["a", "s.1", "r"]))
_METHODS = st.sampled_from(
    [
        "ping",
        "sampling/createMessage",
        "elicitation/create",
        "roots/list",
        "tools/call",
        "initialize",
        "x/y",
    ]
)
_NOTIFICATION_METHODS = st.sampled_from(
    [
        "notifications/progress",
        "notifications/message",
        "notifications/cancelled",
        "notifications/tools/list_changed",
        "notifications/resources/updated",
        "notifications/initialized",
        "notifications/other",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
_PARAMS = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(
            [
                "messages",
                "maxTokens",
                "message",
                "mode",
                "requestedSchema",
                "progressToken",
                "progress",
                "level",
                "data",
                "requestId",
                "uri",
                "url",
                "elicitationId",
                "tools",
            ]
        ),
        _JSON | _IDS,
        max_size=6,
    ),
)
_SERVER_MESSAGES: st.SearchStrategy[Message] = st.one_of(
    st.builds(Request, id=_IDS, method=_METHODS, params=_PARAMS),
    st.builds(Notification, method=_NOTIFICATION_METHODS, params=_PARAMS),
    st.builds(Response, id=_IDS, result=st.dictionaries(st.text(max_size=4), _JSON, max_size=3)),
    st.builds(ErrorResponse, id=st.none() | _IDS, code=st.integers(), message=st.text(max_size=5)),
)
_CLIENT_ACTIONS = st.sampled_from(
    ["initialize", "initialized", "ping", "tools/call", "cancel", "answer", "close", "notify"]
)
_EVENT_TYPES = (
    HandshakeCompleted,
    HandshakeFailed,
    ResultReceived,
    RequestFailed,
    ServerRequest,
    ReplyToServer,
    ProgressReceived,
    LogReceived,
    ListChanged,
    ResourceUpdated,
    ServerCancelled,
    ServerNotification,
)


def _act(session: ClientSession, action: str, data: st.DataObject) -> Message | None:
    try:
        if action == "initialize":
            return session.initialize()
        if action == "initialized":
            return session.initialized()
        if action == "ping":
            return session.send_request("ping")
        if action == "tools/call":
            return session.send_request("tools/call", {"name": "t"}, progress_token=True)
        if action == "cancel":
            return session.cancel(data.draw(_IDS))
        if action == "answer":
            return session.answer(data.draw(_IDS), {})
        if action == "notify":
            return session.send_notification("notifications/roots/list_changed")
        session.close()
    except LocalProtocolError:
        pass
    return None


@settings(max_examples=300, deadline=None)
@given(
    phase=st.sampled_from(list(ClientPhase)),
    steps=st.lists(st.tuples(st.booleans(), _SERVER_MESSAGES, _CLIENT_ACTIONS), max_size=25),
    data=st.data(),
)
def test_every_phase_and_message(
    phase: ClientPhase, steps: list[tuple[bool, Message, str]], data: st.DataObject
) -> None:
    session = _in_phase(phase)
    session.max_in_flight = 8
    session.max_server_requests = 4
    sent_ids: list[object] = []
    for from_server, message, action in steps:
        before = session.phase
        if from_server:
            events: list[ClientEvent] = session.receive(message)
            for event in events:
                assert isinstance(event, _EVENT_TYPES)
                if isinstance(event, ReplyToServer):
                    # Every reply answers the request it was for, on the wire.
                    assert isinstance(message, Request)
                    assert event.message.id == message.id
                    decode_message(encode_message(event.message))
        else:
            out = _act(session, action, data)
            if isinstance(out, Request):
                assert out.id not in sent_ids
                sent_ids.append(out.id)
        after = session.phase
        if after is not before:
            assert any(
                (before, kind) in CLIENT_TRANSITIONS and CLIENT_TRANSITIONS[(before, kind)] is after
                for kind in ClientInput
            )
        assert len(session.in_flight) <= session.max_in_flight
        assert len(session.serving) <= session.max_server_requests


# -- our client against our server, in memory ---------------------------------------


def _relay(server: ServerSession, message: Message) -> list[Message]:
    """Feed the client's ``message`` to the server; what the server answers at once."""
    out: list[Message] = []
    for event in server.receive(message, now=0.0):
        if isinstance(event, ReplyReady):
            out.append(event.message)
        elif isinstance(event, RequestReceived):
            request = event.request
            if request.method == "tools/list":
                out.append(
                    server.send_response(
                        request.id, {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}
                    )
                )
            elif request.method == "tools/call":
                notification = server.progress(request.id, 1, 2)
                if notification is not None:
                    out.append(notification)
                log = server.log("info", "working")
                if log is not None:
                    out.append(log)
                out.append(
                    server.send_response(request.id, {"content": [{"type": "text", "text": "hi"}]})
                )
            else:
                out.append(server.send_error(request.id, ErrorCode.INTERNAL_ERROR, "no"))
        elif isinstance(event, ResponseReceived | SessionInitialized):
            pass
    return out


def _wire(message: Message) -> Message:
    # Everything crosses as bytes, as on a transport.
    return decode_message(encode_message(message))


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_our_client_against_our_server(version: str) -> None:
    config = ServerConfig(
        server_info={"name": "ours", "version": "1"},
        capabilities=SERVER_CAPABILITIES,
        instructions="Be kind.",
    )
    server = ServerSession(config, session_id="sid", node_id="n1")
    client = _session(protocol_version=version)
    (answer,) = _relay(server, _wire(client.initialize()))
    (done,) = client.receive(_wire(answer))
    assert isinstance(done, HandshakeCompleted)
    assert done.protocol_version == version
    assert done.instructions == "Be kind."
    assert _relay(server, _wire(client.initialized())) == []
    assert server.phase is SessionPhase.OPERATING

    events: list[ClientEvent] = []
    level = client.send_request("logging/setLevel", {"level": "info"})
    for message in _relay(server, _wire(level)):
        events += client.receive(_wire(message))
    assert events == [ResultReceived(level, {})]

    listing = client.send_request("tools/list")
    (answer,) = _relay(server, _wire(listing))
    (event,) = client.receive(_wire(answer))
    assert isinstance(event, ResultReceived)
    assert event.result["tools"][0]["name"] == "echo"

    call = client.send_request("tools/call", {"name": "echo", "arguments": {}}, progress_token=True)
    events = []
    for message in _relay(server, _wire(call)):
        events += client.receive(_wire(message))
    assert [type(e) for e in events] == [ProgressReceived, LogReceived, ResultReceived]

    # The server asks the client (sampling, declared) and the client answers.
    ask = server.send_request("sampling/createMessage", {"messages": [], "maxTokens": 3})
    (asked,) = client.receive(_wire(ask))
    assert isinstance(asked, ServerRequest)
    reply = client.answer(
        asked.request.id,
        {"role": "assistant", "content": {"type": "text", "text": "x"}, "model": "m"},
    )
    (got,) = server.receive(_wire(reply), now=0.0)
    assert isinstance(got, ResponseReceived)

    # A server ping is answered by the client core alone.
    (pong,) = client.receive(_wire(server.send_request("ping")))
    assert isinstance(pong, ReplyToServer)
    server.receive(_wire(pong.message), now=0.0)

    # A request the server does not know comes back as an error event.
    unknown = client.send_request("x/y")
    (answer,) = _error_answer(server, unknown)
    (failed,) = client.receive(_wire(answer))
    assert isinstance(failed, RequestFailed)
    assert failed.error.code == ErrorCode.METHOD_NOT_FOUND
    assert client.in_flight == ()


def _error_answer(server: ServerSession, request: Request) -> list[Message]:
    try:
        return _relay(server, _wire(request))
    except RemoteProtocolError as exc:
        return [error_response_for(exc)]


def test_the_diagram_in_the_docs_is_generated_from_the_table() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "client-state-machine.md").read_text()
    assert f"```mermaid\n{render_client_state_diagram()}```" in doc


def test_an_error_without_id_while_initializing_fails_the_handshake() -> None:
    session = _session()
    session.initialize()
    error = ErrorResponse(id=None, code=int(ErrorCode.PARSE_ERROR), message="Parse error")
    (event,) = session.receive(error)
    assert event == HandshakeFailed("initialize failed: Parse error", error)
    # Once ready, an error without an id names no request: dropped.
    ready = _ready()
    ready.send_request("tools/list")
    assert ready.receive(error) == []
