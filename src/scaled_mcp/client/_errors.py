"""The errors the client raises: a JSON-RPC error the server answered, or a
request the transport could not carry to its end."""

from __future__ import annotations

from typing import Any

from ..protocol.jsonrpc import ErrorCode, ErrorResponse

__all__ = ["ClientError", "ConnectionLost", "SessionExpired", "http_status_error"]


class ClientError(Exception):
    """A request failed: ``code``, ``message`` and ``data`` of its JSON-RPC error.

    The server's own error answers keep their code; failures on our side use
    the JSON-RPC codes that fit (:class:`ConnectionLost` for a lost answer,
    ``REQUEST_TIMEOUT`` for a call that ran out of time).
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} ({code})")
        self.code = int(code)
        self.message = message
        self.data = data

    @classmethod
    def from_response(cls, error: ErrorResponse) -> ClientError:
        """The error a JSON-RPC error response carries."""
        return cls(error.code, error.message, error.data)


class ConnectionLost(ClientError):
    """The answer to a request can no longer arrive: the stream carrying it
    dropped and could not be resumed, the session is gone, or the server
    process ended. The request may or may not have run on the server."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(ErrorCode.INTERNAL_ERROR, message, data)


class SessionExpired(ConnectionLost):
    """The server no longer knows the session (HTTP 404 on a request carrying
    its ``Mcp-Session-Id``). The client starts a new session before its next
    request (streamable-http: "it MUST start a new session by sending a new
    InitializeRequest without a session ID attached")."""

    def __init__(self, message: str = "the session is gone (HTTP 404)") -> None:
        super().__init__(message, {"status": 404})


def http_status_error(url: str, status: int, body: bytes) -> ClientError:
    """An HTTP answer that carries no JSON-RPC answer: its status and the start of its body."""
    return ClientError(
        ErrorCode.INTERNAL_ERROR,
        f"HTTP {status} from {url}",
        {"status": status, "body": body[:512].decode("utf-8", "replace")},
    )
