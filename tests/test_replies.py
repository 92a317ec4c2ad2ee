"""How replies go out: the HTTP answer to a POST, the answers with no JSON-RPC
body, stdio's lines, and the server's own internal error."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.http import (
    Preflight,
    legacy_post_reply,
    post_reply,
    preflight_reply,
    streams_replies,
    terminated_reply,
)
from scaled_mcp.protocol.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    Response,
    decode_body,
    encode_message,
    internal_error,
    message_to_json,
    reply_lines,
)
from scaled_mcp.protocol.versions import Era

JSON = ("content-type", "application/json")
OK = Response(1, {"content": []})
NOT_FOUND = ErrorResponse(1, -32601, "Method not found: x")
INTERNAL = internal_error(2)


@pytest.mark.parametrize("era", list(Era))
def test_a_post_with_no_reply_is_accepted_with_no_body(era: Era) -> None:
    assert post_reply([], batch=False, era=era) == (202, (), b"")
    assert post_reply([], batch=True, era=era) == (202, (), b"")


@pytest.mark.parametrize("era", list(Era))
def test_one_reply_is_the_json_body(era: Era) -> None:
    assert post_reply([OK], batch=False, era=era) == (200, (JSON,), encode_message(OK))


def test_an_error_keeps_its_status_in_the_stateless_era_only() -> None:
    stateless = post_reply([NOT_FOUND], batch=False, era=Era.STATELESS)
    assert stateless == (404, (JSON,), encode_message(NOT_FOUND))
    handshake = post_reply([NOT_FOUND], batch=False, era=Era.HANDSHAKE)
    assert handshake == (200, (JSON,), encode_message(NOT_FOUND))
    assert post_reply([INTERNAL], batch=False, era=Era.STATELESS)[0] == 200


def test_a_batch_is_answered_with_one_array() -> None:
    status, headers, body = post_reply([OK, NOT_FOUND], batch=True, era=Era.HANDSHAKE)
    assert (status, headers) == (200, (JSON,))
    assert orjson.loads(body) == [message_to_json(OK), message_to_json(NOT_FOUND)]


def test_the_initialize_answer_carries_the_new_session_id() -> None:
    status, headers, body = post_reply([OK], batch=False, era=Era.HANDSHAKE, session_id="abc")
    assert (status, headers, body) == (200, (JSON, ("mcp-session-id", "abc")), encode_message(OK))


def test_which_replies_may_end_a_stream() -> None:
    assert streams_replies([OK], Era.STATELESS)
    assert streams_replies([INTERNAL], Era.STATELESS)  # a 200 error: fine on a stream
    assert not streams_replies([NOT_FOUND], Era.STATELESS)  # its 404 needs the JSON answer
    assert streams_replies([NOT_FOUND], Era.HANDSHAKE)
    assert not streams_replies([], Era.HANDSHAKE)


def test_answers_with_no_json_rpc_body() -> None:
    assert legacy_post_reply() == (202, (), b"Accepted")
    assert terminated_reply() == (200, (), b"")
    headers = (("access-control-allow-origin", "https://a.example"),)
    assert preflight_reply(Preflight(headers)) == (204, headers, b"")


def test_internal_error() -> None:
    assert internal_error(7) == ErrorResponse(7, -32603, "Internal error")
    assert type(internal_error(7).code) is int
    lost = internal_error("r", "Internal error: gone", {"node": "n1"})
    assert (lost.message, lost.data) == ("Internal error: gone", {"node": "n1"})


_ids = st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=8))
_text = st.text(max_size=12)
_replies = st.lists(
    st.one_of(
        st.builds(Response, _ids, st.dictionaries(_text, _text, max_size=3)),
        st.builds(ErrorResponse, _ids, st.integers(-32768, 32767), _text),
    ),
    max_size=5,
)


@given(_replies, st.booleans())
def test_stdio_lines_decode_to_the_replies(replies: list[Message], batch: bool) -> None:
    lines = reply_lines(replies, batch=batch)
    assert all(b"\n" not in line for line in lines)  # "MUST NOT contain embedded newlines"
    decoded: list[Message] = []
    for line in lines:
        body = decode_body(line, allow_batch=True)
        assert body.batch is batch
        decoded.extend(body.items)  # type: ignore[arg-type]
    assert decoded == replies


@given(_replies)
def test_the_batch_array_is_the_same_on_http_and_stdio(replies: list[Message]) -> None:
    if replies:
        assert reply_lines(replies, batch=True) == [
            post_reply(replies, batch=True, era=Era.HANDSHAKE)[2]
        ]


def test_a_notification_line() -> None:
    note = Notification("notifications/message", {"level": "info", "data": 1})
    assert reply_lines([note], batch=False) == [encode_message(note)]
    assert reply_lines([Request(1, "ping"), note], batch=False) == [
        encode_message(Request(1, "ping")),
        encode_message(note),
    ]
