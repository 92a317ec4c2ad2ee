"""The extension flows end to end over real sockets: the OAuth driver with the grants, the
client assertion and DPoP, against an authorization server and a protected resource (two
servers, as in a deployment) that check what RFC 7523 and RFC 9449 require of a client."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
import httpx2
import jwt
import pytest
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypercorn.config import Config
from hypercorn.trio import serve
from jwt.algorithms import ECAlgorithm

from scaled_mcp.client import ClientCredentials, DPoP, JwtBearer, OAuth, PrivateKeyJWT
from scaled_mcp.protocol.oauth import OAuthError, access_token_hash, jwk_thumbprint

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]

CLIENT_ID = "workload-client"
CLIENT_KEY = ec.generate_private_key(ec.SECP256R1())
CLIENT_PEM = CLIENT_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def _asgi(handler: Handler) -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        if scope["query_string"]:
            path += "?" + scope["query_string"].decode()
        status, out, content = handler(scope["method"], path, headers, body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in out.items()],
            }
        )
        await send({"type": "http.response.body", "body": content})

    return app


def _json(status: int, document: object, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json", **headers}, json.dumps(document).encode()


def _verify_proof(proof: str | None, method: str, url: str) -> tuple[dict[str, Any], str]:
    """RFC 9449 §4.3, as a server checks a proof: its claims and the jkt of its key."""
    assert proof is not None, "no DPoP proof"
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    key = ECAlgorithm.from_jwk(json.dumps(header["jwk"]))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    claims = jwt.decode(proof, key, algorithms=["ES256"])
    assert claims["htm"] == method and claims["htu"] == url
    return claims, jwk_thumbprint(header["jwk"])


@attrs.define
class Servers:
    """An authorization server and a resource server, and what each saw."""

    as_url: str = ""
    rs_url: str = ""
    require_nonce: bool = False
    refuse_grant: str | None = None
    token_requests: list[dict[str, str]] = attrs.field(factory=list)
    resource_proofs: list[dict[str, Any]] = attrs.field(factory=list)
    bound: dict[str, str] = attrs.field(factory=dict)
    as_challenges: int = 0
    rs_challenges: int = 0

    def authorization_server(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "GET" and path == "/.well-known/oauth-authorization-server":
            return _json(
                200,
                {
                    "issuer": self.as_url,
                    "token_endpoint": f"{self.as_url}/token",
                    "authorization_endpoint": f"{self.as_url}/authorize",
                    "code_challenge_methods_supported": ["S256"],
                    "response_types_supported": ["code"],
                    "authorization_response_iss_parameter_supported": True,
                    "grant_types_supported": ["client_credentials", "authorization_code"],
                    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                    "dpop_signing_alg_values_supported": ["ES256"],
                },
            )
        if method == "GET" and path.startswith("/authorize"):
            query = dict(parse_qsl(path.partition("?")[2]))
            assert query["code_challenge_method"] == "S256" and query["client_id"] == CLIENT_ID
            target = f"{query['redirect_uri']}?" + urlencode(
                {"code": "the-code", "state": query["state"], "iss": self.as_url}
            )
            return 302, {"location": target}, b""
        assert (method, path) == ("POST", "/token")
        form = dict(parse_qsl(body.decode()))
        if form["grant_type"] == "authorization_code":
            assert form["code"] == "the-code" and form["code_verifier"]
        self.token_requests.append(form)
        if self.refuse_grant:
            return _json(400, {"error": self.refuse_grant})
        if "client_assertion" in form:
            claims = jwt.decode(
                form["client_assertion"],
                CLIENT_KEY.public_key(),
                algorithms=["ES256"],
                audience=self.as_url,
            )
            assert claims["iss"] == claims["sub"] == form["client_id"] == CLIENT_ID
        proof = headers.get("dpop")
        if proof is None:
            return _json(200, {"access_token": "bearer-token", "token_type": "Bearer"})
        claims, jkt = _verify_proof(proof, "POST", f"{self.as_url}/token")
        assert "ath" not in claims
        if self.require_nonce and claims.get("nonce") != "as-nonce":
            self.as_challenges += 1
            return _json(400, {"error": "use_dpop_nonce"}, **{"dpop-nonce": "as-nonce"})
        token = f"dpop-token-{len(self.bound)}"
        self.bound[token] = jkt
        return _json(200, {"access_token": token, "token_type": "DPoP", "expires_in": 3600})

    def resource_server(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        prm = f"{self.rs_url}/.well-known/oauth-protected-resource/mcp"
        if method == "GET" and path == "/.well-known/oauth-protected-resource/mcp":
            return _json(
                200, {"resource": f"{self.rs_url}/mcp", "authorization_servers": [self.as_url]}
            )
        assert (method, path) == ("POST", "/mcp")
        authorization = headers.get("authorization")
        if authorization is None:
            return _json(401, {}, **{"www-authenticate": f'DPoP resource_metadata="{prm}"'})
        if authorization.startswith("Bearer "):
            return _json(200, {"jsonrpc": "2.0", "id": 1, "result": {"scheme": "Bearer"}})
        scheme, _, token = authorization.partition(" ")
        assert scheme == "DPoP"
        claims, jkt = _verify_proof(headers.get("dpop"), "POST", f"{self.rs_url}/mcp")
        assert claims["ath"] == access_token_hash(token)
        assert self.bound[token] == jkt, "the proof's key is the one the token is bound to"
        self.resource_proofs.append(claims)
        if self.require_nonce and claims.get("nonce") != "rs-nonce":
            self.rs_challenges += 1
            return _json(
                401,
                {},
                **{"www-authenticate": 'DPoP error="use_dpop_nonce"', "dpop-nonce": "rs-nonce"},
            )
        return _json(200, {"jsonrpc": "2.0", "id": 1, "result": {"scheme": "DPoP"}})


@asynccontextmanager
async def running(servers: Servers) -> AsyncIterator[Servers]:
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        for handler, field in (
            (servers.authorization_server, "as_url"),
            (servers.resource_server, "rs_url"),
        ):
            config = Config()
            config.bind = ["127.0.0.1:0"]
            config.accesslog = None
            config.errorlog = logging.getLogger("hypercorn.error")
            config.graceful_timeout = 1
            binds = await nursery.start(
                functools.partial(
                    serve,
                    _asgi(handler),  # type: ignore[arg-type]
                    config,
                    shutdown_trigger=stop.wait,
                )
            )
            setattr(servers, field, binds[0])
        yield servers
        stop.set()


async def _call(auth: OAuth, url: str, times: int) -> list[dict[str, Any]]:
    results = []
    with trio.fail_after(20):
        async with httpx2.AsyncClient(auth=auth) as http:
            for _ in range(times):
                response = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
                assert response.status_code == 200
                results.append(response.json()["result"])
    return results


@pytest.mark.parametrize("require_nonce", [False, True])
async def test_client_credentials_with_a_client_assertion_and_dpop(require_nonce: bool) -> None:
    async with running(Servers(require_nonce=require_nonce)) as servers:
        dpop = DPoP()
        auth = OAuth(
            client_id=CLIENT_ID,
            client_authenticator=PrivateKeyJWT(CLIENT_PEM),
            grant=ClientCredentials(),
            proof=dpop,
        )
        results = await _call(auth, f"{servers.rs_url}/mcp", 3)
    assert results == [{"scheme": "DPoP"}] * 3
    assert servers.bound == {"dpop-token-0": dpop.thumbprint}
    # One token request, and one more when the server asked for its nonce.
    assert len(servers.token_requests) == 1 + require_nonce
    assert servers.as_challenges == servers.rs_challenges == int(require_nonce)
    form = servers.token_requests[-1]
    assert form["grant_type"] == "client_credentials"
    assert form["resource"] == f"{servers.rs_url}/mcp"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    # Every proof is fresh; once the resource gave its nonce, every later proof carries it.
    jtis = [claims["jti"] for claims in servers.resource_proofs]
    assert len(jtis) == len(set(jtis)) == 3 + require_nonce
    if require_nonce:
        assert "nonce" not in servers.resource_proofs[0]
        assert all(claims["nonce"] == "rs-nonce" for claims in servers.resource_proofs[1:])


async def _follow(authorization_url: str) -> dict[str, str]:
    async with httpx2.AsyncClient() as http:
        response = await http.get(authorization_url)
    assert response.status_code == 302
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


async def test_authorization_code_with_a_client_assertion_and_dpop() -> None:
    async with running(Servers(require_nonce=True)) as servers:
        dpop = DPoP()
        auth = OAuth(
            client_id=CLIENT_ID,
            client_authenticator=PrivateKeyJWT(CLIENT_PEM),
            redirect_handler=_follow,
            proof=dpop,
        )
        results = await _call(auth, f"{servers.rs_url}/mcp", 2)
    assert results == [{"scheme": "DPoP"}] * 2
    assert servers.bound == {"dpop-token-0": dpop.thumbprint}
    assert [form["grant_type"] for form in servers.token_requests] == ["authorization_code"] * 2
    assert servers.as_challenges == servers.rs_challenges == 1
    assert "client_assertion" in servers.token_requests[-1]


async def test_a_refused_jwt_bearer_grant_is_not_retried() -> None:
    async with running(Servers(refuse_grant="invalid_grant")) as servers:
        auth = OAuth(client_id=CLIENT_ID, grant=JwtBearer("workload.jwt"))
        with pytest.raises(OAuthError) as raised:
            await _call(auth, f"{servers.rs_url}/mcp", 1)
    assert raised.value.error == "invalid_grant"
    assert len(servers.token_requests) == 1
    assert servers.token_requests[0]["assertion"] == "workload.jwt"
