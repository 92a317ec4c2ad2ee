"""``private_key_jwt`` client assertions (RFC 7523 §2.2, §3) verified as an authorization
server does: the signature with the client's public key, ``iss`` = ``sub`` = the client id,
``aud``, ``exp``, a fresh ``jti``."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings, strategies as st

from scaled_mcp.client._oauth_assertion import PrivateKeyJWT
from scaled_mcp.protocol.oauth import CLIENT_ASSERTION_TYPE_JWT_BEARER

ISSUER = "https://as.example"
TOKEN_ENDPOINT = "https://as.example/oauth/token"
NOW = 1_700_000_000


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


EC_KEY = ec.generate_private_key(ec.SECP256R1())


@settings(max_examples=20, deadline=None)
@given(
    st.text(min_size=1, max_size=30),
    st.integers(1, 3600),
    st.sampled_from(["issuer", "token_endpoint"]),
)
def test_assertion_verifies_with_the_clients_public_key(
    client_id: str, lifetime: int, audience: str
) -> None:
    auth = PrivateKeyJWT(
        pem(EC_KEY),
        "ES256",
        lifetime=lifetime,
        audience=audience,  # type: ignore[arg-type]
        clock=lambda: NOW + 0.9,
    )
    form = {"grant_type": "client_credentials", "client_id": client_id}
    auth.authenticate(form, TOKEN_ENDPOINT, ISSUER)
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE_JWT_BEARER
    expected_audience = ISSUER if audience == "issuer" else TOKEN_ENDPOINT
    claims = jwt.decode(
        form["client_assertion"],
        EC_KEY.public_key(),
        algorithms=["ES256"],
        audience=expected_audience,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == claims["sub"] == client_id
    assert claims["aud"] == expected_audience
    assert claims["iat"] == NOW and claims["exp"] == NOW + lifetime
    assert form["client_id"] == client_id and form["grant_type"] == "client_credentials"


def test_each_assertion_is_new_and_current() -> None:
    auth = PrivateKeyJWT(pem(EC_KEY))
    first = auth.assertion("c", ISSUER)
    second = auth.assertion("c", ISSUER)
    decoded = [
        jwt.decode(token, EC_KEY.public_key(), algorithms=["ES256"], audience=ISSUER)
        for token in (first, second)
    ]
    assert decoded[0]["jti"] != decoded[1]["jti"]
    assert auth.method == "private_key_jwt"
    assert "BEGIN" not in repr(auth)


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "PS256"),
        (ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
        (ec.generate_private_key(ec.SECP384R1()), "ES384"),
    ],
)
def test_other_key_types(
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    algorithm: str,
) -> None:
    token = PrivateKeyJWT(pem(key), algorithm).assertion("c", ISSUER)
    claims = jwt.decode(token, key.public_key(), algorithms=[algorithm], audience=ISSUER)
    assert claims["sub"] == "c"


def test_bad_configuration_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="not a readable PEM key"):
        PrivateKeyJWT("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match="needs a RSAPrivateKey"):
        PrivateKeyJWT(pem(EC_KEY), "RS256")
    with pytest.raises(ValueError, match="signed with one of"):
        PrivateKeyJWT(pem(EC_KEY), "HS256")
    with pytest.raises(ValueError, match="lifetime"):
        PrivateKeyJWT(pem(EC_KEY), lifetime=0)
    with pytest.raises(ValueError, match="client_id"):
        PrivateKeyJWT(pem(EC_KEY)).authenticate({}, TOKEN_ENDPOINT, ISSUER)
