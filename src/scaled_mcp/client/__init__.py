"""The MCP client (trio): ``async with Client(target) as client:``.

A :class:`Client` reaches a server over streamable HTTP, the 2024-11-05
HTTP+SSE transport, stdio (a command it runs) or in memory (an
:class:`~scaled_mcp.server.MCPServer` in the same trio run), in either era:
the handshake (``initialize``) or the stateless one (2026-07-28). Errors are
:class:`ClientError` carrying the JSON-RPC error.
"""

from ._client import Client, Mode
from ._errors import ClientError, ConnectionLost, SessionExpired
from ._handlers import (
    ElicitationHandler,
    ListChangedHandler,
    LogHandler,
    ProgressHandler,
    ResourceUpdatedHandler,
    RootsSource,
    SamplingHandler,
)
from ._skills import SkillError, Skills, SkillVerificationError
from ._targets import Target

__all__ = [
    "Client",
    "ClientError",
    "ConnectionLost",
    "ElicitationHandler",
    "ListChangedHandler",
    "LogHandler",
    "Mode",
    "ProgressHandler",
    "ResourceUpdatedHandler",
    "RootsSource",
    "SamplingHandler",
    "SessionExpired",
    "SkillError",
    "SkillVerificationError",
    "Skills",
    "Target",
]
