"""The extension scenarios of the conformance client's OAuth: :func:`ext_auth_for`.

Each scenario's ``MCP_CONFORMANCE_CONTEXT`` carries the credentials an application would have
been configured with: a client secret or a private key for client credentials, a workload's
JWT, an enterprise user's ID token and its identity provider. DPoP needs no configuration but
the key, which the client makes itself.
"""

from __future__ import annotations

from typing import Any

import httpx2

from scaled_mcp.client import (
    ClientCredentials,
    DPoP,
    EnterpriseManaged,
    JwtBearer,
    OAuth,
    PrivateKeyJWT,
)


def _text(context: dict[str, Any], name: str) -> str:
    value = context.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the scenario's context has no {name}")
    return value


def ext_auth_for(scenario: str, context: dict[str, Any]) -> httpx2.Auth | None:
    """The ``auth=`` of an extension scenario, ``None`` for any other scenario."""
    if scenario == "auth/client-credentials-basic":
        return OAuth(
            client_id=_text(context, "client_id"),
            client_secret=_text(context, "client_secret"),
            grant=ClientCredentials(),
        )
    if scenario == "auth/client-credentials-jwt":
        return OAuth(
            client_id=_text(context, "client_id"),
            client_authenticator=PrivateKeyJWT(
                _text(context, "private_key_pem"), context.get("signing_algorithm") or "ES256"
            ),
            grant=ClientCredentials(),
        )
    if scenario == "auth/wif-jwt-bearer":
        return OAuth(
            client_id=_text(context, "client_id"), grant=JwtBearer(_text(context, "valid_jwt"))
        )
    if scenario == "auth/enterprise-managed-authorization":
        return OAuth(
            client_id=_text(context, "client_id"),
            client_secret=_text(context, "client_secret"),
            grant=EnterpriseManaged(
                idp_token_endpoint=_text(context, "idp_token_endpoint"),
                id_token=_text(context, "idp_id_token"),
                idp_client_id=_text(context, "idp_client_id"),
            ),
        )
    if scenario in ("auth/dpop", "auth/dpop-nonce"):
        # The authorization-code flow of every other scenario, with DPoP-bound tokens.
        from conformance_auth import CLIENT_METADATA_URL, REDIRECT_URI, follow_redirect

        return OAuth(
            redirect_handler=follow_redirect,
            redirect_uri=REDIRECT_URI,
            client_name="scaled-mcp-conformance",
            client_metadata_url=CLIENT_METADATA_URL,
            proof=DPoP(),
        )
    return None
