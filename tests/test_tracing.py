"""OpenTelemetry spans: one per request in MCP's conventions (method, tool, session,
request id), parented by ``_meta``'s ``traceparent`` or else the HTTP request's, in both
eras; with tracing off, no span at all. The SDK's in-memory exporter records them."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from scaled_mcp import MCPServer
from scaled_mcp.runtime import Runtime, RuntimeConfig

from .helpers import mcp_headers, open_session, post, serving_in_memory, stateless_meta

app = MCPServer("tracing-tests")

TRACE = "0af7651916cd43dd8448eb211c80319c"
META_PARENT = f"00-{TRACE}-b7ad6b7169203331-01"
HTTP_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HTTP_PARENT = f"00-{HTTP_TRACE}-00f067aa0ba902b7-01"


@app.tool()
async def echo(text: str) -> str:
    return text


@app.tool()
async def fail() -> str:
    raise RuntimeError("broken on purpose")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def traced(exporter: InMemorySpanExporter) -> Runtime:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = RuntimeConfig(shutdown_grace=1, tracing=True, tracer_provider=provider)
    return Runtime(app, config=config)


def call(request_id: int | str, name: str, meta: dict[str, object] | None = None) -> object:
    params: dict[str, object] = {"name": name, "arguments": {"text": "x"} if name == "echo" else {}}
    if meta is not None:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def by_request(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {str(span.attributes["jsonrpc.request.id"]): span for span in spans}  # type: ignore[index]


async def test_a_span_per_request_in_the_session_era(exporter: InMemorySpanExporter) -> None:
    runtime = traced(exporter)
    async with serving_in_memory(runtime):
        headers = await open_session(runtime)
        await post(runtime, call(1, "echo", {"traceparent": META_PARENT}), headers)
        await post(runtime, call(2, "echo"), {**headers, "traceparent": HTTP_PARENT})
        await post(runtime, call(3, "fail"), headers)
    spans = by_request(exporter.get_finished_spans())
    first = spans["1"]
    assert first.name == "tools/call echo" and first.kind is SpanKind.SERVER
    assert first.attributes is not None
    assert first.attributes["mcp.method.name"] == "tools/call"
    assert first.attributes["gen_ai.tool.name"] == "echo"
    assert first.attributes["mcp.session.id"] == headers["mcp-session-id"]
    assert first.parent is not None and f"{first.parent.trace_id:032x}" == TRACE
    second = spans["2"]  # no _meta: the HTTP header's context
    assert second.parent is not None and f"{second.parent.trace_id:032x}" == HTTP_TRACE
    failed = spans["3"]
    assert failed.parent is None  # a new trace
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["error.type"] == "tool_error"


async def test_a_span_per_request_on_the_stateless_wire(exporter: InMemorySpanExporter) -> None:
    runtime = traced(exporter)
    async with serving_in_memory(runtime):
        body = call("r1", "echo", stateless_meta(traceparent=META_PARENT))
        wire = mcp_headers(version="2026-07-28", mcp_method="tools/call", mcp_name="echo")
        assert (await post(runtime, body, wire)).status == 200
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["jsonrpc.request.id"] == "r1"
    assert span.attributes["mcp.protocol.version"] == "2026-07-28"
    assert "mcp.session.id" not in span.attributes
    assert span.parent is not None and f"{span.parent.trace_id:032x}" == TRACE


async def test_no_span_when_tracing_is_off(exporter: InMemorySpanExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=1, tracer_provider=provider))
    async with serving_in_memory(runtime):
        headers = await open_session(runtime)
        await post(runtime, call(1, "echo", {"traceparent": META_PARENT}), headers)
    assert exporter.get_finished_spans() == ()
    assert type(runtime.app) is MCPServer  # nothing wrapped
