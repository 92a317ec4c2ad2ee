"""The Scaled MCP protocol core in a transport of your own, with the standard library only.

Newline-delimited JSON-RPC on stdin/stdout (the MCP stdio transport) and one
``echo`` tool. The core decides everything about the protocol; this file only
moves lines and runs the tool.

    printf '%s\\n' '{"jsonrpc":"2.0","id":1,"method":"ping"}' | python examples/custom_transport.py
"""

from __future__ import annotations

import sys
import time
from typing import Any

from scaled_mcp.protocol import (
    ErrorCode,
    Message,
    RemoteProtocolError,
    ReplyReady,
    RequestReceived,
    ServerConfig,
    ServerSession,
    decode_message,
    encode_message,
    error_response_for,
)

ECHO_TOOL = {
    "name": "echo",
    "description": "Answer with the text it is given.",
    "inputSchema": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
}


def call_tool(session: ServerSession, request_id: Any, params: dict[str, Any]) -> Message:
    """Run a ``tools/call``: unknown tools are -32602, bad arguments a tool error."""
    if params.get("name") != "echo":
        return session.send_error(
            request_id, ErrorCode.INVALID_PARAMS, f"Unknown tool: {params.get('name')!r}"
        )
    text = (params.get("arguments") or {}).get("text")
    if not isinstance(text, str):
        result = {"content": [{"type": "text", "text": "'text' must be a string"}], "isError": True}
    else:
        result = {"content": [{"type": "text", "text": text}]}
    return session.send_response(request_id, result)


def handle(session: ServerSession, line: bytes) -> list[Message]:
    """Every message to write back for one input line."""
    try:
        events = session.receive(decode_message(line), now=time.monotonic())
    except RemoteProtocolError as exc:
        return [error_response_for(exc)]
    out: list[Message] = []
    for event in events:
        if isinstance(event, ReplyReady):
            out.append(event.message)
        elif isinstance(event, RequestReceived):
            request = event.request
            if request.method == "tools/list":
                out.append(session.send_response(request.id, {"tools": [ECHO_TOOL]}))
            elif request.method == "tools/call":
                out.append(call_tool(session, request.id, request.params or {}))
            else:
                out.append(
                    session.send_error(request.id, ErrorCode.METHOD_NOT_FOUND, "Method not found")
                )
    return out


def main() -> None:
    """Serve one session on stdin/stdout until stdin closes."""
    session = ServerSession(
        ServerConfig(
            server_info={"name": "echo-example", "version": "1.0"}, capabilities={"tools": {}}
        ),
        session_id="stdio",
        node_id="local",
    )
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        for message in handle(session, line):
            sys.stdout.buffer.write(encode_message(message) + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
