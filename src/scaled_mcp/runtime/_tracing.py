"""OpenTelemetry traces: a server span per request, named in MCP's semantic conventions.

With tracing on (``RuntimeConfig(tracing=True)``, ``--tracing``; the ``otel`` extra),
the runtime serves a :class:`TracedApplication`: each handler runs inside a span
``"{method} {target}"`` (``tools/call echo``) of kind SERVER, with the attributes of
OpenTelemetry's MCP conventions -- ``mcp.method.name``, ``gen_ai.tool.name`` (a tool
call), ``mcp.session.id``, ``jsonrpc.request.id``, ``mcp.protocol.version`` -- and
``error.type`` when it fails. Its parent comes from the request's ``_meta``
(``traceparent``/``tracestate``, as MCP's conventions carry them), else from the HTTP
request's headers (:data:`http_trace_headers`, set by the runtime only while tracing).

With tracing off nothing here is imported: no span, no wrapper, no header copied.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, cast

from ..protocol.http import HttpRequest
from ._application import Application, InputNeeded
from ._front import Responder
from ._logs import serving_request
from ._metered import ApplicationProxy

__all__ = ["TracedApplication", "http_trace_headers", "with_trace_headers"]

#: The trace headers (``traceparent``, ``tracestate``) of the HTTP request being served.
http_trace_headers: ContextVar[Mapping[str, str] | None] = ContextVar(
    "scaled_mcp_http_trace_headers", default=None
)

_TRACE_KEYS = ("traceparent", "tracestate")


class TracedApplication(ApplicationProxy):
    """``app``, its :meth:`handle` run inside a span; every other attribute is ``app``'s."""

    def __init__(self, app: Application[Any], tracer_provider: Any = None) -> None:
        from opentelemetry import propagate, trace

        super().__init__(app)
        self._tracer = trace.get_tracer("scaled_mcp", tracer_provider=tracer_provider)
        self._extract = propagate.extract
        self._server = trace.SpanKind.SERVER
        self._error = trace.StatusCode.ERROR

    @staticmethod
    def wrap(app: Application[Any], tracer_provider: Any = None) -> Application[Any]:
        """``app`` traced, as the runtime sees applications."""
        return cast(Application[Any], TracedApplication(app, tracer_provider))

    def _parent(self, params: Mapping[str, Any]) -> Any:
        meta = params.get("_meta")
        if isinstance(meta, dict) and isinstance(meta.get("traceparent"), str):
            carrier = {key: meta[key] for key in _TRACE_KEYS if isinstance(meta.get(key), str)}
            return self._extract(carrier)
        headers = http_trace_headers.get()
        return self._extract(dict(headers)) if headers else None

    async def handle(self, method: str, params: dict[str, Any], context: Any) -> dict[str, Any]:
        """Run the application's handler inside its request's span."""
        target = params.get("name") if method in ("tools/call", "prompts/get") else None
        if target is None and method == "resources/read":
            target = params.get("uri")
        name = f"{method} {target}" if isinstance(target, str) else method
        attributes: dict[str, Any] = {"mcp.method.name": method}
        if method == "tools/call" and isinstance(target, str):
            attributes["gen_ai.tool.name"] = target
            attributes["gen_ai.operation.name"] = "execute_tool"
        elif method == "prompts/get" and isinstance(target, str):
            attributes["gen_ai.prompt.name"] = target
        elif method == "resources/read" and isinstance(target, str):
            attributes["mcp.resource.uri"] = target
        serving = serving_request.get()
        if serving is not None:
            session_id, request_id = serving
            if session_id is not None:
                attributes["mcp.session.id"] = session_id
            attributes["jsonrpc.request.id"] = str(request_id)
        meta = params.get("_meta")
        if isinstance(meta, dict):
            version = meta.get("io.modelcontextprotocol/protocolVersion")
            if isinstance(version, str):
                attributes["mcp.protocol.version"] = version
        with self._tracer.start_as_current_span(
            name,
            context=self._parent(params),
            kind=self._server,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                result = await self._handle(method, params, context)
            except InputNeeded:
                span.set_attribute("mcp.result.type", "input_required")
                raise
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(self._error, type(exc).__name__)
                raise
            if method == "tools/call" and result.get("isError"):
                span.set_attribute("error.type", "tool_error")
                span.set_status(self._error, "tool_error")
            return result


def with_trace_headers(
    handle_http: Callable[[HttpRequest, Responder], Awaitable[None]],
) -> Callable[[HttpRequest, Responder], Awaitable[None]]:
    """``handle_http`` keeping each request's trace headers for its span."""

    async def traced(request: HttpRequest, responder: Responder) -> None:
        headers = {
            name: value for name, value in request.headers if name in ("traceparent", "tracestate")
        }
        token = http_trace_headers.set(headers)
        try:
            await handle_http(request, responder)
        finally:
            http_trace_headers.reset(token)

    return traced
