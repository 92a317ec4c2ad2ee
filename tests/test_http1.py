"""The plain HTTP/1.1 framing against h11: what it accepts, h11 reads identically.

The direct front reads requests with :func:`read_head` and hands anything it
declines to h11, so the one property that matters is agreement: a head accepted
here is the request h11 would have produced (method, target, headers, body
framing, keep-alive), and an incomplete one is one h11 could not have finished
either. Responses written here are read back by h11 as a client.
"""

from __future__ import annotations

import h11
import pytest
from hypothesis import example, given, settings, strategies as st

from scaled_mcp.protocol.http import HttpRequest
from scaled_mcp.protocol.http1 import (
    DECLINE,
    LAST_CHUNK,
    Head,
    chunk,
    header_block,
    read_head,
    response_head,
)

MAX_HEAD = 4096

TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
NAMES = [
    "Host", "host", "HOST", "content-length", "Content-Length", "transfer-encoding",
    "connection", "Connection", "expect", "upgrade", "accept", "content-type",
    "mcp-session-id", "Mcp-Protocol-Version", "x-odd",
]  # fmt: skip
VALUES = [
    "localhost", "127.0.0.1:8000", "0", "5", "12", "05", "5, 5", "-1", "+5", "\u0665",
    "99999999999999999999", "close", "keep-alive", "Keep-Alive, Close", "upgrade",
    "chunked", "100-continue", "websocket", "application/json", "a\tb", " padded \t", "",
    "caf\xe9", "x\x00y", "x\x7fy", "x\ry", "x\ny",
]  # fmt: skip
EOLS = ["\r\n"] * 12 + ["\n", "\r", "\r\r\n"]


CLEAN_NAMES = ["accept", "content-type", "mcp-session-id", "Mcp-Protocol-Version", "x-odd",
               "Connection", "content-length"]  # fmt: skip
CLEAN_VALUES = ["application/json", "a\tb", " padded \t", "", "caf\xe9", "0", "7", "close",
                "keep-alive", "Keep-Alive, Close", "text/event-stream"]  # fmt: skip


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    """Requests of the plain shape, and every way of stepping off it."""
    clean = draw(st.booleans())
    if clean:
        method = draw(st.sampled_from(["POST", "GET", "DELETE", "OPTIONS"]))
        target = draw(st.sampled_from(["/mcp", "/mcp?a=b", "*", "/caf%C3%A9"]))
        lines = [f"{method} {target} HTTP/1.1"]
        fields = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(CLEAN_NAMES),
                    st.sampled_from(CLEAN_VALUES),
                    st.sampled_from(["", " ", "\t"]),
                ),
                max_size=5,
                unique_by=lambda field: field[0].lower(),
            )
        )
        fields.insert(draw(st.integers(0, len(fields))), ("Host", "localhost", " "))
        for name, value, space in fields:
            if name == "content-length":
                value = str(draw(st.integers(0, 30)))
            lines.append(f"{name}:{space}{value}")
        text = "".join(line + "\r\n" for line in lines) + "\r\n"
        return text.encode("latin-1") + draw(st.binary(max_size=20))
    method = draw(
        st.sampled_from(["POST", "GET", "DELETE", "OPTIONS", "HEAD", "CONNECT", "PO ST", "P\x00"])
        | st.text(TOKEN_CHARS, min_size=1, max_size=8)
    )
    target = draw(st.sampled_from(["/mcp", "/mcp?a=b", "*", "/x y", "/\x7f", "/caf\xe9"]))
    version = draw(st.sampled_from(["HTTP/1.1"] * 8 + ["HTTP/1.0", "HTTP/2.0", "http/1.1", ""]))
    spaces = draw(st.sampled_from([" ", " ", " ", "  "]))
    lines = [f"{method}{spaces}{target} {version}"]
    if draw(st.integers(0, 9)) == 0:
        lines[0] = " " + lines[0]
    fields = draw(
        st.lists(
            st.tuples(
                st.sampled_from(NAMES) | st.text(TOKEN_CHARS + " :\t", min_size=0, max_size=6),
                st.sampled_from(VALUES) | st.text(max_size=8),
                st.sampled_from(["", " ", "\t", "  "]),
            ),
            max_size=6,
        )
    )
    if draw(st.integers(0, 4)):
        fields.insert(0, ("Host", "localhost", " "))
    for name, value, space in fields:
        lines.append(f"{name}:{space}{value}")
        if draw(st.integers(0, 15)) == 0:
            lines.append(" folded")  # obsolete line folding
    text = "".join(line + draw(st.sampled_from(EOLS)) for line in lines) + "\r\n"
    body = draw(st.binary(max_size=20))
    prefix = draw(st.sampled_from(["", "", "", "\r\n"]))
    return (prefix + text).encode("latin-1", "replace") + body


def _h11_request(data: bytes) -> tuple[h11.Connection, h11.Request] | None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    conn.receive_data(data)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    if type(event) is h11.Request:
        return conn, event
    return None


def _h11_body(conn: h11.Connection) -> bytes | None:
    """The body h11 frames from what it holds; ``None`` if it needs more bytes."""
    parts = []
    while True:
        event = conn.next_event()
        if type(event) is h11.Data:
            parts.append(bytes(event.data))
        elif type(event) is h11.EndOfMessage:
            return b"".join(parts)
        else:
            assert event is h11.NEED_DATA, event
            return None


@settings(max_examples=3000)
@given(heads())
@example(b"POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
@example(b"GET /mcp HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
@example(b"GET /mcp HTTP/1.1\r\nHost: a\nX: b\r\n\r\n")
def test_an_accepted_head_is_what_h11_reads(data: bytes) -> None:
    head = read_head(data, MAX_HEAD)
    if head is None:
        # Incomplete here: h11 cannot have a whole request either.
        parsed = _h11_request(data)
        assert parsed is None, parsed
        return
    if head is DECLINE:
        return
    assert type(head) is Head
    parsed = _h11_request(data)
    assert parsed is not None, f"h11 refused what was accepted: {data!r}"
    conn, request = parsed
    assert head.method == request.method.decode("latin-1")
    assert head.target == request.target.decode("latin-1")
    assert head.headers == tuple(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers
    )
    body = _h11_body(conn)
    available = len(data) - head.size
    if available >= head.content_length:
        assert body == data[head.size : head.size + head.content_length]
    else:
        assert body is None
        return
    # Keep-alive: h11 closes after the response exactly when the client asked to.
    conn.send(h11.Response(status_code=200, headers=[("content-length", "0")]))
    conn.send(h11.EndOfMessage())
    assert (conn.our_state is h11.MUST_CLOSE) == head.close


@settings(max_examples=500)
@given(heads())
def test_the_core_sees_the_request_h11_would_have_given_it(data: bytes) -> None:
    # The front builds the core's request from the head without h11's events; it
    # must be the very request the h11 path builds.
    head = read_head(data, MAX_HEAD)
    if type(head) is not Head:
        return
    parsed = _h11_request(data)
    assert parsed is not None
    _, event = parsed
    body = data[head.size : head.size + head.content_length]
    ours = HttpRequest.from_parsed(head.method, head.target, head.headers, body)
    theirs = HttpRequest.from_wire(event.method, event.target, event.headers, body)
    assert ours == theirs


@given(heads(), st.data())
def test_a_prefix_of_an_accepted_request_is_incomplete_never_declined(
    data: bytes, draw: st.DataObject
) -> None:
    head = read_head(data, MAX_HEAD)
    if type(head) is not Head:
        return
    cut = draw.draw(st.integers(0, len(data)))
    partial = read_head(data[:cut], MAX_HEAD)
    if cut < head.size:
        assert partial is None
    else:
        assert type(partial) is Head
        assert (partial.method, partial.target, partial.headers) == (
            head.method,
            head.target,
            head.headers,
        )


def _outcome(result: Head | object) -> object:
    if type(result) is Head:
        return (result.method, result.target, result.headers, result.content_length, result.size)
    return result


@given(heads(), st.lists(st.integers(1, 40), max_size=30))
def test_a_head_read_as_it_arrives_is_the_head_read_whole(data: bytes, sizes: list[int]) -> None:
    # The front calls read_head on a growing buffer and says how much of it was
    # already seen incomplete; the answer is the one for the whole buffer.
    received = 0
    seen = 0
    for size in [*sizes, len(data)]:
        received = min(received + size, len(data))
        partial = data[:received]
        assert _outcome(read_head(partial, MAX_HEAD, seen)) == _outcome(
            read_head(partial, MAX_HEAD)
        )
        if read_head(partial, MAX_HEAD) is not None:
            break
        seen = received


def test_a_head_past_the_limit_is_declined() -> None:
    data = b"GET /mcp HTTP/1.1\r\nHost: a\r\nX: " + b"a" * MAX_HEAD
    assert read_head(data, MAX_HEAD) is DECLINE
    assert read_head(data + b"\r\n\r\n", MAX_HEAD) is DECLINE


def test_plain_post() -> None:
    head = read_head(
        b"POST /mcp?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        MAX_HEAD,
    )
    assert type(head) is Head
    assert (head.method, head.target, head.content_length, head.close) == (
        "POST",
        "/mcp?x=1",
        2,
        False,
    )
    assert head.headers == (
        ("host", "a"),
        ("content-type", "application/json"),
        ("content-length", "2"),
    )


@pytest.mark.parametrize(
    "field",
    [b"Transfer-Encoding: chunked", b"Expect: 100-continue", b"Upgrade: websocket",
     b"Content-Length: 5, 5", b"Host: b"],
)  # fmt: skip
def test_other_framing_goes_to_h11(field: bytes) -> None:
    data = b"POST /mcp HTTP/1.1\r\nHost: a\r\n" + field + b"\r\n\r\n"
    assert read_head(data, MAX_HEAD) is DECLINE


def _h11_client_reads(method: bytes, data: bytes) -> tuple[h11.Response, bytes, bool]:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/mcp", headers=[("host", "a")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    response = client.next_event()
    assert type(response) is h11.Response
    parts = []
    while True:
        event = client.next_event()
        if type(event) is h11.EndOfMessage:
            break
        assert type(event) is h11.Data, event
        parts.append(bytes(event.data))
    return response, b"".join(parts), client.their_state is h11.MUST_CLOSE


@given(
    st.sampled_from([200, 202, 204, 400, 404, 500]),
    st.lists(st.binary(min_size=1, max_size=30), max_size=5),
    st.booleans(),
    st.booleans(),
)
def test_responses_read_back_by_h11(
    status: int, pieces: list[bytes], streamed: bool, close: bool
) -> None:
    block = header_block([(b"content-type", b"application/json"), (b"server", b"x")])
    body = b"" if status == 204 else b"".join(pieces)
    if streamed and status != 204:
        data = response_head(status, b"Reason", block, None, close)
        data += b"".join(chunk(piece) for piece in pieces) + LAST_CHUNK
    else:
        data = response_head(status, b"Reason", block, len(body), close) + body
    response, read, closing = _h11_client_reads(b"POST", data)
    assert response.status_code == status
    assert (b"content-type", b"application/json") in list(response.headers)
    assert read == body
    assert closing == close


@pytest.mark.parametrize("value", [b"a\r\nb", b"a\nb", b"a\rb", b"a\x00b"])
def test_a_response_header_cannot_inject_lines(value: bytes) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        header_block([(b"x-test", value)])
