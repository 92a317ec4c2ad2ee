"""The OAuth part of the conformance client: :func:`auth_for` builds the ``auth=`` for a scenario.

The conformance authorization servers approve every request at once, so the
redirect step is a plain GET of the authorization URL whose ``Location`` carries
the code (:func:`follow_redirect`), as a browser would follow it. The extension
scenarios (client credentials, DPoP, workload identity, enterprise-managed) are
built by ``conformance_auth_ext.ext_auth_for``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
from conformance_auth_ext import ext_auth_for

from scaled_mcp.client import OAuth
from scaled_mcp.protocol.oauth import OAuthError

#: The client ID metadata document URL the suite expects (it never fetches it).
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"
REDIRECT_URI = "http://localhost:3000/callback"


async def follow_redirect(authorization_url: str) -> dict[str, str]:
    """Visit the authorization URL; return the query of the redirect it answers with."""
    async with httpx2.AsyncClient(follow_redirects=False, timeout=30.0) as http:
        response = await http.get(authorization_url)
    location = response.headers.get("location")
    if response.status_code not in (301, 302, 303, 307, 308) or not location:
        raise OAuthError("access_denied", f"authorization answered HTTP {response.status_code}")
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


def auth_for(scenario: str, context: dict[str, Any], url: str) -> httpx2.Auth | None:
    """The ``auth=`` for a conformance scenario (``None`` for the scenarios without auth).

    ``context`` is the decoded ``MCP_CONFORMANCE_CONTEXT`` and ``url`` the server's URL.
    """
    if not scenario.startswith("auth/"):
        return None
    extension = ext_auth_for(scenario, context)
    if extension is not None:
        return extension
    client_id: str | None = None
    client_secret: str | None = None
    if scenario == "auth/pre-registration":
        client_id = str(context["client_id"])
        client_secret = str(context["client_secret"])
    return OAuth(
        redirect_handler=follow_redirect,
        redirect_uri=REDIRECT_URI,
        client_name="scaled-mcp-conformance",
        client_id=client_id,
        client_secret=client_secret,
        client_metadata_url=CLIENT_METADATA_URL,
    )
