"""Tests of the SSE codec: scaled_mcp.protocol._sse."""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from scaled_mcp.protocol import _sse
from scaled_mcp.protocol.jsonrpc import (
    ErrorCode,
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    decode_message,
    encode_message,
)
from scaled_mcp.protocol.sse import (
    DEFAULT_MAX_EVENT_SIZE,
    DEFAULT_MAX_LINE_SIZE,
    MAX_EVENT_SEQ,
    MAX_RETRY_MS,
    MAX_STREAM_ID_LENGTH,
    EventId,
    ServerSentEvent,
    SSEComment,
    SSEDecoder,
    SSEItem,
    encode_comment,
    encode_event,
    encode_message_event,
    encode_priming_event,
    encode_retry,
    format_event_id,
    parse_event_id,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus" / "sse"


# --- helpers -------------------------------------------------------------------------------------


@attrs.frozen
class Outcome:
    """Everything a decoder produced from one stream."""

    items: list[SSEItem]
    last_event_id: str
    retry: int | None
    failed: bool


def decode_chunks(
    chunks: Sequence[bytes],
    max_line_size: int = DEFAULT_MAX_LINE_SIZE,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
) -> Outcome:
    decoder = SSEDecoder(max_line_size=max_line_size, max_event_size=max_event_size)
    items: list[SSEItem] = []
    failed = False
    try:
        for chunk in chunks:
            items.extend(decoder.feed(chunk))
    except RemoteProtocolError:
        failed = True
    decoder.close()
    return Outcome(items, decoder.last_event_id, decoder.retry, failed)


def decode(
    stream: bytes,
    max_line_size: int = DEFAULT_MAX_LINE_SIZE,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
) -> Outcome:
    return decode_chunks([stream], max_line_size, max_event_size)


def events(stream: bytes) -> list[ServerSentEvent]:
    return [i for i in decode(stream).items if isinstance(i, ServerSentEvent)]


def split_at(stream: bytes, cuts: Sequence[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def bytewise(stream: bytes) -> list[bytes]:
    return [stream[i : i + 1] for i in range(len(stream))]


def reference(stream: bytes) -> Outcome:
    """A direct, unbounded, whole-stream reading of the WHATWG rules, to compare against."""
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)
    lines.pop()  # the text after the last line end is no line: discarded
    items: list[SSEItem] = []
    data: list[str] = []
    event_type = ""
    id_buffer = last_event_id = ""
    block_id: str | None = None
    block_retry: int | None = None
    retry: int | None = None
    for line in lines:
        if line == "":
            last_event_id = id_buffer
            if data:
                items.append(
                    raw_event("\n".join(data), event_type or "message", block_id, block_retry)
                )
            data, event_type, block_id, block_retry = [], "", None, None
            continue
        if line.startswith(":"):
            items.append(SSEComment(line[2:] if line.startswith(": ") else line[1:]))
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            id_buffer = block_id = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            block_retry = retry = min(int(value), MAX_RETRY_MS)
    return Outcome(items, last_event_id, retry, False)


def raw_event(data: str, event: str, id: str | None, retry: int | None) -> ServerSentEvent:
    """Build an event unchecked, as the decoder does (an event type may hold NUL on the wire)."""
    event_obj = object.__new__(ServerSentEvent)
    for name, value in (("data", data), ("event", event), ("id", id), ("retry", retry)):
        object.__setattr__(event_obj, name, value)
    return event_obj


def normalized(event: ServerSentEvent) -> ServerSentEvent:
    """The event as it comes back from the wire: CR LF and CR in data become LF."""
    return attrs.evolve(event, data=re.sub(r"\r\n|\r", "\n", event.data))


# --- strategies ----------------------------------------------------------------------------------

TOKENS = [
    b"data",
    b"data:",
    b"data: ",
    b"data:  ",
    b"event:",
    b"event: x",
    b"id",
    b"id: ",
    b"id: 7",
    b"id: a\x00b",
    b"retry: 10",
    b"retry: 0x1",
    b"retry:",
    b"retry: 99999999999999999999999",
    b":",
    b": c",
    b"other: y",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\xef\xbb\xbf",
    b"\x00",
    b"\xe2\x82",
    b"\xc3\xa9",
    b"\xff",
    b" ",
    b"x",
]

sse_like = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=4)), max_size=40).map(
    b"".join
)
any_stream = st.one_of(sse_like, st.binary(max_size=200))

field_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00", codec="utf-8"),
    max_size=20,
)
data_text = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(["\r", "\n", "\r\n", "a", " ", ":", "é", "😀", "\x00", "\u2028", "\x85"]),
        max_size=20,
    ).map("".join),
)
sse_events = st.builds(
    ServerSentEvent,
    data=data_text,
    event=st.one_of(st.just("message"), field_text.filter(bool)),
    id=st.one_of(st.none(), field_text),
    retry=st.one_of(st.none(), st.integers(0, MAX_RETRY_MS)),
)
comments = st.builds(
    SSEComment,
    st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8")),
)
stream_ids = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=":"),
    min_size=1,
    max_size=MAX_STREAM_ID_LENGTH,
)


# --- the standard's rules, one by one ------------------------------------------------------------


def test_simple_event() -> None:
    assert events(b"data: hello\n\n") == [ServerSentEvent(data="hello")]


def test_multiple_data_lines_join_with_lf() -> None:
    assert events(b"data: a\ndata: b\ndata:\n\n") == [ServerSentEvent(data="a\nb\n")]


def test_only_one_space_after_the_colon_is_stripped() -> None:
    assert events(b"data:  two\ndata:none\n\n") == [ServerSentEvent(data=" two\nnone")]


def test_a_line_without_colon_is_a_field_with_empty_value() -> None:
    assert events(b"data\ndata\n\n") == [ServerSentEvent(data="\n")]
    assert events(b"data\n\n") == [ServerSentEvent(data="")]


def test_value_keeps_later_colons() -> None:
    assert events(b"data: a:b: c\n\n") == [ServerSentEvent(data="a:b: c")]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_every_line_ending(eol: bytes) -> None:
    stream = b"event: e" + eol + b"data: x" + eol + b"data: y" + eol + eol
    assert events(stream) == [ServerSentEvent(data="x\ny", event="e")]


def test_mixed_line_endings() -> None:
    stream = b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\rdata: e\n\n"
    assert events(stream) == [
        ServerSentEvent(data="a\nb\nc"),
        ServerSentEvent(data="d"),
        ServerSentEvent(data="e"),
    ]


def test_cr_then_lf_in_the_next_chunk_is_one_line_end() -> None:
    out = decode_chunks([b"data: a\r", b"\ndata: b\r", b"\n", b"\r", b"\n"])
    assert out.items == [ServerSentEvent(data="a\nb")]


def test_cr_at_chunk_end_then_cr_is_two_line_ends() -> None:
    out = decode_chunks([b"data: a\r", b"\r"])
    assert out.items == [ServerSentEvent(data="a")]


def test_cr_at_chunk_end_then_empty_chunk_keeps_the_pending_lf() -> None:
    out = decode_chunks([b"data: a\r", b"", b"\n", b"\n"])
    assert out.items == [ServerSentEvent(data="a")]


def test_lf_cr_is_two_line_ends() -> None:
    assert events(b"data: a\n\r") == [ServerSentEvent(data="a")]


def test_events_are_delivered_as_soon_as_their_empty_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\r") == [ServerSentEvent(data="a")]


def test_bom_is_stripped_once() -> None:
    assert events(b"\xef\xbb\xbfdata: a\n\n") == [ServerSentEvent(data="a")]
    # A second BOM belongs to the field name: "\ufeffdata" is an unknown field.
    assert events(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n") == []
    assert events(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent(data="a")]


def test_bom_split_byte_by_byte() -> None:
    out = decode_chunks(bytewise(b"\xef\xbb\xbfdata: a\n\n"))
    assert out.items == [ServerSentEvent(data="a")]


def test_bom_before_an_empty_first_line() -> None:
    assert events(b"\xef\xbb\xbf\ndata: a\n\n") == [ServerSentEvent(data="a")]


def test_comments_are_reported_and_change_nothing() -> None:
    out = decode(b": ping\n:\n:  two\ndata: x\n: in the middle\n\n")
    assert out.items == [
        SSEComment("ping"),
        SSEComment(""),
        SSEComment(" two"),
        SSEComment("in the middle"),
        ServerSentEvent(data="x"),
    ]


def test_event_type_and_default() -> None:
    assert events(b"event: endpoint\ndata: /m\n\ndata: y\n\n") == [
        ServerSentEvent(data="/m", event="endpoint"),
        ServerSentEvent(data="y"),
    ]
    assert events(b"event:\ndata: y\n\n") == [ServerSentEvent(data="y")]


def test_event_type_does_not_outlive_an_undelivered_block() -> None:
    assert events(b"event: e\n\ndata: y\n\n") == [ServerSentEvent(data="y")]


def test_id_persists_as_last_event_id() -> None:
    out = decode(b"id: 1\ndata: a\n\ndata: b\n\n")
    assert out.items == [ServerSentEvent(data="a", id="1"), ServerSentEvent(data="b")]
    assert out.last_event_id == "1"


def test_id_with_nul_is_ignored() -> None:
    out = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert out.items == [ServerSentEvent(data="a", id="1"), ServerSentEvent(data="b")]
    assert out.last_event_id == "1"


def test_empty_id_resets_last_event_id() -> None:
    out = decode(b"id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert out.items[1] == ServerSentEvent(data="b", id="")
    assert out.last_event_id == ""


def test_block_without_data_is_not_delivered_but_sets_last_event_id() -> None:
    out = decode(b"id: 5\n\n")
    assert out.items == []
    assert out.last_event_id == "5"


def test_last_event_id_changes_only_on_dispatch() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 5\ndata: x\n")
    assert decoder.last_event_id == ""
    decoder.feed(b"\n")
    assert decoder.last_event_id == "5"


def test_initial_last_event_id_is_kept_until_the_server_sets_another() -> None:
    decoder = SSEDecoder(last_event_id="s:4")
    assert decoder.feed(b"data: x\n\n") == [ServerSentEvent(data="x")]
    assert decoder.last_event_id == "s:4"


def test_retry() -> None:
    out = decode(b"retry: 1500\ndata: a\n\n")
    assert out.items == [ServerSentEvent(data="a", retry=1500)]
    assert out.retry == 1500


@pytest.mark.parametrize(
    "value", [b"", b"  1", b"1 ", b"-1", b"+1", b"1.5", b"1e3", b"\xd9\xa3", b"abc"]
)
def test_retry_with_anything_but_ascii_digits_is_ignored(value: bytes) -> None:
    out = decode(b"retry: 7\n\nretry:" + value + b"\ndata: a\n\n")
    assert out.items == [ServerSentEvent(data="a")]
    assert out.retry == 7


def test_retry_applies_at_once_even_without_dispatch() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 0042\n")
    assert decoder.retry == 42


def test_huge_retry_is_clamped() -> None:
    out = decode(b"retry: " + b"9" * 5000 + b"\ndata: a\n\n")
    assert out.retry == MAX_RETRY_MS
    assert decode(b"retry: " + b"0" * 5000 + b"12\n\n").retry == 12


def test_unknown_fields_are_ignored() -> None:
    assert events(b"foo: bar\nData: x\ndata: y\nDATA\n\n") == [ServerSentEvent(data="y")]


def test_unterminated_event_is_discarded_at_close() -> None:
    out = decode(b"data: a\n\ndata: b\n")
    assert out.items == [ServerSentEvent(data="a")]
    out = decode(b"data: a\n\nid: 9\ndata: b")
    assert out.items == [ServerSentEvent(data="a")]
    assert out.last_event_id == ""


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert events(b"data: \xff\xe2\x82\ndata: \xc3\xa9\n\n") == [
        ServerSentEvent(data="\ufffd\ufffd\né")
    ]


def test_feed_after_close_is_a_local_error() -> None:
    decoder = SSEDecoder()
    decoder.close()
    decoder.close()
    assert decoder.closed
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"data: x\n\n")


def test_feed_accepts_bytearray_and_memoryview() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(bytearray(b"data: a\n")) == []
    assert decoder.feed(memoryview(b"\n")) == [ServerSentEvent(data="a")]


# --- limits --------------------------------------------------------------------------------------


def test_line_limit_on_a_complete_line() -> None:
    ok = b"data: " + b"x" * 10
    assert events(ok + b"\n\n") == [ServerSentEvent(data="x" * 10)]
    with pytest.raises(RemoteProtocolError) as info:
        SSEDecoder(max_line_size=len(ok) - 1).feed(ok + b"\n")
    assert info.value.code == ErrorCode.INVALID_REQUEST
    assert info.value.http_status == 413
    # Exactly at the limit is fine; the line end does not count.
    assert SSEDecoder(max_line_size=len(ok)).feed(ok + b"\r\n\r\n") == [
        ServerSentEvent(data="x" * 10)
    ]


def test_line_limit_on_an_incomplete_line() -> None:
    decoder = SSEDecoder(max_line_size=8)
    decoder.feed(b"data: ab")
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"c")


def test_line_limit_applies_to_comments() -> None:
    with pytest.raises(RemoteProtocolError):
        SSEDecoder(max_line_size=4).feed(b": ping\n")


def test_event_limit() -> None:
    stream = b"data: 1234\ndata: 5678\n\n"
    assert SSEDecoder(max_event_size=20).feed(stream) == [ServerSentEvent(data="1234\n5678")]
    with pytest.raises(RemoteProtocolError) as info:
        SSEDecoder(max_event_size=19).feed(stream)
    assert info.value.http_status == 413


def test_event_limit_resets_after_each_event_and_ignores_comments() -> None:
    decoder = SSEDecoder(max_event_size=10)
    stream = b"data: 1234\n\n: a long comment line\ndata: 5678\n\n"
    assert (
        decoder.feed(stream * 3)
        == [
            ServerSentEvent(data="1234"),
            SSEComment("a long comment line"),
            ServerSentEvent(data="5678"),
        ]
        * 3
    )


def test_failed_decoder_stays_failed_and_rolls_back() -> None:
    decoder = SSEDecoder(max_line_size=16)
    assert decoder.feed(b"id: a\nretry: 5\ndata: 1\n\n") == [
        ServerSentEvent(data="1", id="a", retry=5)
    ]
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"id: b\nretry: 6\ndata: 2\n\ndata: " + b"x" * 20 + b"\n")
    # The event of the failed chunk was not returned, so the stream resumes
    # from the last event the caller saw.
    assert decoder.last_event_id == "a"
    assert decoder.retry == 5
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"\n")


def test_limits_are_checked() -> None:
    with pytest.raises(LocalProtocolError):
        SSEDecoder(max_line_size=0)
    with pytest.raises(LocalProtocolError):
        SSEDecoder(max_event_size=-1)


def test_byte_by_byte_is_linear() -> None:
    # 200 kB fed a byte at a time: a decoder that re-scanned its buffer on
    # every call would take minutes here.
    stream = b"data: " + b"x" * 200_000 + b"\n\n"
    decoder = SSEDecoder()
    got: list[SSEItem] = []
    for i in range(len(stream)):
        got.extend(decoder.feed(stream[i : i + 1]))
    assert got == [ServerSentEvent(data="x" * 200_000)]


# --- chunking ------------------------------------------------------------------------------------

SAMPLE = (
    b"\xef\xbb\xbf: hello\r\nretry: 3000\r\nid: s:0\r\ndata:\r\n\r\n"
    b"event: endpoint\rdata: /messages?sessionId=1\r\r"
    b'id: s:1\ndata: {"a":\n data: a leading space makes an unknown field\n'
    b"data: \xc3\xa9\xe2\x82\xac\ndata\n\nid: \x00\n\n"
    b"data: unterminated"
)


def test_sample_whole() -> None:
    out = decode(SAMPLE)
    assert out.items == [
        SSEComment("hello"),
        ServerSentEvent(data="", id="s:0", retry=3000),
        ServerSentEvent(data="/messages?sessionId=1", event="endpoint"),
        ServerSentEvent(data='{"a":\né€\n', id="s:1"),
    ]
    assert out.last_event_id == "s:1"
    assert out.retry == 3000
    assert out == reference(SAMPLE)


def test_sample_byte_by_byte() -> None:
    assert decode_chunks(bytewise(SAMPLE)) == decode(SAMPLE)


def test_sample_split_at_every_offset() -> None:
    whole = decode(SAMPLE)
    for i in range(len(SAMPLE) + 1):
        assert decode_chunks([SAMPLE[:i], SAMPLE[i:]]) == whole, i


def test_sample_split_at_every_pair_of_offsets() -> None:
    whole = decode(SAMPLE)
    n = len(SAMPLE)
    for i in range(0, n + 1, 3):
        for j in range(i, n + 1, 2):
            assert decode_chunks([SAMPLE[:i], SAMPLE[i:j], SAMPLE[j:]]) == whole, (i, j)


@settings(max_examples=300, deadline=None)
@given(stream=any_stream, data=st.data())
def test_decoding_does_not_depend_on_chunking(stream: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    assert decode_chunks(split_at(stream, cuts)) == decode(stream)
    assert decode_chunks(bytewise(stream)) == decode(stream)


@settings(max_examples=300, deadline=None)
@given(
    stream=sse_like,
    data=st.data(),
    max_line_size=st.integers(1, 30),
    max_event_size=st.integers(1, 60),
)
def test_limit_errors_do_not_depend_on_chunking(
    stream: bytes, data: st.DataObject, max_line_size: int, max_event_size: int
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    whole = decode(stream, max_line_size, max_event_size)
    split = decode_chunks(split_at(stream, cuts), max_line_size, max_event_size)
    assert split.failed == whole.failed
    if whole.failed:
        # Chunks before the failing one were delivered; the failing one was not.
        unbounded = decode(stream).items
        assert split.items == unbounded[: len(split.items)]
        assert whole.items == []
    else:
        assert split == whole
        assert whole == reference(stream)


@settings(max_examples=400, deadline=None)
@given(stream=any_stream)
def test_decoder_matches_the_reference_reading(stream: bytes) -> None:
    assert decode(stream) == reference(stream)


# --- encoding ------------------------------------------------------------------------------------


def test_encode_event_bytes() -> None:
    assert encode_event(ServerSentEvent(data="x")) == b"data: x\n\n"
    assert (
        encode_event(ServerSentEvent(data="a\r\nb\rc\n", event="e", id="s:1", retry=10))
        == b"event: e\nid: s:1\nretry: 10\ndata: a\ndata: b\ndata: c\ndata:\n\n"
    )
    assert encode_event(ServerSentEvent(data="", id="")) == b"id:\ndata:\n\n"


def test_encode_event_keeps_leading_spaces() -> None:
    event = ServerSentEvent(data=" x\n  y", event=" e", id=" 1")
    assert decode(encode_event(event)).items == [event]


def test_unicode_line_separators_are_not_line_ends() -> None:
    event = ServerSentEvent(data="a\u2028b\x85c\x0bd\x0ce\x1cf")
    assert encode_event(event).count(b"data") == 1
    assert events(encode_event(event)) == [event]


@settings(max_examples=300, deadline=None)
@given(event=sse_events)
def test_encode_then_decode_is_identity(event: ServerSentEvent) -> None:
    encoded = encode_event(event)
    out = decode(encoded)
    assert out.items == [normalized(event)]
    assert decode_chunks(bytewise(encoded)) == out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(st.one_of(sse_events, comments), max_size=8),
    bom=st.booleans(),
    data=st.data(),
)
def test_encoded_sequences_round_trip(
    items: list[ServerSentEvent | SSEComment], bom: bool, data: st.DataObject
) -> None:
    stream = b"\xef\xbb\xbf" if bom else b""
    expected: list[SSEItem] = []
    for item in items:
        if isinstance(item, ServerSentEvent):
            stream += encode_event(item)
            expected.append(normalized(item))
        else:
            stream += encode_comment(item.text)
            expected.append(item)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=6))
    out = decode_chunks(split_at(stream, cuts))
    assert out.items == expected
    ids = [i.id for i in items if isinstance(i, ServerSentEvent) and i.id is not None]
    retries = [i.retry for i in items if isinstance(i, ServerSentEvent) and i.retry is not None]
    assert out.last_event_id == (ids[-1] if ids else "")
    assert out.retry == (retries[-1] if retries else None)


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
def test_event_and_id_must_not_break_lines(bad: str) -> None:
    with pytest.raises(LocalProtocolError):
        ServerSentEvent(data="x", id=bad)
    with pytest.raises(LocalProtocolError):
        ServerSentEvent(data="x", event=bad)
    with pytest.raises(LocalProtocolError):
        encode_message_event(b"{}", event_id=bad)
    with pytest.raises(LocalProtocolError):
        encode_priming_event(bad)


@pytest.mark.parametrize(
    "fields",
    [
        {"data": b"x"},
        {"data": None},
        {"data": "x", "event": ""},
        {"data": "x", "event": None},
        {"data": "x", "id": 3},
        {"data": "x", "retry": -1},
        {"data": "x", "retry": True},
        {"data": "x", "retry": 1.0},
        {"data": "x", "retry": MAX_RETRY_MS + 1},
    ],
)
def test_event_fields_are_checked(fields: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        ServerSentEvent(**fields)  # type: ignore[arg-type]


def test_data_that_is_not_utf8_encodable_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode_event(ServerSentEvent(data="\ud800"))


def test_comments() -> None:
    assert encode_comment() == b":\n\n"
    assert encode_comment("ping") == b": ping\n\n"
    assert decode(encode_comment("ping") + encode_comment()).items == [
        SSEComment("ping"),
        SSEComment(""),
    ]
    for bad in ["a\nb", "a\rb"]:
        with pytest.raises(LocalProtocolError):
            encode_comment(bad)
        with pytest.raises(LocalProtocolError):
            SSEComment(bad)


def test_retry_block() -> None:
    assert encode_retry(2500) == b"retry: 2500\n\n"
    out = decode(encode_retry(2500))
    assert out.items == []
    assert out.retry == 2500
    for bad in [-1, MAX_RETRY_MS + 1, True, 1.5]:
        with pytest.raises(LocalProtocolError):
            encode_retry(bad)  # type: ignore[arg-type]


def test_priming_event_as_the_2025_11_25_transport_wants_it() -> None:
    # "an SSE event consisting of an event ID and an empty data field"; the
    # conformance client takes it as priming when event.id is set and
    # event.data === "", and reads the retry field from it.
    stream = encode_priming_event("s:0", retry=1000)
    assert stream == b"id: s:0\nretry: 1000\ndata:\n\n"
    out = decode(stream)
    assert out.items == [ServerSentEvent(data="", id="s:0", retry=1000)]
    assert out.last_event_id == "s:0"
    assert out.retry == 1000
    assert encode_priming_event("s:0") == b"id: s:0\ndata:\n\n"


def test_message_events_carry_one_json_rpc_message() -> None:
    body = encode_message(Request(id=1, method="tools/call", params={"name": "a\nb"}))
    stream = encode_message_event(body, event_id=format_event_id("s", 1))
    assert stream == b"id: s:1\ndata: " + body + b"\n\n"
    (event,) = events(stream)
    assert event.id == "s:1"
    assert event.event == "message"
    assert decode_message(event.data) == Request(id=1, method="tools/call", params={"name": "a\nb"})
    assert encode_message_event(b"{}") == b"data: {}\n\n"


def test_message_event_with_line_breaks_in_the_body() -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "method": "x"}, option=orjson.OPT_INDENT_2)
    assert b"\n" in body
    (event,) = events(encode_message_event(body.replace(b"\n", b"\r\n"), event_id="s:2"))
    assert orjson.loads(event.data) == {"jsonrpc": "2.0", "method": "x"}


# --- event ids -----------------------------------------------------------------------------------


def test_event_id_format() -> None:
    assert format_event_id("abc", 0) == "abc:0"
    assert str(EventId("abc", 12)) == "abc:12"
    assert parse_event_id("abc:12") == EventId("abc", 12)
    assert parse_event_id(b"abc:12") == EventId("abc", 12)
    assert parse_event_id(f"s:{MAX_EVENT_SEQ}") == EventId("s", MAX_EVENT_SEQ)


@settings(max_examples=300, deadline=None)
@given(stream_id=stream_ids, seq=st.integers(0, MAX_EVENT_SEQ))
def test_event_id_round_trip(stream_id: str, seq: int) -> None:
    value = format_event_id(stream_id, seq)
    assert parse_event_id(value) == EventId(stream_id, seq)
    assert parse_event_id(value.encode("ascii")) == EventId(stream_id, seq)
    # It survives the trip through an SSE stream.
    assert decode(encode_priming_event(value)).last_event_id == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        ":1",
        "abc:",
        "abc:01",
        "abc:-1",
        "abc:+1",
        "abc: 1",
        "abc:1 ",
        " abc:1",
        "a:b:1",
        "a b:1",
        "é:1",
        "abc:\u0661",  # ARABIC-INDIC DIGIT ONE
        f"s:{MAX_EVENT_SEQ + 1}",
        "s:" + "9" * 30,
        "s" * (MAX_STREAM_ID_LENGTH + 1) + ":1",
        b"\xff:1",
        b"abc",
    ],
)
def test_malformed_last_event_id(value: str | bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_event_id(value)
    assert info.value.code == ErrorCode.INVALID_REQUEST
    assert info.value.http_status == 400


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=40), st.binary(max_size=40)))
def test_parse_event_id_accepts_only_what_format_writes(value: str | bytes) -> None:
    try:
        parsed = parse_event_id(value)
    except RemoteProtocolError:
        return
    text = value if isinstance(value, str) else value.decode("ascii")
    assert format_event_id(parsed.stream_id, parsed.seq) == text


@pytest.mark.parametrize(
    ("stream_id", "seq"),
    [("", 0), ("a:b", 0), ("a b", 0), ("é", 0), ("a" * 257, 0), ("a", -1), ("a", True)],
)
def test_format_event_id_checks_its_arguments(stream_id: str, seq: int) -> None:
    with pytest.raises(LocalProtocolError):
        format_event_id(stream_id, seq)


# --- module surface and the fuzz target ----------------------------------------------------------


def test_public_names_are_documented() -> None:
    for name in _sse.__all__:
        assert hasattr(_sse, name), name
        obj = getattr(_sse, name)
        if callable(obj) and not isinstance(obj, int):
            assert obj.__doc__, name


@pytest.fixture(scope="module")
def fuzz_target() -> Callable[[bytes], None]:
    """``TestOneInput`` of fuzz/fuzz_sse.py."""
    pytest.importorskip("atheris")
    spec = importlib.util.spec_from_file_location("fuzz_sse", ROOT / "fuzz" / "fuzz_sse.py")
    assert spec is not None
    assert spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target: Callable[[bytes], None] = module.TestOneInput
    return target


def test_fuzz_target_on_the_seed_corpus(fuzz_target: Callable[[bytes], None]) -> None:
    seeds = sorted(CORPUS.iterdir())
    assert seeds
    for seed in seeds:
        fuzz_target(seed.read_bytes())


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(setting=st.integers(0, 255), seed=st.integers(0, 255), stream=any_stream)
def test_fuzz_target_on_generated_inputs(
    fuzz_target: Callable[[bytes], None], setting: int, seed: int, stream: bytes
) -> None:
    fuzz_target(bytes([setting, seed]) + stream)
