"""Fuzz target for the WebSocket framing decisions (:mod:`scaled_mcp.protocol.websocket`).

The bytes a client sends after the opening handshake go through ``wsproto`` (as
the h11 front drives it) and each event to a :class:`MessageAssembler`. The one
invariant: whatever the bytes, and however they are cut, every decision is one
the module documents (``IncomingMessages``, ``AnswerError``, a close with 1002,
1003, 1007 or 1009), nothing is decided after a close, the bytes held never
exceed the bound, and nothing raises.

Input layout: byte 0 picks the message bound (high bit set: tiny, so that 1009
is reached), byte 1 seeds the chunk sizes (0: one chunk), the rest is the stream
of client frames (masked, as a client sends them).

Run: ``.venv/bin/python fuzz/fuzz_websocket.py fuzz/corpus/websocket/ -max_total_time=60``.
``TestOneInput`` is also called by the test suite on the seed corpus.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import atheris
from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, TextMessage

from scaled_mcp.protocol.websocket import (
    AnswerError,
    CloseConnection as Close,
    IncomingMessages,
    MessageAssembler,
    WebSocketDecision,
)

_CLOSE_CODES = {1002, 1003, 1007, 1009}


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


def _check(decision: WebSocketDecision | None, closed: bool) -> bool:
    if decision is None:
        return closed
    if closed:
        raise AssertionError(f"a decision after the close: {decision!r}")
    if isinstance(decision, Close):
        if decision.code not in _CLOSE_CODES or len(decision.reason.encode()) > 123:
            raise AssertionError(f"an undocumented close: {decision!r}")
        return True
    if not isinstance(decision, IncomingMessages | AnswerError):
        raise AssertionError(f"an undocumented decision: {decision!r}")
    return False


def _peer_closed(connection: Connection) -> bool:
    return connection.state is ConnectionState.REMOTE_CLOSING


def TestOneInput(data: bytes) -> None:
    """Feed ``data`` (layout in the module docstring) to wsproto and the assembler."""
    setting, seed = (data[0], data[1]) if len(data) >= 2 else (0, 0)
    limit = 1 + (setting & 0x3F) if setting & 0x80 else 1 << 20
    connection = Connection(ConnectionType.SERVER)
    assembler = MessageAssembler(max_message_size=limit)
    closed = False
    for chunk in _chunks(data[2:], seed):
        if connection.state is not ConnectionState.OPEN:
            break
        connection.receive_data(chunk)
        for event in connection.events():
            decision: WebSocketDecision | None = None
            if isinstance(event, TextMessage):
                decision = assembler.text(event.data, finished=event.message_finished)
            elif isinstance(event, BytesMessage):
                decision = assembler.binary(bytes(event.data), finished=event.message_finished)
            elif isinstance(event, CloseConnection):
                if _peer_closed(connection):
                    break  # the peer's close: answered, the connection ends
                decision = assembler.failed(event.code, event.reason or "")
            closed = _check(decision, closed) or closed
            if assembler._size > limit:
                raise AssertionError("the assembler holds more than its bound")
            if closed:
                break
        if closed:
            break


def main() -> None:
    """Run the fuzzer (libFuzzer options come from the command line)."""
    atheris.instrument_all()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
