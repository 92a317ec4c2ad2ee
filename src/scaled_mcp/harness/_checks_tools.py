"""Tool calls (only with ``--call-tools``: tools have side effects): each listed tool called
with arguments generated from its ``inputSchema`` (seeded) and with invalid ones; the
answer must be a result or a JSON-RPC error, never a server error, a dropped
connection or a hang; invalid arguments must not pass as a plain success; a tool with
an ``outputSchema`` returns conforming ``structuredContent``. An unknown tool (no side
effect) is checked without ``--call-tools``.

The calls go over raw sessions (streamable HTTP or stdio), so that a server error, a cut
connection or an exited process is seen as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs
import orjson

from ..protocol.jsonrpc import ErrorCode
from ..protocol.versions import SUPPORTED_VERSIONS
from ._arguments import invalid_arguments, valid_arguments
from ._checks_features import RESULT_KIND
from ._model import Failed, Level, Skipped, SpecRef, TransportName
from ._probe import Probe, RawSession
from ._registry import check
from ._schemas import UnknownDialect, instance_errors

__all__: list[str] = []

#: The most tools called in one check.
MAX_TOOLS: Final = 20
#: The transports the calls go over (raw sessions: the status and a cut connection seen).
HTTP_AND_STDIO: Final[tuple[TransportName, ...]] = ("http", "stdio")
#: How many times a stream closed before its answer is resumed.
MAX_RESUMPTIONS: Final = 5
#: A tool no server has.
UNKNOWN_TOOL: Final = "scaled-mcp-check-no-such-tool"

_REPLY: Final = SpecRef(
    "2025-11-25",
    "Server Features, Tools, Error Handling (and JSON-RPC 2.0, 5 Response object)",
    "Tools use two error reporting mechanisms: Protocol Errors: Standard JSON-RPC errors "
    "[...] Tool Execution Errors: Reported in tool results with isError: true. (JSON-RPC "
    "2.0: When a rpc call is made, the Server MUST reply with a Response)",
)


@attrs.frozen
class _Answer:
    """What a ``tools/call`` got: a ``result``, an ``error`` object, or a ``fault``
    (a server error, no answer, a cut connection, a hang)."""

    result: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    fault: str | None = None


async def _call(session: RawSession, name: str, arguments: Any) -> _Answer:
    body = session.message("tools/call", {"name": name, "arguments": arguments})
    try:
        answer = await session.send(body)
    except Failed as exc:  # no answer in time, or the connection failed
        return _Answer(fault=exc.reason)
    if answer.status >= 500:
        return _Answer(fault=f"a server error: {answer.describe()}")
    response = answer.response_to(body["id"])
    for _ in range(MAX_RESUMPTIONS):
        if response is not None or not (answer.is_sse and answer.last_event_id):
            break
        # 2025-11-25, Resumability: the server may close a POST's stream before its
        # answer; the client resumes it with a GET carrying Last-Event-ID.
        headers = {**session.headers(), "last-event-id": answer.last_event_id}
        try:
            answer = await session.probe.get(
                headers,
                read_seconds=session.probe.options.timeout,
                wait_for={orjson.dumps(body["id"])},
            )
        except Failed as exc:
            return _Answer(fault=f"resuming the stream: {exc.reason}")
        if answer.status >= 500:
            return _Answer(fault=f"a server error resuming the stream: {answer.describe()}")
        response = answer.response_to(body["id"])
    if response is None:
        return _Answer(fault=f"no JSON-RPC answer: {answer.describe()}")
    error = response.get("error")
    if isinstance(error, Mapping):
        return _Answer(error=error)
    result = response.get("result")
    if not isinstance(result, Mapping):
        return _Answer(fault=f"a result that is not an object: {result!r}"[:200])
    session.probe.tap.record(session.revision, "raw", dict(result), kind=RESULT_KIND + "tools/call")
    return _Answer(result=result)


async def _tools(probe: Probe) -> tuple[RawSession, list[Mapping[str, Any]]]:
    session = await probe.session()
    if not isinstance(session.capabilities.get("tools"), dict):
        raise Skipped("the server does not declare the tools capability")
    tools: list[Mapping[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_TOOLS):
        page = await session.result("tools/list", {"cursor": cursor} if cursor else {})
        listed = page.get("tools") if isinstance(page, Mapping) else None
        tools += [
            t for t in listed or [] if isinstance(t, Mapping) and isinstance(t.get("name"), str)
        ]
        cursor = page.get("nextCursor") if isinstance(page, Mapping) else None
        if not isinstance(cursor, str) or len(tools) >= MAX_TOOLS:
            break
    if not tools:
        raise Skipped("the server lists no tools")
    return session, tools[:MAX_TOOLS]


def _schema(tool: Mapping[str, Any], field: str) -> Mapping[str, Any] | None:
    schema = tool.get(field)
    return schema if isinstance(schema, Mapping) else None


@check(
    "tools.call-valid-arguments",
    area="tools",
    title="each tool called with arguments valid against its inputSchema answers",
    spec=_REPLY,
    transports=HTTP_AND_STDIO,
    calls_tools=True,
)
async def call_valid_arguments(probe: Probe) -> None:
    session, tools = await _tools(probe)
    problems: list[str] = []
    ungenerated: list[str] = []
    for tool in tools:
        schema = _schema(tool, "inputSchema") or {"type": "object"}
        arguments = valid_arguments(schema, probe.rng)
        if arguments is None:
            ungenerated.append(str(tool["name"]))
            continue
        answer = await _call(session, tool["name"], arguments)
        if answer.fault is not None:
            problems.append(f"{tool['name']}({arguments}): {answer.fault}")
    await session.close()
    if problems:
        raise Failed("; ".join(problems[:5]))
    if len(ungenerated) == len(tools):
        raise Skipped(f"no valid arguments could be generated for {', '.join(ungenerated)}")


@check(
    "tools.call-invalid-arguments",
    area="tools",
    title="each tool called with invalid arguments answers an error (-32602 or isError)",
    spec=SpecRef(
        "2025-11-25",
        "Server Features, Tools, Security Considerations",
        "Servers MUST: Validate all tool inputs [...] Tool Execution Errors: Reported in tool "
        "results with isError: true: [...] Input validation errors",
    ),
    transports=HTTP_AND_STDIO,
    calls_tools=True,
)
async def call_invalid_arguments(probe: Probe) -> None:
    session, tools = await _tools(probe)
    faults: list[str] = []
    accepted: list[str] = []
    tried = 0
    for tool in tools:
        schema = _schema(tool, "inputSchema") or {"type": "object"}
        for case in invalid_arguments(schema, probe.rng):
            tried += 1
            answer = await _call(session, tool["name"], case.arguments)
            if answer.fault is not None:
                faults.append(f"{tool['name']} with {case.how}: {answer.fault}")
            elif answer.result is not None and answer.result.get("isError") is not True:
                accepted.append(f"{tool['name']} with {case.how}: a successful result")
    # Arguments that are not an object break the CallToolRequest schema: a protocol error.
    answer = await _call(session, tools[0]["name"], ["not", "an", "object"])
    if answer.fault is not None:
        faults.append(f"{tools[0]['name']} with arguments that are not an object: {answer.fault}")
    await session.close()
    if faults:
        raise Failed("; ".join(faults[:5]))
    if accepted:
        raise Failed("invalid arguments accepted: " + "; ".join(accepted[:5]))
    if not tried:
        raise Skipped("no tool's inputSchema rejects any arguments this checker makes")


@check(
    "tools.output-schema",
    area="tools",
    title="a tool with an outputSchema returns structuredContent that conforms to it",
    spec=SpecRef(
        "2025-11-25",
        "Server Features, Tools, Output Schema",
        "If an output schema is provided: Servers MUST provide structured results that "
        "conform to this schema.",
    ),
    revisions=[v for v in SUPPORTED_VERSIONS if v >= "2025-06-18"],
    transports=HTTP_AND_STDIO,
    calls_tools=True,
)
async def output_schema(probe: Probe) -> None:
    session, tools = await _tools(probe)
    with_schema = [t for t in tools if _schema(t, "outputSchema") is not None]
    if not with_schema:
        await session.close()
        raise Skipped("no listed tool has an outputSchema")
    problems: list[str] = []
    checked = 0
    for tool in with_schema:
        arguments = valid_arguments(_schema(tool, "inputSchema") or {"type": "object"}, probe.rng)
        if arguments is None:
            continue
        answer = await _call(session, tool["name"], arguments)
        if answer.fault is not None:
            problems.append(f"{tool['name']}: {answer.fault}")
            continue
        if answer.result is None or answer.result.get("isError") is True:
            continue  # an error: no structured result to judge
        checked += 1
        if "structuredContent" not in answer.result:
            problems.append(f"{tool['name']}: no structuredContent")
            continue
        try:
            errors = instance_errors(tool["outputSchema"], answer.result["structuredContent"])
        except UnknownDialect as exc:
            problems.append(f"{tool['name']}: {exc}")
            continue
        problems += [f"{tool['name']}: {error}" for error in errors[:2]]
    await session.close()
    if problems:
        raise Failed("; ".join(problems[:5]))
    if not checked:
        raise Skipped("no tool with an outputSchema returned a successful result")


@check(
    "tools.unknown-tool",
    area="tools",
    title="calling a tool the server does not have gets a protocol error (-32602)",
    spec=SpecRef(
        "2025-11-25",
        "Server Features, Tools, Error Handling",
        "Protocol Errors: Standard JSON-RPC errors for issues like: Unknown tools [...] "
        '{"code": -32602, "message": "Unknown tool: invalid_tool_name"}',
    ),
    transports=HTTP_AND_STDIO,
)
async def unknown_tool(probe: Probe) -> None:
    session = await probe.session()
    if not isinstance(session.capabilities.get("tools"), dict):
        raise Skipped("the server does not declare the tools capability")
    answer = await _call(session, UNKNOWN_TOOL, {})
    await session.close()
    if answer.fault is not None:
        raise Failed(answer.fault)
    if answer.result is not None:
        if answer.result.get("isError") is True:
            raise Failed("an isError result, not a protocol error", level=Level.SHOULD)
        raise Failed("a successful result for a tool that does not exist")
    code = answer.error.get("code") if answer.error is not None else None
    if code != ErrorCode.INVALID_PARAMS:
        raise Failed(f"error {code!r}, not -32602", level=Level.SHOULD)
