"""A real OAuth 2.1 authorization server for the tests, written with PyJWT.

It publishes RFC 8414 metadata and a JWKS, registers clients (RFC 7591), approves
every authorization at once (the redirect carries the code), checks PKCE S256
and the ``resource`` (RFC 8707) at its token endpoint, issues ES256 JWT access
tokens (RFC 9068) whose ``aud`` is that resource, serves the client-credentials
grant to two static clients, and answers RFC 7662 introspection. It rotates its
signing key on demand.

In a test: ``async with running_server(AuthorizationServer()) as issuer``; as its
own process (the cluster tests): ``python -m tests.oauth_server PORT``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
import trio
from cryptography.hazmat.primitives.asymmetric import ec
from hypercorn.config import Config
from hypercorn.trio import serve

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = tuple[int, list[tuple[bytes, bytes]], object]

#: Clients registered in advance: id -> secret. A client-credentials token's subject is its id.
STATIC_CLIENTS = {"alice-app": "alice-secret", "mallory-app": "mallory-secret"}
#: The resource server's own credentials at the introspection endpoint.
RESOURCE_CLIENT = ("mcp-resource", "resource-secret")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _basic(headers: dict[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


class AuthorizationServer:
    """The authorization server; ``base`` is its issuer once it listens."""

    def __init__(self, *, lifetime: int = 3600, subject: str = "alice") -> None:
        self.base = ""
        self.lifetime = lifetime
        #: Who approves the next authorization-code request (the "logged-in user").
        self.subject = subject
        self.clients: dict[str, str] = dict(STATIC_CLIENTS)
        self.codes: dict[str, dict[str, str]] = {}
        self.revoked: set[str] = set()
        self.requests: list[str] = []
        #: Every access token signed, in order.
        self.issued: list[str] = []
        #: The client addresses (host, port) requests came from: one per connection.
        self.connections: set[tuple[str, int]] = set()
        #: Seconds each introspection takes, and the most seen at once.
        self.introspection_delay = 0.0
        self.introspecting = 0
        self.most_introspecting = 0
        self._keys: list[tuple[str, ec.EllipticCurvePrivateKey]] = []
        self.rotate()

    # -- keys and tokens ------------------------------------------------------------

    def rotate(self) -> str:
        """A new signing key (the old ones stay published); its kid."""
        kid = "k" + secrets.token_hex(4)
        self._keys.append((kid, ec.generate_private_key(ec.SECP256R1())))
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self._keys:
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": keys}

    def issue(
        self,
        subject: str,
        audience: str | None,
        scope: str,
        *,
        client_id: str = "test-client",
        lifetime: int | None = None,
        kid: str | None = None,
        issuer: str | None = None,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        """A signed access token (the last key, unless ``kid``/``key`` say otherwise)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer or self.base,
            "sub": subject,
            "exp": now + (self.lifetime if lifetime is None else lifetime),
            "iat": now,
            "nbf": now,
            "scope": scope,
            "client_id": client_id,
            "jti": secrets.token_hex(8),
        }
        if audience is not None:
            claims["aud"] = audience
        chosen_kid, chosen = self._keys[-1]
        if kid is not None:
            chosen_kid = kid
            chosen = dict(self._keys).get(kid, chosen)
        token = jwt.encode(
            claims, key or chosen, algorithm="ES256", headers={"kid": chosen_kid, "typ": "at+jwt"}
        )
        self.issued.append(token)
        return token

    # -- HTTP -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        if scope.get("client"):
            self.connections.add(tuple(scope["client"]))
        if scope["path"] == "/introspect" and self.introspection_delay:
            self.introspecting += 1
            self.most_introspecting = max(self.most_introspecting, self.introspecting)
            try:
                await trio.sleep(self.introspection_delay)
            finally:
                self.introspecting -= 1
        status, extra, payload = self.route(
            scope["method"], scope["path"], scope["query_string"].decode(), headers, body
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})

    def route(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        self.requests.append(f"{method} {path}")
        base = self.base
        if path == "/.well-known/oauth-authorization-server":
            return 200, [], {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "registration_endpoint": f"{base}/register",
                "introspection_endpoint": f"{base}/introspect",
                "jwks_uri": f"{base}/jwks",
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": [
                    "authorization_code", "client_credentials",
                ],
                "response_types_supported": ["code"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic", "client_secret_post",
                ],
                "authorization_response_iss_parameter_supported": True,
                "scopes_supported": ["read", "write", "admin"],
            }  # fmt: skip
        if path == "/jwks":
            return 200, [], self.jwks()
        if path == "/register" and method == "POST":
            client_id = "dyn-" + secrets.token_hex(4)
            secret = secrets.token_urlsafe(16)
            self.clients[client_id] = secret
            document = json.loads(body or b"{}")
            return 201, [], {
                **document,
                "client_id": client_id,
                "client_secret": secret,
                "token_endpoint_auth_method": "client_secret_basic",
            }  # fmt: skip
        if path == "/authorize":
            params = dict(parse_qsl(query))
            if params.get("code_challenge_method") != "S256" or "code_challenge" not in params:
                return 400, [], {"error": "invalid_request"}
            code = secrets.token_urlsafe(12)
            self.codes[code] = {**params, "subject": self.subject}
            location = (
                params["redirect_uri"]
                + "?"
                + urlencode({"code": code, "state": params.get("state", ""), "iss": base})
            )
            return 302, [(b"location", location.encode())], {}
        if path == "/token" and method == "POST":
            return self.token(headers, dict(parse_qsl(body.decode())))
        if path == "/introspect" and method == "POST":
            return self.introspect(headers, dict(parse_qsl(body.decode())))
        return 404, [], {"error": "not_found"}

    def _client(self, headers: dict[str, str], form: dict[str, str]) -> str | None:
        found = _basic(headers)
        client_id, secret = (
            found if found else (form.get("client_id", ""), form.get("client_secret", ""))
        )
        if self.clients.get(client_id) != secret or not secret:
            return None
        return client_id

    def token(self, headers: dict[str, str], form: dict[str, str]) -> Answer:
        client_id = self._client(headers, form)
        if client_id is None:
            return 401, [], {"error": "invalid_client"}
        resource = form.get("resource")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            request = self.codes.pop(form.get("code", ""), None)
            if request is None or _s256(form.get("code_verifier", "")) != request["code_challenge"]:
                return 400, [], {"error": "invalid_grant"}
            if (
                form.get("redirect_uri") != request["redirect_uri"]
                or request.get("resource") != resource
            ):
                return 400, [], {"error": "invalid_grant"}
            subject, scope = request["subject"], request.get("scope", "")
        elif grant == "client_credentials":
            subject, scope = client_id, form.get("scope", "")
        else:
            return 400, [], {"error": "unsupported_grant_type"}
        scope = " ".join(s for s in scope.split() if s != "offline_access")
        access = self.issue(subject, resource, scope, client_id=client_id)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": scope,
        }
        return 200, [], answer

    def introspect(self, headers: dict[str, str], form: dict[str, str]) -> Answer:
        if _basic(headers) != RESOURCE_CLIENT:
            return 401, [], {"error": "invalid_client"}
        token = form.get("token", "")
        try:
            claims = jwt.decode(
                token,
                jwt.PyJWKSet.from_dict(self.jwks())[jwt.get_unverified_header(token)["kid"]],
                algorithms=["ES256"],
                options={"verify_aud": False},
            )
        except (jwt.PyJWTError, KeyError):
            return 200, [], {"active": False}
        if claims["jti"] in self.revoked:
            return 200, [], {"active": False}
        return 200, [], {"active": True, **claims}


@asynccontextmanager
async def running_server(server: AuthorizationServer, port: int = 0) -> AsyncIterator[str]:
    """Serve ``server`` on 127.0.0.1 for the context; its issuer URL."""
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    stop = trio.Event()
    app: Any = server
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(
            functools.partial(serve, app, config, shutdown_trigger=stop.wait)
        )
        server.base = "http://127.0.0.1:" + bound[0].rpartition(":")[2]
        yield server.base
        stop.set()


async def _main(port: int) -> None:
    async with running_server(AuthorizationServer(), port):
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(_main, int(sys.argv[1]))
