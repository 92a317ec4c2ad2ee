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
from ._tasks import TaskHost, TaskRun

__all__ = [
    "DEFAULT_SESSION_STATE_ATTEMPTS",
    "Application",
    "Arrival",
    "ChangeListener",
    "ClientGone",
    "Exchange",
    "H11Config",
    "InputNeeded",
    "McpError",
    "Responder",
    "Runtime",
    "RuntimeConfig",
    "StartupError",
    "TaskHost",
    "TaskRun",
    "SessionStateConflict",
    "SessionStateError",
    "SessionStateGone",
    "SessionStateHandle",
    "SessionStateUnavailable",
    "serve_h11",
    "serve_stdio",
]
