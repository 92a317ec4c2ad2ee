"""Running the checks: which revisions and transports to probe, each applicable check once.

The revisions are those the server claims: each handshake revision it accepts
in ``initialize`` negotiation (it answers with the same version), and
2026-07-28 where ``server/discover`` lists it; or those asked for. The
transports are streamable HTTP (``url``), the 2024-11-05 HTTP+SSE transport
(``sse_url``) and stdio (``command``): each check runs where it applies, with a
deadline, and every result is handed to ``on_result`` as it comes (the live
progress). The check modules are imported from :data:`CHECK_MODULES`.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import attrs
import httpx2
import trio

from ..client import Client
from ..protocol.versions import HANDSHAKE_VERSIONS, STATELESS_VERSIONS, SUPPORTED_VERSIONS
from ._model import CheckResult, Failed, Outcome, Report, Skipped, TransportName
from ._probe import Probe, ProbeOptions, RawSession, Tap, make_client
from ._registry import RegisteredCheck, registered_checks

__all__ = [
    "CHECK_MODULES",
    "CheckTarget",
    "ExpectedFailures",
    "ResultHandler",
    "assert_conformant",
    "check",
    "check_sync",
    "claimed_revisions",
]

#: The modules that define checks (each registers its own on import).
CHECK_MODULES: Final[tuple[str, ...]] = (
    "scaled_mcp.harness._checks_transport",
    "scaled_mcp.harness._checks_lifecycle",
    "scaled_mcp.harness._checks_jsonrpc",
    "scaled_mcp.harness._checks_features",
    "scaled_mcp.harness._checks_stateless",
    "scaled_mcp.harness._checks_tools",
)

#: Called with each result, the number done so far and the number planned.
ResultHandler = Callable[[CheckResult, int, int], None]

#: A check may take this many times the per-wait timeout in all.
_CHECK_TIMEOUT_FACTOR: Final = 4


@attrs.frozen
class ExpectedFailures:
    """Checks known to fail: ids, each for every revision or for one (``id@revision``)."""

    everywhere: frozenset[str] = frozenset()
    per_revision: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def parse(cls, text: str) -> ExpectedFailures:
        """Read one entry a line (``check.id`` or ``check.id@2025-06-18``); ``#`` comments."""
        everywhere: set[str] = set()
        per_revision: set[tuple[str, str]] = set()
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            check_id, at, revision = line.partition("@")
            if at:
                if revision.strip() not in SUPPORTED_VERSIONS:
                    raise ValueError(f"unknown revision in expected failures: {line!r}")
                per_revision.add((check_id.strip(), revision.strip()))
            else:
                everywhere.add(check_id)
        return cls(frozenset(everywhere), frozenset(per_revision))

    @classmethod
    def load(cls, path: str | Path) -> ExpectedFailures:
        """Read the file at ``path`` (see :meth:`parse`)."""
        return cls.parse(Path(path).read_text(encoding="utf-8"))

    def covers(self, check_id: str, revision: str | None) -> bool:
        """Whether a failure of ``check_id`` at ``revision`` is expected."""
        return check_id in self.everywhere or (check_id, revision or "") in self.per_revision


@attrs.frozen
class CheckTarget:
    """What to check: a streamable-HTTP ``url``, an HTTP+SSE ``sse_url``, a stdio
    ``command``; the ``revisions`` to probe (all claimed when empty); ``select``,
    check id prefixes to run (all when empty)."""

    url: str | None = None
    sse_url: str | None = None
    command: tuple[str, ...] | None = None
    revisions: tuple[str, ...] = ()
    select: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The target as the report names it."""
        return self.url or self.sse_url or " ".join(self.command or ())


def load_checks() -> list[RegisteredCheck]:
    """Every check of every module of :data:`CHECK_MODULES`."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return registered_checks()


async def claimed_revisions(
    probe_for: Callable[[str], Probe],
    refusals: list[str] | None = None,
    candidates: Sequence[str] = SUPPORTED_VERSIONS,
) -> list[str]:
    """Which of ``candidates`` the server at the probe's URL accepts (see the module
    docstring); why each other one was refused is added to ``refusals``."""
    claimed = []
    why_not = refusals if refusals is not None else []
    for revision in (v for v in HANDSHAKE_VERSIONS if v in candidates):
        try:
            session = await probe_for(revision).session(initialized=False)
        except (Failed, Skipped) as exc:
            why_not.append(f"{revision}: {exc}")
            continue
        claimed.append(revision)
        await session.close()
    for revision in (v for v in STATELESS_VERSIONS if v in candidates):
        probe = probe_for(revision)
        session = RawSession(probe, revision)
        try:
            answer = await session.request("server/discover")
        except (Failed, Skipped) as exc:
            why_not.append(f"{revision}: {exc}")
            continue
        response = answer.response_to(1)
        result = response.get("result") if response is not None else None
        versions = result.get("supportedVersions") if isinstance(result, dict) else None
        if isinstance(versions, list) and revision in versions:
            claimed.append(revision)
        else:
            why_not.append(f"{revision}: server/discover: {answer.describe()}")
    return claimed


async def _run_one(
    registered: RegisteredCheck, probe: Probe, seconds: float
) -> tuple[Outcome, str, float]:
    started = time.perf_counter()
    try:
        with trio.fail_after(seconds):
            await registered.run(probe)
    except Failed as exc:
        outcome = (exc.level or registered.level).broken
        return outcome, exc.reason, time.perf_counter() - started
    except Skipped as exc:
        return Outcome.SKIP, exc.reason, time.perf_counter() - started
    except trio.TooSlowError:
        reason = f"the check did not finish within {seconds:g} s (the server hangs?)"
        return registered.level.broken, reason, time.perf_counter() - started
    except Exception as exc:  # a check that meets the unexpected reports it, never crashes the run
        reason = f"{type(exc).__name__}: {exc}"
        return registered.level.broken, reason, time.perf_counter() - started
    return Outcome.PASS, "", time.perf_counter() - started


class _ClientHolder:
    """The run's client at one revision, opened on first use in a task of the
    revision's nursery (so that no check's deadline scope owns it), closed by
    :meth:`release`."""

    def __init__(self, nursery: trio.Nursery, client: Client) -> None:
        self._nursery = nursery
        self._client = client
        self._ready = trio.Event()
        self._done = trio.Event()
        self._started = False
        self._error: str | None = None

    async def _hold(self) -> None:
        try:
            async with self._client:
                self._ready.set()
                await self._done.wait()
        except Exception as exc:  # said to each check that asks for the client
            self._error = f"{type(exc).__name__}: {exc}"
        finally:
            self._ready.set()

    async def get(self) -> Client:
        """The connected client; :class:`Failed` when it could not connect."""
        if not self._started:
            self._started = True
            self._nursery.start_soon(self._hold)
        await self._ready.wait()  # bounded: the client's handshake has its own deadline
        if self._error is not None or self._done.is_set():
            raise Failed(f"the client could not connect: {self._error or 'closed'}")
        return self._client

    def release(self) -> None:
        """Close the client (if it was opened)."""
        self._done.set()


class _Run:
    def __init__(
        self,
        target: CheckTarget,
        options: ProbeOptions,
        expected: ExpectedFailures,
        on_result: ResultHandler | None,
    ) -> None:
        self.target = target
        self.options = options
        self.expected = expected
        self.on_result = on_result
        self.report = Report(target.name)
        self.tap = Tap()
        self.done = 0
        self.planned = 0

    def selected(self, checks: Sequence[RegisteredCheck]) -> list[RegisteredCheck]:
        chosen = [
            c for c in checks if not self.target.select or c.check_id.startswith(self.target.select)
        ]
        return sorted(chosen, key=lambda c: c.runs_last)  # stable: registration order otherwise

    def add(
        self,
        registered: RegisteredCheck,
        probe: Probe,
        outcome: Outcome,
        reason: str,
        seconds: float,
    ) -> None:
        expected = outcome is Outcome.FAIL and self.expected.covers(
            registered.check_id, probe.revision
        )
        result = CheckResult(
            check_id=registered.check_id,
            area=registered.area,
            title=registered.title,
            revision=probe.revision,
            transport=probe.transport,
            outcome=outcome,
            reason=reason,
            spec=registered.spec,
            seconds=seconds,
            expected=expected,
        )
        self.report.results.append(result)
        self.done += 1
        if self.on_result is not None:
            self.on_result(result, self.done, self.planned)

    async def run_revision(
        self,
        checks: Sequence[RegisteredCheck],
        transport: TransportName,
        revision: str,
        http: httpx2.AsyncClient | None,
        client_target: str | Sequence[str],
    ) -> None:
        async with trio.open_nursery() as nursery:
            holder = _ClientHolder(nursery, make_client(client_target, revision, self.options))
            try:
                await self._run_checks(checks, transport, revision, http, holder)
            finally:
                holder.release()

    async def _run_checks(
        self,
        checks: Sequence[RegisteredCheck],
        transport: TransportName,
        revision: str,
        http: httpx2.AsyncClient | None,
        holder: _ClientHolder,
    ) -> None:
        if transport == "stdio" and not self.target.revisions:
            # Over stdio the revisions claimed are those the client negotiates.
            try:
                with trio.fail_after(self.options.timeout * _CHECK_TIMEOUT_FACTOR):
                    client = await holder.get()
            except (Failed, trio.TooSlowError):
                client = None
            if client is None or client.protocol_version != revision:
                self.planned -= sum(1 for c in checks if transport in c.transports)
                return
        probe = Probe(
            url=self.target.url if transport == "http" else self.target.sse_url,
            revision=revision,
            transport=transport,
            options=self.options,
            http=http,
            tap=self.tap,
            client_source=holder.get,
            command=self.target.command,
        )
        for registered in checks:
            if transport not in registered.transports:
                continue  # a check of another transport: not reported at all
            why_not = registered.not_applicable(revision, transport)
            if why_not is None and registered.calls_tools and not self.options.call_tools:
                why_not = "calls tools: run with --call-tools"
            if why_not is not None:
                self.add(registered, probe, Outcome.SKIP, why_not, 0.0)
                continue
            timeout = self.options.timeout * _CHECK_TIMEOUT_FACTOR
            try:
                self.add(registered, probe, *await _run_one(registered, probe, timeout))
            finally:
                await probe.aclose()

    async def run(self) -> Report:
        checks = self.selected(load_checks())
        http = httpx2.AsyncClient(auth=self.options.auth, verify=self.options.verify)
        async with http:
            plan: list[tuple[TransportName, str, str | Sequence[str]]] = []
            if self.target.url is not None:
                asked = self.target.revisions or SUPPORTED_VERSIONS
                refusals: list[str] = []
                revisions = await claimed_revisions(
                    lambda revision: self._probe("http", revision, http), refusals, asked
                )
                if not revisions:
                    reasons = {r.partition(": ")[2] for r in refusals}
                    why = reasons.pop() if len(reasons) == 1 else "; ".join(refusals)
                    self.report.errors.append(
                        f"{self.target.url}: the server accepted none of the revisions "
                        f"{', '.join(asked)} ({why[:500]})"
                    )
                elif self.target.revisions:
                    # Asked for, not accepted: nothing to check there (answering another
                    # revision is what a server that lacks one must do).
                    self.report.errors += [f"{self.target.url}: {r}" for r in refusals]
                plan += [("http", revision, self.target.url) for revision in revisions]
            if self.target.sse_url is not None:
                plan.append(("sse", "2024-11-05", self.target.sse_url))
            if self.target.command is not None:
                for revision in self.target.revisions or SUPPORTED_VERSIONS:
                    plan.append(("stdio", revision, list(self.target.command)))
            self.report.revisions = tuple(dict.fromkeys(revision for _, revision, _ in plan))
            self.planned = sum(
                1 for transport, _, _ in plan for c in checks if transport in c.transports
            )
            for transport, revision, client_target in plan:
                await self.run_revision(
                    checks,
                    transport,
                    revision,
                    http if transport != "stdio" else None,
                    client_target,
                )
        return self.report

    def _probe(self, transport: TransportName, revision: str, http: httpx2.AsyncClient) -> Probe:
        return Probe(
            url=self.target.url,
            revision=revision,
            transport=transport,
            options=self.options,
            http=http,
            tap=self.tap,
        )


async def check(
    url: str | None = None,
    *,
    sse_url: str | None = None,
    command: Sequence[str] | None = None,
    revisions: Sequence[str] = (),
    select: Sequence[str] = (),
    options: ProbeOptions | None = None,
    expected_failures: ExpectedFailures | None = None,
    on_result: ResultHandler | None = None,
    **probe_options: Any,
) -> Report:
    """Check the server at ``url`` (and/or ``sse_url``, ``command``): every check
    where it applies, in every claimed revision (or ``revisions``). ``options``
    (or keyword arguments of :class:`ProbeOptions`) say how to reach it."""
    for revision in revisions:
        if revision not in SUPPORTED_VERSIONS:
            raise ValueError(f"unknown revision {revision!r}")
    if url is None and sse_url is None and command is None:
        raise ValueError("nothing to check: give a url, an sse_url or a command")
    target = CheckTarget(
        url=url,
        sse_url=sse_url,
        command=tuple(command) if command is not None else None,
        revisions=tuple(revisions),
        select=tuple(select),
    )
    run = _Run(
        target,
        options if options is not None else ProbeOptions(**probe_options),
        expected_failures or ExpectedFailures(),
        on_result,
    )
    return await run.run()


def check_sync(url: str | None = None, **kwargs: Any) -> Report:
    """:func:`check` from synchronous code (it runs its own trio loop)."""

    async def main() -> Report:
        return await check(url, **kwargs)

    return trio.run(main)


def assert_conformant(url: str | None = None, **kwargs: Any) -> Report:
    """:func:`check_sync`, raising :class:`AssertionError` listing the failing rows
    (use it from a test); the report otherwise."""
    report = check_sync(url, **kwargs)
    if report.exit_status:
        rows = [f"{r.check_id}@{r.revision} {r.transport}: {r.reason}" for r in report.failures]
        raise AssertionError("\n".join([*report.errors, *rows]))
    return report
