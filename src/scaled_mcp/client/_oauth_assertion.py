"""``private_key_jwt`` client authentication (RFC 7523 §2.2): the client proves who it is at a
token endpoint with a short-lived JWT signed by its own key.

The claims are the core's (``scaled_mcp.protocol.oauth.client_assertion_claims``); this module
loads the key, reads the clock, draws the ``jti`` and signs with PyJWT.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, MutableMapping
from typing import Final, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from scaled_mcp.protocol.oauth import client_assertion_claims, client_assertion_form

__all__ = ["PrivateKeyJWT"]

#: The JWS algorithms an assertion may be signed with, by the key type they need.
_ALGORITHMS: Final = {
    "ES256": ec.EllipticCurvePrivateKey,
    "ES384": ec.EllipticCurvePrivateKey,
    "ES512": ec.EllipticCurvePrivateKey,
    "RS256": rsa.RSAPrivateKey,
    "RS384": rsa.RSAPrivateKey,
    "RS512": rsa.RSAPrivateKey,
    "PS256": rsa.RSAPrivateKey,
    "PS384": rsa.RSAPrivateKey,
    "PS512": rsa.RSAPrivateKey,
    "EdDSA": ed25519.Ed25519PrivateKey,
}
_Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
_KEY_TYPES: Final = (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)


class PrivateKeyJWT:
    """Authenticate at token endpoints with a signed client assertion (``private_key_jwt``).

    ``private_key_pem`` is the client's private key (PKCS#8 or traditional PEM) and
    ``algorithm`` the JWS algorithm the authorization server expects (its
    ``token_endpoint_auth_signing_alg_values_supported``). Each assertion has
    ``iss`` = ``sub`` = the client id, ``aud`` = the authorization server's issuer identifier
    (``audience="issuer"``, RFC 7523bis) or its token endpoint (``audience="token_endpoint"``,
    what older servers check), a fresh ``jti`` and an ``exp`` ``lifetime`` seconds away.

    An OAuth driver hook: :attr:`method` names the token endpoint auth method, and
    :meth:`authenticate` adds the assertion to a token request's form.
    """

    method: str = "private_key_jwt"

    def __init__(
        self,
        private_key_pem: str | bytes,
        algorithm: str = "ES256",
        *,
        lifetime: int = 300,
        audience: Literal["issuer", "token_endpoint"] = "issuer",
        clock: Callable[[], float] = time.time,
    ) -> None:
        expected = _ALGORITHMS.get(algorithm)
        if expected is None:
            raise ValueError(f"client assertions are signed with one of {sorted(_ALGORITHMS)}")
        pem = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"the client's private key is not a readable PEM key: {exc}") from None
        if not isinstance(key, _KEY_TYPES) or not isinstance(key, expected):
            raise ValueError(f"{algorithm} needs a {expected.__name__}, not {type(key).__name__}")
        if lifetime <= 0:
            raise ValueError(f"an assertion's lifetime must be positive, not {lifetime}")
        self._key: _Key = key
        self._algorithm = algorithm
        self._lifetime = lifetime
        self._audience = audience
        self._clock = clock

    def __repr__(self) -> str:
        return f"PrivateKeyJWT(algorithm={self._algorithm!r}, audience={self._audience!r})"

    def assertion(self, client_id: str, audience: str) -> str:
        """A new signed client assertion of ``client_id`` for ``audience``."""
        claims = client_assertion_claims(
            client_id,
            audience,
            now=int(self._clock()),
            jti=secrets.token_urlsafe(16),
            lifetime=self._lifetime,
        )
        return jwt.encode(claims, self._key, algorithm=self._algorithm)

    def authenticate(
        self, form: MutableMapping[str, str], token_endpoint: str, issuer: str
    ) -> None:
        """Add ``client_assertion_type`` and a fresh ``client_assertion`` to a token request's
        form, for the client named by its ``client_id`` field (RFC 7523 §2.2)."""
        client_id = form.get("client_id")
        if not client_id:
            raise ValueError("private_key_jwt needs the token request's client_id")
        audience = issuer if self._audience == "issuer" else token_endpoint
        form.update(client_assertion_form(self.assertion(client_id, audience)))
