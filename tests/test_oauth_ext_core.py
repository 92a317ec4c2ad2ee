"""The core's decisions for the OAuth extension flows: grant forms, client assertion claims,
token exchange answers, DPoP proof claims, nonce challenges and nonce bookkeeping."""

from __future__ import annotations

import json
import string
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.oauth import (
    CLIENT_ASSERTION_TYPE_JWT_BEARER,
    DPOP_JWT_TYPE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_JWT_BEARER,
    GRANT_TOKEN_EXCHANGE,
    TOKEN_TYPE_ID_JAG,
    TOKEN_TYPE_ID_TOKEN,
    DPoPNonces,
    OAuthError,
    OAuthResponse,
    access_token_hash,
    authorization_value,
    client_assertion_claims,
    client_assertion_form,
    client_credentials_form,
    dpop_htu,
    dpop_origin,
    dpop_proof_claims,
    dpop_proof_header,
    jwk_thumbprint,
    jwt_bearer_form,
    parse_token_exchange_response,
    resource_nonce_challenge,
    token_endpoint_nonce_challenge,
    token_exchange_form,
    uses_dpop,
)

texts = st.text(min_size=1, max_size=40)
optional_texts = st.none() | texts
nonces = st.text(
    alphabet=[c for c in map(chr, range(0x21, 0x7F)) if c not in '"\\'], min_size=1, max_size=64
)


# -- grants -------------------------------------------------------------------------------


@given(texts, texts, st.integers(0, 2**40), texts, st.integers(1, 86_400))
def test_client_assertion_claims_name_the_client_twice(
    client_id: str, audience: str, now: int, jti: str, lifetime: int
) -> None:
    claims = client_assertion_claims(client_id, audience, now=now, jti=jti, lifetime=lifetime)
    assert claims == {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti,
    }


@pytest.mark.parametrize(
    ("client_id", "audience", "lifetime"), [("", "a", 10), ("c", "", 10), ("c", "a", 0)]
)
def test_client_assertion_claims_refuse_what_cannot_authenticate(
    client_id: str, audience: str, lifetime: int
) -> None:
    with pytest.raises(ValueError, match="client assertion"):
        client_assertion_claims(client_id, audience, now=1, jti="j", lifetime=lifetime)


def test_client_assertion_form() -> None:
    assert client_assertion_form("a.b.c") == {
        "client_assertion_type": CLIENT_ASSERTION_TYPE_JWT_BEARER,
        "client_assertion": "a.b.c",
    }
    assert (
        CLIENT_ASSERTION_TYPE_JWT_BEARER == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )


@given(optional_texts, optional_texts)
def test_client_credentials_form_survives_form_encoding(
    scope: str | None, resource: str | None
) -> None:
    form = client_credentials_form(scope, resource)
    expected = {"grant_type": GRANT_CLIENT_CREDENTIALS}
    if scope:
        expected["scope"] = scope
    if resource:
        expected["resource"] = resource
    assert form == expected
    assert dict(parse_qsl(urlencode(form), keep_blank_values=True)) == expected


@given(texts, optional_texts, optional_texts)
def test_jwt_bearer_form(assertion: str, scope: str | None, resource: str | None) -> None:
    form = jwt_bearer_form(assertion, scope, resource)
    assert form["grant_type"] == GRANT_JWT_BEARER == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert form["assertion"] == assertion
    assert form.get("scope") == (scope or None)
    assert form.get("resource") == (resource or None)
    assert set(form) <= {"grant_type", "assertion", "scope", "resource"}


def test_jwt_bearer_form_needs_an_assertion() -> None:
    with pytest.raises(ValueError, match="needs an assertion"):
        jwt_bearer_form("")


def test_token_exchange_form_for_an_id_jag() -> None:
    form = token_exchange_form(
        subject_token="id.token.jwt",
        subject_token_type=TOKEN_TYPE_ID_TOKEN,
        requested_token_type=TOKEN_TYPE_ID_JAG,
        audience="https://as.example",
        resource="https://mcp.example/mcp",
        client_id="idp-client",
    )
    assert form == {
        "grant_type": GRANT_TOKEN_EXCHANGE,
        "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
        "audience": "https://as.example",
        "resource": "https://mcp.example/mcp",
        "subject_token": "id.token.jwt",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "client_id": "idp-client",
    }
    assert GRANT_TOKEN_EXCHANGE == "urn:ietf:params:oauth:grant-type:token-exchange"
    bare = token_exchange_form(
        subject_token="t", subject_token_type="x", requested_token_type="y", audience="a"
    )
    assert "resource" not in bare and "client_id" not in bare and "scope" not in bare
    with pytest.raises(ValueError, match="subject token"):
        token_exchange_form(
            subject_token="", subject_token_type="x", requested_token_type="y", audience="a"
        )


def _answer(status: int, document: object) -> OAuthResponse:
    return OAuthResponse(
        status, {"content-type": "application/json"}, json.dumps(document).encode()
    )


def test_token_exchange_answer_gives_the_id_jag() -> None:
    answer = {
        "access_token": "jag.jwt.sig",
        "issued_token_type": TOKEN_TYPE_ID_JAG,
        "token_type": "N_A",
    }
    assert parse_token_exchange_response(_answer(200, answer)) == "jag.jwt.sig"
    del answer["issued_token_type"]
    assert parse_token_exchange_response(_answer(200, answer)) == "jag.jwt.sig"


@pytest.mark.parametrize(
    ("status", "document", "error"),
    [
        (400, {"error": "invalid_grant", "error_description": "Invalid ID token"}, "invalid_grant"),
        (401, {"error": "invalid_client"}, "invalid_client"),
        (500, "down", "server_error"),
        (200, {"issued_token_type": TOKEN_TYPE_ID_JAG}, "invalid_response"),
        (200, {"access_token": ""}, "invalid_response"),
        (200, {"access_token": "t", "issued_token_type": TOKEN_TYPE_ID_TOKEN}, "invalid_response"),
        (200, ["access_token"], "invalid_response"),
    ],
)
def test_token_exchange_refusals(status: int, document: object, error: str) -> None:
    with pytest.raises(OAuthError) as raised:
        parse_token_exchange_response(_answer(status, document))
    assert raised.value.error == error


@given(st.integers(100, 599), st.binary(max_size=200))
def test_token_exchange_answer_never_crashes(status: int, body: bytes) -> None:
    try:
        token = parse_token_exchange_response(OAuthResponse(status, {}, body))
    except OAuthError as exc:
        assert len(exc.description) <= 600
    else:
        assert status == 200 and isinstance(token, str) and token


# -- DPoP ---------------------------------------------------------------------------------


def test_rfc_9449_vectors() -> None:
    # RFC 9449 §7.1 (the ath of its example token) and §6.1 (the jkt of its example key).
    assert (
        access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")
        == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    )
    jwk = {
        "kty": "EC",
        "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        "crv": "P-256",
    }
    assert jwk_thumbprint(jwk) == "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    assert jwk_thumbprint({**jwk, "use": "sig", "kid": "k"}) == jwk_thumbprint(jwk)
    with pytest.raises(ValueError, match="no thumbprint"):
        jwk_thumbprint({"kty": "oct", "k": "x"})
    with pytest.raises(ValueError, match="lacks"):
        jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "a"})


hosts = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=12)
segments = st.lists(
    st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=1, max_size=8),
    max_size=4,
)


@given(
    st.sampled_from(["http", "HTTPS", "https"]),
    hosts,
    st.none() | st.integers(1, 65535),
    segments,
    st.none() | st.text(alphabet=string.ascii_letters + "=&", max_size=10),
    st.none() | st.text(alphabet=string.ascii_letters, max_size=6),
)
def test_htu_drops_query_and_fragment(
    scheme: str,
    host: str,
    port: int | None,
    path: list[str],
    query: str | None,
    fragment: str | None,
) -> None:
    authority = host + (f":{port}" if port is not None else "")
    base = f"{scheme}://{authority}/{'/'.join(path)}"
    url = base + (f"?{query}" if query is not None else "") + (f"#{fragment}" if fragment else "")
    htu = dpop_htu(url)
    assert "?" not in htu and "#" not in htu
    assert htu == f"{scheme.lower()}://{authority.lower()}/{'/'.join(path)}"
    assert dpop_origin(url) == f"{scheme.lower()}://{authority.lower()}"


def test_htu_needs_an_absolute_url() -> None:
    with pytest.raises(ValueError, match="absolute URL"):
        dpop_htu("/mcp")
    assert dpop_htu("https://Example.COM") == "https://example.com/"


@given(
    st.sampled_from(["get", "POST", "delete"]),
    st.integers(0, 2**33),
    texts,
    st.none() | texts.filter(str.isascii),
    st.none() | nonces,
)
def test_proof_claims(
    method: str, iat: int, jti: str, token: str | None, nonce: str | None
) -> None:
    claims = dpop_proof_claims(
        method, "https://rs.example/mcp?x=1", iat=iat, jti=jti, access_token=token, nonce=nonce
    )
    assert claims["htm"] == method.upper()
    assert claims["htu"] == "https://rs.example/mcp"
    assert claims["iat"] == iat and claims["jti"] == jti
    assert ("ath" in claims) == (token is not None)
    if token is not None:
        assert claims["ath"] == access_token_hash(token)
    assert claims.get("nonce") == nonce


def test_proof_claims_need_a_jti() -> None:
    with pytest.raises(ValueError, match="needs a jti"):
        dpop_proof_claims("POST", "https://as.example/token", iat=1, jti="")


def test_proof_header_is_public_and_asymmetric() -> None:
    jwk = {"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}
    assert dpop_proof_header("ES256", jwk) == {"typ": DPOP_JWT_TYPE, "alg": "ES256", "jwk": jwk}
    assert DPOP_JWT_TYPE == "dpop+jwt"
    for alg in ("none", "HS256"):
        with pytest.raises(ValueError, match="asymmetric"):
            dpop_proof_header(alg, jwk)
    with pytest.raises(ValueError, match="public"):
        dpop_proof_header("ES256", {**jwk, "d": "secret"})


@pytest.mark.parametrize(
    ("token_type", "scheme"),
    [
        ("DPoP", "DPoP"),
        ("dpop", "DPoP"),
        ("Bearer", "Bearer"),
        ("bearer", "Bearer"),
        (None, "Bearer"),
    ],
)
def test_authorization_value(token_type: str | None, scheme: str) -> None:
    assert authorization_value(token_type, "tok") == f"{scheme} tok"


def test_uses_dpop_when_the_server_signs_the_algorithm() -> None:
    assert uses_dpop({"dpop_signing_alg_values_supported": ["ES256", "RS256"]})
    assert not uses_dpop({"dpop_signing_alg_values_supported": ["RS256"]})
    assert not uses_dpop({"dpop_signing_alg_values_supported": "ES256"})
    assert not uses_dpop({})
    assert uses_dpop({"dpop_signing_alg_values_supported": ["ES384"]}, "ES384")


@given(
    st.integers(100, 599),
    st.none() | nonces | st.just('bad"nonce'),
    st.sampled_from(["use_dpop_nonce", "invalid_grant", "invalid_dpop_proof", None]),
)
def test_token_endpoint_nonce_challenge_table(
    status: int, nonce: str | None, error: str | None
) -> None:
    body = json.dumps({"error": error} if error else {}).encode()
    expected = (
        nonce
        if status == 400 and error == "use_dpop_nonce" and nonce is not None and '"' not in nonce
        else None
    )
    assert token_endpoint_nonce_challenge(status, nonce, body) == expected


@given(st.integers(100, 599), st.none() | nonces, st.binary(max_size=64))
def test_token_endpoint_nonce_challenge_never_crashes(
    status: int, nonce: str | None, body: bytes
) -> None:
    assert token_endpoint_nonce_challenge(status, nonce, body) in (None, nonce)


CHALLENGES = {
    'DPoP error="use_dpop_nonce", error_description="Resource server requires a nonce"': True,
    'DPoP error="use_dpop_nonce", resource_metadata="https://rs.example/.well-known/x"': True,
    'Bearer realm="x", DPoP algs="ES256", error=use_dpop_nonce': True,
    'dpop ERROR="use_dpop_nonce"': True,
    'Bearer error="use_dpop_nonce"': False,
    'DPoP error="invalid_token"': False,
    'DPoP resource_metadata="https://rs.example/prm"': False,
    'DPoP error="use_dpop_nonce': False,
    "": False,
}


@pytest.mark.parametrize(("header", "challenge"), CHALLENGES.items())
def test_resource_nonce_challenge(header: str, challenge: bool) -> None:
    expected = "n-1" if challenge else None
    assert resource_nonce_challenge(401, "n-1", [header]) == expected
    assert resource_nonce_challenge(403, "n-1", [header]) is None
    assert resource_nonce_challenge(401, None, [header]) is None
    assert resource_nonce_challenge(401, "n-1", ["Bearer", header]) == expected


@given(st.integers(100, 599), st.none() | nonces, st.lists(st.text(max_size=80), max_size=3))
def test_resource_nonce_challenge_never_crashes(
    status: int, nonce: str | None, headers: list[str]
) -> None:
    assert resource_nonce_challenge(status, nonce, headers) in (None, nonce)


def test_nonces_are_kept_per_server() -> None:
    nonces_ = DPoPNonces()
    assert nonces_.nonce_for("https://as.example/token") is None
    nonces_.remember("https://AS.example/token?x=1", "as-1")
    nonces_.remember("https://rs.example/mcp", "rs-1")
    nonces_.remember("https://rs.example/mcp", None)
    nonces_.remember("https://rs.example/mcp", 'bad "nonce"')
    assert nonces_.nonce_for("https://as.example/other") == "as-1"
    assert nonces_.nonce_for("https://rs.example/mcp") == "rs-1"
    assert nonces_.nonce_for("https://rs.example:8443/mcp") is None
    nonces_.remember("https://rs.example/mcp", "rs-2")
    assert nonces_.nonce_for("https://rs.example/x") == "rs-2"


@given(st.lists(st.tuples(st.integers(0, 200), nonces), max_size=150))
def test_nonces_are_bounded_and_latest_wins(entries: list[tuple[int, str]]) -> None:
    store = DPoPNonces()
    latest: dict[int, str] = {}
    for port, nonce in entries:
        store.remember(f"https://h:{port + 1}/p", nonce)
        latest.pop(port, None)
        latest[port] = nonce
    recent = list(latest.items())[-64:]
    for port, nonce in recent:
        assert store.nonce_for(f"https://h:{port + 1}/q") == nonce
    forgotten = list(latest)[:-64]
    for port in forgotten:
        assert store.nonce_for(f"https://h:{port + 1}/q") is None
