"""How a :class:`Report` is shown: the table grouped by area, the summary, JSON, JUnit XML,
and the live progress line.

The table has one row a check and revision (PASS / FAIL / WARN / SKIP and why,
expected failures marked ``xFAIL``); with ``verbose=False`` the passing and
skipped rows are left out (counted in the summary). JUnit gives each check a
``testcase`` in a ``testsuite`` per area: FAIL a ``failure``, SKIP a
``skipped``, WARN a pass with its reason in ``system-out``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import IO, Final

from ._model import CheckResult, Outcome, Report

__all__ = ["ProgressLine", "format_table", "summary_line", "to_json", "to_junit"]

_ORDER: Final = {Outcome.FAIL: 0, Outcome.WARN: 1, Outcome.PASS: 2, Outcome.SKIP: 3}


def _label(result: CheckResult) -> str:
    return "xFAIL" if result.expected else result.outcome.value


def _areas(results: Iterable[CheckResult]) -> dict[str, list[CheckResult]]:
    areas: dict[str, list[CheckResult]] = {}
    for result in results:
        areas.setdefault(result.area, []).append(result)
    return areas


def summary_line(report: Report) -> str:
    """``N checks: P passed, F failed, W warned, S skipped`` (and expected failures)."""
    counts = report.counts()
    expected = sum(1 for result in report.results if result.expected)
    line = (
        f"{len(report.results)} checks: {counts[Outcome.PASS]} passed, "
        f"{counts[Outcome.FAIL] - expected} failed, {counts[Outcome.WARN]} warned, "
        f"{counts[Outcome.SKIP]} skipped"
    )
    if expected:
        line += f", {expected} expected failures"
    return line


def format_table(report: Report, *, verbose: bool = True, width: int = 100) -> str:
    """The report as text: a section per area, a row per result, then the summary."""
    lines = [f"{report.target}  revisions: {', '.join(report.revisions) or '(none)'}"]
    lines += [f"ERROR {error}" for error in report.errors]
    for area, results in _areas(report.results).items():
        shown = [r for r in results if verbose or r.outcome in (Outcome.FAIL, Outcome.WARN)]
        counts = {o: sum(1 for r in results if r.outcome is o) for o in Outcome}
        lines.append("")
        lines.append(
            f"== {area} ({counts[Outcome.PASS]} pass, {counts[Outcome.FAIL]} fail, "
            f"{counts[Outcome.WARN]} warn, {counts[Outcome.SKIP]} skip)"
        )
        for result in sorted(shown, key=lambda r: _ORDER[r.outcome]):
            where = f"{result.revision or '-'} {result.transport}"
            lines.append(f"  {_label(result):5} {result.check_id:42} {where}")
            if result.reason:
                reason = result.reason.replace("\n", " ")
                if len(reason) > width:
                    reason = reason[: width - 1] + "…"
                lines.append(f"        {reason}")
            if result.outcome in (Outcome.FAIL, Outcome.WARN) and result.spec is not None:
                spec = result.spec
                lines.append(f'        spec {spec.revision} {spec.section}: "{spec.text}"')
    lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines)


def to_json(report: Report) -> str:
    """The report as JSON (see :meth:`Report.to_json`)."""
    return json.dumps(report.to_json(), indent=2)


def to_junit(report: Report) -> str:
    """The report as JUnit XML, a ``testsuite`` per area."""
    root = ET.Element("testsuites", name=f"scaled-mcp check {report.target}")
    for error in report.errors:
        suite = ET.SubElement(root, "testsuite", name="run", tests="1", failures="0", errors="1")
        case = ET.SubElement(suite, "testcase", classname="run", name="probe")
        ET.SubElement(case, "error", message=error)
    for area, results in _areas(report.results).items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=area,
            tests=str(len(results)),
            failures=str(sum(1 for r in results if r.fails_run)),
            skipped=str(sum(1 for r in results if r.outcome is Outcome.SKIP)),
            time=f"{sum(r.seconds for r in results):.3f}",
        )
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{area}.{result.transport}",
                name=f"{result.check_id}[{result.revision}]",
                time=f"{result.seconds:.3f}",
            )
            spec = f" ({result.spec.revision} {result.spec.section})" if result.spec else ""
            if result.fails_run:
                failure = ET.SubElement(case, "failure", message=result.reason)
                failure.text = f"{result.reason}{spec}"
            elif result.outcome is Outcome.SKIP:
                ET.SubElement(case, "skipped", message=result.reason)
            elif result.outcome is Outcome.WARN or result.expected:
                out = ET.SubElement(case, "system-out")
                out.text = f"{_label(result)}: {result.reason}{spec}"
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


class ProgressLine:
    """One line on a terminal, rewritten as results come (``stream`` is stderr)."""

    def __init__(self, stream: IO[str], *, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled
        self._failed = 0
        self._width = 0

    def __call__(self, result: CheckResult, done: int, planned: int) -> None:
        """Show ``result`` as the latest of ``done`` out of ``planned``."""
        if result.fails_run:
            self._failed += 1
        if not self._enabled:
            return
        text = (
            f"[{done}/{planned}] {self._failed} failed  {result.revision} "
            f"{result.check_id}: {_label(result)}"
        )[:110]
        self._stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self._stream.flush()

    def close(self) -> None:
        """Clear the line."""
        if self._enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
