"""Client request params whose shape the core checks, the same way in every revision.

Params that do not have the shape the schema gives them are refused with
-32602 (Invalid params), HTTP 400, before the application sees the request.
:func:`check_tool_call_params` is the check of ``tools/call``, used by the
session machine (handshake era) and the stateless dispatcher (2026-07-28);
:func:`_check_params` checks the other requests the session machine checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._errors import ErrorCode, RemoteProtocolError
from ._jsonrpc import Request, RequestId

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


#: Requests whose params the session checks with :func:`_check_params` (``tools/call``:
#: :func:`check_tool_call_params`).
_PARAMS_CHECKED: Final = frozenset(
    {
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
        "prompts/get",
        "completion/complete",
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "prompts/list",
        "tasks/list",
    }
)


def _require_string(params: Mapping[str, Any], key: str, request: Request) -> None:
    if type(params.get(key)) is not str:
        raise _invalid_params(f'{request.method} needs a string "{key}"', request.id)


def _check_params(request: Request, params: Mapping[str, Any]) -> None:
    """The shape checks of other requests' params the session owns; the application
    checks the rest."""
    method = request.method
    if method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
        _require_string(params, "uri", request)
    elif method == "prompts/get":
        _require_string(params, "name", request)
        arguments = params.get("arguments")
        if arguments is not None and (
            type(arguments) is not dict or any(type(v) is not str for v in arguments.values())
        ):
            raise _invalid_params('prompt "arguments" must map names to strings', request.id)
    elif method == "completion/complete":
        if type(params.get("ref")) is not dict or type(params.get("argument")) is not dict:
            raise _invalid_params('completion/complete needs "ref" and "argument"', request.id)
    elif method.endswith("/list"):
        cursor = params.get("cursor")
        if cursor is not None and type(cursor) is not str:
            raise _invalid_params('"cursor" must be a string', request.id)
