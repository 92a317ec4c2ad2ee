"""The ``Mcp-Param-*`` headers of the stateless era (``x-mcp-header``).

A tool's ``inputSchema`` may mark properties whose values a client mirrors in
``Mcp-Param-{Name}`` headers; the server finds those marks once per tool and
checks the headers against the arguments of each request that carries them
(:data:`PARAM_HEADER_METHODS`: a ``tools/call``, naming the tool).
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._http_decisions import _quoted
from ._http_request import _PARAM_PREFIX, Headers, decode_header_value
from ._jsonrpc import RequestId

__all__ = ["PARAM_HEADER_METHODS", "param_header_paths", "validate_param_headers"]

#: The methods whose requests carry ``Mcp-Param-*`` headers, to be checked against
#: the ``x-mcp-header`` annotations of the tool their ``params.name`` names
#: (2026-07-28, Custom Headers from Tool Parameters: "When constructing a
#: ``tools/call`` request via HTTP transport, the client MUST ... Inspect the
#: tool's ``inputSchema`` for properties marked with ``x-mcp-header``"). On any
#: other request such headers are not the protocol's, and are ignored.
PARAM_HEADER_METHODS: Final = frozenset({"tools/call"})

_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
#: How deep :func:`param_header_paths` follows nested ``properties``.
_MAX_SCHEMA_DEPTH: Final = 32


def param_header_paths(input_schema: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The ``x-mcp-header`` annotations of a tool's ``inputSchema``: header name
    suffix to the property path it mirrors.

    Only properties "statically reachable from the schema root: reachable via a
    chain consisting solely of properties keys" count. Two names equal but for
    case make the tool invalid (:class:`LocalProtocolError`).
    """
    found: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    stack: list[tuple[Mapping[str, Any], tuple[str, ...]]] = [(input_schema, ())]
    while stack:
        schema, path = stack.pop()
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or len(path) >= _MAX_SCHEMA_DEPTH:
            continue
        for key, sub in properties.items():
            if not isinstance(key, str) or not isinstance(sub, Mapping):
                continue
            name = sub.get("x-mcp-header")
            if isinstance(name, str):
                if name.lower() in seen:
                    raise LocalProtocolError(f"x-mcp-header {name!r} is not unique")
                seen.add(name.lower())
                found[name] = (*path, key)
            stack.append((sub, (*path, key)))
    return found


def _argument_at(arguments: Mapping[str, Any] | None, path: Sequence[str]) -> Any:
    value: Any = arguments
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _header_matches(header: str, value: Any) -> bool:
    if isinstance(value, bool):
        return header == ("true" if value else "false")
    if isinstance(value, int):
        # "servers SHOULD compare the header value and the body value
        # numerically rather than as strings (e.g., 42.0 and 42 are considered
        # equal)".
        if len(header) > 64 or not _JSON_NUMBER.fullmatch(header):
            return False
        return decimal.Decimal(header) == value
    if isinstance(value, float):
        if len(header) > 64 or not _JSON_NUMBER.fullmatch(header) or not math.isfinite(value):
            return False
        return float(header) == value
    return bool(header == value)


def validate_param_headers(
    param_headers: Headers,
    arguments: Mapping[str, Any] | None,
    annotations: Mapping[str, Sequence[str]],
    *,
    request_id: RequestId | None = None,
) -> None:
    """Check the ``Mcp-Param-*`` headers of a ``tools/call`` against its arguments.

    ``param_headers`` come from :attr:`ProcessMessages.param_headers`,
    ``annotations`` from :func:`param_header_paths` of the tool's schema.
    "Servers MUST reject requests with a 400 Bad Request HTTP status and
    JSON-RPC error code -32020 (HeaderMismatch) if any validation fails":
    a missing header whose value is in the body, a header whose (decoded)
    value differs, invalid characters or Base64 raise
    :class:`RemoteProtocolError`. Headers no annotation names are ignored
    ("MUST forward it and otherwise ignore it").
    """
    present: dict[str, str] = {}
    for name, value in param_headers:
        if present.get(name, value) != value:
            raise RemoteProtocolError(
                f"Header mismatch: more than one {name} header",
                code=ErrorCode.HEADER_MISMATCH,
                request_id=request_id,
            )
        present[name] = value
    for suffix, path in annotations.items():
        header_name = _PARAM_PREFIX + suffix.lower()
        raw = present.get(header_name)
        value = _argument_at(arguments, path)
        mirrored = value is not None and isinstance(value, str | int | float)
        if raw is None:
            if mirrored:
                raise RemoteProtocolError(
                    f"Header mismatch: the Mcp-Param-{suffix} header is required",
                    code=ErrorCode.HEADER_MISMATCH,
                    request_id=request_id,
                )
            continue
        decoded = decode_header_value(raw, request_id=request_id)
        if not mirrored or not _header_matches(decoded, value):
            raise RemoteProtocolError(
                f"Header mismatch: Mcp-Param-{suffix} header value {_quoted(decoded)} "
                f"does not match body value {_quoted(value)}",
                code=ErrorCode.HEADER_MISMATCH,
                request_id=request_id,
            )
