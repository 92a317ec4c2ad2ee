"""The app API: what users write their servers with."""

from ..runtime import ChangeListener, Exchange, InputNeeded, McpError
from ._app import RESOURCE_NOT_FOUND, Lifespan, MCPServer
from ._context import Context, LogLevel, ToolError
from ._dispatch import DEFAULT_PAGE_SIZE
from ._middleware import CallNext, Hook, Middleware, MiddlewareContext
from ._mount import DEFAULT_SEPARATOR
from ._schema import Param
from ._visibility import Component, VisibilityRule

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_SEPARATOR",
    "RESOURCE_NOT_FOUND",
    "CallNext",
    "ChangeListener",
    "Component",
    "Context",
    "Exchange",
    "Hook",
    "InputNeeded",
    "Lifespan",
    "LogLevel",
    "MCPServer",
    "McpError",
    "Middleware",
    "MiddlewareContext",
    "Param",
    "ToolError",
    "VisibilityRule",
]
