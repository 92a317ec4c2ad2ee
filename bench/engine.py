"""Engine benchmark: a ``tools/call`` request's bytes through the protocol core to
the response's bytes, µs per message on one core, beside the official Python
SDK's in-process path measured in the same run.

Our side is the whole synchronous path a transport drives for one message:
decode the bytes, let the session (or the stateless dispatcher) decide what the
message is, run an ``echo`` tool, build the ``CallToolResult`` from the user
types, answer through the core and encode the answer. The SDK side is in
``sdk_engine.py`` (its cheapest complete path, parse to serialise). Rows take
turns, so background load on this shared machine falls on every path alike.

    python bench/engine.py            # both, every path
    python bench/engine.py --ours     # our rows only, fast
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from common import Measurement, describe_machine, format_table, time_each
from workload import ECHO_TEXT, tools_call_bytes

from scaled_mcp.protocol.jsonrpc import decode_message, encode_message
from scaled_mcp.protocol.session import ReplyReady, RequestReceived, ServerConfig, ServerSession
from scaled_mcp.protocol.stateless import (
    StatelessDispatcher,
    StatelessRequest,
    StatelessServerConfig,
)
from scaled_mcp.protocol.types import CallToolResult, TextContent, to_wire

if TYPE_CHECKING:
    from sdk_engine import SdkPath

SERVER_INFO = {"name": "bench", "version": "1.0"}
CAPABILITIES: dict[str, Any] = {"tools": {}}


def _echo(arguments: dict[str, Any]) -> dict[str, Any]:
    return to_wire(CallToolResult(content=[TextContent(text=arguments["text"])]))


def _echo_dict(arguments: dict[str, Any]) -> dict[str, Any]:
    # What a server can do for a tool that returns a string: no typed objects.
    return {"content": [{"type": "text", "text": arguments["text"]}]}


def handshake_path(
    echo: Callable[[dict[str, Any]], dict[str, Any]] = _echo,
) -> Callable[[bytes], bytes]:
    """A 2025-11-25 session after ``initialize``; returns bytes in -> bytes out."""
    session = ServerSession(
        ServerConfig(server_info=SERVER_INFO, capabilities=CAPABILITIES),
        session_id="bench-session",
        node_id="n1",
    )
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }
    for data in (
        orjson.dumps(init),
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
    ):
        for event in session.receive(decode_message(data), now=0.0):
            assert type(event) is not RequestReceived

    def one(data: bytes) -> bytes:
        for event in session.receive(decode_message(data), now=0.0):
            if type(event) is RequestReceived:
                request = event.request
                params = request.params or {}
                if request.method == "tools/call" and params.get("name") == "echo":
                    result = echo(params.get("arguments") or {})
                    return encode_message(session.send_response(request.id, result))
            if type(event) is ReplyReady:
                return encode_message(event.message)
        raise AssertionError(f"no answer to {data!r}")

    return one


def dict_path() -> Callable[[bytes], bytes]:
    return handshake_path(_echo_dict)


def stateless_path() -> Callable[[bytes], bytes]:
    """The 2026-07-28 wire: every request carries its ``_meta`` envelope."""
    dispatcher = StatelessDispatcher(
        StatelessServerConfig(server_info=SERVER_INFO, capabilities=CAPABILITIES)
    )

    def one(data: bytes) -> bytes:
        decided = dispatcher.handle_request(decode_message(data))  # type: ignore[arg-type]
        if type(decided) is StatelessRequest and decided.method == "tools/call":
            result = _echo(decided.params.get("arguments") or {})
            return encode_message(dispatcher.complete(decided, result))
        raise AssertionError(f"unexpected {decided!r}")

    return one


def _check(one: Callable[[bytes], bytes], modern: bool) -> None:
    answer = orjson.loads(one(tools_call_bytes(10**6, modern=modern)))
    assert answer["id"] == 10**6, answer
    assert answer["result"]["content"][0]["text"] == ECHO_TEXT, answer


OUR_PATHS: tuple[tuple[str, Callable[[], Callable[[bytes], bytes]], bool], ...] = (
    ("scaled-mcp core, 2025-11-25 session", handshake_path, False),
    ("scaled-mcp core, 2026-07-28 stateless", stateless_path, True),
    ("scaled-mcp core, 2025-11-25 session, result as a dict", dict_path, False),
)
"""Our rows: label, the factory of the bytes-in, bytes-out function, whether 2026-07-28."""


def measure_ours(n_messages: int, rounds: int, warmup: int = 1) -> list[Measurement]:
    """Our handshake-era and stateless rows."""
    rows = []
    for label, factory, modern in OUR_PATHS:
        one = factory()
        _check(one, modern)
        inputs = [tools_call_bytes(i, modern=modern) for i in range(1, n_messages + 1)]
        rows.append(time_each(label, one, inputs, rounds=rounds, warmup=warmup))
    return rows


def sdk_paths() -> list[SdkPath]:
    """The SDK's rows (imported here: our rows run without loading the SDK).

    Its cheapest complete path for the session wire, and its cheapest 2026-07-28
    path over streams (no middleware) for the stateless row.
    """
    from sdk_engine import PRIMARY_PATH, SDK_PATHS

    modern = next(
        p
        for p in SDK_PATHS
        if p.modern and p.driver == "run" and p.server == "lowlevel" and not p.default_middleware
    )
    return [PRIMARY_PATH, modern]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the machine, every row and the ratios to the SDK."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--messages", type=int, default=2000, help="requests per round")
    parser.add_argument("-r", "--rounds", type=int, default=9, help="recorded rounds per path")
    parser.add_argument("--ours", action="store_true", help="measure only our rows")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    ours: list[Measurement] = []
    sdk: list[Measurement] = []
    # Alternate: one round of each side at a time, so load on the machine is shared.
    for _ in range(args.rounds):
        ours.extend(measure_ours(args.messages, 1))
        if not args.ours:
            from sdk_engine import measure_sdk_paths

            sdk.extend(measure_sdk_paths(args.messages, 1, sdk_paths()))
    rows = _merge(ours) + _merge(sdk)
    if args.json:
        print(
            json.dumps(
                {"machine": describe_machine().as_dict(), "results": [m.as_dict() for m in rows]},
                indent=2,
            )
        )
        return 0
    print(describe_machine().format())
    print("tools/call echo, request bytes -> response bytes, one core, after set-up")
    print(format_table(rows))
    if sdk:
        # Each era beside the SDK's cheapest path of the same era.
        session_peer, stateless_peer = _merge(sdk)
        for row, (_, _, modern) in zip(_merge(ours), OUR_PATHS, strict=True):
            peer = stateless_peer if modern else session_peer
            print(
                f"{row.label}: {peer.median_us / row.median_us:.1f}x less time per message "
                f"(medians; {peer.min_us / row.min_us:.1f}x fastest round to fastest round) "
                f"than {peer.label}"
            )
    return 0


def _merge(rows: list[Measurement]) -> list[Measurement]:
    by_label: dict[str, Measurement] = {}
    for row in rows:
        seen = by_label.get(row.label)
        by_label[row.label] = (
            row
            if seen is None
            else Measurement(
                label=row.label,
                n_messages=row.n_messages,
                round_us=seen.round_us + row.round_us,
                notes=row.notes,
            )
        )
    return list(by_label.values())


if __name__ == "__main__":
    sys.exit(main())
