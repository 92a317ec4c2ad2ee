"""Errors raised by the protocol core, and the JSON-RPC error codes MCP uses.

Two kinds of failure, as in h11: :class:`LocalProtocolError` means *our caller*
misused the core (sent a response twice, asked the client for a capability it
never declared); :class:`RemoteProtocolError` means *the peer* sent something
invalid, and carries what to answer with: the JSON-RPC error code, the HTTP
status, and the id of the request it concerns when that id could be read.
Where the code for a failure depends on the revision (resource not found), the
rule lives here too.
"""

from __future__ import annotations

import enum
from typing import Any

from ._versions import Era

__all__ = [
    "ErrorCode",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "resource_not_found_code",
]


class ErrorCode(enum.IntEnum):
    """JSON-RPC error codes, the standard ones and those MCP defines."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    #: This server's: a request to the client went unanswered in time (in
    #: JSON-RPC's range of implementation-defined server errors).
    REQUEST_TIMEOUT = -32001
    #: 2025-11-25 and earlier: "Resource not found" (replaced by -32602 in 2026-07-28).
    RESOURCE_NOT_FOUND = -32002
    #: 2025-11-25 only: URL mode elicitation is required before the request can go on.
    URL_ELICITATION_REQUIRED = -32042
    #: 2026-07-28: HTTP headers and body disagree (HTTP 400).
    HEADER_MISMATCH = -32020
    #: 2026-07-28: the request needs a client capability it did not declare (HTTP 400).
    MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
    #: 2026-07-28: the requested protocol version is not supported (HTTP 400).
    UNSUPPORTED_PROTOCOL_VERSION = -32022


def resource_not_found_code(era: Era) -> ErrorCode:
    """The code of the error answering a read of a resource the server does not have."""
    if era is Era.STATELESS:
        # 2026-07-28 changelog: "Change resource not found error code from
        # `-32002` to `-32602` (Invalid Params) to align with JSON-RPC specification."
        return ErrorCode.INVALID_PARAMS
    # resources, Error Handling (2025-11-25 and earlier): "Servers SHOULD return
    # standard JSON-RPC errors for common failure cases: Resource not found: `-32002`".
    return ErrorCode.RESOURCE_NOT_FOUND


class ProtocolError(Exception):
    """Base class of every error the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LocalProtocolError(ProtocolError):
    """The core's caller broke a rule of the protocol: a bug in the calling code."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow.

    ``code`` is the JSON-RPC error code to answer with, ``http_status`` the HTTP
    status a transport should use when the error ends an HTTP exchange, ``data``
    the optional ``error.data`` member and ``request_id`` the id of the offending
    request when it could be read (``None`` otherwise: the error response then
    carries no id).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int = ErrorCode.INVALID_REQUEST,
        http_status: int = 400,
        data: Any = None,
        request_id: str | int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = int(code)
        self.http_status = http_status
        self.data = data
        self.request_id = request_id

    def with_request_id(self, request_id: str | int | None) -> RemoteProtocolError:
        """Return a copy of this error that names ``request_id``."""
        return RemoteProtocolError(
            self.message,
            code=self.code,
            http_status=self.http_status,
            data=self.data,
            request_id=request_id,
        )

    def __repr__(self) -> str:
        return (
            f"RemoteProtocolError({self.message!r}, code={self.code}, "
            f"http_status={self.http_status}, request_id={self.request_id!r})"
        )
