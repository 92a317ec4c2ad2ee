"""Fuzz target for the JSON-RPC codec and the handshake session machine behind it.

The one invariant: whatever the bytes, ``decode_body`` returns messages or raises
``RemoteProtocolError``, and every decoded message fed to a ``ServerSession``
yields events or raises ``RemoteProtocolError`` — never another exception,
never a hang.

Input layout: byte 0's low bit allows batches, its next bit starts the session
already initialized; the rest is the body.

Run: ``.venv/bin/python fuzz/fuzz_jsonrpc.py fuzz/corpus/jsonrpc/ -max_total_time=60``.
``TestOneInput`` is also called by the test suite on the seed corpus.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from scaled_mcp.protocol.jsonrpc import (
        RemoteProtocolError,
        decode_body,
        encode_message,
        error_response_for,
    )
    from scaled_mcp.protocol.session import RequestReceived, ServerConfig, ServerSession

_CONFIG = ServerConfig(
    server_info={"name": "fuzz", "version": "1"},
    capabilities={
        "tools": {"listChanged": True},
        "resources": {"subscribe": True},
        "prompts": {},
        "logging": {},
        "completions": {},
    },
)
_INITIALIZE = (
    b'{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":'
    b'"2025-03-26","capabilities":{"sampling":{}},"clientInfo":{"name":"f","version":"1"}}}'
)


def TestOneInput(data: bytes) -> None:
    """Decode ``data`` (layout in the module docstring) and feed a session."""
    flags = data[0] if data else 0
    body = data[1:]
    session = ServerSession(_CONFIG, session_id="fuzz", node_id="n")
    if flags & 2:
        for item in decode_body(_INITIALIZE, allow_batch=False).items:
            session.receive(item, now=0.0)  # type: ignore[arg-type]
    try:
        decoded = decode_body(body, allow_batch=bool(flags & 1))
    except RemoteProtocolError as exc:
        encode_message(error_response_for(exc))
        return
    for item in decoded.items:
        if isinstance(item, RemoteProtocolError):
            encode_message(error_response_for(item))
            continue
        encode_message(item)
        try:
            events = session.receive(item, now=1.0)
        except RemoteProtocolError as exc:
            encode_message(error_response_for(exc))
            continue
        for event in events:
            if isinstance(event, RequestReceived):
                encode_message(session.send_response(event.request.id, {}))


def main() -> None:
    """Run the fuzzer (libFuzzer options come from the command line)."""
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
