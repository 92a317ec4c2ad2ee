"""DPoP (RFC 9449): the decisions of a client that proves possession of a key.

What a proof claims (``htm``, ``htu``, ``iat``, ``jti``, ``ath``, ``nonce``) and its header
(``typ``, ``alg``, ``jwk``), how a DPoP-bound token is presented, when a server asks for a
nonce (``use_dpop_nonce``) and which nonce goes to which server. Signing, the key, the clock
and the ``jti`` randomness belong to the client layer (``scaled_mcp.client``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from ._oauth_challenge import parse_www_authenticate
from ._oauth_errors import OAuthError

__all__ = [
    "DPOP_JWT_TYPE",
    "DPoPNonces",
    "access_token_hash",
    "authorization_value",
    "dpop_htu",
    "dpop_origin",
    "dpop_proof_claims",
    "dpop_proof_header",
    "jwk_thumbprint",
    "resource_nonce_challenge",
    "token_endpoint_nonce_challenge",
    "uses_dpop",
]

DPOP_JWT_TYPE: Final = "dpop+jwt"
"""RFC 9449 §4.2: "typ: with value dpop+jwt"."""
USE_DPOP_NONCE: Final = "use_dpop_nonce"
#: The longest nonce kept and the longest error body read.
_MAX_NONCE: Final = 1024
_MAX_BODY: Final = 65536
#: How many servers' nonces a client remembers at most.
_MAX_ORIGINS: Final = 64
#: RFC 9449 §4.2: nonce = 1*NQCHAR (visible ASCII but `"` and `\`).
_NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def dpop_htu(url: str) -> str:
    """The ``htu`` of a request to ``url``.

    RFC 9449 §4.2: "The HTTP target URI [...] without query and fragment parts"; the scheme
    and host lower-cased (RFC 3986 §6.2.2.1) and a path of at least ``/``.
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"a DPoP proof needs an absolute URL, not {url!r}")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def dpop_origin(url: str) -> str:
    """The server a URL belongs to (scheme, host and port): nonces are kept per server."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def access_token_hash(access_token: str) -> str:
    """The ``ath`` claim: RFC 9449 §4.2, "The value MUST be the result of a base64url encoding
    [...] the SHA-256 [...] hash of the ASCII encoding of the associated access token's
    value"."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def dpop_proof_claims(
    htm: str,
    htu: str,
    *,
    iat: int,
    jti: str,
    access_token: str | None = None,
    nonce: str | None = None,
) -> dict[str, object]:
    """The payload of a DPoP proof (RFC 9449 §4.2).

    ``jti`` "Unique identifier for the DPoP proof JWT" (fresh for every request, retries
    included), ``htm`` the request's method, ``htu`` its URI (see :func:`dpop_htu`), ``iat``
    the creation time; ``ath`` when the request presents an access token ("When the DPoP
    proof is used in conjunction with the presentation of an access token in protected
    resource access"), ``nonce`` when the server gave one.
    """
    if not jti:
        raise ValueError("a DPoP proof needs a jti")
    claims: dict[str, object] = {"jti": jti, "htm": htm.upper(), "htu": dpop_htu(htu), "iat": iat}
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    return claims


def dpop_proof_header(algorithm: str, public_jwk: Mapping[str, object]) -> dict[str, object]:
    """The JOSE header of a DPoP proof (RFC 9449 §4.2): ``typ: dpop+jwt``, an asymmetric
    ``alg`` ("MUST NOT be none or an identifier for a symmetric algorithm") and the public
    key as ``jwk`` ("MUST NOT contain a private key")."""
    if algorithm == "none" or algorithm.startswith("HS"):
        raise ValueError(f"a DPoP proof must use an asymmetric algorithm, not {algorithm}")
    private = {"d", "p", "q", "dp", "dq", "qi", "k"} & set(public_jwk)
    if private:
        raise ValueError(f"a DPoP proof's jwk must be public (it has {sorted(private)})")
    return {"typ": DPOP_JWT_TYPE, "alg": algorithm, "jwk": dict(public_jwk)}


#: RFC 7638 §3.2: the members of a JWK its thumbprint hashes, per key type.
_THUMBPRINT_MEMBERS: Final = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}


def jwk_thumbprint(jwk: Mapping[str, object]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK (what a DPoP-bound token's
    ``cnf.jkt`` names, RFC 9449 §6.1): the required members, sorted, as JSON without
    whitespace, hashed, base64url-encoded."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise ValueError(f"no thumbprint for a JWK of type {jwk.get('kty')!r}")
    missing = [name for name in members if not isinstance(jwk.get(name), str)]
    if missing:
        raise ValueError(f"the JWK lacks {missing}")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def authorization_value(token_type: str | None, access_token: str) -> str:
    """The ``Authorization`` value that presents ``access_token``.

    RFC 9449 §7.1: a DPoP-bound token (``token_type`` ``DPoP``, case-insensitive, §5) goes as
    ``DPoP <token>``; any other as ``Bearer <token>`` (RFC 6750 §2.1).
    """
    scheme = "DPoP" if (token_type or "").lower() == "dpop" else "Bearer"
    return f"{scheme} {access_token}"


def uses_dpop(as_metadata: Mapping[str, object], algorithm: str = "ES256") -> bool:
    """Whether the authorization server binds tokens with DPoP for this client's algorithm.

    RFC 9449 §5.1: ``dpop_signing_alg_values_supported`` is "A JSON array containing a list
    of the JWS alg values [...] supported by the authorization server for DPoP proof JWTs".
    """
    values = as_metadata.get("dpop_signing_alg_values_supported")
    return isinstance(values, list) and algorithm in values


def _nonce(value: str | None) -> str | None:
    if value is None or len(value) > _MAX_NONCE or not _NONCE.fullmatch(value):
        return None
    return value


def token_endpoint_nonce_challenge(status: int, dpop_nonce: str | None, body: bytes) -> str | None:
    """The nonce an authorization server demands, or ``None``.

    RFC 9449 §8: the server answers "with an HTTP 400 (Bad Request) response and an error
    code of use_dpop_nonce" and "MUST include the DPoP-Nonce HTTP header"; the client then
    retries with a new proof carrying it. Only that answer counts: another error decorated
    with a nonce is an error.
    """
    if status != 400 or len(body) > _MAX_BODY:
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or document.get("error") != USE_DPOP_NONCE:
        return None
    return _nonce(dpop_nonce)


def resource_nonce_challenge(
    status: int, dpop_nonce: str | None, www_authenticate: Iterable[str]
) -> str | None:
    """The nonce a resource server demands, or ``None``.

    RFC 9449 §9: "the resource server [...] responds with an HTTP 401 (Unauthorized) response
    [...] the WWW-Authenticate header field [...] with the DPoP scheme and an error parameter
    of use_dpop_nonce", and the new nonce in ``DPoP-Nonce``.
    """
    if status != 401:
        return None
    for value in www_authenticate:
        try:
            challenges = parse_www_authenticate(value)
        except OAuthError:
            continue
        for challenge in challenges:
            if challenge.scheme == "dpop" and challenge.params.get("error") == USE_DPOP_NONCE:
                return _nonce(dpop_nonce)
    return None


class DPoPNonces:
    """The last nonce each server gave (RFC 9449 §8, §9: a nonce is good for the server that
    issued it), for the next proof sent there. Bounded: past a number of servers the oldest
    is forgotten."""

    __slots__ = ("_by_origin",)

    def __init__(self) -> None:
        self._by_origin: dict[str, str] = {}

    def remember(self, url: str, nonce: str | None) -> None:
        """Keep ``nonce`` (a ``DPoP-Nonce`` header) for the server of ``url``; an absent or
        malformed one changes nothing."""
        value = _nonce(nonce)
        if value is None:
            return
        origin = dpop_origin(url)
        self._by_origin.pop(origin, None)
        self._by_origin[origin] = value
        while len(self._by_origin) > _MAX_ORIGINS:
            del self._by_origin[next(iter(self._by_origin))]

    def nonce_for(self, url: str) -> str | None:
        """The nonce to put in a proof for a request to ``url``, if its server gave one."""
        return self._by_origin.get(dpop_origin(url))
