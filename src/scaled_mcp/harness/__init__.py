"""Checks any MCP server against the specification: ``scaled-mcp check URL``.

:func:`check` probes a server in every revision it claims (or those asked) on
its transports and runs every registered check (:func:`check_definition`
registers one; each cites the spec sentence it enforces), giving a
:class:`Report` of :class:`CheckResult` rows (PASS / FAIL / WARN / SKIP);
:func:`assert_conformant` raises with the failing rows. A check gets a
:class:`Probe`: raw HTTP, fresh raw sessions and the run's client.
"""

from __future__ import annotations

from ._model import (
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

__all__ = [
    "ACCEPT_BOTH",
    "TRANSPORTS",
    "CheckFunction",
    "CheckResult",
    "Failed",
    "HttpAnswer",
    "Level",
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
]
