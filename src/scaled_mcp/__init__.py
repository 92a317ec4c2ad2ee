"""Scaled MCP: a horizontally scalable Model Context Protocol server engine.

Write a server with :class:`MCPServer` and its decorators; run it with
``scaled-mcp serve app.py``. The sans-IO protocol core is
:mod:`scaled_mcp.protocol`; the trio runtime and its fronts are
:mod:`scaled_mcp.runtime`; the cluster ports are :mod:`scaled_mcp.cluster`.
"""

from typing import TYPE_CHECKING, Any

from .protocol.stateless import InputRequest
from .protocol.types import (
    Annotations,
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    Completion,
    CreateMessageResult,
    ElicitResult,
    EmbeddedResource,
    GetPromptResult,
    Icon,
    ImageContent,
    PromptMessage,
    ReadResourceResult,
    ResourceLink,
    Root,
    SamplingMessage,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)

if TYPE_CHECKING:
    from .server import Context, McpError, MCPServer, Param, ToolError

__version__ = "0.1.0"

# The app API needs trio; it is imported on first use so that importing the
# sans-IO core (``scaled_mcp.protocol``) never loads an async library.
_SERVER_NAMES = frozenset({"Context", "MCPServer", "McpError", "Param", "ToolError"})


def __getattr__(name: str) -> Any:
    if name in _SERVER_NAMES:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'scaled_mcp' has no attribute {name!r}")


__all__ = [
    "Annotations",
    "AudioContent",
    "BlobResourceContents",
    "CallToolResult",
    "Completion",
    "Context",
    "CreateMessageResult",
    "ElicitResult",
    "EmbeddedResource",
    "GetPromptResult",
    "Icon",
    "ImageContent",
    "InputRequest",
    "MCPServer",
    "McpError",
    "Param",
    "PromptMessage",
    "ReadResourceResult",
    "ResourceLink",
    "Root",
    "SamplingMessage",
    "TextContent",
    "TextResourceContents",
    "ToolAnnotations",
    "ToolError",
    "__version__",
]
