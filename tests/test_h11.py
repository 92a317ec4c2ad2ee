"""The direct front on one keep-alive connection: plain requests, those handed to h11,
and back-to-back (pipelined) requests, all answered in order on the same socket."""

from __future__ import annotations

import functools
from pathlib import Path

import h11
import orjson
import pytest
import trio
import trio.testing

from scaled_mcp import MCPServer
from scaled_mcp.protocol.http import HttpConfig
from scaled_mcp.runtime import H11Config, Runtime, RuntimeConfig, serve_h11

from .helpers import INITIALIZED, initialize_request, serving

app = MCPServer("h11-tests")


@app.tool()
async def echo(text: str) -> str:
    return text


INITIALIZE = orjson.dumps(initialize_request())
PING = b'{"jsonrpc":"2.0","id":7,"method":"ping"}'
ACCEPT = b"application/json, text/event-stream"


def plain_post(body: bytes, *extra: bytes) -> bytes:
    head = [b"POST /mcp HTTP/1.1", b"Host: 127.0.0.1", b"Content-Type: application/json",
            b"Accept: " + ACCEPT, *extra, b"Content-Length: %d" % len(body)]  # fmt: skip
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def chunked_post(body: bytes) -> bytes:
    head = [b"POST /mcp HTTP/1.1", b"Host: 127.0.0.1", b"Content-Type: application/json",
            b"Accept: " + ACCEPT, b"Transfer-Encoding: chunked"]  # fmt: skip
    middle = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:middle], body[middle:]))
    return b"\r\n".join(head) + b"\r\n\r\n" + chunks + b"0\r\n\r\n"


async def exchange(
    port: int, raw: bytes, answers: int, piece: int | None = None
) -> tuple[list[tuple[int, bytes]], bool]:
    """Send ``raw`` (at once, or ``piece`` bytes at a time); read ``answers``
    responses with h11 as the client.

    Also whether the server closed the connection after the last one.
    """
    client = h11.Connection(h11.CLIENT)
    out: list[tuple[int, bytes]] = []
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        size = piece or len(raw)
        for start in range(0, len(raw), size):
            await stream.send_all(raw[start : start + size])
        with trio.fail_after(10):
            while len(out) < answers:
                # h11 reads the responses as the client of requests it did not send itself.
                client.send(h11.Request(method="POST", target="/", headers=[("host", "x")]))
                client.send(h11.EndOfMessage())
                status, body = 0, b""
                while True:
                    event = client.next_event()
                    if event is h11.NEED_DATA:
                        client.receive_data(await stream.receive_some(65536))
                    elif type(event) is h11.Response:
                        status = event.status_code
                    elif type(event) is h11.Data:
                        body += bytes(event.data)
                    elif type(event) is h11.EndOfMessage:
                        break
                out.append((status, body))
                if client.their_state is h11.DONE:
                    client.start_next_cycle()
            closed = client.their_state is h11.MUST_CLOSE
    return out, closed


async def session_headers(port: int) -> list[bytes]:
    async with serving_request(port, plain_post(INITIALIZE)) as (status, headers):
        assert status == 200
    session = headers[b"mcp-session-id"]
    return [b"Mcp-Session-Id: " + session, b"MCP-Protocol-Version: 2025-11-25"]


class serving_request:
    """One request on its own connection; its status and headers."""

    def __init__(self, port: int, raw: bytes) -> None:
        self.port, self.raw = port, raw

    async def __aenter__(self) -> tuple[int, dict[bytes, bytes]]:
        client = h11.Connection(h11.CLIENT)
        client.send(h11.Request(method="POST", target="/", headers=[("host", "x")]))
        stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        async with stream:
            await stream.send_all(self.raw)
            with trio.fail_after(10):
                while True:
                    event = client.next_event()
                    if event is h11.NEED_DATA:
                        client.receive_data(await stream.receive_some(65536))
                    elif type(event) is h11.Response:
                        return event.status_code, dict(event.headers)

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_plain_then_chunked_then_plain_on_one_connection() -> None:
    async with serving(app, "h11") as port:
        session = await session_headers(port)
        raw = plain_post(PING, *session) + chunked_post(PING) + plain_post(PING, *session)
        answers, closed = await exchange(port, raw, 3)
    # The chunked request went to h11 (and carries no session: 400); the
    # connection lived on for the plain request after it.
    assert [status for status, _ in answers] == [200, 400, 200]
    assert orjson.loads(answers[0][1]) == {"jsonrpc": "2.0", "id": 7, "result": {}}
    assert orjson.loads(answers[2][1]) == {"jsonrpc": "2.0", "id": 7, "result": {}}
    assert not closed


async def test_pipelined_plain_requests_answer_in_order() -> None:
    # Same head, then heads that differ only in Content-Length: each request
    # gets its own answer, in order.
    async with serving(app, "h11") as port:
        session = await session_headers(port)
        await exchange(port, plain_post(orjson.dumps(INITIALIZED), *session), 1)
        texts = ["x" * (n % 13) for n in range(200)]
        bodies = [
            orjson.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": text}},
                }
            )
            for n, text in enumerate(texts)
        ]
        raw = b"".join(plain_post(body, *session) for body in bodies)
        answers, _ = await exchange(port, raw, len(bodies))
    results = [orjson.loads(body) for _, body in answers]
    assert [r["id"] for r in results] == list(range(200))
    assert [r["result"]["content"][0]["text"] for r in results] == texts


async def test_connection_close_is_honoured() -> None:
    async with serving(app, "h11") as port:
        session = await session_headers(port)
        raw = plain_post(PING, *session, b"Connection: close")
        answers, closed = await exchange(port, raw, 1)
    assert answers[0][0] == 200
    assert closed


async def test_expect_continue_is_served_by_h11() -> None:
    async with serving(app, "h11") as port:
        session = await session_headers(port)
        raw = plain_post(PING, *session, b"Expect: 100-continue")
        answers, _ = await exchange(port, raw, 1)
    assert answers == [(200, b'{"jsonrpc":"2.0","id":7,"result":{}}')]


async def test_a_request_cut_short_then_closed_gets_an_answer_or_a_close() -> None:
    async with serving(app, "h11") as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"POST /mcp HTTP/1.1\r\nHost: a\r\n")
            await stream.send_eof()
            with trio.fail_after(10):
                received = b""
                while data := await stream.receive_some(65536):
                    received += data
        assert received == b"" or received.startswith(b"HTTP/1.1 400 ")


async def test_a_request_sent_byte_by_byte() -> None:
    async with serving(app, "h11") as port:
        session = await session_headers(port)
        answers, _ = await exchange(port, plain_post(PING, *session), 1, piece=1)
    assert answers == [(200, b'{"jsonrpc":"2.0","id":7,"result":{}}')]


def _backlog(port: int) -> int:
    """Connections the kernel holds for the listener on ``port``, not accepted yet
    (the receive queue of a listening socket in ``/proc/net/tcp``)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, queues = fields[1], fields[3], fields[4]
        if state == "0A" and int(local.rpartition(":")[2], 16) == port:
            return int(queues.partition(":")[2], 16)
    raise AssertionError(f"no listener on port {port}")


async def test_connections_beyond_max_connections_stay_in_the_backlog() -> None:
    """With ``max_connections`` served and all of them being answered, the front
    does not accept more: the next connections wait in the kernel's backlog, not
    in the node's memory. Once a served one waits for its next request, it is
    shed to make room."""
    limits = MCPServer("limits")
    released = trio.Event()

    @limits.tool()
    async def hold() -> str:
        await released.wait()
        return "released"

    runtime = Runtime(limits, config=RuntimeConfig(shutdown_grace=1))
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(
                serve_h11,
                runtime,
                "127.0.0.1",
                0,
                config=H11Config(max_connections=1),
                shutdown=stop,
            )
        )
        port = int(listeners[0].socket.getsockname()[1])
        session = await session_headers(port)
        call = b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hold"}}'
        first = await trio.open_tcp_stream("127.0.0.1", port)
        await first.send_all(plain_post(call, *session))
        await trio.testing.wait_all_tasks_blocked()
        waiting = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(2)]
        await trio.sleep(1.5)  # the acceptor looks again each timeout_granularity
        assert _backlog(port) == 2  # connected by the kernel, not accepted by the node
        released.set()  # answered, the first connection is idle: it is shed for the next
        with trio.fail_after(10):
            assert (await first.receive_some(65536)).startswith(b"HTTP/1.1 200 ")
        await waiting[0].send_all(plain_post(PING))
        with trio.fail_after(10):
            assert (await waiting[0].receive_some(65536)).startswith(b"HTTP/1.1 ")
        assert _backlog(port) == 1
        for stream in (first, *waiting):
            await stream.aclose()
        stop.set()


async def test_a_slowloris_crowd_does_not_keep_a_client_out() -> None:
    """``max_connections`` clients each sending a request a byte now and then hold
    every slot; a new client is still served at once (well before ``read_timeout``):
    the connection that has waited longest for its request is shed to make room."""
    runtime = Runtime(MCPServer("crowd"), config=RuntimeConfig(shutdown_grace=1))
    stop = trio.Event()
    crowd_size = 50
    async with runtime.run(), trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(
                serve_h11,
                runtime,
                "127.0.0.1",
                0,
                config=H11Config(max_connections=crowd_size, read_timeout=60),
                shutdown=stop,
            )
        )
        port = int(listeners[0].socket.getsockname()[1])
        crowd = []
        for _ in range(crowd_size):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            crowd.append(stream)
        await trio.testing.wait_all_tasks_blocked()
        for round_ in range(3):  # a well-behaved client, again and again
            with trio.fail_after(15):
                async with serving_request(port, plain_post(INITIALIZE)) as (status, _):
                    assert status == 200, round_
        for stream in crowd:
            await stream.aclose()
        stop.set()


@pytest.mark.parametrize(
    "config", [H11Config(linger_max_bytes=1 << 20), H11Config(linger_timeout=0.2)]
)
async def test_a_lingering_close_is_bounded(config: H11Config) -> None:
    """After a 413 the front reads and drops what the client still sends, but only
    up to ``linger_max_bytes`` or ``linger_timeout``: a client that never stops
    sending is cut off, and the node keeps nothing of what it sent."""
    runtime = Runtime(
        MCPServer("linger"),
        config=RuntimeConfig(shutdown_grace=1, http=HttpConfig(max_body_size=1024)),
    )
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(serve_h11, runtime, "127.0.0.1", 0, config=config, shutdown=stop)
        )
        port = int(listeners[0].socket.getsockname()[1])
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        head = b"\r\n".join(
            [b"POST /mcp HTTP/1.1", b"Host: localhost", b"Content-Type: application/json",
             b"Accept: " + ACCEPT, b"Content-Length: 1000000000"]
        )  # fmt: skip
        await stream.send_all(head + b"\r\n\r\n")
        assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 413 ")
        chunk = b" " * 65536
        sent = 0
        with trio.fail_after(30):
            try:
                while True:  # far past 1 MiB, or past 0.2 s: the front closes
                    await stream.send_all(chunk)
                    sent += len(chunk)
            except trio.BrokenResourceError:
                pass
        assert sent < 1 << 30  # cut off long before the body it declared
        stop.set()
