"""What the operator's view costs a request: metrics off and on, and the probe routes.

Rounds alternate between the sides measured in the same run; the runtime's rows are
CPU time (``time.process_time``), steadier than wall time on a shared machine:

* a handshake-era ``tools/call`` (``echo``) answered by ``Runtime.handle_http`` with
  an in-memory responder (no sockets: the runtime's own cost, where a counter
  would show most), metrics off and metrics on;
* the same on the 2026-07-28 stateless wire;
* the same with tracing on (the OpenTelemetry SDK's provider, no exporter); with
  metrics and tracing off (the first rows) nothing of either is on the path;
* ``decide()`` of that request's head with the operator paths on (the default) and
  all three off: the one thing a request pays for them when metrics are off.

Run: ``cd bench && ../.venv/bin/python operations.py [-r ROUNDS] [-n REQUESTS]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import orjson
import trio
from common import Measurement, describe_machine, format_table, summarize

from scaled_mcp import MCPServer
from scaled_mcp.protocol.http import Headers, HttpConfig, HttpRequest, decide
from scaled_mcp.runtime import Runtime, RuntimeConfig

app = MCPServer("operations-bench")


@app.tool()
async def echo(text: str) -> str:
    return text


class _Responder:
    """The smallest responder: keeps the status and body of one answer."""

    def __init__(self) -> None:
        self.started = False
        self.status = 0
        self.headers: Headers = ()
        self.body = b""

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def start(self, status: int, headers: Headers) -> None:
        self.started, self.status = True, status

    async def send(self, data: bytes) -> None:
        self.body += data

    async def end(self) -> None:
        return None

    async def wait_disconnected(self) -> None:
        await trio.sleep_forever()


_ACCEPT = "application/json, text/event-stream"
_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
}


def _request(body: dict[str, Any], **headers: str) -> HttpRequest:
    fields = (
        ("host", "localhost"),
        ("content-type", "application/json"),
        ("accept", _ACCEPT),
        *headers.items(),
    )
    return HttpRequest.from_parsed("POST", "/mcp", fields, orjson.dumps(body))


async def _session(runtime: Runtime) -> str:
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "bench", "version": "1"}}}  # fmt: skip
    answer = _Responder()
    await runtime.handle_http(_request(init), answer)
    session_id = dict(answer.headers)["mcp-session-id"]
    ack = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    await runtime.handle_http(
        _request(ack, **{"mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}),
        _Responder(),
    )
    return session_id


async def _round(runtime: Runtime, request: HttpRequest, n: int) -> float:
    handle = runtime.handle_http
    start = time.process_time()  # CPU time: what this process spent, whatever the load
    for _ in range(n):
        answer = _Responder()
        await handle(request, answer)
    elapsed = time.process_time() - start
    assert answer.status == 200, answer.body
    return elapsed


async def _python_calls(runtime: Runtime, request: HttpRequest, n: int = 200) -> float:
    """Python function calls per request (a figure the machine's load cannot blur)."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profile)
    try:
        for _ in range(n):
            await runtime.handle_http(request, _Responder())
    finally:
        sys.setprofile(None)
    return count / n


#: (wire, side) -> Python function calls per request.
calls: dict[tuple[str, str], float] = {}

_SIDES = {
    "off": "metrics and tracing off",
    "on": "metrics on",
    "tracing": "tracing on (SDK, no exporter)",
}


def _sdk_provider() -> object:
    """The OpenTelemetry SDK's tracer provider, recording spans and exporting none."""
    from opentelemetry.sdk.trace import TracerProvider

    return TracerProvider()


async def _measure_runtime(rounds: int, n: int) -> list[Measurement]:
    results: dict[str, list[float]] = {}
    async with trio.open_nursery() as nursery:
        sides = []
        for metrics in ("off", "on", "tracing"):
            config = RuntimeConfig(
                metrics=metrics == "on",
                tracing=metrics == "tracing",
                tracer_provider=_sdk_provider() if metrics == "tracing" else None,
                shutdown_grace=0.1,
            )
            runtime = Runtime(app, config=config)
            started = trio.Event()
            stop = trio.Event()

            async def run(runtime: Runtime, started: trio.Event, stop: trio.Event) -> None:
                async with runtime.run():
                    started.set()
                    await stop.wait()

            nursery.start_soon(run, runtime, started, stop)
            await started.wait()
            session_id = await _session(runtime)
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": "hello"}}}  # fmt: skip
            session_call = _request(
                call, **{"mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
            )
            modern = dict(call, params={**call["params"], "_meta": _META})  # type: ignore[dict-item]
            stateless_call = _request(
                modern,
                **{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call",
                   "mcp-name": "echo"},
            )  # fmt: skip
            sides.append((metrics, runtime, session_call, stateless_call, stop))
        for index in range(rounds + 1):  # the first round warms up
            for metrics, runtime, session_call, stateless_call, _ in sides:
                for wire, request in (("session", session_call), ("stateless", stateless_call)):
                    elapsed = await _round(runtime, request, n)
                    if index:
                        label = f"handle_http tools/call, {wire} wire, {_SIDES[metrics]}"
                        results.setdefault(label, []).append(elapsed)
        for metrics, runtime, session_call, stateless_call, _ in sides:
            for wire, request in (("session", session_call), ("stateless", stateless_call)):
                calls[wire, metrics] = await _python_calls(runtime, request)
        for *_, stop in sides:
            stop.set()
    return [summarize(label, n, elapsed) for label, elapsed in results.items()]


def _measure_routing(rounds: int, n: int) -> list[Measurement]:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hello"}}}  # fmt: skip
    request = _request(call, **{"mcp-session-id": "s1", "mcp-protocol-version": "2025-11-25"})
    configs = {
        "decide(), operator paths on (default)": HttpConfig(),
        "decide(), operator paths off": HttpConfig(
            health_path=None, ready_path=None, metrics_path=None
        ),
    }
    elapsed: dict[str, list[float]] = {label: [] for label in configs}
    for index in range(rounds + 1):  # alternating; the first round warms up
        for label, config in configs.items():
            start = time.process_time()
            for _ in range(n):
                decide(request, config)
            if index:
                elapsed[label].append(time.process_time() - start)
    return [summarize(label, n, times) for label, times in elapsed.items()]


def _compare(measured: list[Measurement], off: str, on: str, what: str) -> None:
    by = {m.label: m for m in measured}
    median = by[on].median_us - by[off].median_us
    fastest = by[on].min_us - by[off].min_us
    print(f"{what}: {median:+.2f} µs per request on medians, {fastest:+.2f} fastest to fastest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-r", "--rounds", type=int, default=21)
    parser.add_argument("-n", "--requests", type=int, default=1000)
    args = parser.parse_args()
    print(describe_machine())
    measured = trio.run(_measure_runtime, args.rounds, args.requests)
    measured += _measure_routing(args.rounds, args.requests * 10)
    print(format_table(measured))
    for wire in ("session", "stateless"):
        for side in ("on", "tracing"):
            _compare(
                measured,
                f"handle_http tools/call, {wire} wire, {_SIDES['off']}",
                f"handle_http tools/call, {wire} wire, {_SIDES[side]}",
                f"{_SIDES[side]}, {wire} wire",
            )
        print(
            f"  Python function calls per request, {wire} wire: {calls[wire, 'off']:.0f} off, "
            f"{calls[wire, 'on']:.0f} metrics on, {calls[wire, 'tracing']:.0f} tracing on"
        )
    _compare(
        measured,
        "decide(), operator paths off",
        "decide(), operator paths on (default)",
        "operator paths routed",
    )


if __name__ == "__main__":
    main()
