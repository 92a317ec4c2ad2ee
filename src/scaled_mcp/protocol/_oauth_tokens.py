"""Clients and tokens: registration, token requests, token responses.

:class:`ClientInformation` (pre-registered, a client ID metadata document URL,
or RFC 7591 dynamic registration: :func:`registration_request`,
:func:`parse_registration`), the token endpoint authentication method
(:func:`choose_auth_method`), token requests (:func:`token_request`, OAuth 2.1
§3.2 with ``client_secret_basic``, ``client_secret_post`` or ``none``) and
:class:`TokenSet` read from a token response (:func:`parse_token_response`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import quote_plus, urlencode

import attrs

from ._oauth_discovery import read_json_object
from ._oauth_errors import OAuthError
from ._oauth_messages import OAuthRequest, OAuthResponse

__all__ = [
    "CLIENT_SECRET_BASIC",
    "CLIENT_SECRET_POST",
    "NONE",
    "ClientInformation",
    "TokenSet",
    "choose_auth_method",
    "parse_registration",
    "parse_token_response",
    "registration_request",
    "token_request",
]

CLIENT_SECRET_BASIC: Final = "client_secret_basic"
"""RFC 6749 §2.3.1: the client id and secret in an HTTP Basic ``Authorization`` header."""
CLIENT_SECRET_POST: Final = "client_secret_post"
"""RFC 6749 §2.3.1: the client id and secret in the form body."""
NONE: Final = "none"
"""A public client: its id in the form body, no secret (RFC 7591 §2)."""

_CORE_METHODS: Final = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, NONE)
_FORM: Final = (
    ("content-type", "application/x-www-form-urlencoded"),
    ("accept", "application/json"),
)


@attrs.frozen(slots=True)
class ClientInformation:
    """The client as one authorization server knows it; ``repr`` hides the secret.

    ``issuer`` binds it to that server: 2026-07-28 authorization (SEP-2352)
    "Clients MUST NOT assume that client credentials valid for one authorization
    server will be accepted by another".
    """

    client_id: str
    client_secret: str | None = attrs.field(default=None, repr=False)
    token_endpoint_auth_method: str | None = None
    issuer: str | None = None


@attrs.frozen(slots=True)
class TokenSet:
    """Tokens from a token response; ``repr`` shows neither token.

    ``expires_at`` is the clock reading (seconds) past which the access token is
    stale, ``None`` when the server gave no ``expires_in``; ``scope`` is the
    granted scope (the requested one when the response omits it, RFC 6749 §5.1);
    ``issuer`` is the authorization server that issued them.
    """

    access_token: str = attrs.field(repr=False)
    token_type: str = "Bearer"
    expires_at: float | None = None
    refresh_token: str | None = attrs.field(default=None, repr=False)
    scope: tuple[str, ...] = ()
    issuer: str | None = None

    def expired(self, now: float, leeway: float = 30.0) -> bool:
        """Whether the access token is stale at ``now`` (minus ``leeway`` seconds)."""
        return self.expires_at is not None and now >= self.expires_at - leeway


def choose_auth_method(client: ClientInformation, supported: Sequence[str] | None) -> str:
    """The token endpoint authentication method to use.

    The one registration returned (or the application configured) wins; a client
    with a secret uses ``client_secret_basic`` when the server supports it (RFC
    8414 §2: the default when the server lists none), else ``client_secret_post``;
    a client without one is public (``none``).
    """
    if client.token_endpoint_auth_method:
        return client.token_endpoint_auth_method
    if client.client_secret is None:
        return NONE
    if supported is None or CLIENT_SECRET_BASIC in supported:
        return CLIENT_SECRET_BASIC
    if CLIENT_SECRET_POST in supported:
        return CLIENT_SECRET_POST
    return CLIENT_SECRET_BASIC


def token_request(
    endpoint: str,
    form: Iterable[tuple[str, str]],
    client: ClientInformation | None,
    method: str,
    *,
    purpose: str = "token",
) -> OAuthRequest:
    """A token request (OAuth 2.1 §3.2) with the client authenticated by ``method``.

    ``client_secret_basic`` puts ``application/x-www-form-urlencoded``-encoded id
    and secret in a Basic header (RFC 6749 §2.3.1); ``client_secret_post`` puts
    them in the form; ``none`` and every method the core does not implement
    (``private_key_jwt``, ...: a hook adds its assertion) put ``client_id`` alone.
    """
    fields = list(form)
    headers = list(_FORM)
    if client is not None:
        if method == CLIENT_SECRET_BASIC and client.client_secret is not None:
            pair = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret)}"
            headers.append(
                ("authorization", "Basic " + base64.b64encode(pair.encode()).decode("ascii"))
            )
        elif method == CLIENT_SECRET_POST and client.client_secret is not None:
            fields += [("client_id", client.client_id), ("client_secret", client.client_secret)]
        else:
            fields.append(("client_id", client.client_id))
    return OAuthRequest(
        "POST", endpoint, purpose, tuple(headers), urlencode(fields).encode("ascii")
    )


def registration_request(
    endpoint: str,
    *,
    client_name: str,
    redirect_uris: Sequence[str],
    grant_types: Sequence[str],
    supported_methods: Sequence[str] | None,
    application_type: str,
    scope: Sequence[str] = (),
) -> OAuthRequest:
    """RFC 7591 §3.1 dynamic client registration request.

    Asks for the first of ``client_secret_basic``, ``client_secret_post``,
    ``none`` the server supports; ``application_type`` is required by SEP-837
    (``native`` for a command-line or desktop client, ``web`` for a server).
    """
    body: dict[str, object] = {
        "client_name": client_name,
        "redirect_uris": list(redirect_uris),
        "grant_types": list(grant_types),
        "response_types": ["code"],
        "application_type": application_type,
    }
    methods = [
        method for method in _CORE_METHODS if supported_methods and method in supported_methods
    ]
    if methods:
        body["token_endpoint_auth_method"] = methods[0]
    if scope:
        body["scope"] = " ".join(scope)
    return OAuthRequest(
        "POST",
        endpoint,
        "registration",
        (("content-type", "application/json"), ("accept", "application/json")),
        json.dumps(body).encode(),
    )


def parse_registration(response: OAuthResponse, issuer: str) -> ClientInformation:
    """RFC 7591 §3.2.1: the registered client, or :class:`OAuthError`."""
    if response.status not in (200, 201):
        raise _error_from(response, "registration")
    document = read_json_object(response.body, "registration response")
    client_id = document.get("client_id")
    secret = document.get("client_secret")
    method = document.get("token_endpoint_auth_method")
    if not isinstance(client_id, str) or not client_id:
        raise OAuthError("invalid_response", "registration response has no client_id")
    if secret is not None and not isinstance(secret, str):
        raise OAuthError("invalid_response", "registration response client_secret is not a string")
    if method is not None and not isinstance(method, str):
        raise OAuthError(
            "invalid_response", "registration response token_endpoint_auth_method is not a string"
        )
    return ClientInformation(client_id, secret, method, issuer)


def _error_from(response: OAuthResponse, what: str) -> OAuthError:
    try:
        document = read_json_object(response.body, f"{what} error")
    except OAuthError:
        return OAuthError("server_error", f"{what} answered HTTP {response.status}")
    error = document.get("error")
    description = document.get("error_description")
    return OAuthError(
        error if isinstance(error, str) and error else "server_error",
        description if isinstance(description, str) else f"{what} answered HTTP {response.status}",
    )


def parse_token_response(
    response: OAuthResponse, *, now: float, requested_scope: Sequence[str], issuer: str | None
) -> TokenSet:
    """RFC 6749 §5.1 successful response as a :class:`TokenSet`, else :class:`OAuthError`.

    An error response (§5.2) raises with its ``error`` and ``error_description``.
    """
    if response.status != 200:
        raise _error_from(response, "token endpoint")
    document = read_json_object(response.body, "token response")
    access_token = document.get("access_token")
    token_type = document.get("token_type")
    expires_in = document.get("expires_in")
    refresh_token = document.get("refresh_token")
    scope = document.get("scope")
    if not isinstance(access_token, str) or not access_token:
        raise OAuthError("invalid_response", "token response has no access_token")
    if not isinstance(token_type, str) or not token_type:
        raise OAuthError("invalid_response", "token response has no token_type")
    if expires_in is not None and (
        isinstance(expires_in, bool) or not isinstance(expires_in, (int, float))
    ):
        raise OAuthError("invalid_response", "token response expires_in is not a number")
    if refresh_token is not None and not isinstance(refresh_token, str):
        raise OAuthError("invalid_response", "token response refresh_token is not a string")
    if scope is not None and not isinstance(scope, str):
        raise OAuthError("invalid_response", "token response scope is not a string")
    return TokenSet(
        access_token=access_token,
        token_type=token_type,
        expires_at=None if expires_in is None else now + float(expires_in),
        refresh_token=refresh_token or None,
        scope=tuple(dict.fromkeys(scope.split())) if scope is not None else tuple(requested_scope),
        issuer=issuer,
    )
