"""The trio runtime: drives the core and the application; the direct h11 front; stdio;
MCP over WebSocket.

The token verifiers (``JWTVerifier``, ``IntrospectionVerifier``) are imported when first
named: they bring PyJWT and httpx2, which a node without authorization does not load.
"""

from typing import TYPE_CHECKING, Any

from ._application import (
    Application,
    Arrival,
    ChangeListener,
    Exchange,
    InputNeeded,
    McpError,
    StartupError,
)
from ._auth import Authorization, ScopesOf, TokenVerifier, current_principal
from ._front import ClientGone, Responder, mounted_at
from ._h11 import H11Config, serve_h11
from ._logs import TEXT_FORMAT, JsonLogFormatter, LogFields, serving_request
from ._rate_limit import RateLimit
from ._runtime import Runtime
from ._runtime_config import RuntimeConfig
from ._session_state import (
    DEFAULT_SESSION_STATE_ATTEMPTS,
    SessionStateConflict,
    SessionStateError,
    SessionStateGone,
    SessionStateHandle,
    SessionStateUnavailable,
)
from ._stdio import serve_stdio
from ._tasks import TaskHost, TaskRun
from ._websocket import (
    BinaryData,
    FramingFailed,
    PeerClosed,
    Pong,
    TextData,
    Upgrade,
    WebSocketEvent,
    WebSocketTransport,
    admit_upgrade,
    serve_websocket,
)
from ._websocket_config import WebSocketConfig

if TYPE_CHECKING:
    from ._token_verifiers import IntrospectionVerifier, JWTVerifier

__all__ = [
    "DEFAULT_SESSION_STATE_ATTEMPTS",
    "Application",
    "Arrival",
    "Authorization",
    "ChangeListener",
    "ClientGone",
    "Exchange",
    "H11Config",
    "JsonLogFormatter",
    "LogFields",
    "InputNeeded",
    "IntrospectionVerifier",
    "JWTVerifier",
    "McpError",
    "RateLimit",
    "Responder",
    "mounted_at",
    "Runtime",
    "RuntimeConfig",
    "StartupError",
    "TEXT_FORMAT",
    "TaskHost",
    "TaskRun",
    "SessionStateConflict",
    "SessionStateError",
    "SessionStateGone",
    "SessionStateHandle",
    "SessionStateUnavailable",
    "ScopesOf",
    "TokenVerifier",
    "current_principal",
    "serve_h11",
    "serve_stdio",
    "serving_request",
    # MCP over WebSocket, for a front that carries the socket.
    "BinaryData",
    "FramingFailed",
    "PeerClosed",
    "Pong",
    "TextData",
    "Upgrade",
    "WebSocketConfig",
    "WebSocketEvent",
    "WebSocketTransport",
    "admit_upgrade",
    "serve_websocket",
]


def __getattr__(name: str) -> Any:
    if name in ("IntrospectionVerifier", "JWTVerifier"):
        from . import _token_verifiers

        return getattr(_token_verifiers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
