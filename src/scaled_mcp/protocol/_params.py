"""Client request params whose shape the core checks, the same way in every revision.

Params that do not have the shape the schema gives them are refused with
-32602 (Invalid params), HTTP 400, before the application sees the request.
:func:`check_tool_call_params` is the check of ``tools/call``, used by the
session machine (handshake era) and the stateless dispatcher (2026-07-28).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import ErrorCode, RemoteProtocolError
from ._jsonrpc import RequestId

__all__ = [
    "check_tool_call_params",
]


def _invalid_params(reason: str, request_id: RequestId | None = None) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"Invalid params: {reason}",
        code=ErrorCode.INVALID_PARAMS,
        http_status=400,
        request_id=request_id,
    )


def check_tool_call_params(params: Mapping[str, Any], request_id: RequestId | None = None) -> str:
    """Check the shape of ``tools/call`` params; return the tool's name.

    Every revision's ``CallToolRequest``: ``name`` is a string (required) and
    ``arguments``, when present, an object. Anything else raises
    :class:`RemoteProtocolError` (-32602, HTTP 400) naming ``request_id``.
    Whether the arguments fit the tool's ``inputSchema`` is the application's
    to check.
    """
    name = params.get("name")
    if type(name) is not str:
        raise _invalid_params('tools/call needs a string "name"', request_id)
    arguments = params.get("arguments")
    if arguments is not None and type(arguments) is not dict:
        raise _invalid_params('"arguments" must be an object', request_id)
    return name
