"""A deadline for every handler: ``RuntimeConfig.handler_timeout`` (``--handler-timeout``),
or the application's own for a request (``handler_timeout(method, params)``: an
:class:`~scaled_mcp.server.MCPServer`'s ``@app.tool(timeout=...)``).

A handler still running when its deadline passes is cancelled, and its caller gets
a JSON-RPC error (``REQUEST_TIMEOUT``, -32001) instead of waiting on. Handlers that
cannot wait (the runtime runs them with no cancel scope) finish before any deadline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import trio

from ..protocol.jsonrpc import ErrorCode, ErrorResponse, RequestId

__all__ = ["TimeoutOf", "handler_deadline", "timed_out", "timeout_of"]

TimeoutOf = Callable[[str, Mapping[str, Any]], float | None]
"""``timeout(method, params)``: the seconds a request's handler may run (``None``: no limit)."""


def timeout_of(app: object, default: float | None) -> TimeoutOf:
    """How long each request's handler may run: what the application's
    ``handler_timeout(method, params)`` names, when it has one and names one;
    else ``default``."""
    own: TimeoutOf | None = getattr(app, "handler_timeout", None)
    if own is None:
        return lambda method, params: default

    def timeout(method: str, params: Mapping[str, Any]) -> float | None:
        named = own(method, params)
        return default if named is None else named

    return timeout


def handler_deadline(timeout: float | None) -> float:
    """The deadline of a handler starting now (``inf`` without a timeout)."""
    return math.inf if timeout is None else trio.current_time() + timeout


def timed_out(request_id: RequestId, timeout: float | None) -> ErrorResponse:
    """The error answering a request whose handler ran out of time."""
    return ErrorResponse(
        request_id,
        int(ErrorCode.REQUEST_TIMEOUT),
        f"Request timed out: the handler did not finish within {timeout:g} seconds",
        None,
    )
