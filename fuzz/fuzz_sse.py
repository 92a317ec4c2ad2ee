"""Fuzz target for the SSE decoder and the ``Last-Event-ID`` parser.

The one invariant: whatever the bytes, and however they are cut into chunks,
the decoder handles them or raises ``RemoteProtocolError`` — never another
exception, never a hang. The same holds for :func:`parse_event_id` on any
value, and a decoder that failed keeps failing with ``RemoteProtocolError``.

Input layout: byte 0 picks the limits (high bit set: tiny limits, so that the
limit checks are reached), byte 1 seeds the chunk sizes (0: one chunk), the
rest is the stream.

Run: ``.venv/bin/python fuzz/fuzz_sse.py fuzz/corpus/sse/ -max_total_time=60``.
``TestOneInput`` is also called by the test suite on the seed corpus.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import atheris

from scaled_mcp.protocol.jsonrpc import RemoteProtocolError
from scaled_mcp.protocol.sse import ServerSentEvent, SSEDecoder, encode_event, parse_event_id


def _chunks(stream: bytes, seed: int) -> Iterator[bytes]:
    if seed == 0:
        yield stream
        return
    widest = seed % 32 + 1
    state = seed
    pos = 0
    while pos < len(stream):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        size = 1 + (state >> 16) % widest
        yield stream[pos : pos + size]
        pos += size


def _decoder(setting: int) -> SSEDecoder:
    if setting & 0x80:
        return SSEDecoder(
            max_line_size=1 + (setting & 0x0F) * 4,
            max_event_size=1 + ((setting >> 4) & 0x07) * 16,
        )
    return SSEDecoder()


def _parse_quietly(value: str | bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_event_id(value)


def TestOneInput(data: bytes) -> None:
    """Feed ``data`` (layout in the module docstring) to a decoder; check the invariant."""
    setting, seed = (data[0], data[1]) if len(data) >= 2 else (0, 0)
    stream = data[2:]
    decoder = _decoder(setting)
    try:
        for chunk in _chunks(stream, seed):
            for item in decoder.feed(chunk):
                if isinstance(item, ServerSentEvent):
                    encode_event(item)
                    if item.id is not None:
                        _parse_quietly(item.id)
        decoder.close()
    except RemoteProtocolError:
        try:
            decoder.feed(b"\n")
        except RemoteProtocolError:
            pass
        else:
            raise AssertionError("a failed SSE decoder accepted more input") from None
    _parse_quietly(decoder.last_event_id)
    _parse_quietly(stream)


def main() -> None:
    """Run the fuzzer (libFuzzer options come from the command line)."""
    atheris.instrument_all()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
