"""The grants without a user, driven as the OAuth driver drives them: each exchange yields its
requests (checked here field by field), is sent answers, and returns tokens or raises once,
never retrying."""

from __future__ import annotations

import base64
from collections.abc import Callable, Generator
from urllib.parse import parse_qsl

import attrs
import httpx2
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.client._oauth_grants import ClientCredentials, EnterpriseManaged, JwtBearer
from scaled_mcp.protocol.oauth import (
    AuthorizationServerMetadata,
    OAuthError,
    OAuthRequest,
    TokenSet,
)

ISSUER = "https://as.example"
TOKEN_ENDPOINT = "https://as.example/token"
IDP_TOKEN_ENDPOINT = "https://idp.example/token"
RESOURCE = "https://mcp.example/mcp"
METADATA = AuthorizationServerMetadata(
    issuer=ISSUER, authorization_endpoint=None, token_endpoint=TOKEN_ENDPOINT
)


@attrs.frozen
class Context:
    """The driver's side of a grant: discovery's results and client authentication
    (``client_secret_basic`` of ``client``/``secret``, as the driver does)."""

    scope: tuple[str, ...] = ()
    resource: str | None = RESOURCE
    metadata: AuthorizationServerMetadata = METADATA
    client: str = "the-client"
    secret: str = "the-secret"
    now: Callable[[], float] = lambda: 1000.0

    @property
    def authenticate(self) -> Callable[[OAuthRequest], httpx2.Request]:
        def build(request: OAuthRequest) -> httpx2.Request:
            basic = base64.b64encode(f"{self.client}:{self.secret}".encode()).decode()
            headers = [*request.headers, ("authorization", f"Basic {basic}")]
            return httpx2.Request(
                request.method, request.url, headers=headers, content=request.body
            )

        return build


def form_of(request: httpx2.Request) -> dict[str, str]:
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    pairs = parse_qsl(request.content.decode(), keep_blank_values=True)
    assert len(pairs) == len(dict(pairs)), "no field twice"
    return dict(pairs)


def token_answer(token: str = "at-1", **extra: object) -> httpx2.Response:
    return httpx2.Response(
        200, json={"access_token": token, "token_type": "Bearer", "expires_in": 60, **extra}
    )


def run(
    exchange: Generator[httpx2.Request, httpx2.Response, TokenSet],
    answer: Callable[[httpx2.Request], httpx2.Response],
) -> tuple[list[httpx2.Request], TokenSet]:
    sent: list[httpx2.Request] = []
    request = next(exchange)
    while True:
        sent.append(request)
        try:
            request = exchange.send(answer(request))
        except StopIteration as done:
            return sent, done.value


scopes = st.lists(st.sampled_from(["mcp:read", "mcp:write", "offline_access"]), unique=True)


@settings(max_examples=25, deadline=None)
@given(scopes, st.sampled_from([RESOURCE, None]))
def test_client_credentials_request(scope: list[str], resource: str | None) -> None:
    context = Context(scope=tuple(scope), resource=resource)
    sent, tokens = run(ClientCredentials().obtain(context), lambda _: token_answer())
    (request,) = sent
    assert str(request.url) == TOKEN_ENDPOINT
    expected = {"grant_type": "client_credentials"}
    if scope:
        expected["scope"] = " ".join(scope)
    if resource:
        expected["resource"] = resource
    assert form_of(request) == expected
    assert request.headers["authorization"].startswith("Basic ")
    assert tokens.access_token == "at-1" and tokens.token_type == "Bearer"
    assert tokens.expires_at == 1060.0 and tokens.issuer == ISSUER
    assert tokens.scope == tuple(scope)


@pytest.mark.parametrize(
    "grant",
    [ClientCredentials(), JwtBearer("workload.jwt.sig")],
    ids=["client_credentials", "jwt_bearer"],
)
@pytest.mark.parametrize(
    "error", ["invalid_client", "invalid_grant", "invalid_scope", "unauthorized_client"]
)
def test_a_refused_grant_raises_once(grant: ClientCredentials | JwtBearer, error: str) -> None:
    exchange = grant.obtain(Context())
    next(exchange)
    refusal = httpx2.Response(400, json={"error": error, "error_description": "no"})
    with pytest.raises(OAuthError) as raised:
        exchange.send(refusal)
    assert raised.value.error == error
    with pytest.raises(StopIteration):
        next(exchange)


def test_jwt_bearer_sends_the_workload_assertion() -> None:
    issued = iter(["jwt-1", "jwt-2"])
    grant = JwtBearer(lambda: next(issued))
    for expected in ("jwt-1", "jwt-2"):
        sent, tokens = run(grant.obtain(Context(scope=("a",))), lambda _: token_answer("t"))
        assert form_of(sent[0]) == {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": expected,
            "scope": "a",
            "resource": RESOURCE,
        }
        assert tokens.access_token == "t"
    with pytest.raises(ValueError, match="assertion is empty"):
        next(JwtBearer(lambda: "").obtain(Context()))
    assert "jwt" not in repr(JwtBearer("secret.jwt.value"))


def test_enterprise_managed_exchanges_the_id_token_then_presents_the_id_jag() -> None:
    grant = EnterpriseManaged(
        idp_token_endpoint=IDP_TOKEN_ENDPOINT, id_token="user.id.token", idp_client_id="idp-client"
    )

    def answer(request: httpx2.Request) -> httpx2.Response:
        if str(request.url) == IDP_TOKEN_ENDPOINT:
            return httpx2.Response(
                200,
                json={
                    "access_token": "the.id.jag",
                    "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
                    "token_type": "N_A",
                },
            )
        return token_answer("mcp-token")

    sent, tokens = run(grant.obtain(Context()), answer)
    exchange, bearer = sent
    assert str(exchange.url) == IDP_TOKEN_ENDPOINT
    assert "authorization" not in exchange.headers
    assert form_of(exchange) == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
        "audience": ISSUER,
        "resource": RESOURCE,
        "subject_token": "user.id.token",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "client_id": "idp-client",
    }
    assert str(bearer.url) == TOKEN_ENDPOINT
    basic = base64.b64encode(b"the-client:the-secret").decode()
    assert bearer.headers["authorization"] == f"Basic {basic}"
    assert form_of(bearer) == {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": "the.id.jag",
        "resource": RESOURCE,
    }
    assert tokens.access_token == "mcp-token"


def test_enterprise_managed_authenticates_at_the_idp_when_it_has_a_secret() -> None:
    grant = EnterpriseManaged(
        idp_token_endpoint=IDP_TOKEN_ENDPOINT,
        id_token=lambda: "fresh.id.token",
        idp_client_id="idp client",
        idp_client_secret="s&cret",
    )
    exchange = grant.obtain(Context())
    request = next(exchange)
    user, _, password = (
        base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")
    )
    assert (user, password) == ("idp+client", "s%26cret")
    assert form_of(request)["subject_token"] == "fresh.id.token"
    assert "client_secret" not in form_of(request)


@pytest.mark.parametrize(
    "answer",
    [
        httpx2.Response(
            400, json={"error": "invalid_grant", "error_description": "Invalid ID token"}
        ),
        httpx2.Response(200, json={"access_token": "x", "issued_token_type": "urn:other"}),
        httpx2.Response(200, content=b"<html>"),
    ],
)
def test_an_idp_refusal_ends_the_grant_before_the_authorization_server(
    answer: httpx2.Response,
) -> None:
    grant = EnterpriseManaged(idp_token_endpoint=IDP_TOKEN_ENDPOINT, id_token="t")
    exchange = grant.obtain(Context())
    next(exchange)
    with pytest.raises(OAuthError):
        exchange.send(answer)
