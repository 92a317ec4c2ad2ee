"""A deadline for every handler: ``RuntimeConfig.handler_timeout`` (``--handler-timeout``).

A handler still running when its deadline passes is cancelled, and its caller gets
a JSON-RPC error (``REQUEST_TIMEOUT``, -32001) instead of waiting on. Handlers that
cannot wait (the runtime runs them with no cancel scope) finish before any deadline.
"""

from __future__ import annotations

import math

import trio

from ..protocol.jsonrpc import ErrorCode, ErrorResponse, RequestId

__all__ = ["handler_deadline", "timed_out"]


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
