"""The app API: what users write their servers with."""

from ..runtime import ChangeListener, Exchange, InputNeeded, McpError
from ._app import RESOURCE_NOT_FOUND, MCPServer
from ._context import Context, LogLevel, ToolError
from ._dispatch import DEFAULT_PAGE_SIZE
from ._schema import Param

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "RESOURCE_NOT_FOUND",
    "ChangeListener",
    "Context",
    "Exchange",
    "InputNeeded",
    "LogLevel",
    "MCPServer",
    "McpError",
    "Param",
    "ToolError",
]
