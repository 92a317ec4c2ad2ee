"""PKCE, scopes, the authorization URL, the authorization response's checks; clients and tokens."""

from __future__ import annotations

import base64
import contextlib
import json
from urllib.parse import parse_qs, parse_qsl, urlsplit

import hypothesis.strategies as st
import pytest
from hypothesis import given

from scaled_mcp.protocol.oauth import (
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_POST,
    NONE,
    ClientInformation,
    OAuthError,
    OAuthResponse,
    Pkce,
    TokenSet,
    authorization_url,
    check_authorization_response,
    choose_auth_method,
    code_challenge_s256,
    parse_registration,
    parse_token_response,
    registration_request,
    select_scope,
    token_request,
    union_scopes,
)

#: RFC 7636 Appendix B: the octets of the verifier and the challenge they give.
RFC7636_OCTETS = bytes(
    [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
     105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121]
)  # fmt: skip


def test_rfc7636_test_vector() -> None:
    pkce = Pkce.from_entropy(RFC7636_OCTETS + bytes(32))
    assert pkce.verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert code_challenge_s256(pkce.verifier) == pkce.challenge
    assert pkce.method == "S256"
    assert pkce.verifier not in repr(pkce)


@given(st.binary(min_size=64, max_size=64))
def test_verifier_and_state_shape(entropy: bytes) -> None:
    pkce = Pkce.from_entropy(entropy)
    # RFC 7636 §4.1: 43 to 128 unreserved characters.
    assert len(pkce.verifier) == 43 and len(pkce.state) == 43
    assert set(pkce.verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )


def test_too_little_entropy() -> None:
    with pytest.raises(OAuthError):
        Pkce.from_entropy(bytes(63))


def test_scope_selection_order() -> None:
    assert select_scope(("a",), ("c",), ("b",), None, offline_access=True) == ("a",)
    assert select_scope(None, ("c",), ("b",), None, offline_access=True) == ("c",)
    assert select_scope(None, None, ("b", "d"), None, offline_access=True) == ("b", "d")
    assert select_scope(None, None, None, None, offline_access=True) == ()
    # offline_access only when the authorization server lists it.
    assert select_scope(None, None, ("b",), ("b", "offline_access"), offline_access=True) == (
        "b",
        "offline_access",
    )
    assert select_scope(None, None, ("b",), ("b", "offline_access"), offline_access=False) == ("b",)
    assert select_scope(None, None, ("b",), ("b",), offline_access=True) == ("b",)
    assert union_scopes(("a", "b"), None, ("b", "c", "")) == ("a", "b", "c")


def test_authorization_url_parameters() -> None:
    pkce = Pkce.from_entropy(bytes(range(64)))
    url = authorization_url(
        "http://as/authorize?tenant=t",
        client_id="c",
        redirect_uri="http://localhost:3000/callback",
        pkce=pkce,
        resource="http://h/mcp",
        scope=("a", "b"),
    )
    params = parse_qs(urlsplit(url).query)
    assert params == {
        "tenant": ["t"],
        "response_type": ["code"],
        "client_id": ["c"],
        "redirect_uri": ["http://localhost:3000/callback"],
        "state": [pkce.state],
        "code_challenge": [pkce.challenge],
        "code_challenge_method": ["S256"],
        "resource": ["http://h/mcp"],
        "scope": ["a b"],
    }
    bare = authorization_url(
        "http://as/authorize", client_id="c", redirect_uri="r", pkce=pkce, resource="x", scope=()
    )
    assert "scope" not in parse_qs(urlsplit(bare).query)


ISSUER = "http://as:1"


@pytest.mark.parametrize(
    ("iss", "supported", "error"),
    [
        (ISSUER, True, None),
        (ISSUER, False, None),
        (None, False, None),
        (None, True, "issuer_missing"),
        ("https://evil.example.com", True, "issuer_mismatch"),
        ("https://evil.example.com", False, "issuer_mismatch"),
        (ISSUER + "/", True, "issuer_mismatch"),
        ("HTTP://AS:1", True, "issuer_mismatch"),
        ("http://as:1/%7E", False, "issuer_mismatch"),
    ],
)
def test_iss_checks(iss: str | None, supported: bool, error: str | None) -> None:
    params = {"code": "c", "state": "s"} | ({"iss": iss} if iss is not None else {})
    if error is None:
        assert (
            check_authorization_response(params, state="s", issuer=ISSUER, iss_supported=supported)
            == "c"
        )
    else:
        with pytest.raises(OAuthError) as raised:
            check_authorization_response(params, state="s", issuer=ISSUER, iss_supported=supported)
        assert raised.value.error == error


def test_state_error_and_code_checks() -> None:
    with pytest.raises(OAuthError, match="state_mismatch"):
        check_authorization_response(
            {"code": "c", "state": "x"}, state="s", issuer=ISSUER, iss_supported=False
        )
    with pytest.raises(OAuthError, match="access_denied"):
        check_authorization_response(
            {"error": "access_denied", "state": "s"}, state="s", issuer=ISSUER, iss_supported=False
        )
    with pytest.raises(OAuthError, match="invalid_response"):
        check_authorization_response({"state": "s"}, state="s", issuer=ISSUER, iss_supported=False)


# -- clients and tokens -------------------------------------------------------------


def test_auth_method_choice() -> None:
    secret = ClientInformation("id", "secret")
    assert choose_auth_method(secret, None) == CLIENT_SECRET_BASIC
    assert choose_auth_method(secret, ["client_secret_post"]) == CLIENT_SECRET_POST
    assert (
        choose_auth_method(secret, ["client_secret_basic", "client_secret_post"])
        == CLIENT_SECRET_BASIC
    )
    assert choose_auth_method(ClientInformation("id"), ["client_secret_basic"]) == NONE
    registered = ClientInformation("id", "secret", "client_secret_post")
    assert choose_auth_method(registered, ["client_secret_basic"]) == CLIENT_SECRET_POST
    assert "secret" not in repr(secret)


def _form(request_body: bytes) -> dict[str, str]:
    return dict(parse_qsl(request_body.decode()))


def test_token_request_methods() -> None:
    client = ClientInformation("a b", "p:w&")
    basic = token_request("http://as/token", [("grant_type", "x")], client, CLIENT_SECRET_BASIC)
    headers = dict(basic.headers)
    # RFC 6749 §2.3.1: each part form-encoded before base64.
    assert base64.b64decode(headers["authorization"][6:]) == b"a+b:p%3Aw%26"
    assert _form(basic.body) == {"grant_type": "x"}
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    post = token_request("http://as/token", [("grant_type", "x")], client, CLIENT_SECRET_POST)
    assert _form(post.body) == {"grant_type": "x", "client_id": "a b", "client_secret": "p:w&"}
    assert "authorization" not in dict(post.headers)
    public = token_request("http://as/token", [("grant_type", "x")], client, NONE)
    assert _form(public.body) == {"grant_type": "x", "client_id": "a b"}
    assert "p:w&" not in repr(post)


def test_registration_round_trip() -> None:
    request = registration_request(
        "http://as/register",
        client_name="n",
        redirect_uris=["http://localhost:3000/callback"],
        grant_types=["authorization_code", "refresh_token"],
        supported_methods=["client_secret_post", "none"],
        application_type="native",
    )
    body = json.loads(request.body)
    assert body["application_type"] == "native"
    assert body["token_endpoint_auth_method"] == "client_secret_post"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    answer = OAuthResponse(201, {}, json.dumps({"client_id": "c", "client_secret": "s"}).encode())
    assert parse_registration(answer, "http://as") == ClientInformation("c", "s", None, "http://as")
    with pytest.raises(OAuthError):
        parse_registration(
            OAuthResponse(400, {}, b'{"error": "invalid_client_metadata"}'), "http://as"
        )
    with pytest.raises(OAuthError):
        parse_registration(OAuthResponse(201, {}, b'{"client_secret": "s"}'), "http://as")


def test_token_response() -> None:
    body = {
        "access_token": "SECRET-A",
        "token_type": "Bearer",
        "expires_in": 60,
        "refresh_token": "SECRET-R",
        "scope": "a b",
    }
    tokens = parse_token_response(
        OAuthResponse(200, {}, json.dumps(body).encode()),
        now=100.0,
        requested_scope=("x",),
        issuer="i",
    )
    assert tokens == TokenSet("SECRET-A", "Bearer", 160.0, "SECRET-R", ("a", "b"), "i")
    assert not tokens.expired(100.0) and tokens.expired(140.0)
    assert "SECRET" not in repr(tokens)
    # RFC 6749 §5.1: no scope in the response means the requested one.
    bare = parse_token_response(
        OAuthResponse(200, {}, b'{"access_token": "t", "token_type": "DPoP"}'),
        now=0.0,
        requested_scope=("x",),
        issuer=None,
    )
    assert bare.scope == ("x",) and bare.expires_at is None and not bare.expired(1e12)
    with pytest.raises(OAuthError) as raised:
        parse_token_response(
            OAuthResponse(400, {}, b'{"error": "invalid_grant", "error_description": "no"}'),
            now=0.0,
            requested_scope=(),
            issuer=None,
        )
    assert (raised.value.error, raised.value.description) == ("invalid_grant", "no")


@given(st.integers(100, 599), st.binary(max_size=200))
def test_any_token_response_is_read_or_refused(status: int, body: bytes) -> None:
    with contextlib.suppress(OAuthError):
        parse_token_response(
            OAuthResponse(status, {}, body), now=0.0, requested_scope=(), issuer=None
        )
