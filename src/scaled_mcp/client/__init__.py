"""The MCP client (trio): OAuth 2.1 authorization for its HTTP transport.

:class:`OAuth` is an ``httpx2.Auth``: pass it as ``Client(url, auth=OAuth(...))``.
"""

from __future__ import annotations

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

__all__ = [
    "BrowserRedirect",
    "ClientAuthenticator",
    "ClientCredentials",
    "DPoP",
    "EnterpriseManaged",
    "JwtBearer",
    "PrivateKeyJWT",
    "GrantContext",
    "InMemoryTokenStorage",
    "OAuth",
    "ProofOfPossession",
    "RedirectHandler",
    "StoredAuthorization",
    "TokenGrant",
    "TokenStorage",
]
