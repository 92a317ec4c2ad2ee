"""What a load run is asked to do (:class:`LoadConfig`) and what it measured
(:class:`LoadResult`: counts, errors by kind, the latency histogram, the summary and
the JSON of ``scaled-mcp bench``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from scaled_mcp.protocol.versions import (
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    STATELESS_VERSIONS,
)

from ._histogram import Histogram
from ._load_wire import Target

__all__ = ["LoadConfig", "LoadError", "LoadResult", "Progress"]


class LoadError(Exception):
    """The load cannot start (the target refuses the set-up); the message says why."""


@attrs.frozen
class LoadConfig:
    """What to send, where, how hard and for how long (see ``scaled-mcp bench --help``)."""

    url: str
    method: str = "tools/call"
    tool: str | None = None
    arguments: dict[str, Any] = attrs.field(factory=dict)
    #: The params of any other method (``tools/call`` builds its own from tool and arguments).
    params: dict[str, Any] | None = None
    connections: int = 1
    #: Seconds of load; ``requests`` instead sends that many and stops.
    duration: float | None = 10.0
    requests: int | None = None
    revision: str = LATEST_HANDSHAKE_VERSION
    sessions: int = 1
    #: Requests a second, open loop; ``None``: closed loop at full speed.
    rate: float | None = None
    timeout: float = 10.0
    headers: tuple[tuple[str, str], ...] = ()
    processes: int = 1

    def __attrs_post_init__(self) -> None:
        Target.parse(self.url)
        if self.revision not in (*HANDSHAKE_VERSIONS, *STATELESS_VERSIONS):
            raise ValueError(f"unknown revision {self.revision!r}")
        if self.method == "tools/call" and not self.tool:
            raise ValueError("tools/call needs a tool name (--tool)")
        if self.connections < 1 or self.sessions < 1 or self.processes < 1:
            raise ValueError("connections, sessions and processes are at least 1")
        if self.processes > self.connections:
            raise ValueError("each process needs a connection: processes <= connections")
        if (self.duration is None) == (self.requests is None):
            raise ValueError("give either a duration or a number of requests")
        if self.duration is not None and not self.duration > 0:
            raise ValueError("the duration is positive")
        if self.requests is not None and self.requests < 1:
            raise ValueError("requests is at least 1")
        if self.rate is not None and not self.rate > 0:
            raise ValueError("the rate is positive")
        if not self.timeout > 0:
            raise ValueError("the timeout is positive")

    @property
    def stateless(self) -> bool:
        """Whether the revision is the stateless wire (no session)."""
        return self.revision in STATELESS_VERSIONS

    def message_params(self) -> dict[str, Any] | None:
        """The params of the request the load repeats."""
        if self.method == "tools/call":
            return {"name": self.tool, "arguments": dict(self.arguments)}
        return None if self.params is None else dict(self.params)


@attrs.define
class LoadResult:
    """What a run measured."""

    config: LoadConfig
    #: Answers received (successes and errors that came as answers) and requests sent.
    completed: int = 0
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = attrs.field(factory=dict)
    #: Seconds from the first send to the last answer.
    elapsed: float = 0.0
    histogram: Histogram = attrs.field(factory=Histogram)
    #: Open loop: requests whose intended time came while every connection was busy
    #: and that were never sent before the run ended.
    unsent: int = 0
    #: CPU seconds the load generator itself spent (every process), for its own overhead.
    cpu: float = 0.0

    @property
    def requests_per_second(self) -> float:
        """Answers a second over the run (successes and error answers)."""
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def cpu_per_request_us(self) -> float:
        """The load generator's own CPU time per answer, in microseconds."""
        return 1e6 * self.cpu / self.completed if self.completed else 0.0

    @property
    def error_count(self) -> int:
        """Every error, of every kind."""
        return sum(self.errors.values())

    def merge(self, other: LoadResult) -> None:
        """Add another process's share of the same run."""
        self.completed += other.completed
        self.sent += other.sent
        self.ok += other.ok
        self.unsent += other.unsent
        for kind, n in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n
        self.elapsed = max(self.elapsed, other.elapsed)
        self.cpu += other.cpu
        self.histogram.merge(other.histogram)

    def latency_ms(self) -> dict[str, float]:
        """p50, p90, p99, p99.9, max and mean, in milliseconds."""
        h = self.histogram
        shown = {f"p{p:g}": h.percentile(p) / 1000 for p in (50, 90, 99, 99.9)}
        return {**shown, "max": h.max / 1000, "mean": h.mean / 1000}

    def to_json(self) -> dict[str, Any]:
        """The figures as plain data (``--json``), histogram included."""
        c = self.config
        return {
            "url": c.url,
            "method": c.method,
            "tool": c.tool,
            "revision": c.revision,
            "connections": c.connections,
            "sessions": 0 if c.stateless else c.sessions,
            "processes": c.processes,
            "mode": "open" if c.rate else "closed",
            "rate": c.rate,
            "elapsed_s": self.elapsed,
            "sent": self.sent,
            "completed": self.completed,
            "ok": self.ok,
            "unsent": self.unsent,
            "client_cpu_s": self.cpu,
            "requests_per_second": self.requests_per_second,
            "errors": dict(sorted(self.errors.items())),
            "latency_ms": self.latency_ms(),
            "histogram_us": self.histogram.to_json(),
        }

    @classmethod
    def from_json(cls, config: LoadConfig, data: dict[str, Any]) -> LoadResult:
        """A process's share, as :meth:`to_json` wrote it."""
        return cls(
            config,
            completed=int(data["completed"]),
            sent=int(data["sent"]),
            ok=int(data["ok"]),
            errors={str(k): int(v) for k, v in data["errors"].items()},
            elapsed=float(data["elapsed_s"]),
            histogram=Histogram.from_json(data["histogram_us"]),
            unsent=int(data["unsent"]),
            cpu=float(data["client_cpu_s"]),
        )

    def summary(self) -> str:
        """The human report: throughput, latency percentiles, errors by kind."""
        c = self.config
        mode = f"open loop at {c.rate:g} req/s" if c.rate else "closed loop"
        what = c.method + (f" {c.tool}" if c.tool else "")
        wire = "stateless" if c.stateless else f"{c.sessions} session(s)"
        lat = self.latency_ms()
        lines = [
            f"{what} on {c.url}, revision {c.revision} ({wire}), {c.connections} connection(s), "
            f"{mode}" + (f", {c.processes} processes" if c.processes > 1 else ""),
            f"  {self.completed:,} answers in {self.elapsed:.2f} s: "
            f"{self.requests_per_second:,.0f} req/s ({self.ok:,} ok, {self.error_count:,} errors; "
            f"this tool's CPU {self.cpu_per_request_us:.0f} µs/request)",
            "  latency ms: "
            + "  ".join(f"{name} {value:.2f}" for name, value in lat.items() if name != "mean")
            + f"  (mean {lat['mean']:.2f})",
        ]
        if self.unsent:
            lines.append(f"  {self.unsent:,} requests fell due and were never sent (overload)")
        for kind, n in sorted(self.errors.items(), key=lambda item: -item[1]):
            lines.append(f"  error {kind}: {n:,}")
        return "\n".join(lines)


#: ``progress(elapsed_s, answers, errors, req/s over the last second)``.
Progress = Callable[[float, int, int, float], None]
