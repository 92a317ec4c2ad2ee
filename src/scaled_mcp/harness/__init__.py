"""Checks any MCP server against the specification: ``scaled-mcp check URL``.

:func:`check` probes a server in every revision it claims (or those asked) on
its transports and runs every registered check (:func:`check_definition`
registers one; each cites the spec sentence it enforces), giving a
:class:`Report` of :class:`CheckResult` rows (PASS / FAIL / WARN / SKIP);
:func:`assert_conformant` raises with the failing rows. A check gets a
:class:`Probe`: raw HTTP, fresh raw sessions and the run's client.
"""

from __future__ import annotations

from ._histogram import Histogram
from ._load import LoadConfig, LoadError, LoadResult, run_load
from ._model import (
    HTTP_AND_STDIO,
    HTTP_ONLY,
    TRANSPORTS,
    CheckResult,
    Failed,
    Level,
    Outcome,
    Report,
    Skipped,
    SpecRef,
    TransportName,
)
from ._probe import (
    ACCEPT_BOTH,
    HttpAnswer,
    Probe,
    ProbeOptions,
    RawSession,
    Tap,
    TappedMessage,
    initialize_request,
    make_client,
)
from ._registry import CheckFunction, RegisteredCheck, check as check_definition, registered_checks
from ._report import ProgressLine, format_table, summary_line, to_json, to_junit
from ._runner import (
    CHECK_MODULES,
    CheckTarget,
    ExpectedFailures,
    ResultHandler,
    assert_conformant,
    check,
    check_sync,
    claimed_revisions,
)

__all__ = [
    "ACCEPT_BOTH",
    "CHECK_MODULES",
    "HTTP_AND_STDIO",
    "HTTP_ONLY",
    "CheckTarget",
    "ExpectedFailures",
    "ProgressLine",
    "ResultHandler",
    "assert_conformant",
    "check",
    "check_sync",
    "claimed_revisions",
    "format_table",
    "summary_line",
    "to_json",
    "to_junit",
    "TRANSPORTS",
    "CheckFunction",
    "CheckResult",
    "Failed",
    "Histogram",
    "HttpAnswer",
    "Level",
    "LoadConfig",
    "LoadError",
    "LoadResult",
    "Outcome",
    "Probe",
    "ProbeOptions",
    "RawSession",
    "RegisteredCheck",
    "Report",
    "Skipped",
    "SpecRef",
    "Tap",
    "TappedMessage",
    "TransportName",
    "check_definition",
    "initialize_request",
    "make_client",
    "registered_checks",
    "run_load",
]
