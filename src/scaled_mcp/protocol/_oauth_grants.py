"""The token requests of the grants that need no user: client credentials, the JWT-bearer
grant (workload identity), and enterprise-managed authorization (a token exchange at the
identity provider, then the JWT-bearer grant of what it issued).

Pure decisions: what to send to a token endpoint, how the client authenticates there, the
claims of a client assertion and what a token-exchange answer means. Signing happens in the
client layer (``scaled_mcp.client``): this module builds claims, never a JWT, and takes the
time and the ``jti`` from its caller.
"""

from __future__ import annotations

from typing import Final

from ._oauth_discovery import read_json_object
from ._oauth_errors import OAuthError
from ._oauth_messages import OAuthResponse

__all__ = [
    "CLIENT_ASSERTION_TYPE_JWT_BEARER",
    "GRANT_CLIENT_CREDENTIALS",
    "GRANT_JWT_BEARER",
    "GRANT_TOKEN_EXCHANGE",
    "TOKEN_TYPE_ACCESS_TOKEN",
    "TOKEN_TYPE_ID_JAG",
    "TOKEN_TYPE_ID_TOKEN",
    "client_assertion_claims",
    "client_assertion_form",
    "client_credentials_form",
    "jwt_bearer_form",
    "parse_token_exchange_response",
    "token_exchange_form",
]

GRANT_CLIENT_CREDENTIALS: Final = "client_credentials"
"""OAuth 2.1 §4.2: the client acts on its own behalf."""
GRANT_JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
"""RFC 7523 §2.1: a JWT used as an authorization grant."""
GRANT_TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
"""RFC 8693 §2.1: exchange one security token for another."""
CLIENT_ASSERTION_TYPE_JWT_BEARER: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""RFC 7523 §2.2: the client authenticates with a JWT it signed (``private_key_jwt``)."""
TOKEN_TYPE_ID_TOKEN: Final = "urn:ietf:params:oauth:token-type:id_token"
"""RFC 8693 §3: an OpenID Connect ID token."""
TOKEN_TYPE_ID_JAG: Final = "urn:ietf:params:oauth:token-type:id-jag"
"""An identity assertion authorization grant (ID-JAG), what an IdP issues for enterprise-managed
authorization."""
TOKEN_TYPE_ACCESS_TOKEN: Final = "urn:ietf:params:oauth:token-type:access_token"
"""RFC 8693 §3: an OAuth access token."""

#: The longest ``error`` or ``error_description`` kept in an :class:`OAuthError`.
_MAX_TEXT: Final = 512


def client_assertion_claims(
    client_id: str, audience: str, *, now: int, jti: str, lifetime: int = 300
) -> dict[str, object]:
    """The claims of a ``private_key_jwt`` client assertion (RFC 7523 §3).

    "The JWT MUST contain an "iss" (issuer) claim that contains a unique identifier for the
    entity that issued the JWT" and, for client authentication, "the "sub" (subject) of the
    JWT MUST be the "client_id" of the OAuth client"; ``aud`` names the authorization server
    (its issuer identifier, RFC 7523bis); ``exp`` bounds its life and ``jti`` makes it single
    use. ``now`` is the current Unix time, passed in.
    """
    if not client_id:
        raise ValueError("a client assertion needs a client_id")
    if not audience:
        raise ValueError("a client assertion needs an audience")
    if lifetime <= 0:
        raise ValueError(f"a client assertion's lifetime must be positive, not {lifetime}")
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti,
    }


def client_assertion_form(assertion: str) -> dict[str, str]:
    """The form fields that authenticate a client with a signed assertion (RFC 7523 §2.2)."""
    return {
        "client_assertion_type": CLIENT_ASSERTION_TYPE_JWT_BEARER,
        "client_assertion": assertion,
    }


def _with_scope_and_resource(
    form: dict[str, str], scope: str | None, resource: str | None
) -> dict[str, str]:
    # MCP authorization: clients "MUST include the resource parameter" (RFC 8707) in token
    # requests, naming the MCP server the token is for.
    if scope:
        form["scope"] = scope
    if resource:
        form["resource"] = resource
    return form


def client_credentials_form(
    scope: str | None = None, resource: str | None = None
) -> dict[str, str]:
    """The form of a client-credentials token request (OAuth 2.1 §4.2.1):
    ``grant_type=client_credentials`` with the scope and resource, if any. The client's
    authentication is added by whoever sends it."""
    return _with_scope_and_resource({"grant_type": GRANT_CLIENT_CREDENTIALS}, scope, resource)


def jwt_bearer_form(
    assertion: str, scope: str | None = None, resource: str | None = None
) -> dict[str, str]:
    """The form of a JWT-bearer token request (RFC 7523 §2.1).

    "The value of the "grant_type" is "urn:ietf:params:oauth:grant-type:jwt-bearer". The
    value of the "assertion" parameter MUST contain a single JWT." Client authentication is
    optional for this grant (§3.1) and added by whoever sends it.
    """
    if not assertion:
        raise ValueError("the JWT-bearer grant needs an assertion")
    form = {"grant_type": GRANT_JWT_BEARER, "assertion": assertion}
    return _with_scope_and_resource(form, scope, resource)


def token_exchange_form(
    *,
    subject_token: str,
    subject_token_type: str,
    requested_token_type: str,
    audience: str,
    resource: str | None = None,
    client_id: str | None = None,
    scope: str | None = None,
) -> dict[str, str]:
    """The form of a token-exchange request (RFC 8693 §2.1).

    For enterprise-managed authorization the client exchanges the user's ID token
    (``subject_token_type`` ID token) at its identity provider for an ID-JAG
    (``requested_token_type``), naming the MCP authorization server's issuer as ``audience``
    and the MCP server as ``resource``.
    """
    if not subject_token:
        raise ValueError("a token exchange needs a subject token")
    form = {
        "grant_type": GRANT_TOKEN_EXCHANGE,
        "requested_token_type": requested_token_type,
        "audience": audience,
        "subject_token": subject_token,
        "subject_token_type": subject_token_type,
    }
    if resource:
        form["resource"] = resource
    if scope:
        form["scope"] = scope
    if client_id:
        form["client_id"] = client_id
    return form


def _exchange_error(response: OAuthResponse) -> OAuthError:
    # RFC 8693 §2.2.2: "the authorization server responds with an error response as
    # described in Section 5.2 of [RFC6749]".
    try:
        document = read_json_object(response.body, "token exchange error")
    except OAuthError:
        document = {}
    error = document.get("error")
    description = document.get("error_description")
    return OAuthError(
        error[:_MAX_TEXT] if isinstance(error, str) and error else "server_error",
        description[:_MAX_TEXT]
        if isinstance(description, str)
        else f"the token exchange answered HTTP {response.status}",
    )


def parse_token_exchange_response(
    response: OAuthResponse, *, requested_token_type: str = TOKEN_TYPE_ID_JAG
) -> str:
    """The token a token-exchange answer issued (RFC 8693 §2.2.1).

    A 200 whose JSON has a non-empty ``access_token`` ("The security token issued by the
    authorization server in response to the token exchange request", whatever its type) and,
    if present, an ``issued_token_type`` equal to the one requested. Anything else raises
    :class:`OAuthError`: the server's ``error`` for an error answer (§2.2.2).
    """
    if response.status != 200:
        raise _exchange_error(response)
    document = read_json_object(response.body, "token exchange response")
    token = document.get("access_token")
    if not isinstance(token, str) or not token:
        raise OAuthError("invalid_response", "the token exchange answer has no access_token")
    issued = document.get("issued_token_type")
    if issued is not None and issued != requested_token_type:
        raise OAuthError(
            "invalid_response",
            f"the token exchange issued {str(issued)[:_MAX_TEXT]!r}, "
            f"not the requested {requested_token_type!r}",
        )
    return token
