"""Newline-delimited framing (stdio): lines out however the bytes are cut, a bound
that holds exactly, and an over-long line refused once and skipped to its end."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from scaled_mcp.protocol._lines import DEFAULT_MAX_MESSAGE_LINE_SIZE, LineReader

#: What a refusal is written as in the expected outputs below.
REFUSED = "refused"
LIMIT = 16


def outputs(reader: LineReader, chunks: Iterable[bytes]) -> list[bytes | str]:
    found: list[bytes | str] = []
    for chunk in chunks:
        for item in reader.feed(chunk):
            if isinstance(item, RemoteProtocolError):
                assert item.code == ErrorCode.INVALID_REQUEST
                assert item.request_id is None
                assert "too large" in item.message
                found.append(REFUSED)
            else:
                assert type(item) is bytes
                found.append(item)
    return found


def expected(lines: Sequence[bytes], limit: int = LIMIT) -> list[bytes | str]:
    """What the reader makes of ``lines``, each followed by its newline."""
    found: list[bytes | str] = []
    for line in lines:
        if len(line) > limit:
            found.append(REFUSED)
        elif line.strip():
            found.append(line.strip())
    return found


# Lines around the limit, blank ones and CRLF ones among them.
_line = st.one_of(
    st.binary(max_size=LIMIT + 8).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from([b"", b"  ", b"\r", b"{}\r", b"x" * LIMIT, b"x" * (LIMIT + 1)]),
)
_lines = st.lists(_line, max_size=12)


def _stream(lines: Sequence[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


@given(_lines)
def test_lines_come_out_with_over_long_ones_refused_once(lines: list[bytes]) -> None:
    assert outputs(LineReader(max_line_size=LIMIT), [_stream(lines)]) == expected(lines)


@given(_lines, st.data())
def test_how_the_stream_is_cut_never_changes_what_comes_out(
    lines: list[bytes], data: st.DataObject
) -> None:
    stream = _stream(lines)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=8)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert outputs(LineReader(max_line_size=LIMIT), pieces) == expected(lines)


@settings(max_examples=50)
@given(_lines)
def test_split_at_every_offset_equals_whole(lines: list[bytes]) -> None:
    stream = _stream(lines)
    whole = outputs(LineReader(max_line_size=LIMIT), [stream])
    for cut in range(len(stream) + 1):
        reader = LineReader(max_line_size=LIMIT)
        assert outputs(reader, [stream[:cut], stream[cut:]]) == whole
    assert outputs(LineReader(max_line_size=LIMIT), [bytes([b]) for b in stream]) == whole


@given(st.lists(st.binary(min_size=LIMIT + 1, max_size=4 * LIMIT), min_size=1, max_size=4))
def test_an_over_long_line_never_yields_any_of_its_bytes(lines: list[bytes]) -> None:
    # Whatever it holds, even valid lines' worth of bytes, none of it comes out.
    lines = [line.replace(b"\n", b"{}") for line in lines]
    assert all(len(line) > LIMIT for line in lines)
    stream = _stream(lines)
    for size in (1, 3, LIMIT, LIMIT + 1, len(stream)):
        pieces = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert outputs(LineReader(max_line_size=LIMIT), pieces) == [REFUSED] * len(lines)


@given(st.lists(st.binary(min_size=1, max_size=LIMIT), max_size=8))
def test_a_line_within_the_bound_always_comes_out(lines: list[bytes]) -> None:
    lines = [b"<" + line.replace(b"\n", b"")[: LIMIT - 2] + b">" for line in lines]
    assert outputs(LineReader(max_line_size=LIMIT), [_stream(lines)]) == lines


def test_an_over_long_line_is_refused_as_soon_as_it_is_known_and_skipped_to_its_end() -> None:
    reader = LineReader(max_line_size=LIMIT)
    assert reader.feed(b"x" * LIMIT) == []
    (refused,) = reader.feed(b"x")
    assert isinstance(refused, RemoteProtocolError) and refused.http_status == 413
    # The rest of that line, however long and whatever it looks like, is dropped.
    assert reader.feed(b'{"jsonrpc":"2.0","id":1,"method":"ping"}' * 100) == []
    assert reader.feed(b"}\n{}\n") == [b"{}"]


def test_an_unfinished_line_at_the_end_is_no_message() -> None:
    reader = LineReader(max_line_size=LIMIT)
    assert reader.feed(b"{}\n{") == [b"{}"]


def test_the_default_bound_is_four_mebibytes() -> None:
    reader = LineReader()
    assert reader.max_line_size == DEFAULT_MAX_MESSAGE_LINE_SIZE == 4 * 1024 * 1024
    at_limit = b"x" * DEFAULT_MAX_MESSAGE_LINE_SIZE
    assert reader.feed(at_limit + b"\n") == [at_limit]
    (refused,) = reader.feed(at_limit + b"x\n")
    assert isinstance(refused, RemoteProtocolError)


def test_a_huge_input_is_read_in_one_pass() -> None:
    # Many short lines in one chunk, and a long one cut small: linear either way.
    reader = LineReader()
    assert len(reader.feed(b"{}\n" * 1_000_000)) == 1_000_000
    line = b"x" * 1_000_000
    pieces = [line[i : i + 7] for i in range(0, len(line), 7)]
    assert outputs(reader, [*pieces, b"\n"]) == [line]


@pytest.mark.parametrize("size", [0, -1, 1.5, "16", True])
def test_the_bound_must_be_a_positive_integer(size: object) -> None:
    with pytest.raises(LocalProtocolError):
        LineReader(max_line_size=size)  # type: ignore[arg-type]
