"""The MCP client (trio): ``async with Client(target) as client:``.

A :class:`Client` reaches a server over streamable HTTP, the 2024-11-05
HTTP+SSE transport, WebSocket (``ws://``, ``wss://``), stdio (a command it runs) or in memory (an
:class:`~scaled_mcp.server.MCPServer` in the same trio run), in either era:
the handshake (``initialize``) or the stateless one (2026-07-28). Errors are
:class:`ClientError` carrying the JSON-RPC error. :class:`OAuth` (an
``httpx2.Auth``) authorizes its HTTP transport: ``Client(url, auth=OAuth(...))``.
``client.call_tool(..., task=True)`` may answer with a :class:`ClientTask`.
"""

from __future__ import annotations

from ._client import Client, Mode
from ._errors import ClientError, ConnectionLost, SessionExpired
from ._gateway import Gateway
from ._handlers import (
    ElicitationHandler,
    ListChangedHandler,
    LogHandler,
    ProgressHandler,
    ResourceUpdatedHandler,
    RootsSource,
    SamplingHandler,
)
from ._oauth import (
    ClientAuthenticator,
    GrantContext,
    InMemoryTokenStorage,
    OAuth,
    ProofOfPossession,
    RedirectHandler,
    StoredAuthorization,
    TokenGrant,
    TokenStorage,
)
from ._oauth_assertion import PrivateKeyJWT
from ._oauth_browser import BrowserRedirect
from ._oauth_dpop import DPoP
from ._oauth_grants import ClientCredentials, EnterpriseManaged, JwtBearer
from ._skills import SkillError, Skills, SkillVerificationError
from ._targets import Target
from ._tasks import ClientTask

__all__ = [
    "BrowserRedirect",
    "Client",
    "ClientAuthenticator",
    "ClientCredentials",
    "ClientError",
    "ClientTask",
    "ConnectionLost",
    "DPoP",
    "ElicitationHandler",
    "EnterpriseManaged",
    "Gateway",
    "GrantContext",
    "InMemoryTokenStorage",
    "JwtBearer",
    "ListChangedHandler",
    "LogHandler",
    "Mode",
    "OAuth",
    "PrivateKeyJWT",
    "ProgressHandler",
    "ProofOfPossession",
    "RedirectHandler",
    "ResourceUpdatedHandler",
    "RootsSource",
    "SamplingHandler",
    "SessionExpired",
    "SkillError",
    "SkillVerificationError",
    "Skills",
    "StoredAuthorization",
    "Target",
    "TokenGrant",
    "TokenStorage",
]
