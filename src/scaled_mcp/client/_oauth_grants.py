"""Grants without a user for the OAuth driver: client credentials, the JWT-bearer grant of a
workload identity, and enterprise-managed authorization.

Each is a ``TokenGrant`` of :class:`scaled_mcp.client.OAuth`: after discovery, the driver runs
its :meth:`obtain` exchange in place of the authorization-code flow. An exchange is a generator
that yields the requests to send and receives their answers (bodies read); it returns the
:class:`TokenSet` of the authorization server's answer, or raises :class:`OAuthError` and is
never retried. What to send and what an answer means is the core's
(``scaled_mcp.protocol.oauth``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Protocol

import httpx2

from scaled_mcp.protocol.oauth import (
    TOKEN_TYPE_ID_JAG,
    TOKEN_TYPE_ID_TOKEN,
    AuthorizationServerMetadata,
    ClientInformation,
    OAuthRequest,
    OAuthResponse,
    TokenSet,
    client_credentials_form,
    jwt_bearer_form,
    parse_token_exchange_response,
    parse_token_response,
    token_exchange_form,
    token_request,
)

__all__ = ["ClientCredentials", "EnterpriseManaged", "JwtBearer"]

Exchange = Generator[httpx2.Request, httpx2.Response, TokenSet]
#: An assertion or ID token: the string itself, or a function that returns a current one.
Credential = str | Callable[[], str]


class _GrantContext(Protocol):
    """What the driver hands a grant (``scaled_mcp.client.GrantContext``)."""

    @property
    def resource(self) -> str | None: ...

    @property
    def scope(self) -> tuple[str, ...]: ...

    @property
    def metadata(self) -> AuthorizationServerMetadata: ...

    @property
    def authenticate(self) -> Callable[[OAuthRequest], httpx2.Request]: ...

    @property
    def now(self) -> Callable[[], float]: ...


def _scope(context: _GrantContext) -> str | None:
    return " ".join(context.scope) or None


def _read(response: httpx2.Response) -> OAuthResponse:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return OAuthResponse(response.status_code, headers, response.content)


def _current(credential: Credential, what: str) -> str:
    value = credential() if callable(credential) else credential
    if not isinstance(value, str) or not value:
        raise ValueError(f"the {what} is empty")
    return value


def _token_exchange(
    context: _GrantContext, form: dict[str, str]
) -> Generator[httpx2.Request, httpx2.Response, TokenSet]:
    """Send one token request to the authorization server, authenticated as the driver's
    client, and read its answer (the answer's errors raise, RFC 6749 §5.2)."""
    request = token_request(context.metadata.token_endpoint, form.items(), None, "none")
    response = yield context.authenticate(request)
    return parse_token_response(
        _read(response),
        now=context.now(),
        requested_scope=context.scope,
        issuer=context.metadata.issuer,
    )


class ClientCredentials:
    """The client-credentials grant (OAuth 2.1 §4.2): the client acts on its own behalf.

    The client authenticates as the driver's configured client: ``client_secret_basic`` or
    ``client_secret_post`` with ``OAuth(client_id=, client_secret=)``, ``private_key_jwt``
    with ``OAuth(client_id=, client_authenticator=PrivateKeyJWT(...))``.
    """

    def __repr__(self) -> str:
        return "ClientCredentials()"

    def obtain(self, context: _GrantContext) -> Exchange:
        """Ask the token endpoint for a token with ``grant_type=client_credentials``."""
        form = client_credentials_form(_scope(context), context.resource)
        return (yield from _token_exchange(context, form))


class JwtBearer:
    """The JWT-bearer grant (RFC 7523 §2.1), as a workload proves its identity.

    ``assertion`` is the JWT the environment issued the workload (a cloud or Kubernetes
    identity token whose audience is the authorization server): the string, or a function
    returning a current one (called once per token request). A refused assertion is an
    :class:`OAuthError`: RFC 7523 gives the client nothing to retry with, so it neither
    retries nor falls back to another grant.
    """

    def __init__(self, assertion: Credential) -> None:
        self._assertion = assertion

    def __repr__(self) -> str:
        return "JwtBearer(assertion=...)"

    def obtain(self, context: _GrantContext) -> Exchange:
        """Ask the token endpoint for a token with the assertion as the grant."""
        form = jwt_bearer_form(
            _current(self._assertion, "assertion"), _scope(context), context.resource
        )
        return (yield from _token_exchange(context, form))


class EnterpriseManaged:
    """Enterprise-managed authorization: the enterprise's identity provider grants access.

    Two steps. At the IdP's ``idp_token_endpoint``, an RFC 8693 token exchange of the user's
    ``id_token`` (from the enterprise single sign-on; a string or a function returning a
    current one) for an identity assertion authorization grant (ID-JAG) whose audience is the
    MCP authorization server's issuer and whose resource is the MCP server; the client is
    ``idp_client_id`` there (with ``idp_client_secret`` in a Basic header when it has one).
    Then at the MCP authorization server, the JWT-bearer grant (RFC 7523 §2.1) of that ID-JAG,
    authenticated as the driver's configured client.
    """

    def __init__(
        self,
        *,
        idp_token_endpoint: str,
        id_token: Credential,
        idp_client_id: str | None = None,
        idp_client_secret: str | None = None,
    ) -> None:
        self._endpoint = idp_token_endpoint
        self._id_token = id_token
        self._client = (
            ClientInformation(idp_client_id, idp_client_secret) if idp_client_id else None
        )

    def __repr__(self) -> str:
        return f"EnterpriseManaged(idp_token_endpoint={self._endpoint!r})"

    def obtain(self, context: _GrantContext) -> Exchange:
        """Exchange the ID token for an ID-JAG at the IdP, then the ID-JAG for an access token."""
        form = token_exchange_form(
            subject_token=_current(self._id_token, "ID token"),
            subject_token_type=TOKEN_TYPE_ID_TOKEN,
            requested_token_type=TOKEN_TYPE_ID_JAG,
            audience=context.metadata.issuer,
            resource=context.resource,
            scope=_scope(context),
        )
        method = "client_secret_basic" if self._client and self._client.client_secret else "none"
        exchange = token_request(self._endpoint, form.items(), self._client, method)
        answer = yield httpx2.Request(
            exchange.method, exchange.url, headers=list(exchange.headers), content=exchange.body
        )
        id_jag = parse_token_exchange_response(_read(answer))
        grant = jwt_bearer_form(id_jag, _scope(context), context.resource)
        return (yield from _token_exchange(context, grant))
