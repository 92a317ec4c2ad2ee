"""DPoP (RFC 9449) for the OAuth driver: a per-client key, a signed proof on every token
request and every request that presents a DPoP-bound token, and the server nonces.

The claims, the header, the nonce challenges and which nonce goes where are decided by the
core (``scaled_mcp.protocol.oauth``); this module holds the key, reads the clock, draws the
``jti`` and signs with PyJWT.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Final, Protocol

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from scaled_mcp.protocol.oauth import (
    DPoPNonces,
    authorization_value,
    dpop_proof_claims,
    dpop_proof_header,
    jwk_thumbprint,
    resource_nonce_challenge,
    token_endpoint_nonce_challenge,
)

__all__ = ["DPoP"]

#: The curve of each algorithm this module signs proofs with.
_CURVES: Final[dict[str, ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}
#: Where a request remembers the nonce its proof carried (so a challenge retries once).
_NONCE_SENT: Final = "scaled_mcp.dpop_nonce"


class _Tokens(Protocol):
    @property
    def access_token(self) -> str: ...

    @property
    def token_type(self) -> str: ...


class DPoP:
    """Sender-constrained tokens for one OAuth client (RFC 9449).

    One key per instance (``algorithm``: ES256, ES384 or ES512; a fresh key unless
    ``private_key`` is given), used for every proof: the token endpoint binds the tokens it
    issues to this key and the resource checks each request's proof against that binding.
    Each proof is new (its own ``jti`` and ``iat``); a server's ``DPoP-Nonce`` is carried in
    the next proofs sent to that server. ``clock`` (seconds since the epoch) is for tests.

    The OAuth driver calls :meth:`token_request` on each request to a token endpoint,
    :meth:`resource_request` on each request that presents a token, and :meth:`retry` on
    their answers.
    """

    def __init__(
        self,
        algorithm: str = "ES256",
        *,
        private_key: ec.EllipticCurvePrivateKey | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        curve = _CURVES.get(algorithm)
        if curve is None:
            raise ValueError(
                f"DPoP proofs are signed with one of {sorted(_CURVES)}, not {algorithm}"
            )
        key = private_key if private_key is not None else ec.generate_private_key(curve)
        if key.curve.name != curve.name:
            raise ValueError(f"{algorithm} needs a key on {curve.name}, not {key.curve.name}")
        self._algorithm = algorithm
        self._key = key
        self._jwk: dict[str, object] = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self._header = dpop_proof_header(algorithm, self._jwk)
        self._clock = clock
        self._nonces = DPoPNonces()

    @property
    def algorithm(self) -> str:
        """The JWS algorithm of the proofs."""
        return self._algorithm

    @property
    def public_jwk(self) -> dict[str, object]:
        """The public key, as the ``jwk`` header of every proof carries it."""
        return dict(self._jwk)

    @property
    def thumbprint(self) -> str:
        """The key's RFC 7638 thumbprint: the ``jkt`` a bound token names."""
        return jwk_thumbprint(self._jwk)

    def proof(self, method: str, url: str, *, access_token: str | None = None) -> str:
        """A new signed proof for a ``method`` request to ``url`` (with ``ath`` when it
        presents ``access_token``, and the nonce the server of ``url`` gave, if any)."""
        claims = dpop_proof_claims(
            method,
            url,
            iat=int(self._clock()),
            jti=secrets.token_urlsafe(16),
            access_token=access_token,
            nonce=self._nonces.nonce_for(url),
        )
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=self._header)

    def _attach(self, request: httpx2.Request, access_token: str | None) -> None:
        url = str(request.url)
        request.headers["DPoP"] = self.proof(request.method, url, access_token=access_token)
        request.extensions = {**request.extensions, _NONCE_SENT: self._nonces.nonce_for(url)}

    def token_request(self, request: httpx2.Request) -> None:
        """Put a proof on a token request (RFC 9449 §5): the server binds the token it
        issues to this key. Replaces any earlier proof: a resent request gets a fresh one."""
        self._attach(request, None)

    def resource_request(self, request: httpx2.Request, tokens: _Tokens) -> None:
        """Present ``tokens`` on a request to the protected resource.

        RFC 9449 §7.1: a DPoP-bound token goes as ``Authorization: DPoP <token>`` with a
        proof whose ``ath`` hashes it; a token the server issued as ``Bearer`` goes as a
        bearer token, without a proof.
        """
        request.headers["Authorization"] = authorization_value(
            tokens.token_type, tokens.access_token
        )
        if tokens.token_type.lower() == "dpop":
            self._attach(request, tokens.access_token)
        else:
            request.headers.pop("DPoP", None)

    def retry(self, request: httpx2.Request, response: httpx2.Response) -> bool:
        """Whether ``request`` must be sent again with a new proof (its body read).

        Any ``DPoP-Nonce`` the server sent is kept for its next proofs (RFC 9449 §8: "the
        authorization server MAY supply a new nonce value to be used for subsequent requests").
        True when the answer is a nonce challenge, 400 ``use_dpop_nonce`` from a token endpoint
        (§8) or 401 with a ``DPoP error="use_dpop_nonce"`` challenge from a resource (§9), and
        the request's proof did not already carry that nonce: a request is retried once per
        new nonce, never in a loop.
        """
        url = str(request.url)
        header = response.headers.get("DPoP-Nonce")
        status = response.status_code
        nonce = token_endpoint_nonce_challenge(
            status, header, response.content
        ) or resource_nonce_challenge(status, header, response.headers.get_list("WWW-Authenticate"))
        self._nonces.remember(url, header)
        if nonce is None or "DPoP" not in request.headers:
            return False
        return bool(request.extensions.get(_NONCE_SENT) != nonce)
