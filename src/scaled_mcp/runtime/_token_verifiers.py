"""Access token verifiers: JWTs against the issuer's keys, and RFC 7662 introspection.

:class:`JWTVerifier` checks a JWT access token (RFC 9068) with PyJWT: the
signature against the issuer's JWKS (its ``jwks_uri`` discovered from the
issuer's RFC 8414 or OpenID Connect metadata, or given), ``iss``, ``aud`` = this
resource (RFC 8707: "MCP servers MUST validate that access tokens were issued
specifically for them"), ``exp`` and ``nbf`` with a small leeway. The keys are
cached; an unknown ``kid`` refetches them, at most once per
``min_refresh_interval`` (a stream of forged kids cannot turn into a stream of
fetches).

:class:`IntrospectionVerifier` asks the authorization server (RFC 7662) and
keeps each answer for a short while in a bounded cache keyed by the token's
digest (the token itself is not kept). While a node runs, it asks over one HTTP
client kept for the node's life (its connections reused, closed at shutdown:
:meth:`IntrospectionVerifier.running`, entered by the runtime), at most
``max_concurrent`` introspections at a time.

Every fetch has a deadline; an authorization server that does not answer makes
the request fail with 503 (:class:`~scaled_mcp.cluster.BackendUnavailable`),
never hang.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import jwt
import trio

from ..cluster import BackendUnavailable
from ..protocol.oauth import (
    AuthorizationServerMetadata,
    OAuthError,
    Principal,
    authorization_server_metadata_urls,
    principal_from_claims,
    principal_from_introspection,
    read_json_object,
)

__all__ = ["IntrospectionVerifier", "JWTVerifier"]

_log = logging.getLogger("scaled_mcp.auth")

#: Asymmetric algorithms accepted by default (never ``none``, never HMAC with a public key).
DEFAULT_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "EdDSA",
)


async def _get(url: str, seconds: float, what: str) -> bytes | None:
    """The body of ``GET url``; ``None`` on a 404; :class:`BackendUnavailable` on
    another error or past ``seconds``."""
    try:
        with trio.fail_after(seconds):
            async with httpx2.AsyncClient(timeout=seconds) as http:
                response = await http.get(url, headers={"accept": "application/json"})
                if response.status_code == 404:
                    return None
                response.raise_for_status()
                return response.content
    except (trio.TooSlowError, httpx2.HTTPError) as exc:
        raise BackendUnavailable(f"the authorization server's {what} is unavailable") from exc


class JWTVerifier:
    """Verifies JWT access tokens of ``issuer`` meant for ``audience``.

    * ``audience`` -- this resource's identifier (the public resource URL);
    * ``jwks_uri`` -- the issuer's key set (default: discovered from its metadata);
    * ``algorithms`` -- accepted signature algorithms (asymmetric ones by default);
    * ``leeway`` -- seconds of clock skew tolerated on ``exp``/``nbf`` (30);
    * ``keys_ttl`` -- seconds the keys are kept before they are fetched again (3600);
    * ``min_refresh_interval`` -- the least seconds between two fetches of the keys (30);
    * ``timeout`` -- seconds a fetch may take (5);
    * ``cache_size`` -- tokens whose verification is remembered (until their ``exp``,
      keyed by their SHA-256: a client sends one token request after request, and a
      signature check costs ~100 µs); 0 turns it off.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_uri: str | None = None,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway: float = 30.0,
        keys_ttl: float = 3600.0,
        min_refresh_interval: float = 30.0,
        timeout: float = 5.0,
        cache_size: int = 10_000,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.keys_ttl = keys_ttl
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._jwks_uri = jwks_uri
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._lock = trio.Lock()
        self.cache_size = cache_size
        self._verified: OrderedDict[bytes, Principal] = OrderedDict()
        #: How many times the keys were fetched (for tests and operators).
        self.fetches = 0

    async def _discover(self) -> str:
        for url in authorization_server_metadata_urls(self.issuer):
            body = await _get(url, self.timeout, "metadata")
            if body is None:
                continue
            try:
                metadata = AuthorizationServerMetadata.from_json(body, self.issuer)
            except OAuthError as exc:
                raise BackendUnavailable(f"the authorization server's metadata: {exc}") from exc
            jwks_uri = metadata.raw.get("jwks_uri")
            if isinstance(jwks_uri, str):
                return jwks_uri
            break
        raise BackendUnavailable("no metadata of the authorization server names a jwks_uri")

    async def _refresh(self, seen_at: float) -> None:
        async with self._lock:
            if self._fetched_at > seen_at:
                return  # another request fetched them meanwhile
            if self._jwks_uri is None:
                self._jwks_uri = await self._discover()
            body = await _get(self._jwks_uri, self.timeout, "key set")
            try:
                document = read_json_object(body or b"", "key set")
            except OAuthError as exc:
                raise BackendUnavailable(f"the authorization server's key set: {exc}") from exc
            keys: dict[str | None, jwt.PyJWK] = {}
            for entry in document.get("keys", ()):
                try:
                    key = jwt.PyJWK.from_dict(entry)
                except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError):
                    continue  # a key of a type or algorithm this process cannot use
                if entry.get("use", "sig") == "sig":
                    keys[key.key_id] = key
            self._keys = keys
            self._fetched_at = time.monotonic()
            self.fetches += 1

    async def _key(self, kid: str | None) -> jwt.PyJWK | None:
        now = time.monotonic()
        stale = now - self._fetched_at > self.keys_ttl
        key = self._lookup(kid)
        # An unknown kid: the issuer may have rotated its keys. Refetch, but at
        # most once per min_refresh_interval.
        if stale or (key is None and now - self._fetched_at >= self.min_refresh_interval):
            await self._refresh(self._fetched_at)
            key = self._lookup(kid)
        return key

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        key = self._keys.get(kid)
        if key is None and kid is None and len(self._keys) == 1:
            key = next(iter(self._keys.values()))
        return key

    async def verify(self, token: str) -> Principal | None:
        """The principal of a valid token, else ``None``."""
        digest = hashlib.sha256(token.encode()).digest() if self.cache_size else b""
        known = self._verified.get(digest) if self.cache_size else None
        if known is not None:
            assert known.expires_at is not None
            if known.expires_at + self.leeway >= time.time():
                return known
            del self._verified[digest]
        principal = await self._verify(token)
        if principal is not None and self.cache_size and principal.expires_at is not None:
            self._verified[digest] = principal
            while len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> Principal | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            return None
        key = await self._key(kid)
        if key is None:
            return None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            _log.debug("access token refused: %s", type(exc).__name__)
            return None
        return principal_from_claims(claims)


class IntrospectionVerifier:
    """Verifies tokens by RFC 7662 introspection at ``url``.

    The resource authenticates with ``client_id``/``client_secret`` (HTTP Basic);
    ``audience`` (this resource) must be among the answer's ``aud`` when it has
    one. Answers are kept ``cache_ttl`` seconds (never past the token's ``exp``),
    at most ``cache_size`` of them, keyed by the token's SHA-256.

    At most ``max_concurrent`` introspection requests are in flight at once (the
    others wait their turn); each has ``timeout`` seconds, its wait included,
    after which the request it serves is answered 503. Inside :meth:`running`
    (the runtime enters it for the node's life) they share one HTTP client and
    its connections; outside, each opens its own.
    """

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        client_secret: str,
        audience: str | None,
        cache_ttl: float = 60.0,
        cache_size: int = 10_000,
        leeway: float = 30.0,
        timeout: float = 5.0,
        max_concurrent: int = 16,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if not timeout > 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.url = url
        self.audience = audience
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self.leeway = leeway
        self.timeout = timeout
        self._auth = (client_id, client_secret)
        self._cache: OrderedDict[bytes, tuple[float, Principal | None]] = OrderedDict()
        #: How many introspection requests were sent.
        self.requests = 0
        self.max_concurrent = max_concurrent
        self._limiter = trio.CapacityLimiter(max_concurrent)
        #: The client shared while :meth:`running` (``None`` otherwise), and how
        #: many runtimes are inside it (one verifier may serve several nodes).
        self._client: httpx2.AsyncClient | None = None
        self._users = 0

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Keep one HTTP client (and its connections) for the introspections made
        inside; closed when the last runtime that entered it leaves."""
        if self._client is None:
            self._client = httpx2.AsyncClient(
                timeout=self.timeout,
                auth=self._auth,
                limits=httpx2.Limits(
                    max_connections=self.max_concurrent,
                    max_keepalive_connections=self.max_concurrent,
                ),
            )
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0:
                client, self._client = self._client, None
                with trio.CancelScope(shield=True), trio.move_on_after(self.timeout):
                    await client.aclose()

    async def verify(self, token: str) -> Principal | None:
        """The principal of an active token, else ``None``."""
        digest = hashlib.sha256(token.encode()).digest()
        now = time.time()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            principal = hit[1]
            if principal is None or principal.expires_at is None or principal.expires_at > now:
                return principal
        answer = await self._introspect(token)
        principal = principal_from_introspection(
            answer, audience=self.audience, now=now, leeway=self.leeway
        )
        until = now + self.cache_ttl
        if principal is not None and principal.expires_at is not None:
            until = min(until, principal.expires_at)
        self._cache[digest] = (until, principal)
        self._cache.move_to_end(digest)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return principal

    async def _introspect(self, token: str) -> dict[str, Any]:
        try:
            # One deadline for the wait for a turn and the exchange.
            with trio.fail_after(self.timeout):
                async with self._limiter:
                    self.requests += 1
                    shared = self._client
                    if shared is not None:
                        return await self._ask(shared, token)
                    async with httpx2.AsyncClient(timeout=self.timeout, auth=self._auth) as http:
                        return await self._ask(http, token)
        except (trio.TooSlowError, httpx2.HTTPError, OAuthError) as exc:
            raise BackendUnavailable("the token introspection endpoint is unavailable") from exc

    async def _ask(self, http: httpx2.AsyncClient, token: str) -> dict[str, Any]:
        """RFC 7662 section 2.1: POST the token, form-encoded, authenticated."""
        response = await http.post(
            self.url,
            data={"token": token, "token_type_hint": "access_token"},
            headers={"accept": "application/json"},
        )
        response.raise_for_status()
        return read_json_object(response.content, "introspection answer")
