"""Our client's core against our server's core, in memory, driven by random operations.

Both machines run message by message, every message crossing as bytes. On every
handshake revision, any interleaving of client requests (answered late or
cancelled), server requests, notifications and pings keeps both sides
consistent: every request the client did not cancel gets exactly one answer,
progress arrives only for requests in flight, and the in-flight tables of both
sides end empty. On 2026-07-28, calls whose rounds (input-required results with
sealed ``requestState``) interleave in any order each complete with their own state,
and every method of the revision (discovery, lists, reads, completion, listen
streams, request-scoped progress and logs, removed methods) reads as it should.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.client import (
    ClientSession,
    Complete,
    Failed,
    HandshakeCompleted,
    InputRequired,
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
    StatelessClient,
    SubscriptionAcknowledged,
    notification_event,
    progress_update,
)
from scaled_mcp.protocol.jsonrpc import (
    ErrorCode,
    ErrorResponse,
    LocalProtocolError,
    Message,
    Notification,
    RemoteProtocolError,
    Request,
    RequestId,
    Response,
    decode_message,
    encode_message,
    error_response_for,
)
from scaled_mcp.protocol.session import (
    ErrorReceived,
    NotificationReceived,
    ReplyReady,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    ServerConfig,
    ServerSession,
    SessionInitialized,
)
from scaled_mcp.protocol.stateless import (
    CoreAnswer,
    InputRequest,
    RequestStateSealer,
    StatelessDispatcher,
    StatelessRequest,
    StatelessServerConfig,
    Subscription,
)
from scaled_mcp.protocol.versions import HANDSHAKE_VERSIONS, LATEST_VERSION, has_elicitation

SERVER_CAPABILITIES: dict[str, Any] = {
    "tools": {"listChanged": True},
    "resources": {"subscribe": True, "listChanged": True},
    "prompts": {"listChanged": True},
    "logging": {},
    "completions": {},
}
CLIENT_CAPABILITIES: dict[str, Any] = {
    "sampling": {},
    "roots": {"listChanged": True},
    "elicitation": {},
}
CONFIG = ServerConfig(
    server_info={"name": "ours", "version": "1"}, capabilities=SERVER_CAPABILITIES
)

_CLIENT_REQUESTS: dict[str, dict[str, Any] | None] = {
    "tools/list": None,
    "tools/call": {"name": "echo", "arguments": {"text": "hi"}},
    "resources/list": None,
    "resources/read": {"uri": "file:///a"},
    "resources/subscribe": {"uri": "file:///a"},
    "prompts/get": {"name": "greet"},
    "completion/complete": {
        "ref": {"type": "ref/prompt", "name": "greet"},
        "argument": {"name": "who", "value": "w"},
    },
    "logging/setLevel": {"level": "debug"},
    "ping": None,
    "x/unknown": None,
}
_SERVER_REQUESTS: dict[str, dict[str, Any] | None] = {
    "sampling/createMessage": {"messages": [], "maxTokens": 3},
    "roots/list": None,
    "elicitation/create": {"message": "ok?", "requestedSchema": {"type": "object"}},
    "ping": None,
}
_CLIENT_ANSWERS: dict[str, dict[str, Any]] = {
    "sampling/createMessage": {
        "role": "assistant",
        "content": {"type": "text", "text": "x"},
        "model": "m",
    },
    "roots/list": {"roots": []},
    "elicitation/create": {"action": "decline"},
}


def _wire(message: Message) -> Message:
    return decode_message(encode_message(message))


class _Pair:
    """A client session and a server session wired back to back; the server's
    application answers the requests it gets when told to (late answers)."""

    def __init__(self, version: str) -> None:
        self.client = ClientSession(
            client_info={"name": "c", "version": "1"},
            capabilities=CLIENT_CAPABILITIES,
            protocol_version=version,
        )
        self.server = ServerSession(CONFIG, session_id="sid", node_id="n1")
        self.pending: list[Request] = []  # requests the server's app holds
        self.answers: dict[RequestId, int] = {}  # client request id -> answers seen
        self.cancelled: set[RequestId] = set()
        self.sent: list[RequestId] = []
        self.server_asked = 0
        self.server_answered = 0
        self.notifications = 0

    def handshake(self) -> None:
        events = self.to_client_all(self.to_server(self.client.initialize()))
        assert any(isinstance(e, HandshakeCompleted) for e in events)
        self.to_server(self.client.initialized())

    def to_server(self, message: Message) -> list[Message]:
        """Deliver ``message`` to the server; deliver what it answers at once."""
        out: list[Message] = []
        try:
            events = self.server.receive(_wire(message), now=0.0)
        except RemoteProtocolError as exc:
            out.append(error_response_for(exc))
            events = []
        for event in events:
            if isinstance(event, ReplyReady):
                out.append(event.message)
            elif isinstance(event, RequestReceived):
                self.pending.append(event.request)
            elif isinstance(event, RequestCancelled):
                self.pending = [r for r in self.pending if r.id != event.request_id]
            elif isinstance(event, ResponseReceived | ErrorReceived):
                self.server_answered += 1
            else:
                assert isinstance(event, SessionInitialized | NotificationReceived)
        return out

    def to_client_all(self, messages: list[Message]) -> list[object]:
        seen: list[object] = []
        for message in messages:
            seen += self.to_client(message)
        return seen

    def to_client(self, message: Message) -> list[object]:
        events = self.client.receive(_wire(message))
        for event in events:
            if isinstance(event, ResultReceived | RequestFailed):
                request_id = event.request.id
                self.answers[request_id] = self.answers.get(request_id, 0) + 1
            elif isinstance(event, ReplyToServer):
                self.to_client_all(self.to_server(event.message))
            elif isinstance(event, ServerRequest):
                request = event.request
                answer = self.client.answer(request.id, _CLIENT_ANSWERS[request.method])
                self.to_client_all(self.to_server(answer))
            elif isinstance(event, ProgressReceived):
                assert event.request.id in self.client.in_flight
            else:
                assert isinstance(
                    event,
                    HandshakeCompleted
                    | LogReceived
                    | ListChanged
                    | ResourceUpdated
                    | ServerCancelled
                    | ServerNotification,
                )
                self.notifications += 1
        return list(events)

    # -- operations --------------------------------------------------------------

    def client_request(self, method: str, progress: bool) -> None:
        request = self.client.send_request(
            method, _CLIENT_REQUESTS[method], progress_token=progress
        )
        self.sent.append(request.id)
        self.to_client_all(self.to_server(request))

    def server_app_answers(self) -> None:
        if not self.pending:
            return
        request = self.pending.pop(0)
        if not self.server.is_in_flight(request.id):
            return
        messages: list[Message] = []
        progress = self.server.progress(request.id, 1, 2, "half")
        if progress is not None:
            messages.append(progress)
        log = self.server.log("info", {"working": request.method})
        if log is not None:
            messages.append(log)
        if request.method == "tools/call":
            messages.append(
                self.server.send_response(request.id, {"content": [{"type": "text", "text": "hi"}]})
            )
        else:
            messages.append(self.server.send_error(request.id, int(ErrorCode.INTERNAL_ERROR), "no"))
        self.to_client_all(messages)

    def client_cancels(self, index: int) -> None:
        in_flight = self.client.in_flight
        if not in_flight:
            return
        request_id = in_flight[index % len(in_flight)]
        notification = self.client.cancel(request_id, "changed my mind")
        assert notification is not None
        self.cancelled.add(request_id)
        self.to_client_all(self.to_server(notification))

    def server_asks(self, method: str) -> None:
        try:
            request = self.server.send_request(method, _SERVER_REQUESTS[method])
        except LocalProtocolError:
            assert method == "elicitation/create"
            assert not has_elicitation(self.server.protocol_version or "")
            return
        self.server_asked += 1
        self.to_client(request)

    def server_notifies(self, kind: str) -> None:
        if kind == "resources/updated":
            notification = self.server.resource_updated("file:///a")
        else:
            notification = self.server.list_changed(kind)
        if notification is not None:
            self.to_client(notification)


_OPERATIONS = st.one_of(
    st.tuples(st.just("request"), st.sampled_from(sorted(_CLIENT_REQUESTS)), st.booleans()),
    st.tuples(st.just("answer"), st.just(""), st.just(False)),
    st.tuples(st.just("cancel"), st.sampled_from(["0", "1", "2", "3"]), st.just(False)),
    st.tuples(st.just("ask"), st.sampled_from(sorted(_SERVER_REQUESTS)), st.just(False)),
    st.tuples(
        st.just("notify"),
        st.sampled_from(["tools", "resources", "prompts", "resources/updated"]),
        st.just(False),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    version=st.sampled_from(HANDSHAKE_VERSIONS),
    operations=st.lists(_OPERATIONS, max_size=40),
)
def test_any_interleaving_keeps_both_sides_consistent(
    version: str, operations: list[tuple[str, str, bool]]
) -> None:
    pair = _Pair(version)
    pair.handshake()
    assert pair.client.negotiated_version == version
    for kind, argument, flag in operations:
        if kind == "request":
            pair.client_request(argument, flag)
        elif kind == "answer":
            pair.server_app_answers()
        elif kind == "cancel":
            pair.client_cancels(int(argument))
        elif kind == "ask":
            pair.server_asks(argument)
        else:
            pair.server_notifies(argument)
        assert all(count == 1 for count in pair.answers.values())
    # The server's application answers whatever it still holds.
    while pair.pending:
        pair.server_app_answers()
    assert pair.client.in_flight == ()
    assert pair.client.serving == ()
    for request_id in pair.sent:
        # Exactly one answer, or none after a cancellation (the server sends none).
        assert pair.answers.get(request_id, 0) == (0 if request_id in pair.cancelled else 1)
    assert pair.server_answered == pair.server_asked


# -- the stateless era --------------------------------------------------------------------

SECRET = b"s" * 32


class _StatelessApp:
    """Our stateless dispatcher with tools that ask ``rounds`` questions, one per
    round, keeping their progress in a sealed ``requestState`` bound to the call."""

    def __init__(self, capabilities: dict[str, Any] | None = None) -> None:
        self.dispatcher = StatelessDispatcher(
            StatelessServerConfig(
                server_info={"name": "ours", "version": "1"},
                capabilities=capabilities or {"tools": {}, "prompts": {}},
            ),
            sealer=RequestStateSealer([("k", SECRET)]),
        )

    def answer(self, message: Message) -> Response | ErrorResponse:
        assert isinstance(message, Request)
        try:
            handled = self.dispatcher.handle_request(message)
        except RemoteProtocolError as exc:
            return error_response_for(exc)
        if isinstance(handled, CoreAnswer):
            return handled.response
        assert isinstance(handled, StatelessRequest)
        arguments = handled.params.get("arguments") or {}
        rounds = int(arguments.get("rounds", 0))
        done = 0
        if handled.request_state is not None:
            try:
                done = self.dispatcher.open_state(handled, now=0.0)
            except RemoteProtocolError as exc:
                return error_response_for(exc)
            responses = handled.input_responses
            assert responses is not None
            assert responses.get(f"q{done}") is not None
            done += 1
        if done < rounds:
            question = (
                InputRequest.list_roots()
                if done % 2
                else InputRequest.elicit("Go on?", {"type": "object", "properties": {}})
            )
            return self.dispatcher.input_required(
                handled,
                {f"q{done}": question},
                request_state=self.dispatcher.seal_state(handled, done, now=0.0, ttl=60.0),
            )
        return self.dispatcher.complete(
            handled, {"content": [{"type": "text", "text": f"{handled.target}:{done}"}]}
        )


@settings(max_examples=100, deadline=None)
@given(
    calls=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3)), min_size=1, max_size=6
    ),
    order=st.randoms(use_true_random=False),
)
def test_interleaved_stateless_calls_keep_their_own_state(
    calls: list[tuple[str, int]], order: random.Random
) -> None:
    app = _StatelessApp()
    client = StatelessClient(
        client_info={"name": "c", "version": "1"},
        capabilities={"elicitation": {}, "roots": {}},
    )
    found = client.read_discover(app.answer(_wire(client.discover())))
    assert found.version == LATEST_VERSION
    running = [
        (client.call("tools/call", {"name": name, "arguments": {"rounds": rounds}}), name, rounds)
        for name, rounds in calls
    ]
    ids: set[RequestId] = set()
    finished: list[str] = []
    while running:
        # Rounds of different calls interleave in any order.
        index = order.randrange(len(running))
        call, name, rounds = running[index]
        assert call.request.id not in ids
        ids.add(call.request.id)
        answer = _wire(app.answer(_wire(call.request)))
        assert isinstance(answer, Response | ErrorResponse)
        outcome = call.receive(answer)
        if isinstance(outcome, InputRequired):
            responses: dict[str, dict[str, Any]] = {
                key: {"roots": []} if ask["method"] == "roots/list" else {"action": "accept"}
                for key, ask in outcome.input_requests.items()
            }
            call.retry(responses)
            continue
        assert isinstance(outcome, Complete), outcome
        assert outcome.result["content"][0]["text"] == f"{name}:{rounds}"
        assert call.rounds == rounds + 1
        finished.append(name)
        running.pop(index)
    assert sorted(finished) == sorted(name for name, _ in calls)


_FEATURES: dict[str, dict[str, Any] | None] = {
    "server/discover": None,
    "tools/list": None,
    "tools/call": {"name": "a", "arguments": {"rounds": 1}},
    "prompts/list": None,
    "prompts/get": {"name": "greet", "arguments": {"who": "w"}},
    "resources/list": None,
    "resources/templates/list": None,
    "resources/read": {"uri": "file:///a"},
    "completion/complete": {
        "ref": {"type": "ref/prompt", "name": "greet"},
        "argument": {"name": "who", "value": "w"},
    },
    "subscriptions/listen": {"notifications": {"toolsListChanged": True}},
    # Gone in 2026-07-28: the server answers -32601.
    "ping": None,
    "logging/setLevel": {"level": "info"},
    "initialize": {},
}
_RESULTS: dict[str, dict[str, Any]] = {
    "tools/list": {"tools": []},
    "prompts/list": {"prompts": []},
    "prompts/get": {"messages": []},
    "resources/list": {"resources": []},
    "resources/templates/list": {"resourceTemplates": []},
    "resources/read": {"contents": []},
    "completion/complete": {"completion": {"values": []}},
}


@settings(max_examples=100, deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(sorted(_FEATURES)),
            st.none() | st.sampled_from(["tok", 7]),
            st.none() | st.sampled_from(["debug", "error"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_every_stateless_feature_against_our_dispatcher(
    calls: list[tuple[str, str | int | None, str | None]],
) -> None:
    app = _StatelessApp(
        {
            "tools": {"listChanged": True},
            "prompts": {},
            "resources": {},
            "completions": {},
            "logging": {},
        }
    )
    dispatcher = app.dispatcher
    client = StatelessClient(
        client_info={"name": "c", "version": "1"},
        capabilities={"elicitation": {}, "roots": {}},
    )
    for method, token, level in calls:
        call = client.call(method, _FEATURES[method], progress_token=token, log_level=level)
        request = _wire(call.request)
        assert isinstance(request, Request)
        try:
            handled = dispatcher.handle_request(request)
        except RemoteProtocolError as exc:
            outcome = call.receive(error_response_for(exc))
            assert isinstance(outcome, Failed)
            assert method in ("ping", "logging/setLevel", "initialize")
            assert outcome.error.code == ErrorCode.METHOD_NOT_FOUND
            continue
        if isinstance(handled, Subscription):
            # The listen stream: its acknowledgement, a change, its graceful end.
            ack = _wire(handled.acknowledgement())
            assert isinstance(ack, Notification)
            assert notification_event(ack) == SubscriptionAcknowledged(
                call.request.id, {"toolsListChanged": True}
            )
            change = handled.deliver(Notification("notifications/tools/list_changed"))
            assert change is not None
            assert notification_event(_wire(change)) == ListChanged("tools")  # type: ignore[arg-type]
            answer = _wire(handled.closing_response())
            assert isinstance(answer, Response)
            assert isinstance(call.receive(answer), Complete)
            continue
        if isinstance(handled, CoreAnswer):
            answer = _wire(handled.response)
            assert isinstance(answer, Response)
            assert isinstance(call.receive(answer), Complete)
            continue
        assert isinstance(handled, StatelessRequest)
        # Request-scoped notifications reach the call that asked for them.
        progress = dispatcher.progress(handled, 0.5, total=1.0)
        assert (progress is None) == (token is None)
        if progress is not None:
            update = progress_update(_wire(progress))  # type: ignore[arg-type]
            assert update is not None
            assert update.token == call.progress_token
        log = dispatcher.log(handled, "warning", {"at": method})
        # A warning reaches a client that asked for debug, not one that asked for error.
        assert (log is None) == (level in (None, "error"))
        if log is not None:
            assert notification_event(_wire(log)) == LogReceived(  # type: ignore[arg-type]
                "warning", {"at": method}
            )
        if method == "tools/call":
            # One question, then the answer (the tool of _StatelessApp).
            outcome = call.receive(_wire(app.answer(request)))  # type: ignore[arg-type]
            assert isinstance(outcome, InputRequired)
            retry = call.retry({key: {"action": "accept"} for key in outcome.input_requests})
            outcome = call.receive(_wire(app.answer(_wire(retry))))  # type: ignore[arg-type]
        else:
            outcome = call.receive(_wire(dispatcher.complete(handled, _RESULTS[method])))  # type: ignore[arg-type]
        assert isinstance(outcome, Complete), outcome
