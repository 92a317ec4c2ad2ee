"""The authorization request and its response: PKCE, ``state``, scopes, ``iss``.

:class:`Pkce` (RFC 7636, S256 only, from randomness the caller passes in),
:func:`select_scope` and :func:`union_scopes` (MCP's scope selection strategy),
:func:`authorization_url` (RFC 6749 §4.1.1 with RFC 8707 ``resource``) and
:func:`check_authorization_response` (``state``, ``error``, RFC 9207 ``iss``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from ._oauth_errors import OAuthError

__all__ = [
    "MIN_ENTROPY",
    "OFFLINE_ACCESS",
    "Pkce",
    "authorization_url",
    "check_authorization_response",
    "code_challenge_s256",
    "select_scope",
    "union_scopes",
]

MIN_ENTROPY: Final = 32
"""Random bytes a :class:`Pkce` verifier or a ``state`` value needs at least (256 bits)."""

OFFLINE_ACCESS: Final = "offline_access"
"""The scope that asks for a refresh token (OpenID Connect Core §11)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def code_challenge_s256(verifier: str) -> str:
    """RFC 7636 §4.2: ``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))``."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@attrs.frozen(slots=True)
class Pkce:
    """A PKCE verifier, its S256 challenge, and the ``state`` sent with them.

    ``repr`` hides the verifier: it is a secret until the token request.
    """

    verifier: str = attrs.field(repr=False)
    challenge: str
    state: str
    method: str = "S256"

    @classmethod
    def from_entropy(cls, entropy: bytes) -> Pkce:
        """Derive the verifier and ``state`` from ``2 * MIN_ENTROPY`` random bytes.

        RFC 7636 §4.1: the verifier is 43 to 128 unreserved characters; 32 random
        bytes base64url-encoded give 43. The other 32 bytes make ``state``.
        """
        if len(entropy) < 2 * MIN_ENTROPY:
            raise OAuthError(
                "insufficient_entropy", f"PKCE and state need {2 * MIN_ENTROPY} random bytes"
            )
        verifier = _b64url(entropy[:MIN_ENTROPY])
        return cls(
            verifier, code_challenge_s256(verifier), _b64url(entropy[MIN_ENTROPY : 2 * MIN_ENTROPY])
        )


def union_scopes(*scopes: Iterable[str] | None) -> tuple[str, ...]:
    """The union of scope lists, first-seen order kept.

    2026-07-28 authorization (SEP-2350): on re-authorization a client "SHOULD
    compute the union of previously requested scopes and newly challenged scopes".
    """
    merged: dict[str, None] = {}
    for group in scopes:
        for scope in group or ():
            if scope:
                merged.setdefault(scope, None)
    return tuple(merged)


def select_scope(
    challenge: Iterable[str] | None,
    configured: Iterable[str] | None,
    resource_scopes: Iterable[str] | None,
    server_scopes: Iterable[str] | None,
    *,
    offline_access: bool,
) -> tuple[str, ...]:
    """The scopes to request; empty means the ``scope`` parameter is omitted.

    2025-11-25 authorization, "Scope Selection Strategy": "Use scope parameter
    from the initial WWW-Authenticate header in the 401 response, if provided";
    "If scope is not available, use all scopes defined in scopes_supported from
    the Protected Resource Metadata document, omitting the scope parameter if
    scopes_supported is undefined." Scopes the application configured come
    between the two. With ``offline_access``, the scope of that name is added
    only when the authorization server lists it in its ``scopes_supported``
    (SEP-2207: a client "MUST NOT" request it otherwise).
    """
    chosen = union_scopes(challenge) or union_scopes(configured) or union_scopes(resource_scopes)
    if offline_access and OFFLINE_ACCESS in tuple(server_scopes or ()):
        chosen = union_scopes(chosen, (OFFLINE_ACCESS,))
    return chosen


def authorization_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    pkce: Pkce,
    resource: str,
    scope: tuple[str, ...],
) -> str:
    """RFC 6749 §4.1.1 authorization request URL with PKCE S256 and RFC 8707 ``resource``.

    Parameters already in ``endpoint``'s query are kept (RFC 6749 §3.1).
    """
    parts = urlsplit(endpoint)
    params = parse_qsl(parts.query, keep_blank_values=True)
    params += [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", pkce.state),
        ("code_challenge", pkce.challenge),
        ("code_challenge_method", pkce.method),
        ("resource", resource),
    ]
    if scope:
        params.append(("scope", " ".join(scope)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), ""))


def check_authorization_response(
    params: Mapping[str, str], *, state: str, issuer: str, iss_supported: bool
) -> str:
    """The authorization code of a redirect's query, once it is safe to use.

    Raises :class:`OAuthError` when the response carries an ``error``, its
    ``state`` is not the one sent (RFC 6749 §10.12), or its ``iss`` fails RFC
    9207 §2.4: "Clients that support this specification MUST extract the value
    of the iss parameter from authorization responses they receive if the
    parameter is present", compare it to the issuer "using simple string
    comparison" (no normalization: a trailing slash is a different issuer), and
    reject a response without ``iss`` from a server whose metadata sets
    ``authorization_response_iss_parameter_supported``.
    """
    iss = params.get("iss")
    if iss is not None and iss != issuer:
        raise OAuthError(
            "issuer_mismatch", "the authorization response's iss is not the expected issuer"
        )
    if iss is None and iss_supported:
        raise OAuthError(
            "issuer_missing", "the authorization server promised iss but the response has none"
        )
    if params.get("state") != state:
        raise OAuthError("state_mismatch", "the authorization response's state is not the one sent")
    error = params.get("error")
    if error is not None:
        raise OAuthError(error, params.get("error_description", "authorization refused"))
    code = params.get("code")
    if not code:
        raise OAuthError("invalid_response", "the authorization response has no code")
    return code
