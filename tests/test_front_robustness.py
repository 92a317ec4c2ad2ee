"""Whatever a client sends, a node answers well-formed HTTP (or closes) and goes on serving.

Hypothesis writes raw requests — valid ones mutated at the byte level, garbage, and
well-formed HTTP carrying odd MCP bodies and headers — to a live node through both
fronts; after each, the node must still answer a proper ``initialize``.
"""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing
from hypothesis import given, settings, strategies as st

from scaled_mcp import MCPServer
from scaled_mcp.protocol.http import HttpConfig
from scaled_mcp.runtime import RuntimeConfig

from .helpers import FRONTS, serving
from .http_client import HttpClient, McpHttp

app = MCPServer("robustness")


@app.tool()
async def echo(text: str) -> str:
    return text


BODIES = [
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    b'"capabilities":{},"clientInfo":{"name":"f","version":"1"}}}',
    b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},'
    b'"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    b'"io.modelcontextprotocol/clientCapabilities":{}}}}',
    b'[{"jsonrpc":"2.0","id":3,"method":"ping"}]',
    b"{",
    b"",
]
HEADER_NAMES = [
    "host", "accept", "content-type", "mcp-session-id", "mcp-protocol-version", "origin",
    "last-event-id", "mcp-method", "mcp-name", "content-length", "transfer-encoding",
]  # fmt: skip


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(["POST", "GET", "DELETE", "OPTIONS", "PUT", "P\x00ST"]))
    path = draw(st.sampled_from(["/mcp", "/sse", "/messages?sessionId=x", "/", "/mcp?" + "a" * 50]))
    body = draw(st.sampled_from(BODIES) | st.binary(max_size=200))
    headers = [("host", "localhost"), ("content-type", "application/json"),
               ("accept", "application/json, text/event-stream")]  # fmt: skip
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(HEADER_NAMES))
        value = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
        headers.append((name, value))
    if not any(name in ("content-length", "transfer-encoding") for name, _ in headers):
        headers.append(("content-length", str(len(body))))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    raw = head.encode("latin-1") + b"\r\n" + body
    if draw(st.booleans()):
        # Byte-level damage: flip, cut or insert.
        position = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["cut", "insert", "flip"]))
        if action == "cut":
            raw = raw[:position]
        elif action == "insert":
            raw = raw[:position] + draw(st.binary(min_size=1, max_size=8)) + raw[position:]
        elif position < len(raw):
            raw = raw[:position] + bytes([raw[position] ^ 0xFF]) + raw[position + 1 :]
    return raw


async def send_raw(port: int, raw: bytes) -> bytes:
    """Send ``raw`` on a fresh connection; what comes back up to the end of the status
    line, or until the node closes the connection or waits for more bytes.

    The node runs in this process and answers over loopback: once every task is
    blocked, it has done all it will do with ``raw``.
    """
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    received = bytearray()

    async def read() -> None:
        while b"\r\n" not in received:
            data = await stream.receive_some(65536)
            if not data:
                return
            received.extend(data)

    async with stream:
        await stream.send_all(raw)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    return bytes(received)


@pytest.mark.parametrize("front", FRONTS)
@settings(max_examples=12, deadline=None)
@given(raws=st.lists(raw_requests(), min_size=4, max_size=8))
async def test_any_request_gets_http_or_a_close_and_the_node_lives_on(
    front: str, raws: list[bytes]
) -> None:
    async with serving(app, front) as port:
        for raw in raws:
            answer = await send_raw(port, raw)
            if answer:
                status_line = answer.split(b"\r\n", 1)[0]
                assert status_line.startswith(b"HTTP/1.1 "), status_line
                status = int(status_line.split()[1])
                # Never a server error; 501 is the answer to an unknown transfer coding.
                assert status < 500 or status in (501, 503), status_line
            mcp = McpHttp(HttpClient("127.0.0.1", port))
            result = await mcp.initialize()
            assert result["serverInfo"]["name"] == "robustness"


def _post_whole_body_then_read(port: int, declared: int, sent: int) -> bytes:
    """A client that writes its whole request before it reads, as most do: the head
    declaring ``declared`` bytes, then ``sent`` bytes of body; then the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
            b"accept: application/json, text/event-stream\r\n"
            b"content-length: %d\r\n\r\n" % declared
        )
        chunk = b" " * 65536
        for _ in range(sent // len(chunk)):
            sock.sendall(chunk)
        answer = bytearray()
        while data := sock.recv(65536):
            answer.extend(data)
        return bytes(answer)


@pytest.mark.parametrize("front", FRONTS)
async def test_a_body_refused_unread_still_gets_its_answer(front: str) -> None:
    # RFC 9112, 9.6: a server that closes a connection while the client may still
    # be sending "SHOULD initiate a lingering close": the answer is sent, the
    # sending side half-closed, and what the client goes on sending is read and
    # discarded for a while, so the client reads the answer instead of a reset.
    limit = 64 * 1024
    config = RuntimeConfig(shutdown_grace=1, http=HttpConfig(max_body_size=limit))
    async with serving(app, front, config) as port:
        for declared, sent in ((8 * 1024 * 1024, 8 * 1024 * 1024), (16 * limit, 16 * limit)):
            answer = await trio.to_thread.run_sync(_post_whole_body_then_read, port, declared, sent)
            assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
            assert b"\r\n\r\n" in answer
        mcp = McpHttp(HttpClient("127.0.0.1", port))
        assert (await mcp.initialize())["serverInfo"]["name"] == "robustness"
