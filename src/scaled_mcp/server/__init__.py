"""The app API: what users write their servers with."""

from ._app import DEFAULT_PAGE_SIZE, RESOURCE_NOT_FOUND, ChangeListener, MCPServer
from ._context import Context, Exchange, InputNeeded, LogLevel, McpError, ToolError
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
