"""Session reads on the Redis adapter's direct path: the RESP2 parser it had by hand
against hiredis's ``Reader``.

Two measurements, the two parsers side by side in each:

* on one connection to a real redis-server (a Debian package, started on a free
  127.0.0.1 port for the run): each round runs ``--gets`` sequential ``GET``s through
  each parser (the order alternates between rounds), recording wall time and this
  process's CPU time per ``GET``; medians over the rounds, with the fastest and the
  slowest round. On a busy machine these move by a third from round to round;
* the command alone, answered by a canned socket (no kernel, no waiting, no Redis):
  CPU time per ``GET`` (10 times as many), and with ``--instructions`` the
  instructions callgrind counts per ``GET`` (the same figure whatever else the machine
  is doing; the difference of two runs of a child, as ``instructions.py`` does).

    .venv/bin/python bench/redis_reads.py --rounds 9 --gets 5000 --instructions
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import itertools
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import trio

if TYPE_CHECKING:
    from scaled_mcp_redis._direct import _DirectConnection, _ReplyError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# The direct-read module of this checkout, loaded on its own: the package would import
# coredis (over a second here, minutes under callgrind), which the reads never use.
_spec = importlib.util.spec_from_file_location(
    "redis_direct", ROOT / "adapters" / "scaled_mcp_redis" / "_direct.py"
)
assert _spec is not None and _spec.loader is not None
_direct = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_direct)
DirectConnection: type[_DirectConnection] = _direct._DirectConnection
ReplyError: type[_ReplyError] = _direct._ReplyError


class Connection(Protocol):
    async def command(self, *args: bytes) -> bytes | None: ...


class HandParsedConnection:
    """The adapter's direct connection before hiredis: RESP2 parsed by hand (kept here
    as the reference this benchmark compares with)."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self._stream = stream

    async def command(self, *args: bytes) -> bytes | None:
        request = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in args
        )
        sock = self._stream.socket
        sent = await sock.send(request)
        if sent < len(request):
            await self._stream.send_all(request[sent:])
        buffer = b""
        while True:
            data = await sock.recv(65536)
            if not data:
                raise ReplyError("Redis closed the connection")
            buffer += data
            end = buffer.find(b"\r\n")
            if end < 0:
                continue
            kind = buffer[:1]
            if kind == b"$":
                size = int(buffer[1:end])
                if size < 0:
                    return self._whole(buffer, end + 2, None)
                if len(buffer) < end + 2 + size + 2:
                    continue
                return self._whole(buffer, end + 4 + size, buffer[end + 2 : end + 2 + size])
            if kind == b"+":
                return self._whole(buffer, end + 2, buffer[1:end])
            if kind == b"-":
                raise ReplyError(buffer[1:end].decode("utf-8", "replace"))
            raise ReplyError(f"not a RESP reply: {buffer[:40]!r}")

    @staticmethod
    def _whole(buffer: bytes, size: int, value: bytes | None) -> bytes | None:
        if len(buffer) != size:
            raise ReplyError("more bytes than one reply")
        return value


PARSERS: dict[str, Callable[[trio.SocketStream], Connection]] = {
    "by hand": HandParsedConnection,
    "hiredis Reader": DirectConnection,
}


def values() -> dict[str, bytes]:
    """A session as the store writes it, and a large value."""
    import orjson

    from scaled_mcp.protocol.session import SessionPhase, SessionState

    session = SessionState(
        session_id="3f6c1d2e9a8b4c7d0e1f2a3b4c5d6e7f",
        protocol_version="2025-11-25",
        phase=SessionPhase.OPERATING,
        client_info={"name": "bench-client", "version": "1.0.0"},
        log_level="info",
        subscriptions=frozenset({"test://a", "test://b"}),
    )
    return {"a session": orjson.dumps(session.to_json()), "64 KiB": b"x" * 65536}


async def one_round(
    port: int, key: bytes, make: Callable[[trio.SocketStream], Connection], gets: int
) -> tuple[float, float]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        connection = make(stream)
        for _ in range(200):  # warm-up
            await connection.command(b"GET", key)
        gc.collect()
        gc.disable()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(gets):
            await connection.command(b"GET", key)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        gc.enable()
        return wall / gets * 1e6, cpu / gets * 1e6
    finally:
        await stream.aclose()


class CannedSocket:
    """A socket that takes every request and answers each with the same reply (in
    chunks of at most 64 KiB, as ``recv`` would): the command's own CPU, without the
    kernel, the event loop's waits or Redis."""

    def __init__(self, reply: bytes) -> None:
        chunks = [reply[i : i + 65536] for i in range(0, len(reply), 65536)]
        self._chunks = itertools.cycle(chunks)

    async def send(self, data: bytes) -> int:
        return len(data)

    async def recv(self, size: int) -> bytes:
        return next(self._chunks)


class CannedStream:
    def __init__(self, reply: bytes) -> None:
        self.socket = CannedSocket(reply)


async def canned_round(
    reply: bytes, make: Callable[[trio.SocketStream], Connection], gets: int
) -> float:
    connection = make(cast(trio.SocketStream, CannedStream(reply)))
    for _ in range(200):  # warm-up
        await connection.command(b"GET", b"k")
    gc.collect()
    gc.disable()
    cpu = time.process_time()
    for _ in range(gets):
        await connection.command(b"GET", b"k")
    cpu = time.process_time() - cpu
    gc.enable()
    return cpu / gets * 1e6


def reply_to_get(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


Figures = dict[tuple[str, str], list[tuple[float, float, float]]]


async def measure(port: int, values: dict[str, bytes], rounds: int, gets: int) -> Figures:
    results: Figures = {}
    names = list(PARSERS)
    for value_name, value in values.items():
        key = b"bench:" + value_name.encode()
        setup = await trio.open_tcp_stream("127.0.0.1", port)
        await DirectConnection(setup).command(b"SET", key, value)
        await setup.aclose()
        for index in range(rounds):
            for name in names if index % 2 == 0 else names[::-1]:
                wall, cpu = await one_round(port, key, PARSERS[name], gets)
                canned = await canned_round(reply_to_get(value), PARSERS[name], gets * 10)
                results.setdefault((value_name, name), []).append((wall, cpu, canned))
    return results


_COLLECTED = re.compile(rb"Collected : (\d+)")


def count_instructions(parser: str, reply: Path, gets: int) -> int:
    """Instructions callgrind counts for a child running ``gets`` canned GETs."""
    fixed_layout = ["setarch", platform.machine(), "-R"] if shutil.which("setarch") else []
    command = [sys.executable, __file__, "--child", parser, str(reply), str(gets)]
    completed = subprocess.run(
        [*fixed_layout, "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        check=False,
        timeout=600,
    )
    found = _COLLECTED.search(completed.stderr)
    if completed.returncode != 0 or found is None:
        tail = completed.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"the child failed (exit {completed.returncode}):\n{tail}")
    return int(found.group(1))


def per_get(parser: str, value: bytes, k1: int = 1000, k2: int = 3000) -> float:
    """Instructions of one canned GET: the difference of two runs over the GETs between."""
    with tempfile.TemporaryDirectory() as scratch:
        reply = Path(scratch) / "reply"
        reply.write_bytes(reply_to_get(value))
        more, fewer = count_instructions(parser, reply, k2), count_instructions(parser, reply, k1)
    return (more - fewer) / (k2 - k1)


def child(parser: str, reply: Path, gets: int) -> None:
    canned = CannedStream(reply.read_bytes())

    async def run() -> None:
        connection = PARSERS[parser](cast(trio.SocketStream, canned))
        for _ in range(gets):
            await connection.command(b"GET", b"k")

    trio.run(run)


def span(figures: list[float], digits: int = 1) -> str:
    return (
        f"{statistics.median(figures):.{digits}f} "
        f"({min(figures):.{digits}f}-{max(figures):.{digits}f})"
    )


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind)"
    )
    args = parser.parse_args()
    from common import describe_machine
    from tests.cluster import redis_server

    print(describe_machine(("scaled-mcp", "trio", "hiredis")).format())
    values_measured = values()
    with tempfile.TemporaryDirectory() as scratch, redis_server(Path(scratch)) as redis:
        results = trio.run(measure, redis.port, values_measured, args.rounds, args.gets)
    print(f"\n{args.gets} sequential GETs a round on redis-server, {args.rounds} rounds")
    print("µs per GET, median (fastest-slowest round)")
    print("| value | parser | wall | CPU of this process |")
    print("|---|---|---|---|")
    for (value, name), figures in results.items():
        walls = [w for w, _, _ in figures]
        cpus = [c for _, c, _ in figures]
        print(
            f"| {value} ({len(values_measured[value])} B) | {name} | {span(walls)} | {span(cpus)} |"
        )
    print(f"\nThe command alone, a canned reply: {args.gets * 10} GETs a round")
    print("| value | parser | CPU µs per GET | instructions per GET |")
    print("|---|---|---|---|")
    for (value, name), figures in results.items():
        canned = [c for _, _, c in figures]
        size = len(values_measured[value])
        counted = "-"
        if args.instructions:
            counted = f"{per_get(name, values_measured[value]):,.0f}"
        print(f"| {value} ({size} B) | {name} | {span(canned, 2)} | {counted} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
