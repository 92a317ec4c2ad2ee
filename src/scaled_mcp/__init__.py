"""Scaled MCP: a horizontally scalable Model Context Protocol server engine.

Write a server with :class:`MCPServer` and its decorators; run it with
``scaled-mcp serve app.py``. The sans-IO protocol core is
:mod:`scaled_mcp.protocol`; the trio runtime and its fronts are
:mod:`scaled_mcp.runtime`; the cluster ports are :mod:`scaled_mcp.cluster`.
"""

from .protocol import (
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
    InputRequest,
    PromptMessage,
    ReadResourceResult,
    ResourceLink,
    Root,
    SamplingMessage,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)
from .server import Context, McpError, MCPServer, Param, ToolError

__version__ = "0.1.0"

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
