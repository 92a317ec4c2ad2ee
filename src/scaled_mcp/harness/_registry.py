"""The checks: registered with :func:`check`, looked up by the runner.

A check is ``async def fn(probe: Probe) -> None``; it passes by returning,
and raises :class:`Failed` or :class:`Skipped`. The decorator records what it
enforces (its :class:`SpecRef` and :class:`Level`), where it applies (the
revisions and transports) and whether it calls tools (off unless asked).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import TYPE_CHECKING, TypeAlias

import attrs

from ..protocol.versions import SUPPORTED_VERSIONS
from ._model import TRANSPORTS, Level, SpecRef, TransportName

if TYPE_CHECKING:
    from ._probe import Probe

__all__ = ["CheckFunction", "RegisteredCheck", "check", "registered_checks"]

#: What a check is: it gets the probe and passes by returning.
CheckFunction: TypeAlias = "Callable[[Probe], Awaitable[None]]"


@attrs.frozen
class RegisteredCheck:
    """A check and what it enforces, where."""

    check_id: str
    area: str
    title: str
    level: Level
    spec: SpecRef
    revisions: frozenset[str]
    transports: frozenset[TransportName]
    calls_tools: bool
    runs_last: bool
    run: CheckFunction

    def applies_to(self, revision: str) -> bool:
        """Whether the check concerns ``revision`` at all."""
        return revision in self.revisions

    def not_applicable(self, revision: str, transport: TransportName) -> str | None:
        """Why the check does not apply to ``revision`` over ``transport``, or ``None``."""
        if transport not in self.transports:
            return f"not a requirement of the {transport} transport"
        if revision not in self.revisions:
            wanted = ", ".join(sorted(self.revisions))
            return f"not a requirement of {revision} (only {wanted})"
        return None


_CHECKS: dict[str, RegisteredCheck] = {}


def check(
    check_id: str,
    *,
    area: str,
    title: str,
    spec: SpecRef,
    level: Level = Level.MUST,
    revisions: Iterable[str] = SUPPORTED_VERSIONS,
    transports: Collection[TransportName] = TRANSPORTS,
    calls_tools: bool = False,
    runs_last: bool = False,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated ``async def fn(probe)`` as check ``check_id``.

    ``check_id`` is ``<area>.<name>``, unique; ``revisions`` are those the
    requirement exists in (elsewhere the check is reported SKIP, with why);
    ``runs_last`` checks run after every other check of their revision (those
    that judge what the :class:`Tap` recorded).
    """
    revision_set = frozenset(revisions)
    unknown = revision_set - set(SUPPORTED_VERSIONS)
    if unknown:
        raise ValueError(f"check {check_id}: unknown revisions {sorted(unknown)}")
    if not set(transports) <= set(TRANSPORTS):
        raise ValueError(f"check {check_id}: unknown transports {sorted(transports)}")

    def register(fn: CheckFunction) -> CheckFunction:
        if check_id in _CHECKS:
            raise ValueError(f"check {check_id} is registered twice")
        _CHECKS[check_id] = RegisteredCheck(
            check_id=check_id,
            area=area,
            title=title,
            level=level,
            spec=spec,
            revisions=revision_set,
            transports=frozenset(transports),
            calls_tools=calls_tools,
            runs_last=runs_last,
            run=fn,
        )
        return fn

    return register


def registered_checks() -> list[RegisteredCheck]:
    """Every registered check, in registration order."""
    return list(_CHECKS.values())
