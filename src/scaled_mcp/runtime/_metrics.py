"""The node's figures for Prometheus: what is counted, how cheaply, and how it is shown.

Counting is plain arithmetic on Python objects (one event loop thread: no lock),
on series bound once per label set: a request adds one to a bucket of its
``(method, tool, outcome)`` series. Label sets are bounded: a method or a tool
becomes a label only once it has answered successfully, and only up to a limit
(``"other"`` beyond it, and for whatever failed before being known), so a
client sending made-up names cannot grow them. No session id is ever a label.

The exposition (prometheus-client's text format) is rendered at scrape time,
from this node's figures and, with ``--workers N``, from the snapshots the
other workers of the machine write every second into a shared directory: any
worker answers ``/metrics`` for all of them, each series labelled by its node.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, Final

import orjson

__all__ = ["LATENCY_BUCKETS", "OTHER", "Metrics"]

#: Upper bounds (seconds) of the request latency histogram's buckets.
LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
#: The label of a method or tool beyond the bound, or not (yet) known.
OTHER: Final = "other"
#: Seconds after which a worker's snapshot no longer counts (the worker is gone).
_STALE: Final = 10.0


class _Series:
    """One ``(method, tool, outcome)`` series of the latency histogram."""

    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last: above every bound
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.count += 1
        self.total += seconds


class Metrics:
    """The figures of one node (see the module docstring).

    ``max_methods`` and ``max_tools`` bound the method and tool labels.
    ``share_dir`` (``--workers N``): the directory where each worker writes its
    snapshot (:meth:`share`) and reads the others' at scrape time.
    The runtime sets :attr:`gauges`: name -> (help, a function reading it now).
    """

    def __init__(
        self,
        node_id: str,
        *,
        max_methods: int = 64,
        max_tools: int = 256,
        share_dir: str | None = None,
    ) -> None:
        self.node_id = node_id
        self.max_methods = max_methods
        self.max_tools = max_tools
        self.share_dir = Path(share_dir) if share_dir is not None else None
        self.requests: dict[tuple[str, str, str], _Series] = {}
        self._methods: set[str] = set()
        self._tools: set[str] = set()
        #: Backend operation -> [calls, failures].
        self.backend_calls: dict[str, list[int]] = {}
        self.events_appended = 0
        self.events_read = 0
        self.gauges: dict[str, tuple[str, Callable[[], int]]] = {}

    # -- counting (the hot path) -----------------------------------------------

    def observe(self, method: str, tool: str | None, outcome: str, seconds: float) -> None:
        """One request answered: ``outcome`` is ``ok``, ``tool_error`` (a result with
        ``isError``), ``error`` (a JSON-RPC error), ``input_required`` or
        ``cancelled``; ``tool`` the tool a ``tools/call`` named."""
        if method not in self._methods:
            if outcome == "ok" and len(self._methods) < self.max_methods:
                self._methods.add(method)
            else:
                method = OTHER
        if tool is None:
            tool = ""
        elif tool not in self._tools:
            if outcome == "ok" and len(self._tools) < self.max_tools:
                self._tools.add(tool)
            else:
                tool = OTHER
        key = (method, tool, outcome)
        series = self.requests.get(key)
        if series is None:
            series = self.requests[key] = _Series()
        series.observe(seconds)

    def backend_call(self, operation: str, failed: bool) -> None:
        """One round trip to the backend (``sessions.load``, ``broker.publish`` ...)."""
        counts = self.backend_calls.get(operation)
        if counts is None:
            counts = self.backend_calls[operation] = [0, 0]
        counts[0] += 1
        if failed:
            counts[1] += 1

    # -- snapshots (shared between workers) --------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """This node's figures as plain data."""
        return {
            "node": self.node_id,
            "requests": [
                [method, tool, outcome, s.buckets, s.count, s.total]
                for (method, tool, outcome), s in self.requests.items()
            ],
            "backend": [[op, calls, failed] for op, (calls, failed) in self.backend_calls.items()],
            "appended": self.events_appended,
            "read": self.events_read,
            "gauges": {name: read() for name, (_, read) in self.gauges.items()},
        }

    def share(self) -> None:
        """Write this node's snapshot where the other workers read it (atomically)."""
        if self.share_dir is None:
            return
        path = self.share_dir / f"{self.node_id}.json"
        partial = path.with_suffix(".tmp")
        partial.write_bytes(orjson.dumps(self.snapshot()))
        os.replace(partial, path)

    def unshare(self) -> None:
        """Remove this node's snapshot (it stops)."""
        if self.share_dir is not None:
            with suppress(OSError):
                (self.share_dir / f"{self.node_id}.json").unlink()

    def _snapshots(self) -> list[dict[str, Any]]:
        found = [self.snapshot()]
        if self.share_dir is None:
            return found
        now = time.time()
        with suppress(OSError):
            for path in sorted(self.share_dir.glob("*.json")):
                if path.stem == self.node_id:
                    continue
                with suppress(OSError, orjson.JSONDecodeError):
                    if now - path.stat().st_mtime <= _STALE:
                        found.append(orjson.loads(path.read_bytes()))
        return found

    # -- exposition ---------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every node sharing here, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        return generate_latest(registry), CONTENT_TYPE_LATEST


class _Collector:
    """Turns the snapshots into Prometheus metric families at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        snapshots = self._metrics._snapshots()
        latency = HistogramMetricFamily(
            "scaled_mcp_request_duration_seconds",
            "Requests handled, by method, tool and outcome, and how long their handlers took",
            labels=["node", "method", "tool", "outcome"],
        )
        calls = CounterMetricFamily(
            "scaled_mcp_backend_calls",
            "Round trips to the session store, event log, broker and node registry",
            labels=["node", "operation"],
        )
        failures = CounterMetricFamily(
            "scaled_mcp_backend_failures",
            "Round trips to the backend that failed (it did not answer)",
            labels=["node", "operation"],
        )
        appended = CounterMetricFamily(
            "scaled_mcp_events_appended", "SSE events appended to the event log", labels=["node"]
        )
        read = CounterMetricFamily(
            "scaled_mcp_events_read",
            "SSE events read back from the event log (replays and live delivery)",
            labels=["node"],
        )
        gauges: dict[str, GaugeMetricFamily] = {
            name: GaugeMetricFamily(f"scaled_mcp_{name}", help_text, labels=["node"])
            for name, (help_text, _) in self._metrics.gauges.items()
        }
        bounds = [str(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]
        for snap in snapshots:
            node = str(snap["node"])
            for method, tool, outcome, buckets, _count, total in snap["requests"]:
                cumulative, running = [], 0
                for bound, count in zip(bounds, buckets, strict=True):
                    running += count
                    cumulative.append((bound, running))
                latency.add_metric([node, method, tool, outcome], cumulative, total)
            for operation, count, failed in snap["backend"]:
                calls.add_metric([node, operation], count)
                failures.add_metric([node, operation], failed)
            appended.add_metric([node], snap["appended"])
            read.add_metric([node], snap["read"])
            for name, value in snap["gauges"].items():
                if name in gauges:
                    gauges[name].add_metric([node], value)
        yield latency
        yield calls
        yield failures
        yield appended
        yield read
        yield from gauges.values()
