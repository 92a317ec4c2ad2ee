"""Shared helpers for the benchmarks in bench/: timing rounds and describing the machine.

Every benchmark reports a figure the same way: a round runs ``n_messages``
messages through the path under test and yields the elapsed wall time; a
measurement is several such rounds (after unrecorded warm-up rounds), summarised
as the median µs per message and the spread between the fastest and the
slowest round. Benchmarks print these figures; they never assert on them.

The scripts in bench/ are run directly (``python bench/<name>.py``), so this
module is imported as ``common``.
"""

from __future__ import annotations

import gc
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = [
    "DEFAULT_PACKAGES",
    "MachineInfo",
    "Measurement",
    "cpu_model",
    "describe_machine",
    "format_table",
    "pin_to_cpu",
    "prepare_round",
    "summarize",
    "time_calls",
    "time_each",
    "time_rounds",
]

T = TypeVar("T")

DEFAULT_PACKAGES: tuple[str, ...] = (
    "scaled-mcp",
    "mcp",
    "mcp-types",
    "pydantic",
    "pydantic-core",
    "anyio",
    "trio",
    "attrs",
    "cattrs",
    "orjson",
)
"""Distributions whose versions a benchmark report names by default."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """The recorded rounds of one benchmarked path, in µs per message.

    ``round_us`` holds one figure per recorded round: that round's elapsed time
    divided by ``n_messages``. Warm-up rounds are not in it.
    """

    label: str
    n_messages: int
    round_us: tuple[float, ...]
    notes: str = ""

    @property
    def rounds(self) -> int:
        """How many rounds were recorded."""
        return len(self.round_us)

    @property
    def median_us(self) -> float:
        """Median µs per message over the recorded rounds: the headline figure."""
        return statistics.median(self.round_us)

    @property
    def min_us(self) -> float:
        """µs per message in the fastest recorded round."""
        return min(self.round_us)

    @property
    def max_us(self) -> float:
        """µs per message in the slowest recorded round."""
        return max(self.round_us)

    @property
    def spread_pct(self) -> float:
        """(slowest - fastest) / median, in percent: how noisy the rounds were."""
        median = self.median_us
        return 0.0 if median == 0 else 100.0 * (self.max_us - self.min_us) / median

    @property
    def messages_per_second(self) -> float:
        """Throughput implied by the median: messages per second on one core."""
        median = self.median_us
        return 0.0 if median == 0 else 1e6 / median

    def as_dict(self) -> dict[str, object]:
        """Plain-data form, for JSON output."""
        return {
            "label": self.label,
            "n_messages": self.n_messages,
            "rounds": self.rounds,
            "median_us": self.median_us,
            "min_us": self.min_us,
            "max_us": self.max_us,
            "spread_pct": self.spread_pct,
            "round_us": list(self.round_us),
            "notes": self.notes,
        }

    def format(self) -> str:
        """One line: label, median µs/message, fastest..slowest, spread, rounds x messages."""
        return (
            f"{self.label}: {self.median_us:.2f} µs/msg median "
            f"(min {self.min_us:.2f}, max {self.max_us:.2f}, spread {self.spread_pct:.0f}%; "
            f"{self.rounds} rounds x {self.n_messages} msgs; "
            f"{self.messages_per_second:,.0f} msg/s)"
        )


def summarize(
    label: str, n_messages: int, elapsed_seconds: Sequence[float], *, notes: str = ""
) -> Measurement:
    """Build a `Measurement` from the wall time of each recorded round.

    For benchmarks that time their own rounds (an event loop that must stay up
    across rounds, a pipeline timed from its first input to its last output).
    """
    if n_messages <= 0:
        raise ValueError("n_messages must be positive")
    if not elapsed_seconds:
        raise ValueError("at least one recorded round is needed")
    return Measurement(
        label=label,
        n_messages=n_messages,
        round_us=tuple(1e6 * elapsed / n_messages for elapsed in elapsed_seconds),
        notes=notes,
    )


def prepare_round() -> None:
    """Collect garbage left by setup or an earlier round, outside the timed region.

    The collector stays enabled while a round runs: the garbage a path makes is
    part of its cost.
    """
    gc.collect()


def time_rounds(
    label: str,
    run_round: Callable[[int], float],
    *,
    n_messages: int,
    rounds: int,
    warmup: int = 1,
    notes: str = "",
) -> Measurement:
    """Run ``run_round(n_messages)`` ``warmup + rounds`` times and record the last ``rounds``.

    ``run_round`` does its own setup, times only the messages, and returns the
    elapsed seconds (`time.perf_counter` differences).
    """
    if rounds <= 0:
        raise ValueError("rounds must be positive")
    elapsed: list[float] = []
    for index in range(warmup + rounds):
        prepare_round()
        seconds = run_round(n_messages)
        if index >= warmup:
            elapsed.append(seconds)
    return summarize(label, n_messages, elapsed, notes=notes)


def time_calls(
    label: str,
    fn: Callable[[], object],
    *,
    n_messages: int,
    rounds: int,
    warmup: int = 1,
    notes: str = "",
) -> Measurement:
    """Call ``fn()`` ``n_messages`` times per round, ``rounds`` recorded rounds after ``warmup``."""

    def run_round(n: int) -> float:
        calls = range(n)
        start = time.perf_counter()
        for _ in calls:
            fn()
        return time.perf_counter() - start

    return time_rounds(
        label, run_round, n_messages=n_messages, rounds=rounds, warmup=warmup, notes=notes
    )


def time_each(
    label: str,
    fn: Callable[[T], object],
    inputs: Sequence[T],
    *,
    rounds: int,
    warmup: int = 1,
    notes: str = "",
) -> Measurement:
    """Call ``fn(item)`` for every item of ``inputs`` per round; one message per item.

    For paths whose messages differ (a fresh JSON-RPC id per request); the
    inputs are built once, before any round.
    """
    if not inputs:
        raise ValueError("inputs must not be empty")

    def run_round(n: int) -> float:
        start = time.perf_counter()
        for item in inputs:
            fn(item)
        return time.perf_counter() - start

    return time_rounds(
        label, run_round, n_messages=len(inputs), rounds=rounds, warmup=warmup, notes=notes
    )


def format_table(measurements: Iterable[Measurement]) -> str:
    """Aligned text table of measurements, one row each, medians in µs per message."""
    rows = list(measurements)
    if not rows:
        return ""
    width = max(len(m.label) for m in rows)
    header = (
        f"{'path':<{width}}  {'median µs':>10}  {'min':>8}  {'max':>8}  "
        f"{'spread':>7}  {'msg/s':>9}  rounds x msgs"
    )
    lines = [header, "-" * len(header)]
    for m in rows:
        lines.append(
            f"{m.label:<{width}}  {m.median_us:>10.2f}  {m.min_us:>8.2f}  {m.max_us:>8.2f}  "
            f"{m.spread_pct:>6.0f}%  {m.messages_per_second:>9,.0f}  {m.rounds} x {m.n_messages}"
        )
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("model name", "Hardware", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _usable_cpus() -> int | None:
    """CPUs this process may run on (its affinity mask), where the OS says."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is None:
        return None
    return len(getaffinity(0))


def _package_versions(packages: Iterable[str]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """What a benchmark ran on, printed beside its figures."""

    cpu_model: str
    logical_cpus: int | None
    usable_cpus: int | None
    python: str
    platform: str
    packages: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Plain-data form, for JSON output."""
        return {
            "cpu_model": self.cpu_model,
            "logical_cpus": self.logical_cpus,
            "usable_cpus": self.usable_cpus,
            "python": self.python,
            "platform": self.platform,
            "packages": dict(self.packages),
        }

    def format(self) -> str:
        """A few lines naming the CPU, core counts, Python and package versions."""
        packages = ", ".join(f"{name} {version}" for name, version in self.packages.items())
        return "\n".join(
            [
                f"cpu: {self.cpu_model} ({self.logical_cpus} logical, "
                f"{self.usable_cpus} usable by this process)",
                f"python: {self.python} on {self.platform}",
                f"packages: {packages}",
            ]
        )


def describe_machine(packages: Iterable[str] = DEFAULT_PACKAGES) -> MachineInfo:
    """Describe this machine and the installed versions of ``packages``."""
    implementation = platform.python_implementation()
    build = " ".join(part for part in platform.python_build() if part)
    return MachineInfo(
        cpu_model=cpu_model(),
        logical_cpus=os.cpu_count(),
        usable_cpus=_usable_cpus(),
        python=f"{implementation} {platform.python_version()} ({build}; {sys.executable})",
        platform=platform.platform(),
        packages=_package_versions(packages),
    )


def pin_to_cpu(cpu: int | None = None) -> int | None:
    """Restrict this process to one CPU; returns the CPU used, or None where unsupported.

    ``cpu=None`` picks the lowest CPU in the current affinity mask. Pinning keeps
    a single-threaded benchmark from migrating between cores mid-round.
    """
    getaffinity = getattr(os, "sched_getaffinity", None)
    setaffinity = getattr(os, "sched_setaffinity", None)
    if getaffinity is None or setaffinity is None:
        return None
    allowed: set[int] = getaffinity(0)
    chosen = min(allowed) if cpu is None else cpu
    if chosen not in allowed:
        raise ValueError(f"cpu {chosen} is not in this process's affinity mask {sorted(allowed)}")
    setaffinity(0, {chosen})
    return chosen
