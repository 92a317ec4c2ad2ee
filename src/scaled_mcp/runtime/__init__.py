"""The trio runtime: drives the core and the application; the direct h11 front; stdio."""

from ._application import (
    Application,
    Arrival,
    ChangeListener,
    Exchange,
    InputNeeded,
    McpError,
    StartupError,
)
from ._front import ClientGone, Responder
from ._h11 import H11Config, serve_h11
from ._logs import TEXT_FORMAT, JsonLogFormatter, LogFields, serving_request
from ._runtime import Runtime, RuntimeConfig
from ._session_state import (
    DEFAULT_SESSION_STATE_ATTEMPTS,
    SessionStateConflict,
    SessionStateError,
    SessionStateGone,
    SessionStateHandle,
    SessionStateUnavailable,
)
from ._stdio import serve_stdio

__all__ = [
    "DEFAULT_SESSION_STATE_ATTEMPTS",
    "Application",
    "Arrival",
    "ChangeListener",
    "ClientGone",
    "Exchange",
    "H11Config",
    "JsonLogFormatter",
    "LogFields",
    "InputNeeded",
    "McpError",
    "Responder",
    "Runtime",
    "RuntimeConfig",
    "StartupError",
    "TEXT_FORMAT",
    "SessionStateConflict",
    "SessionStateError",
    "SessionStateGone",
    "SessionStateHandle",
    "SessionStateUnavailable",
    "serve_h11",
    "serve_stdio",
    "serving_request",
]
