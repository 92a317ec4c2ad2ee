"""Fuzz target for the plain HTTP/1.1 framing of the direct front.

The one invariant: whatever the bytes, :func:`read_head` returns a head, "not yet"
or "decline" -- never another exception, never a hang -- and a head it accepts is
exactly the request h11 reads from the same bytes (method, target, headers, the
body's length and keep-alive), because the front trusts it in h11's place.

Input layout: the bytes are the start of a connection's stream.

Run: ``.venv/bin/python fuzz/fuzz_http1.py fuzz/corpus/http1/ -max_total_time=60``.
``TestOneInput`` is also called by the test suite on the seed corpus.
"""

from __future__ import annotations

import sys

import atheris
import h11

from scaled_mcp.protocol.http1 import DECLINE, Head, read_head

MAX_HEAD = 2048


def _h11_reads(data: bytes) -> tuple[h11.Connection, h11.Request] | None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    conn.receive_data(data)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    return (conn, event) if type(event) is h11.Request else None


def TestOneInput(data: bytes) -> None:
    """Read ``data`` as a request head; check it against h11."""
    head = read_head(data, MAX_HEAD)
    if head is None:
        assert _h11_reads(data) is None, "h11 read a request where the head was incomplete"
        return
    if head is DECLINE:
        return
    assert type(head) is Head
    parsed = _h11_reads(data)
    assert parsed is not None, "h11 refused an accepted head"
    conn, request = parsed
    assert head.method == request.method.decode("latin-1")
    assert head.target == request.target.decode("latin-1")
    assert head.headers == tuple(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers
    )
    size = 0
    while True:
        event = conn.next_event()
        if type(event) is h11.Data:
            size += len(event.data)
            continue
        if type(event) is h11.EndOfMessage:
            assert size == head.content_length
        else:
            assert event is h11.NEED_DATA
            assert len(data) - head.size < head.content_length
        break


def main() -> None:
    """Run the fuzzer (libFuzzer options come from the command line)."""
    atheris.instrument_all()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
