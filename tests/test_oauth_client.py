"""The OAuth driver end to end: a small authorization server and protected resource on real sockets.

The server (an ASGI app under hypercorn) publishes protected resource and
authorization server metadata, registers clients, approves every authorization
at once (the redirect step follows its ``Location``), checks PKCE S256 and the
``resource`` at its token endpoint, issues refresh tokens, and asks for the
``write`` scope on ``tools/call``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx2
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from scaled_mcp.client import BrowserRedirect, InMemoryTokenStorage, OAuth
from scaled_mcp.protocol.oauth import OAuthError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


class AuthorizationServer:
    """An authorization server and an MCP endpoint that needs its tokens, on one origin."""

    def __init__(self) -> None:
        self.base = ""
        self.log: list[str] = []
        self.codes: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, tuple[str, ...]] = {}
        self.refresh_tokens: dict[str, tuple[str, ...]] = {}
        self.issued = 0
        self.lifetime = 3600

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
    ) -> tuple[int, list[tuple[bytes, bytes]], object]:
        self.log.append(f"{method} {path}")
        base = self.base
        if path == "/.well-known/oauth-protected-resource/mcp":
            return (
                200,
                [],
                {
                    "resource": f"{base}/mcp",
                    "authorization_servers": [base],
                    "scopes_supported": ["read"],
                },
            )
        if path == "/.well-known/oauth-authorization-server":
            return (
                200,
                [],
                {
                    "issuer": base,
                    "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token",
                    "registration_endpoint": f"{base}/register",
                    "code_challenge_methods_supported": ["S256"],
                    "authorization_response_iss_parameter_supported": True,
                    "scopes_supported": ["read", "write", "offline_access"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                },
            )
        if path == "/register":
            return 201, [], {"client_id": "client-1", "client_secret": "secret-1"}
        if path == "/authorize":
            params = dict(parse_qsl(query))
            code = f"code-{len(self.codes)}"
            self.codes[code] = params
            location = (
                params["redirect_uri"]
                + "?"
                + urlencode({"code": code, "state": params["state"], "iss": base})
            )
            return 302, [(b"location", location.encode())], {}
        if path == "/token":
            return self.token(headers, dict(parse_qsl(body.decode())))
        if path == "/mcp":
            return self.resource(headers, json.loads(body))
        return 404, [], {"error": "not_found"}

    def token(
        self, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, list[tuple[bytes, bytes]], object]:
        if (
            headers.get("authorization")
            != "Basic " + base64.b64encode(b"client-1:secret-1").decode()
        ):
            return 401, [], {"error": "invalid_client"}
        if form.get("resource") != f"{self.base}/mcp":
            return 400, [], {"error": "invalid_target"}
        if form["grant_type"] == "authorization_code":
            request = self.codes.pop(form["code"], None)
            if request is None or _s256(form.get("code_verifier", "")) != request["code_challenge"]:
                return 400, [], {"error": "invalid_grant"}
            if (
                form.get("redirect_uri") != request["redirect_uri"]
                or request["resource"] != form["resource"]
            ):
                return 400, [], {"error": "invalid_grant"}
            scope = tuple(request.get("scope", "").split())
        elif (
            form["grant_type"] == "refresh_token"
            and form.get("refresh_token") in self.refresh_tokens
        ):
            scope = self.refresh_tokens[form["refresh_token"]]
        else:
            return 400, [], {"error": "invalid_grant"}
        self.issued += 1
        access, refresh = f"access-{self.issued}", f"refresh-{self.issued}"
        self.tokens[access] = scope
        if "offline_access" in scope:
            self.refresh_tokens[refresh] = scope
        answer = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": " ".join(scope),
        }
        if "offline_access" in scope:
            answer["refresh_token"] = refresh
        return 200, [], answer

    def resource(
        self, headers: dict[str, str], message: dict[str, Any]
    ) -> tuple[int, list[tuple[bytes, bytes]], object]:
        metadata = f'resource_metadata="{self.base}/.well-known/oauth-protected-resource/mcp"'
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return (
                401,
                [(b"www-authenticate", f"Bearer {metadata}".encode())],
                {"error": "invalid_token"},
            )
        needed = "write" if message["method"] == "tools/call" else "read"
        if needed not in self.tokens[token]:
            challenge = f'Bearer error="insufficient_scope", scope="{needed}", {metadata}'
            return 403, [(b"www-authenticate", challenge.encode())], {"error": "insufficient_scope"}
        return 200, [], {"jsonrpc": "2.0", "id": message["id"], "result": {}}


@asynccontextmanager
async def running(server: AuthorizationServer) -> AsyncIterator[str]:
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    stop = trio.Event()
    app: Any = server
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(
            functools.partial(serve, app, config, shutdown_trigger=stop.wait)
        )
        server.base = "http://127.0.0.1:" + bound[0].rpartition(":")[2]
        yield server.base
        stop.set()


class Browser:
    """The redirect step: follows the authorization URL and reads the code off ``Location``."""

    def __init__(self) -> None:
        self.visits: list[dict[str, str]] = []

    async def __call__(self, url: str) -> dict[str, str]:
        self.visits.append(dict(parse_qsl(urlsplit(url).query)))
        async with httpx2.AsyncClient(follow_redirects=False) as http:
            response = await http.get(url)
        return dict(parse_qsl(urlsplit(response.headers["location"]).query))


async def call(http: httpx2.AsyncClient, url: str, method: str) -> httpx2.Response:
    with trio.fail_after(10):
        return await http.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": {}}
        )


async def test_authorization_step_up_and_refresh(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = AuthorizationServer()
    browser = Browser()
    now = [1000.0]
    auth = OAuth(redirect_handler=browser, clock=lambda: now[0])
    async with running(server) as base, httpx2.AsyncClient(auth=auth) as http:
        url = f"{base}/mcp"
        assert (await call(http, url, "tools/list")).status_code == 200
        assert server.log == [
            "POST /mcp",
            "GET /.well-known/oauth-protected-resource/mcp",
            "GET /.well-known/oauth-authorization-server",
            "POST /register",
            "GET /authorize",
            "POST /token",
            "POST /mcp",
        ]
        (first,) = browser.visits
        assert first["scope"] == "read offline_access" and first["resource"] == url
        assert first["code_challenge_method"] == "S256"

        # The token is reused; a call that needs more scope steps up with the union.
        server.log.clear()
        assert (await call(http, url, "tools/list")).status_code == 200
        assert server.log == ["POST /mcp"]
        assert (await call(http, url, "tools/call")).status_code == 200
        assert browser.visits[-1]["scope"] == "read offline_access write"
        assert "POST /register" not in server.log

        # Once the token is stale, the refresh token replaces it without the user.
        visits = len(browser.visits)
        now[0] += 7200
        server.log.clear()
        assert (await call(http, url, "tools/call")).status_code == 200
        assert len(browser.visits) == visits
        assert server.log[-2:] == ["POST /token", "POST /mcp"]

    for token in ("access-", "refresh-", "secret-1"):
        assert token not in repr(auth)
        assert token not in caplog.text


async def test_concurrent_requests_authorize_once() -> None:
    server = AuthorizationServer()
    browser = Browser()
    async with (
        running(server) as base,
        httpx2.AsyncClient(auth=OAuth(redirect_handler=browser)) as http,
    ):
        results: list[int] = []

        async def one() -> None:
            results.append((await call(http, f"{base}/mcp", "tools/list")).status_code)

        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(one)
    assert results == [200] * 4
    assert len(browser.visits) == 1


async def test_step_up_has_a_limit_and_errors_are_clear() -> None:
    server = AuthorizationServer()
    browser = Browser()
    storage = InMemoryTokenStorage()
    async with running(server) as base:
        # The user never grants "write": the server keeps answering 403.
        async def refusing(url: str) -> dict[str, str]:
            query = dict(parse_qsl(urlsplit(url).query))
            scope = " ".join(s for s in query.get("scope", "").split() if s != "write")
            fixed = urlsplit(url)._replace(query=urlencode(query | {"scope": scope})).geturl()
            return await browser(fixed)

        async with httpx2.AsyncClient(
            auth=OAuth(redirect_handler=refusing, storage=storage, max_step_ups=2)
        ) as http:
            response = await call(http, f"{base}/mcp", "tools/call")
        assert response.status_code == 403
        assert len(browser.visits) == 3  # the first authorization and two step-ups

        # Without a redirect handler, the flow stops with a clear error.
        async with httpx2.AsyncClient(auth=OAuth()) as http:
            with pytest.raises(OAuthError) as raised:
                await call(http, f"{base}/mcp", "tools/list")
        assert raised.value.error == "no_redirect_handler"


async def test_browser_redirect_on_a_loopback_port() -> None:
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    opened: list[str] = []
    ready = trio.Event()

    def open_browser(url: str) -> None:  # runs in a worker thread, as webbrowser.open does
        opened.append(url)
        trio.from_thread.run_sync(ready.set)

    redirect = BrowserRedirect(port, open_browser=open_browser)
    assert redirect.redirect_uri == f"http://localhost:{port}/callback"
    answers: list[int] = []

    async def browser() -> None:
        await ready.wait()
        async with httpx2.AsyncClient() as http:
            answers.append((await http.get(f"http://127.0.0.1:{port}/favicon.ico")).status_code)
            answers.append(
                (
                    await http.get(f"http://127.0.0.1:{port}/callback?code=c1&state=s1&iss=x")
                ).status_code
            )

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(browser)
            params = await redirect("http://as/authorize?state=s1")
    assert opened == ["http://as/authorize?state=s1"]
    assert params == {"code": "c1", "state": "s1", "iss": "x"}
    assert answers == [404, 200]
