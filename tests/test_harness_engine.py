"""The check engine: the registry, expected failures, the report's formats, and the
runner against a deliberately broken server (each defect it has must be a FAIL of
the check that enforces that requirement, and a hang a FAIL within the deadline)."""

from __future__ import annotations

import io
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any

import h11
import orjson
import pytest
import trio
from hypothesis import given, strategies as st

from scaled_mcp.harness import (
    HTTP_ONLY,
    CheckResult,
    ExpectedFailures,
    Failed,
    Level,
    Outcome,
    Probe,
    ProgressLine,
    Report,
    SpecRef,
    _registry,
    check,
    check_definition,
    format_table,
    registered_checks,
    to_json,
    to_junit,
)
from scaled_mcp.harness._runner import load_checks
from scaled_mcp.protocol.versions import SUPPORTED_VERSIONS

SPEC = SpecRef("2025-11-25", "Somewhere", "Something MUST hold.")


@pytest.fixture(autouse=True)
def own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks a test registers are forgotten after it."""
    load_checks()
    monkeypatch.setattr(_registry, "_CHECKS", dict(_registry._CHECKS))


# -- the registry ----------------------------------------------------------------------------


def test_a_check_id_is_registered_once() -> None:
    async def fn(probe: Probe) -> None:
        del probe

    check_definition("test.once", area="test", title="t", spec=SPEC)(fn)
    with pytest.raises(ValueError, match="registered twice"):
        check_definition("test.once", area="test", title="t", spec=SPEC)(fn)


def test_a_check_names_only_known_revisions_and_transports() -> None:
    with pytest.raises(ValueError, match="unknown revisions"):
        check_definition("test.bad-rev", area="test", title="t", spec=SPEC, revisions=["1.0"])
    with pytest.raises(ValueError, match="unknown transports"):
        check_definition(
            "test.bad-tr",
            area="test",
            title="t",
            spec=SPEC,
            transports=["carrier-pigeon"],  # type: ignore[list-item]
        )


def test_a_check_says_why_it_does_not_apply() -> None:
    async def fn(probe: Probe) -> None:
        del probe

    check_definition(
        "test.where",
        area="test",
        title="t",
        spec=SPEC,
        revisions=["2025-03-26"],
        transports=HTTP_ONLY,
    )(fn)
    registered = next(c for c in registered_checks() if c.check_id == "test.where")
    assert registered.not_applicable("2025-03-26", "http") is None
    assert "not a requirement of 2025-06-18" in (
        registered.not_applicable("2025-06-18", "http") or ""
    )
    assert "stdio" in (registered.not_applicable("2025-03-26", "stdio") or "")


def test_a_broken_must_fails_and_a_broken_should_warns() -> None:
    assert Level.MUST.broken is Outcome.FAIL
    assert Level.SHOULD.broken is Outcome.WARN


# -- expected failures ------------------------------------------------------------------------


def test_expected_failures_are_read_per_check_and_per_revision() -> None:
    expected = ExpectedFailures.parse(
        "# known\ntransport.origin\n\njsonrpc.id-types@2025-06-18  # only there\n"
    )
    assert expected.covers("transport.origin", "2025-11-25")
    assert expected.covers("jsonrpc.id-types", "2025-06-18")
    assert not expected.covers("jsonrpc.id-types", "2025-11-25")
    assert not expected.covers("lifecycle.ping", None)
    with pytest.raises(ValueError, match="unknown revision"):
        ExpectedFailures.parse("x.y@2099-01-01")


_IDS = st.from_regex(r"[a-z]+\.[a-z][a-z-]{0,20}", fullmatch=True)


@given(
    everywhere=st.sets(_IDS, max_size=5),
    per_revision=st.sets(st.tuples(_IDS, st.sampled_from(SUPPORTED_VERSIONS)), max_size=5),
)
def test_expected_failures_read_back_what_was_written(
    everywhere: set[str], per_revision: set[tuple[str, str]]
) -> None:
    text = "\n".join([*everywhere, *(f"{i}@{r}" for i, r in per_revision)])
    parsed = ExpectedFailures.parse(text)
    assert parsed.everywhere == everywhere
    assert parsed.per_revision == per_revision


# -- the report -------------------------------------------------------------------------------


def _result(check_id: str, outcome: Outcome, **more: Any) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        area=check_id.partition(".")[0],
        title="t",
        revision="2025-11-25",
        transport="http",
        outcome=outcome,
        reason=f"reason of {check_id}",
        spec=SPEC,
        **more,
    )


def test_the_report_counts_formats_and_exits() -> None:
    report = Report(
        "http://x/mcp",
        ("2025-11-25",),
        [
            _result("a.pass", Outcome.PASS),
            _result("a.fail", Outcome.FAIL),
            _result("b.warn", Outcome.WARN),
            _result("b.skip", Outcome.SKIP),
            _result("b.known", Outcome.FAIL, expected=True),
        ],
    )
    assert report.exit_status == 1
    assert [r.check_id for r in report.failures] == ["a.fail"]
    table = format_table(report, verbose=False)
    assert "FAIL  a.fail" in table and "xFAIL b.known" in table and "WARN  b.warn" in table
    assert "a.pass" not in table and "Something MUST hold." in table
    assert "5 checks: 1 passed, 1 failed, 1 warned, 1 skipped, 1 expected failures" in table
    assert "a.pass" in format_table(report, verbose=True)
    data = orjson.loads(to_json(report))
    assert data["summary"] == {"PASS": 1, "FAIL": 2, "WARN": 1, "SKIP": 1}
    assert data["exit_status"] == 1 and data["results"][1]["spec"]["section"] == "Somewhere"
    suites = {s.get("name"): s for s in ET.fromstring(to_junit(report))}
    assert suites["a"].get("failures") == "1" and suites["b"].get("failures") == "0"
    assert suites["b"].get("skipped") == "1"
    assert Report("x", (), [_result("a.pass", Outcome.PASS)]).exit_status == 0
    assert Report("x", (), [], ["no revision"]).exit_status == 1


# -- a broken server ---------------------------------------------------------------------------


#: The headers of every request the broken server received, in order.
SEEN_HEADERS: list[dict[str, str]] = []


def _json(status: int, body: object, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json", **headers}, orjson.dumps(body)


def broken_answer(method: str, headers: dict[str, str], body: bytes) -> Any:
    """How the broken server answers: every defect a check must see. ``None``: hang."""
    if method == "GET":
        return _json(200, {"not": "a stream"})  # neither an SSE stream nor 405
    if method in ("DELETE", "PUT", "PATCH"):
        return _json(200, {})
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _json(500, {"error": "boom"})  # a parse error is a server error
    if not isinstance(message, dict):
        return _json(500, {"error": "batch"})
    if message.get("method") == "initialize":
        version = message["params"]["protocolVersion"]
        version = "2025-06-18" if version == "2024-11-05" else version  # it lacks 2024-11-05
        # No serverInfo in the result.
        result: dict[str, Any] = {"protocolVersion": version, "capabilities": {"tools": {}}}
        return _json(200, {"jsonrpc": "2.0", "id": 0, "result": result}, **{"mcp-session-id": "s"})
    if message.get("method") == "tools/list":
        return None  # hangs
    if "id" not in message:
        return 202, {}, b""
    return _json(200, {"jsonrpc": "2.0", "id": 999, "result": {}})  # the wrong id, always


async def _serve_connection(stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    request: h11.Request | None = None
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(65536)
            if not data:
                return
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            request, body = event, b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            headers = {k.decode().lower(): v.decode() for k, v in request.headers}
            SEEN_HEADERS.append(headers)
            answer = broken_answer(request.method.decode(), headers, body)
            if answer is None:
                await trio.sleep_forever()
            status, out, payload = answer
            fields = [*out.items(), ("content-length", str(len(payload)))]
            await stream.send_all(conn.send(h11.Response(status_code=status, headers=fields)))
            await stream.send_all(conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage()))
            conn.start_next_cycle()
        else:
            return


@asynccontextmanager
async def broken_server() -> AsyncIterator[str]:
    """A server with many defects, on a free port: its URL."""

    async def handle(stream: trio.SocketStream) -> None:
        with trio.move_on_after(30):
            with suppress(trio.BrokenResourceError, h11.RemoteProtocolError):
                await _serve_connection(stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield f"http://127.0.0.1:{port}/mcp"
        nursery.cancel_scope.cancel()


async def test_each_defect_of_a_broken_server_is_a_failure_of_its_check() -> None:
    async with broken_server() as url:
        report = await check(url, revisions=["2025-11-25"], timeout=1.0)
    outcome = {r.check_id: r for r in report.results if r.revision == "2025-11-25"}
    for check_id in (
        "lifecycle.initialize",  # no serverInfo
        "jsonrpc.parse-error",  # 500
        "jsonrpc.method-not-found",  # a result with another id
        "jsonrpc.id-types",  # the id not echoed
        "transport.origin",  # a foreign Origin accepted
        "transport.unknown-session",  # a session never issued accepted
        "transport.get-stream",  # GET answers JSON
        "transport.protocol-version-header",  # an unknown version accepted
        "transport.other-methods",  # PUT answered 200
        "lifecycle.capabilities-answered",  # tools/list hangs
    ):
        assert outcome[check_id].outcome is Outcome.FAIL, (check_id, outcome[check_id])
    assert "within" in outcome["lifecycle.capabilities-answered"].reason
    assert "serverInfo" in outcome["lifecycle.initialize"].reason
    assert report.exit_status == 1


async def test_expected_failures_leave_the_exit_status_zero() -> None:
    async with broken_server() as url:
        first = await check(url, revisions=["2025-11-25"], select=["jsonrpc."], timeout=1.0)
        failing = {r.check_id for r in first.failures}
        assert failing
        expected = ExpectedFailures(frozenset(failing))
        second = await check(
            url,
            revisions=["2025-11-25"],
            select=["jsonrpc."],
            timeout=1.0,
            expected_failures=expected,
        )
    assert second.exit_status == 0
    assert {r.check_id for r in second.results if r.expected} == failing


async def test_a_server_that_claims_no_revision_is_an_error_of_the_run() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, _refuse, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        report = await check(f"http://127.0.0.1:{port}/mcp", timeout=1.0)
        nursery.cancel_scope.cancel()
    assert report.errors and report.exit_status == 1 and not report.results


async def _refuse(stream: trio.SocketStream) -> None:
    await stream.aclose()


async def test_a_check_that_raises_the_unexpected_is_reported_not_crashing() -> None:
    @check_definition("zz.crashes", area="zz", title="t", spec=SPEC, level=Level.SHOULD)
    async def crashes(probe: Probe) -> None:
        raise KeyError("oops")

    @check_definition("zz.fails-should", area="zz", title="t", spec=SPEC)
    async def fails_should(probe: Probe) -> None:
        raise Failed("a SHOULD part", level=Level.SHOULD)

    async with broken_server() as url:
        report = await check(url, revisions=["2025-11-25"], select=["zz."], timeout=1.0)
    outcome = {r.check_id: r for r in report.results}
    assert outcome["zz.crashes"].outcome is Outcome.WARN
    assert "KeyError" in outcome["zz.crashes"].reason
    assert outcome["zz.fails-should"].outcome is Outcome.WARN
    assert report.exit_status == 0


# -- stdio --------------------------------------------------------------------------------------

#: A stdio server (plain Python, quick to start) that answers initialize, then every
#: request with the wrong id, and nothing to a line that is not JSON.
BROKEN_STDIO = """
import json, sys
for line in sys.stdin:
    try:
        message = json.loads(line)
    except ValueError:
        continue
    if not isinstance(message, dict) or "id" not in message:
        continue
    if message.get("method") == "initialize":
        result = {"protocolVersion": message["params"]["protocolVersion"], "capabilities": {},
                  "serverInfo": {"name": "broken", "version": "1"}}
        reply = {"jsonrpc": "2.0", "id": message["id"], "result": result}
    else:
        reply = {"jsonrpc": "2.0", "id": 999, "result": {}}
    print(json.dumps(reply), flush=True)
"""


async def test_the_json_rpc_checks_run_over_stdio_and_see_its_defects() -> None:
    report = await check(
        command=[sys.executable, "-c", BROKEN_STDIO],
        revisions=["2025-11-25"],
        select=["jsonrpc.", "lifecycle.initialize"],
        timeout=2.0,
    )
    outcome = {r.check_id: r.outcome for r in report.results}
    assert outcome["lifecycle.initialize"] is Outcome.PASS
    for check_id in ("jsonrpc.parse-error", "jsonrpc.method-not-found", "jsonrpc.id-types"):
        assert outcome[check_id] is Outcome.FAIL, check_id
    assert {r.transport for r in report.results} == {"stdio"}


def test_the_progress_line_is_rewritten_in_place_and_cleared() -> None:
    out = io.StringIO()
    progress = ProgressLine(out, enabled=True)
    progress(_result("a.fail", Outcome.FAIL), 1, 3)
    progress(_result("a.pass", Outcome.PASS), 2, 3)
    progress.close()
    text = out.getvalue()
    assert text.startswith("\r[1/3] 1 failed  2025-11-25 a.fail: FAIL")
    assert "\r[2/3] 1 failed  2025-11-25 a.pass: PASS" in text and "\n" not in text
    assert text.endswith("\r")
    quiet = io.StringIO()
    off = ProgressLine(quiet, enabled=False)
    off(_result("a.fail", Outcome.FAIL), 1, 1)
    off.close()
    assert quiet.getvalue() == ""


async def test_a_revision_asked_for_that_the_server_lacks_is_an_error_not_failed_checks() -> None:
    async with broken_server() as url:
        report = await check(
            url, revisions=["2024-11-05", "2025-11-25"], select=["lifecycle."], timeout=1.0
        )
    assert report.revisions == ("2025-11-25",)
    assert len(report.errors) == 1 and "2024-11-05" in report.errors[0]
    assert "negotiated '2025-06-18'" in report.errors[0]
    assert {r.revision for r in report.results} == {"2025-11-25"}
