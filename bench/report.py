"""The benchmark suite's report: a markdown page and its PNG plots, from what
``suite.py`` measured (``results.json`` in the report's folder).

    .venv/bin/python bench/report.py bench/reports/2026-12-02-0400   # redraw a report
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

_WIRES = ("session", "stateless")


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _http_by_server(http: dict[str, Any]) -> dict[str, dict[str, dict[int, list[Any]]]]:
    """server -> wire -> connections -> runs."""
    found: dict[str, dict[str, dict[int, list[Any]]]] = {}
    for key, runs in http["runs"].items():
        server, wire, connections = key.split("/")
        found.setdefault(server, {}).setdefault(wire, {})[int(connections)] = runs
    return found


def plot_http(http: dict[str, Any], out: Path) -> list[str]:
    by_server = _http_by_server(http)
    figure, axes = plt.subplots(1, len(_WIRES), figsize=(11, 4.2), sharey=True)
    for axis, wire in zip(axes, _WIRES, strict=True):
        for server, wires in sorted(by_server.items()):
            points = sorted(wires.get(wire, {}).items())
            if not points:
                continue
            style = "--" if server.startswith("ceiling") else "-"
            axis.plot(
                [c for c, _ in points],
                [_median(runs, "rps") for _, runs in points],
                style,
                marker="o",
                label=server,
            )
        axis.set_xscale("log", base=2)
        shown = sorted({c for wires in by_server.values() for c in wires.get(wire, {})})
        axis.set_xticks(shown, [str(c) for c in shown])
        axis.set_xlabel("connections")
        axis.set_title(f"tools/call, {wire} wire")
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("req/s (median of rounds)")
    axes[-1].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "http_rps.png", dpi=110)
    plt.close(figure)
    lines = ["| server | wire | connections | req/s | p50 ms | p99 ms | errors |", "|---" * 7 + "|"]
    for server, wires in sorted(by_server.items()):
        for wire in _WIRES:
            for connections, runs in sorted(wires.get(wire, {}).items()):
                lines.append(
                    f"| {server} | {wire} | {connections} | {_median(runs, 'rps'):,.0f} | "
                    f"{_median(runs, 'p50_ms'):.2f} | {_median(runs, 'p99_ms'):.2f} | "
                    f"{sum(int(r['errors']) for r in runs)} |"
                )
    for key, why in http.get("skipped", {}).items():
        lines.append(f"\nSkipped {key}: {why}")
    return ["![req/s against connections](http_rps.png)", "", *lines]


def _distribution(histogram: dict[str, Any]) -> tuple[list[float], list[float]]:
    """(1 / (1 - fraction below), latency ms) per bucket: HDR's percentile plot."""
    from scaled_mcp.harness import Histogram

    h = Histogram.from_json(histogram)
    xs, ys, seen = [], [], 0
    for value, count in h.buckets():
        seen += count
        fraction = seen / h.count
        xs.append(1.0 / max(1.0 - fraction, 1.0 / (10 * h.count)))
        ys.append(value / 1000)
    return xs, ys


def plot_latency(latency: dict[str, Any], out: Path) -> list[str]:
    figure, axis = plt.subplots(figsize=(8, 4.5))
    lines = [
        "| server | req/s | p50 | p90 | p99 | p99.9 | max (ms) | errors |",
        "|---" * 8 + "|",
    ]
    for server, data in latency.items():
        xs, ys = _distribution(data["histogram_us"])
        axis.plot(xs, ys, label=server)
        lat = data["latency_ms"]
        lines.append(
            f"| {server} | {data['requests_per_second']:,.0f} | {lat['p50']:.2f} | "
            f"{lat['p90']:.2f} | {lat['p99']:.2f} | {lat['p99.9']:.2f} | {lat['max']:.2f} | "
            f"{sum(data['errors'].values())} |"
        )
    axis.set_xscale("log")
    axis.set_yscale("log")
    ticks = [1, 2, 10, 100, 1000, 10000]
    axis.set_xticks(ticks, ["0%", "50%", "90%", "99%", "99.9%", "99.99%"])
    axis.set_xlabel("percentile")
    axis.set_ylabel("latency ms")
    axis.set_title("tools/call latency, session wire, 16 connections (scaled-mcp bench)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "latency.png", dpi=110)
    plt.close(figure)
    return ["![latency distribution](latency.png)", "", *lines]


def plot_sessions(sessions: dict[str, Any], out: Path) -> list[str]:
    rows = sessions["kib_per_session"]
    figure, axis = plt.subplots(figsize=(8, 0.6 + 0.55 * max(1, len(rows))))
    names = list(rows)
    axis.barh(names, [rows[n] for n in names], color="tab:blue")
    for index, name in enumerate(names):
        axis.text(rows[name], index, f" {rows[name]:.2f}", va="center", fontsize=8)
    axis.set_xlim(0, max(rows.values(), default=1) * 1.15)
    axis.set_xlabel("KiB per idle session (server's resident set growth)")
    axis.invert_yaxis()
    figure.tight_layout()
    figure.savefig(out / "sessions.png", dpi=110)
    plt.close(figure)
    table = ["| what | KiB per idle session |", "|---|---|"]
    table += [f"| {_cell(name)} | {value:.2f} |" for name, value in rows.items()]
    return ["![memory per session](sessions.png)", "", *table]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def engine_table(engine: dict[str, Any]) -> list[str]:
    lines = ["| path | median µs/msg | fastest | spread |", "|---|---|---|---|"]
    for row in engine["results"]:
        lines.append(
            f"| {_cell(row['label'])} | {row['median_us']:.2f} | {row['min_us']:.2f} | "
            f"{row['spread_pct']:.0f}% |"
        )
    return lines


def cluster_table(cluster: dict[str, Any]) -> list[str]:
    lines = ["| setup | req/s | p50 ms | p99 ms |", "|---|---|---|---|"]
    for name, (rps, p50, p99) in cluster["rows"].items():
        lines.append(f"| {_cell(name)} | {rps:,.0f} | {p50:.2f} | {p99:.2f} |")
    return lines


def write_report(results: dict[str, Any], out: Path) -> Path:
    """Write ``report.md`` (and its PNGs) into ``out``; its path."""
    kind = "quick run" if results.get("quick") else "full run"
    page = [
        f"# scaled-mcp benchmarks, {results.get('date', '')} ({kind})",
        "",
        f"Machine: {results.get('machine', 'unknown')}.",
        "",
        "Figures from one run on this machine: compare within the run (medians of "
        "interleaved rounds), not with another day's. `suite.log` has every command's output.",
    ]
    sections = [
        ("engine", "The protocol core, µs per message (`engine.py`)", engine_table),
        ("http", "tools/call over HTTP, wrk (`http_load.py`)", lambda d: plot_http(d, out)),
        ("latency", "Latency distributions (`scaled-mcp bench`)", lambda d: plot_latency(d, out)),
        ("sessions", "Memory per idle session (`sessions.py`)", lambda d: plot_sessions(d, out)),
        ("cluster", "One node and three behind nginx (`cluster.py`)", cluster_table),
    ]
    for key, title, render in sections:
        page += ["", f"## {title}", ""]
        if key in results:
            page += render(results[key])
        else:
            why = results.get("failures", {}).get(key, "not selected")
            page.append(f"Not run: {why}")
    page += ["", "## The load tool beside wrk (`load_tool.py`)", ""]
    if "loadtool" in results:
        page += ["```", results["loadtool"]["table"].strip(), "```"]
    else:
        page.append(f"Not run: {results.get('failures', {}).get('loadtool', 'not selected')}")
    page += ["", "## One WebSocket beside streamable HTTP (`websocket.py`)", ""]
    if "websocket" in results:
        page += ["```", results["websocket"]["table"].strip(), "```"]
    else:
        page.append(f"Not run: {results.get('failures', {}).get('websocket', 'not selected')}")
    page += ["", f"The suite took {results.get('seconds', 0):.0f} s.", ""]
    path = out / "report.md"
    path.write_text("\n".join(page))
    return path


if __name__ == "__main__":
    import json

    folder = Path(sys.argv[1])
    print(write_report(json.loads((folder / "results.json").read_text()), folder))
