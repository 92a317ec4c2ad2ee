"""DPoP proofs as a server checks them (RFC 9449 §4.3): each verified with PyJWT against the
``jwk`` of its own header, its claims, ``ath``, the DPoP-bound ``Authorization`` and the nonce
retries of a token endpoint (§8) and of a resource server (§9)."""

from __future__ import annotations

import json
from typing import Any

import attrs
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from jwt.algorithms import ECAlgorithm

from scaled_mcp.client._oauth_dpop import DPoP
from scaled_mcp.protocol.oauth import access_token_hash, jwk_thumbprint

TOKEN_ENDPOINT = "https://as.example/token"
RESOURCE = "https://rs.example/mcp"


@attrs.frozen
class Tokens:
    access_token: str
    token_type: str = "DPoP"


def verify(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a server does: read the header, take its jwk, verify the signature with it."""
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    jwk = header["jwk"]
    assert "d" not in jwk
    key = ECAlgorithm.from_jwk(json.dumps(jwk))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    claims = jwt.decode(proof, key, algorithms=["ES256"], options={"verify_aud": False})
    return header, claims


def test_a_proof_verifies_against_its_own_key_and_names_the_request() -> None:
    dpop = DPoP(clock=lambda: 1_700_000_000.7)
    header, claims = verify(dpop.proof("post", "https://AS.example/token?x=1#f"))
    assert header["jwk"] == dpop.public_jwk
    assert jwk_thumbprint(header["jwk"]) == dpop.thumbprint
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://as.example/token"
    assert claims["iat"] == 1_700_000_000
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert "ath" not in claims and "nonce" not in claims


def test_the_key_is_the_one_given_and_per_instance() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert DPoP(private_key=key).public_jwk == ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    assert DPoP().thumbprint != DPoP().thumbprint
    with pytest.raises(ValueError, match="needs a key on"):
        DPoP("ES384", private_key=key)
    with pytest.raises(ValueError, match="signed with one of"):
        DPoP("HS256")
    header, _ = verify(DPoP(private_key=key).proof("GET", RESOURCE))
    assert header["jwk"]["crv"] == "P-256"


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 12))
def test_every_proof_is_fresh(count: int) -> None:
    dpop = DPoP()
    jtis = {verify(dpop.proof("POST", RESOURCE))[1]["jti"] for _ in range(count)}
    assert len(jtis) == count


def test_token_request_carries_a_proof_for_the_token_endpoint() -> None:
    dpop = DPoP()
    request = httpx2.Request("POST", TOKEN_ENDPOINT, data={"grant_type": "authorization_code"})
    dpop.token_request(request)
    _, claims = verify(request.headers["DPoP"])
    assert claims["htm"] == "POST" and claims["htu"] == TOKEN_ENDPOINT
    assert "ath" not in claims
    assert "Authorization" not in request.headers


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1))
@settings(max_examples=25, deadline=None)
def test_a_bound_token_goes_as_dpop_with_its_hash(token: str) -> None:
    dpop = DPoP()
    request = httpx2.Request("POST", RESOURCE + "?session=1", json={"jsonrpc": "2.0"})
    dpop.resource_request(request, Tokens(token))
    assert request.headers["Authorization"] == f"DPoP {token}"
    _, claims = verify(request.headers["DPoP"])
    assert claims["ath"] == access_token_hash(token)
    assert claims["htu"] == RESOURCE and claims["htm"] == "POST"


def test_a_bearer_token_goes_as_bearer_without_a_proof() -> None:
    dpop = DPoP()
    request = httpx2.Request("POST", RESOURCE, headers={"DPoP": "stale"})
    dpop.resource_request(request, Tokens("t", "Bearer"))
    assert request.headers["Authorization"] == "Bearer t"
    assert "DPoP" not in request.headers


def _as_challenge(nonce: str, error: str = "use_dpop_nonce") -> httpx2.Response:
    return httpx2.Response(400, headers={"DPoP-Nonce": nonce}, json={"error": error})


def _rs_challenge(nonce: str) -> httpx2.Response:
    return httpx2.Response(
        401,
        headers={
            "DPoP-Nonce": nonce,
            "WWW-Authenticate": 'DPoP error="use_dpop_nonce", resource_metadata="https://rs.example/prm"',
        },
        json={"error": "use_dpop_nonce"},
    )


def test_token_endpoint_nonce_is_retried_once_with_the_nonce() -> None:
    dpop = DPoP()
    request = httpx2.Request("POST", TOKEN_ENDPOINT, data={"grant_type": "client_credentials"})
    dpop.token_request(request)
    first = verify(request.headers["DPoP"])[1]
    assert dpop.retry(request, _as_challenge("as-nonce-1"))
    dpop.token_request(request)
    second = verify(request.headers["DPoP"])[1]
    assert second["nonce"] == "as-nonce-1"
    assert second["jti"] != first["jti"]
    # The same challenge again: the proof already carried that nonce, no loop.
    assert not dpop.retry(request, _as_challenge("as-nonce-1"))
    # A new nonce is worth one more try.
    assert dpop.retry(request, _as_challenge("as-nonce-2"))


def test_other_token_endpoint_errors_are_not_retried() -> None:
    dpop = DPoP()
    request = httpx2.Request("POST", TOKEN_ENDPOINT)
    dpop.token_request(request)
    assert not dpop.retry(request, _as_challenge("n", error="invalid_grant"))
    assert not dpop.retry(request, httpx2.Response(400, headers={"DPoP-Nonce": "n"}, content=b"{"))
    assert not dpop.retry(request, httpx2.Response(500, headers={"DPoP-Nonce": "n"}))
    # A request that carried no proof is never retried for a nonce.
    bare = httpx2.Request("POST", TOKEN_ENDPOINT)
    assert not dpop.retry(bare, _as_challenge("n2"))


def test_resource_nonce_is_retried_and_kept_for_that_server_only() -> None:
    dpop = DPoP()
    request = httpx2.Request("POST", RESOURCE, json={"jsonrpc": "2.0"})
    dpop.resource_request(request, Tokens("tok"))
    assert "nonce" not in verify(request.headers["DPoP"])[1]
    assert dpop.retry(request, _rs_challenge("rs-nonce"))
    dpop.resource_request(request, Tokens("tok"))
    claims = verify(request.headers["DPoP"])[1]
    assert claims["nonce"] == "rs-nonce" and claims["ath"] == access_token_hash("tok")
    assert not dpop.retry(request, _rs_challenge("rs-nonce"))
    # The next request to the resource carries it from the start; the AS does not get it.
    later = httpx2.Request("POST", RESOURCE)
    dpop.resource_request(later, Tokens("tok"))
    assert verify(later.headers["DPoP"])[1]["nonce"] == "rs-nonce"
    token_request = httpx2.Request("POST", TOKEN_ENDPOINT)
    dpop.token_request(token_request)
    assert "nonce" not in verify(token_request.headers["DPoP"])[1]


def test_a_plain_401_is_not_a_nonce_challenge() -> None:
    dpop = DPoP()
    request = httpx2.Request("POST", RESOURCE)
    dpop.resource_request(request, Tokens("tok"))
    unauthorized = httpx2.Response(
        401, headers={"WWW-Authenticate": 'DPoP error="invalid_token"', "DPoP-Nonce": "n"}
    )
    assert not dpop.retry(request, unauthorized)
    # ...but the nonce it carried is used from now on (RFC 9449 §9).
    again = httpx2.Request("POST", RESOURCE)
    dpop.resource_request(again, Tokens("tok"))
    assert verify(again.headers["DPoP"])[1]["nonce"] == "n"


class NonceRetries(RuleBasedStateMachine):
    """Any interleaving of challenges from two servers: a request is retried exactly when the
    challenge names a nonce its proof did not carry, and every proof carries its server's
    latest nonce, never the other server's."""

    def __init__(self) -> None:
        super().__init__()
        self.dpop = DPoP()
        self.latest: dict[str, str] = {}
        self.requests = {
            TOKEN_ENDPOINT: self._signed(TOKEN_ENDPOINT),
            RESOURCE: self._signed(RESOURCE),
        }

    def _signed(self, url: str) -> httpx2.Request:
        request = httpx2.Request("POST", url)
        if url == TOKEN_ENDPOINT:
            self.dpop.token_request(request)
        else:
            self.dpop.resource_request(request, Tokens("tok"))
        return request

    def _carried(self, url: str) -> str | None:
        nonce = verify(self.requests[url].headers["DPoP"])[1].get("nonce")
        assert nonce is None or isinstance(nonce, str)
        return nonce

    @rule(
        url=st.sampled_from([TOKEN_ENDPOINT, RESOURCE]),
        nonce=st.sampled_from(["n1", "n2", "n3"]),
    )
    def challenge(self, url: str, nonce: str) -> None:
        answer = _as_challenge(nonce) if url == TOKEN_ENDPOINT else _rs_challenge(nonce)
        expected = self._carried(url) != nonce
        assert self.dpop.retry(self.requests[url], answer) is expected
        self.latest[url] = nonce
        if expected:
            self.requests[url] = self._signed(url)

    @rule(url=st.sampled_from([TOKEN_ENDPOINT, RESOURCE]))
    def new_request(self, url: str) -> None:
        self.requests[url] = self._signed(url)

    @invariant()
    def proofs_carry_their_servers_latest_nonce(self) -> None:
        for url, request in self.requests.items():
            if "DPoP" in request.headers:
                assert self._carried(url) == self.latest.get(url)


NonceRetries.TestCase.settings = settings(max_examples=30, stateful_step_count=12, deadline=None)
test_nonce_retries = NonceRetries.TestCase
