"""The MCP-over-WebSocket rules of the core: the offer, what frames mean, close codes."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.http import HttpConfig, HttpRequest, Reject
from scaled_mcp.protocol.jsonrpc import (
    ErrorCode,
    LocalProtocolError,
    Notification,
    RemoteProtocolError,
    Request,
    Response,
    decode_message,
)
from scaled_mcp.protocol.websocket import (
    SESSION_ID_MEMBER,
    AnswerError,
    CloseCode,
    CloseConnection,
    IncomingMessages,
    MessageAssembler,
    WebSocketOffer,
    check_upgrade,
    client_subprotocols,
    close_for_failure,
    encode_text,
    encode_text_batch,
    is_websocket_upgrade,
    read_offer,
    too_many_requests_answers,
)

# --- the opening handshake --------------------------------------------------------------


def test_a_client_offers_mcp_and_what_it_passes() -> None:
    assert client_subprotocols() == ["mcp"]
    offer = client_subprotocols(bearer_token="tok.en-1", protocol_version="2025-11-25")
    assert offer == ["mcp", "mcp.version.2025-11-25", "mcp.auth.tok.en-1"]
    read = read_offer(offer)
    assert (read.subprotocol, read.bearer_token, read.protocol_version) == (
        "mcp",
        "tok.en-1",
        "2025-11-25",
    )


def test_the_sdk_1x_offer_is_accepted() -> None:
    read = read_offer(["mcp"])
    assert (read.subprotocol, read.bearer_token, read.protocol_version) == ("mcp", None, None)


@pytest.mark.parametrize(
    "offered",
    [[], ["graphql-ws"], ["mcp.auth.x"], ["mcp", "mcp.auth."], ["mcp", "mcp.auth.a", "mcp.auth.b"]],
)
def test_an_offer_without_mcp_or_with_a_bad_token_is_refused_with_400(
    offered: list[str],
) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        read_offer(offered)
    assert caught.value.http_status == 400
    assert caught.value.code == ErrorCode.INVALID_REQUEST


@given(st.lists(st.text(max_size=20), max_size=6))
def test_any_offer_is_read_or_refused(offered: list[str]) -> None:
    try:
        read = read_offer(offered)
    except RemoteProtocolError as exc:
        assert exc.http_status == 400
    else:
        assert read.subprotocol == "mcp"
        assert "mcp" in [o.strip() for o in offered]


# --- incoming frames ---------------------------------------------------------------------


def test_one_text_frame_is_one_message() -> None:
    decision = MessageAssembler().text('{"jsonrpc":"2.0","id":1,"method":"ping"}', finished=True)
    assert decision == IncomingMessages(
        items=(Request(id=1, method="ping"),), batch=False, session_id=None
    )


def test_a_message_names_its_session() -> None:
    text = '{"jsonrpc":"2.0","method":"notifications/initialized","mcpSessionId":"abc"}'
    decision = MessageAssembler().text(text, finished=True)
    assert isinstance(decision, IncomingMessages)
    assert decision.session_id == "abc"
    assert decision.items == (Notification(method="notifications/initialized"),)


@pytest.mark.parametrize("value", ["", "a b", 3, None, "é"])
def test_a_bad_session_name_is_answered_with_an_error(value: object) -> None:
    text = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", SESSION_ID_MEMBER: value})
    decision = MessageAssembler().text(text, finished=True)
    assert isinstance(decision, AnswerError)
    assert decision.error.code == ErrorCode.INVALID_REQUEST


def test_not_json_is_a_parse_error_and_the_connection_stays() -> None:
    assembler = MessageAssembler()
    decision = assembler.text("{nope", finished=True)
    assert isinstance(decision, AnswerError)
    assert decision.error.code == ErrorCode.PARSE_ERROR
    assert not assembler.closed
    assert isinstance(
        assembler.text('{"jsonrpc":"2.0","method":"x"}', finished=True), IncomingMessages
    )


def test_not_jsonrpc_is_invalid_request_with_its_id() -> None:
    decision = MessageAssembler().text('{"jsonrpc":"1.0","id":7,"method":"x"}', finished=True)
    assert isinstance(decision, AnswerError)
    assert (decision.error.code, decision.error.request_id) == (ErrorCode.INVALID_REQUEST, 7)


def test_batches_only_where_the_revision_allows_them() -> None:
    text = '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2}]'
    refused = MessageAssembler().text(text, finished=True)
    assert isinstance(refused, AnswerError)
    allowed = MessageAssembler().text(text, finished=True, allow_batch=True)
    assert isinstance(allowed, IncomingMessages)
    assert allowed.batch
    assert allowed.items[0] == Request(id=1, method="ping")
    assert isinstance(allowed.items[1], RemoteProtocolError)
    empty = MessageAssembler().text("[]", finished=True, allow_batch=True)
    assert isinstance(empty, AnswerError)
    too_long = MessageAssembler(max_batch_size=2).text(
        "[" + ",".join(['{"jsonrpc":"2.0","method":"x"}'] * 3) + "]",
        finished=True,
        allow_batch=True,
    )
    assert isinstance(too_long, AnswerError)


def test_a_batch_naming_two_sessions_is_refused() -> None:
    text = (
        '[{"jsonrpc":"2.0","method":"x","mcpSessionId":"a"},'
        '{"jsonrpc":"2.0","method":"x","mcpSessionId":"b"}]'
    )
    assert isinstance(MessageAssembler().text(text, finished=True, allow_batch=True), AnswerError)


def test_a_binary_frame_closes_with_1003_and_nothing_more_is_read() -> None:
    assembler = MessageAssembler()
    decision = assembler.binary(b"\x00", finished=False)
    assert isinstance(decision, CloseConnection)
    assert decision.code == CloseCode.UNSUPPORTED_DATA
    assert int(decision.code) == 1003
    assert assembler.closed
    assert assembler.text('{"jsonrpc":"2.0","method":"x"}', finished=True) is None
    assert assembler.binary(b"", finished=True) is None
    assert assembler.failed(1002) is None


def test_a_message_too_big_closes_with_1009_before_it_is_whole() -> None:
    assembler = MessageAssembler(max_message_size=10)
    assert assembler.text("12345", finished=False) is None
    decision = assembler.text("678901", finished=False)
    assert isinstance(decision, CloseConnection)
    assert decision.code == CloseCode.MESSAGE_TOO_BIG
    assert int(decision.code) == 1009


def test_the_size_bound_counts_utf8_bytes() -> None:
    # 4 characters, 8 bytes.
    assert isinstance(
        MessageAssembler(max_message_size=7).text("éééé", finished=True), CloseConnection
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1007, CloseCode.INVALID_PAYLOAD),
        (1009, CloseCode.MESSAGE_TOO_BIG),
        (1002, CloseCode.PROTOCOL_ERROR),
        (None, CloseCode.PROTOCOL_ERROR),
        (4000, CloseCode.PROTOCOL_ERROR),
    ],
)
def test_framing_failures_close_with_their_code(code: int | None, expected: CloseCode) -> None:
    assert close_for_failure(code).code == expected
    assembler = MessageAssembler()
    decision = assembler.failed(code, "x" * 500)
    assert decision is not None
    assert decision.code == expected
    assert len(decision.reason.encode()) <= 123


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(LocalProtocolError):
        MessageAssembler(max_message_size=0)


_MESSAGES = st.one_of(
    st.builds(
        Request,
        id=st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=8)),
        method=st.text(min_size=1, max_size=12),
        params=st.none()
        | st.dictionaries(st.text(max_size=5), st.integers(-(2**53), 2**53), max_size=3),
    ),
    st.builds(Notification, method=st.text(min_size=1, max_size=12)),
    st.builds(Response, id=st.integers(0, 100), result=st.just({"ok": "é\u2028"})),
)


@given(_MESSAGES, st.integers(1, 50), st.one_of(st.none(), st.just("sess-1")))
def test_encoded_messages_come_back_whatever_the_fragmentation(
    message: Request | Notification | Response, cut: int, session: str | None
) -> None:
    text = encode_text(message, session_id=session)
    assembler = MessageAssembler()
    decisions = []
    pieces = [text[i : i + cut] for i in range(0, len(text), cut)] or [""]
    for index, piece in enumerate(pieces):
        decisions.append(assembler.text(piece, finished=index == len(pieces) - 1))
    assert decisions[:-1] == [None] * (len(pieces) - 1)
    assert decisions[-1] == IncomingMessages(items=(message,), batch=False, session_id=session)
    assert decode_message(text) == message


def test_a_batch_answer_is_one_text() -> None:
    text = encode_text_batch([Response(id=1, result={}), Response(id=2, result={})])
    assert [m["id"] for m in orjson.loads(text)] == [1, 2]


def test_encode_refuses_a_bad_session_name() -> None:
    with pytest.raises(LocalProtocolError):
        encode_text(Notification(method="x"), session_id="a b")


_FRAMES = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.text(max_size=40), st.booleans()),
        st.tuples(st.just("binary"), st.binary(max_size=10), st.booleans()),
        st.tuples(st.just("failed"), st.sampled_from([None, 1002, 1007, 1009]), st.just(True)),
    ),
    max_size=12,
)


@given(_FRAMES, st.integers(1, 64), st.booleans())
def test_any_frame_sequence_yields_only_documented_decisions(
    frames: list[tuple[str, object, bool]], limit: int, allow_batch: bool
) -> None:
    """The state machine: once closed it stays closed and says nothing more; a
    close is 1002, 1003, 1007 or 1009; held bytes never exceed the bound."""
    assembler = MessageAssembler(max_message_size=limit)
    closed = False
    for kind, data, finished in frames:
        if kind == "text":
            assert isinstance(data, str)
            decision = assembler.text(data, finished=finished, allow_batch=allow_batch)
        elif kind == "binary":
            assert isinstance(data, bytes)
            decision = assembler.binary(data, finished=finished)
        else:
            assert data is None or isinstance(data, int)
            decision = assembler.failed(data)
        if closed:
            assert decision is None
            continue
        assert decision is None or isinstance(
            decision, IncomingMessages | AnswerError | CloseConnection
        )
        if isinstance(decision, CloseConnection):
            closed = True
            assert decision.code in {1002, 1003, 1007, 1009}
            assert assembler.closed
        assert assembler._size <= limit


# --- the upgrade request ---------------------------------------------------------------

_UPGRADE = (
    ("host", "127.0.0.1:8000"),
    ("upgrade", "websocket"),
    ("connection", "Upgrade"),
    ("sec-websocket-version", "13"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("sec-websocket-protocol", "mcp, mcp.auth.tok"),
)


def _upgrade(*more: tuple[str, str], path: str = "/mcp", method: str = "GET") -> HttpRequest:
    return HttpRequest(method, path, "", (*_UPGRADE, *more))


def test_an_upgrade_is_recognised() -> None:
    assert is_websocket_upgrade(_upgrade())
    assert is_websocket_upgrade(HttpRequest("GET", "/mcp", "", (("upgrade", "h2c, WebSocket"),)))
    assert not is_websocket_upgrade(HttpRequest("GET", "/mcp", "", (("upgrade", "h2c"),)))


def test_an_upgrade_passes_with_the_token_as_its_authorization() -> None:
    offer = check_upgrade(_upgrade(), HttpConfig())
    assert isinstance(offer, WebSocketOffer)
    assert offer.subprotocol == "mcp"
    assert offer.request is not None
    assert ("authorization", "Bearer tok") in offer.request.headers
    # An Authorization header is kept as the client sent it.
    versioned = check_upgrade(
        _upgrade(("sec-websocket-protocol", "mcp.version.2025-11-25")), HttpConfig()
    )
    assert isinstance(versioned, WebSocketOffer)
    assert versioned.protocol_version == "2025-11-25"
    kept = check_upgrade(_upgrade(("authorization", "Bearer other")), HttpConfig())
    assert isinstance(kept, WebSocketOffer)
    assert kept.request is not None
    assert ("authorization", "Bearer tok") not in kept.request.headers


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (_upgrade(("origin", "http://evil.example")), 403),
        (HttpRequest("GET", "/mcp", "", (("host", "evil.example"), *_UPGRADE[1:])), 421),
        (_upgrade(path="/other"), 404),
        (_upgrade(method="POST"), 405),
        (_upgrade(("content-length", "3")), 400),
        (HttpRequest("GET", "/mcp", "", _UPGRADE[:3] + _UPGRADE[4:]), 400),
        (HttpRequest("GET", "/mcp", "", _UPGRADE[:4] + _UPGRADE[5:]), 400),
        (HttpRequest("GET", "/mcp", "", _UPGRADE[:5]), 400),
        (_upgrade(("sec-websocket-protocol", "mcp.version.1999-01-01")), 400),
    ],
)
def test_an_upgrade_is_checked_as_any_request(request_: HttpRequest, status: int) -> None:
    refused = check_upgrade(request_, HttpConfig())
    assert isinstance(refused, Reject)
    assert refused.status == status
    assert orjson.loads(refused.body)["error"]["code"] == ErrorCode.INVALID_REQUEST


@given(
    ids=st.lists(st.one_of(st.integers(), st.text(max_size=8)), max_size=5, unique=True),
    notifications=st.integers(min_value=0, max_value=3),
    retry_after=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
)
def test_a_limited_message_answers_each_request_and_no_notification(
    ids: list[int | str], notifications: int, retry_after: float
) -> None:
    items = [Request(i, "ping", None) for i in ids] + [
        Notification("notifications/cancelled", None) for _ in range(notifications)
    ]
    answers = too_many_requests_answers(items, retry_after)
    assert [a.id for a in answers] == ids
    for answer in answers:
        assert answer.code == ErrorCode.INTERNAL_ERROR
        assert answer.data["retryAfter"] >= max(1, retry_after)
        assert f"retry after {answer.data['retryAfter']} s" in answer.message
