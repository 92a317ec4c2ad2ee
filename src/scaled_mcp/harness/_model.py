"""What a check run produces: outcomes, requirement levels, spec references, results, the report.

A check enforces one requirement of the MCP specification. Broken, a MUST is a
:attr:`Outcome.FAIL` and a SHOULD a :attr:`Outcome.WARN`; a check that does not
apply (the revision does not require it, the server does not offer what it
needs) is a :attr:`Outcome.SKIP` with the reason. A check function signals
with :class:`Failed` and :class:`Skipped`; returning means it passed.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from typing import Literal, TypeAlias

import attrs

__all__ = [
    "HTTP_AND_STDIO",
    "HTTP_ONLY",
    "TRANSPORTS",
    "CheckResult",
    "Failed",
    "Level",
    "Outcome",
    "Report",
    "Skipped",
    "SpecRef",
    "TransportName",
]

#: How the server is reached: streamable HTTP, the 2024-11-05 HTTP+SSE transport, or stdio.
TransportName: TypeAlias = Literal["http", "sse", "stdio"]
TRANSPORTS: tuple[TransportName, ...] = ("http", "sse", "stdio")
#: The checks that speak raw streamable HTTP.
HTTP_ONLY: tuple[TransportName, ...] = ("http",)
#: The checks that speak raw JSON-RPC, over streamable HTTP or stdio.
HTTP_AND_STDIO: tuple[TransportName, ...] = ("http", "stdio")


class Outcome(enum.Enum):
    """How a check ended."""

    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    SKIP = "SKIP"


class Level(enum.Enum):
    """The strength of the requirement a check enforces (RFC 2119)."""

    MUST = "MUST"
    SHOULD = "SHOULD"

    @property
    def broken(self) -> Outcome:
        """The outcome when the requirement is not met: MUST fails, SHOULD warns."""
        return Outcome.FAIL if self is Level.MUST else Outcome.WARN


@attrs.frozen
class SpecRef:
    """Where the specification says it: the revision, the section and the sentence quoted."""

    revision: str
    section: str
    text: str

    def to_json(self) -> dict[str, str]:
        """The reference as a JSON object."""
        return {"revision": self.revision, "section": self.section, "text": self.text}


class Failed(Exception):
    """Raised by a check: the server broke the requirement (``reason`` says how).

    ``level`` overrides the check's own level for this failure (a check that
    enforces a MUST and a SHOULD raises ``Failed(..., level=Level.SHOULD)`` for
    the latter)."""

    def __init__(self, reason: str, *, level: Level | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.level = level


class Skipped(Exception):
    """Raised by a check: it does not apply here (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class CheckResult:
    """One check, run once against one revision on one transport.

    ``expected`` marks a failure listed in the expected-failures file: it is
    shown, and does not make the run fail."""

    check_id: str
    area: str
    title: str
    revision: str | None
    transport: TransportName
    outcome: Outcome
    reason: str = ""
    spec: SpecRef | None = None
    seconds: float = 0.0
    expected: bool = False

    @property
    def fails_run(self) -> bool:
        """Whether this result makes the run's exit status non-zero."""
        return self.outcome is Outcome.FAIL and not self.expected

    def to_json(self) -> dict[str, object]:
        """The result as a JSON object."""
        return {
            "id": self.check_id,
            "area": self.area,
            "title": self.title,
            "revision": self.revision,
            "transport": self.transport,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "spec": self.spec.to_json() if self.spec is not None else None,
            "seconds": round(self.seconds, 4),
            "expected": self.expected,
        }


@attrs.define
class Report:
    """Every result of a run, against ``target``, over the ``revisions`` probed."""

    target: str
    revisions: tuple[str, ...] = ()
    results: list[CheckResult] = attrs.Factory(list)
    #: Why a revision or transport could not be probed at all (each is a failure of the run).
    errors: list[str] = attrs.Factory(list)

    def counts(self) -> dict[Outcome, int]:
        """How many results ended in each outcome."""
        counter = Counter(result.outcome for result in self.results)
        return {outcome: counter[outcome] for outcome in Outcome}

    @property
    def failures(self) -> Sequence[CheckResult]:
        """The results that make the run fail."""
        return [result for result in self.results if result.fails_run]

    @property
    def exit_status(self) -> int:
        """0 when nothing failed (expected failures aside), else 1."""
        return 1 if self.failures or self.errors else 0

    def to_json(self) -> dict[str, object]:
        """The report as a JSON object."""
        return {
            "target": self.target,
            "revisions": list(self.revisions),
            "summary": {outcome.value: n for outcome, n in self.counts().items()},
            "errors": list(self.errors),
            "exit_status": self.exit_status,
            "results": [result.to_json() for result in self.results],
        }
