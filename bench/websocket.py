"""Requests per second of ``tools/call`` over one WebSocket beside streamable HTTP,
on the same server.

One server (ours, ``servers/ours.py``'s ``echo`` tool, on each front asked for) runs
in a child process. On the 2025-11-25 wire (one session), in turn:

* ``ws sequential``: one WebSocket, one call at a time (each sent when the last
  was answered), driven here over a trio socket by a bare client (wsproto for the
  upgrade and ``initialize``; in the measured loop, frames built and read by hand,
  as the load tool writes its requests);
* ``ws pipelined``: the same WebSocket with ``--depth`` calls in flight (a call
  sent as each answer arrives);
* ``http sequential``: ``scaled-mcp bench`` (our load tool, a child process) with one
  keep-alive connection, one POST at a time;
* ``http concurrent``: the load tool with ``--depth`` keep-alive connections (HTTP/1.1
  has no usable pipelining: concurrency over HTTP takes connections).

Each round runs every leg for ``--duration`` seconds, the legs' order turning each
round; the figures are the medians of the rounds and their spread. The drivers share
the machine's cores with the server (the WebSocket one in this process, which also
costs CPU): the ratios are the point, not the absolutes.

    .venv/bin/python bench/websocket.py                       # h11, 5 rounds of 3 s, depth 32
    .venv/bin/python bench/websocket.py --fronts h11 hypercorn --rounds 7 --depth 64
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson
import trio
from common import describe_machine
from http_load import VENV_PYTHON, Server, free_port, running
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

#: A ``tools/call`` of ``echo`` after its id.
_CALL_TAIL = b'"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
LEGS = ("ws sequential", "ws pipelined", "http sequential", "http concurrent")
REVISION = "2025-11-25"


def our_server(front: str, port: int) -> Server:
    return Server(
        f"ours-{front}",
        [
            str(VENV_PYTHON), "-m", "scaled_mcp.cli", "serve", "bench/servers/ours.py",
            "--http", front, "--bind", f"127.0.0.1:{port}",
        ],
    )  # fmt: skip


class WebSocketDriver:
    """A bare MCP-over-WebSocket client: one connection, one session, raw frames."""

    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.next_id = 1
        self._parts: list[str] = []
        self._buffer = b""

    @classmethod
    async def open(cls, port: int) -> WebSocketDriver:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        ws = WSConnection(ConnectionType.CLIENT)
        await stream.send_all(
            ws.send(Request(host="127.0.0.1", target="/mcp", subprotocols=["mcp"]))
        )
        driver = cls(stream, ws)
        while True:
            ws.receive_data(await stream.receive_some(65536))
            if any(isinstance(event, AcceptConnection) for event in ws.events()):
                break
        init = await driver.call(
            "initialize",
            {
                "protocolVersion": REVISION,
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        )
        if init.get("result", {}).get("protocolVersion") != REVISION:
            raise RuntimeError(f"initialize answered {init}")
        await driver.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        answer = await driver.call("tools/call", {"name": "echo", "arguments": {"text": "hello"}})
        if answer.get("result", {}).get("content", [{}])[0].get("text") != "hello":
            raise RuntimeError(f"tools/call answered {answer}")
        return driver

    async def send(self, message: dict[str, Any]) -> None:
        await self.stream.send_all(self.ws.send(TextMessage(orjson.dumps(message).decode())))

    def call_frame(self) -> bytes:
        """The next ``tools/call`` as a whole client frame, built by hand to keep the
        driver's cost per call low: a text frame masked with a zero key (the server
        must accept any key; masking with zeros leaves the payload as it is)."""
        request_id, self.next_id = self.next_id, self.next_id + 1
        payload = b'{"jsonrpc":"2.0","id":%d,%s' % (request_id, _CALL_TAIL)
        size = len(payload)
        head = bytes((0x81, 0x80 | size)) if size < 126 else b"\x81\xfe" + size.to_bytes(2, "big")
        return head + b"\x00\x00\x00\x00" + payload

    def answers(self, data: bytes) -> int:
        """How many whole frames ``data`` completes (the server's frames are
        unmasked, each one answer); raises on an error answer."""
        self._buffer += data
        buffer, count, at = self._buffer, 0, 0
        while len(buffer) - at >= 2:
            size, start = buffer[at + 1] & 0x7F, at + 2
            if size == 126:
                if len(buffer) - at < 4:
                    break
                size, start = int.from_bytes(buffer[at + 2 : at + 4], "big"), at + 4
            elif size == 127:
                if len(buffer) - at < 10:
                    break
                size, start = int.from_bytes(buffer[at + 2 : at + 10], "big"), at + 10
            if len(buffer) < start + size:
                break
            if buffer[at] & 0x0F == 0x1:  # a text frame: an answer
                if b'"error"' in buffer[start : start + size]:
                    raise RuntimeError(f"a call failed: {buffer[start : start + size]!r}")
                count += 1
            at = start + size
        self._buffer = buffer[at:]
        return count

    async def receive(self) -> list[dict[str, Any]]:
        """The messages of what arrives next (at least one), through wsproto."""
        messages: list[dict[str, Any]] = []
        while not messages:
            self.ws.receive_data(await self.stream.receive_some(65536))
            for event in self.ws.events():
                if isinstance(event, TextMessage):
                    self._parts.append(event.data)
                    if event.message_finished:
                        messages.append(orjson.loads("".join(self._parts)))
                        self._parts.clear()
        return messages

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id, self.next_id = self.next_id, self.next_id + 1
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        while True:
            for message in await self.receive():
                if message.get("id") == request_id:
                    return message

    async def run(self, depth: int, duration: float) -> float:
        """Calls answered per second with ``depth`` in flight, for ``duration`` seconds."""
        await self.stream.send_all(b"".join(self.call_frame() for _ in range(depth)))
        in_flight, answered = depth, 0
        deadline = time.perf_counter() + duration
        start = time.perf_counter()
        while in_flight:
            done = self.answers(await self.stream.receive_some(65536))
            answered += done
            in_flight -= done
            if done and time.perf_counter() < deadline:
                await self.stream.send_all(b"".join(self.call_frame() for _ in range(done)))
                in_flight += done
        return answered / (time.perf_counter() - start)


async def websocket_leg(port: int, depth: int, duration: float) -> tuple[float, float]:
    """req/s, and the driver's CPU µs per request."""
    driver = await WebSocketDriver.open(port)
    cpu = time.process_time()
    with trio.fail_after(duration + 60):
        rps = await driver.run(depth, duration)
    cpu = time.process_time() - cpu
    await driver.stream.aclose()
    return rps, 1e6 * cpu / max(1.0, rps * duration)


def http_leg(port: int, connections: int, duration: float) -> tuple[float, float]:
    """req/s, and the load tool's CPU µs per request."""
    command = [
        str(VENV_PYTHON), "-m", "scaled_mcp.cli", "bench", f"http://127.0.0.1:{port}/mcp",
        "--tool", "echo", "--args", '{"text": "hello"}', "-c", str(connections),
        "-d", f"{duration:g}", "--revision", REVISION, "--processes", "1", "--json", "-q",
    ]  # fmt: skip
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 120, check=True
    ).stdout
    data = json.loads(out)
    if sum(data["errors"].values()):
        raise RuntimeError(f"the load tool saw errors: {data['errors']}")
    cpu_us = 1e6 * data["client_cpu_s"] / max(1, data["completed"])
    return float(data["requests_per_second"]), cpu_us


def measure(
    port: int, rounds: int, duration: float, depth: int
) -> dict[str, list[tuple[float, float]]]:
    """Per leg, (req/s, driver CPU µs per request) of each round."""
    figures: dict[str, list[tuple[float, float]]] = {leg: [] for leg in LEGS}
    run = {
        "ws sequential": lambda: trio.run(websocket_leg, port, 1, duration),
        "ws pipelined": lambda: trio.run(websocket_leg, port, depth, duration),
        "http sequential": lambda: http_leg(port, 1, duration),
        "http concurrent": lambda: http_leg(port, depth, duration),
    }
    # A first, short round of each warms the server up.
    trio.run(websocket_leg, port, depth, 0.5)
    http_leg(port, depth, 0.5)
    for index in range(rounds):
        turn = index % len(LEGS)
        for leg in LEGS[turn:] + LEGS[:turn]:
            figures[leg].append(run[leg]())
    return figures


def report(front: str, figures: dict[str, list[tuple[float, float]]], depth: int) -> str:
    lines = [
        f"\n{front}: tools/call per second ({REVISION} session; depth {depth}; "
        "medians of the rounds; the driver's CPU per request)",
        f"{'leg':<16}  {'req/s':>8}  {'spread':>7}  {'driver CPU µs':>13}",
    ]
    medians = {leg: statistics.median(r for r, _ in rows) for leg, rows in figures.items()}
    for leg, rows in figures.items():
        rates = [r for r, _ in rows]
        spread = 100 * (max(rates) - min(rates)) / medians[leg]
        cpu = statistics.median(c for _, c in rows)
        lines.append(f"{leg:<16}  {medians[leg]:>8.0f}  {spread:>6.0f}%  {cpu:>13.0f}")
    lines.append(
        f"sequential: WebSocket / HTTP = "
        f"{medians['ws sequential'] / medians['http sequential']:.2f}x; "
        f"{depth} in flight: one WebSocket / {depth} HTTP connections = "
        f"{medians['ws pipelined'] / medians['http concurrent']:.2f}x"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--fronts", nargs="+", default=["h11"], choices=["h11", "hypercorn"])
    parser.add_argument("-r", "--rounds", type=int, default=5)
    parser.add_argument("-d", "--duration", type=float, default=3.0, help="seconds a leg")
    parser.add_argument("--depth", type=int, default=32, help="calls in flight (pipelined)")
    args = parser.parse_args(argv)
    print(describe_machine(("scaled-mcp", "wsproto", "h11", "hypercorn", "trio")).format())
    for front in args.fronts:
        port = free_port()
        with running(our_server(front, port), port):
            print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            figures = measure(port, args.rounds, args.duration, args.depth)
            print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(report(front, figures, args.depth))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
