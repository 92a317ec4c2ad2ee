"""The engine benchmark's paths counted in CPU instructions per message (callgrind).

``engine.py`` times a ``tools/call`` request's bytes through the core to the
response's bytes; on a shared machine those times (and their ratio to the
official SDK's) move by a third from one day to the next. This script runs the
same paths under valgrind's callgrind, which counts the instructions executed:
the count is the same from run to run whatever else the machine is doing (one
hash seed, no address randomisation: the same figure to the instruction), so it
tells whether a change to the core made it cheaper, and by how much, without
waiting for a quiet day.

Each path runs in a child process twice, with ``k1`` and ``k2`` rounds of ``n``
messages after one warm-up round; the difference between the two totals over
``(k2 - k1) * n`` is the cost of one message, with interpreter start-up,
imports and set-up cancelled out. Our rows process the same request bytes as
``engine.py`` (built once, before the rounds); the SDK rows run
``sdk_engine.measure_sdk_paths``, whose rounds each open a fresh connection
(its set-up, a handshake, spread over ``n`` messages, is in the SDK's figure:
well under 1% of it).

Instructions are not time: the SDK's path (asyncio tasks, pydantic models)
runs fewer instructions per cycle than ours, so its ratio in time is larger
than its ratio in instructions. Quote both, each for what it is.

    python bench/instructions.py                  # every path (about 10 minutes)
    python bench/instructions.py --ours           # our paths only

Needs valgrind (Debian package ``valgrind``).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import engine
from common import describe_machine
from workload import tools_call_bytes

HERE = Path(__file__).resolve().parent

_COLLECTED = re.compile(rb"Collected : (\d+)")


def run_path(side: str, index: int, rounds: int, n_messages: int) -> None:
    """The child's work: one warm-up round and ``rounds`` rounds of one path."""
    if side == "ours":
        _, factory, modern = engine.OUR_PATHS[index]
        one = factory()
        inputs = [tools_call_bytes(i, modern=modern) for i in range(1, n_messages + 1)]
        for _ in range(1 + rounds):
            # The session forgets each id once it is answered, so ids can repeat by round.
            for data in inputs:
                one(data)
        return
    from sdk_engine import measure_sdk_paths

    measure_sdk_paths(n_messages, rounds, [engine.sdk_paths()[index]])


def count(side: str, index: int, rounds: int, n_messages: int) -> int:
    """Instructions callgrind counts for a child running ``rounds`` rounds of one path."""
    # Without address randomisation, objects hashed by address land alike in every child.
    fixed_layout = ["setarch", platform.machine(), "-R"] if shutil.which("setarch") else []
    completed = subprocess.run(
        [
            *fixed_layout,
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            side,
            "--index",
            str(index),
            "--rounds",
            str(rounds),
            "--messages",
            str(n_messages),
        ],
        cwd=HERE,
        # One hash seed: dict and set layouts (and so the probes) alike in every child.
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        check=False,
        timeout=3600,
    )
    found = _COLLECTED.search(completed.stderr)
    if completed.returncode != 0 or found is None:
        tail = completed.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(
            f"{side} path {index}: the child failed (exit {completed.returncode}):\n{tail}"
        )
    return int(found.group(1))


def per_message(side: str, index: int, k1: int, k2: int, n_messages: int) -> float:
    """Instructions of one message: the difference of two runs over the messages between."""
    return (count(side, index, k2, n_messages) - count(side, index, k1, n_messages)) / (
        (k2 - k1) * n_messages
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print instructions per message for every path and the ratios to the SDK."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ours", action="store_true", help="count only our paths")
    parser.add_argument("-n", "--messages", type=int, default=500, help="messages per round")
    parser.add_argument("--child", choices=["ours", "sdk"], help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        run_path(args.child, args.index, args.rounds, args.messages)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    # Our paths are cheap: more rounds make the difference large against any jitter.
    ours = [
        (label, per_message("ours", i, 1, 9, args.messages))
        for i, (label, _, _) in enumerate(engine.OUR_PATHS)
    ]
    sdk = (
        []
        if args.ours
        else [
            (path.label, per_message("sdk", i, 1, 3, args.messages))
            for i, path in enumerate(engine.sdk_paths())
        ]
    )
    print(describe_machine().format())
    print("tools/call echo, request bytes -> response bytes, instructions per message (callgrind)")
    for label, figure in ours + sdk:
        print(f"{label:<75} {figure:>12,.0f}")
    if sdk:
        # Each era beside the SDK's cheapest path of the same era, as in engine.py.
        (session_label, session), (stateless_label, stateless) = sdk
        for (label, figure), (_, _, modern) in zip(ours, engine.OUR_PATHS, strict=True):
            peer_label, peer = (stateless_label, stateless) if modern else (session_label, session)
            print(f"{label}: {peer / figure:.1f}x fewer instructions per message than {peer_label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
