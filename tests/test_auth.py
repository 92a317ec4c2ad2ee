"""Authorization end to end: a real authorization server (``tests/oauth_server.py``),
a node on each front requiring its tokens, and our own client's OAuth as the other end.

Metadata and challenges on both fronts, both eras and the 2024-11-05 endpoints;
the authorization-code flow with PKCE and a scope step-up through ``Client``;
``ctx.principal``; sessions owned by their principal; a ``requestState`` bound to
its principal; JWKS rotation with a bound on refetches; introspection with its cache.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
import trio
from cryptography.hazmat.primitives.asymmetric import ec

from scaled_mcp._cli_options import TargetError, auth_config, parser
from scaled_mcp.client import Client, ClientCredentials, ClientError, OAuth
from scaled_mcp.protocol.http import HttpConfig
from scaled_mcp.protocol.oauth import (
    SCOPES_META_KEY,
    Principal,
    ResourceServerConfig,
    bearer_challenge,
)
from scaled_mcp.runtime import (
    Authorization,
    IntrospectionVerifier,
    JWTVerifier,
    Runtime,
    RuntimeConfig,
    serve_h11,
)
from scaled_mcp.server import Context, MCPServer
from scaled_mcp_hypercorn import serve as serve_hypercorn

from .cluster import free_port
from .helpers import FRONTS, JSON_AND_SSE, initialize_request, stateless_meta
from .oauth_server import RESOURCE_CLIENT, AuthorizationServer, running_server

DEADLINE = 20


def make_app() -> MCPServer:
    app = MCPServer("protected", "1.0")

    @app.tool()
    async def whoami(ctx: Context) -> str:
        principal = ctx.principal
        assert principal is not None
        return f"{principal.subject} {' '.join(sorted(principal.scopes))}"

    @app.tool(scopes=["write"])
    async def write(text: str) -> str:
        return f"wrote {text}"

    @app.tool()
    async def confirm(ctx: Context) -> str:
        answer = await ctx.elicit("sure?", {"type": "object", "properties": {}})
        return str(answer.action)

    @app.resource("memo://secret", scopes=["admin"])
    async def secret() -> str:
        return "the secret"

    @app.prompt(scopes=["write"])
    async def draft() -> str:
        return "draft"

    return app


@asynccontextmanager
async def protected(
    front: str, issuer: str, *, verifier: Any = None, cors: bool = False
) -> AsyncIterator[str]:
    """A node on ``front`` requiring ``issuer``'s tokens (scope ``read``); its /mcp URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    resource = ResourceServerConfig(
        resource=url,
        authorization_servers=(issuer,),
        required_scopes=("read",),
        scopes_supported=("read", "write", "admin"),
    )
    auth = Authorization(
        resource, verifier or JWTVerifier(issuer, url, min_refresh_interval=1.0, timeout=5)
    )
    config = RuntimeConfig(shutdown_grace=1, auth=auth, http=HttpConfig(cors=cors))
    runtime = Runtime(make_app(), config=config)
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        if front == "h11":
            await nursery.start(
                functools.partial(serve_h11, runtime, "127.0.0.1", port, shutdown=stop)
            )
        else:
            await nursery.start(
                functools.partial(serve_hypercorn, runtime, [f"127.0.0.1:{port}"], shutdown=stop)
            )
        yield url
        stop.set()


@asynccontextmanager
async def authorization_server(**options: Any) -> AsyncIterator[AuthorizationServer]:
    server = AuthorizationServer(**options)
    async with running_server(server):
        yield server


async def browser(url: str) -> dict[str, str]:
    """The redirect step: the server approves at once; the code is on ``Location``."""
    async with httpx2.AsyncClient(follow_redirects=False) as http:
        response = await http.get(url)
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


def post_headers(token: str | None, **more: str) -> dict[str, str]:
    headers = {"accept": JSON_AND_SSE, "content-type": "application/json", **more}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return headers


def stateless_call(name: str, arguments: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": stateless_meta(**meta)},
    }


def stateless_headers(token: str | None, name: str) -> dict[str, str]:
    return post_headers(
        token,
        **{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name},
    )


# -- metadata and challenges -------------------------------------------------------------


@pytest.mark.parametrize("front", FRONTS)
async def test_metadata_and_the_401_challenge(front: str) -> None:
    async with (
        authorization_server() as server,
        protected(front, server.base, cors=True) as url,
        httpx2.AsyncClient() as http,
    ):
        origin = url.removesuffix("/mcp")
        for path in (
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ):
            document = (await http.get(origin + path)).json()
            assert document["resource"] == url
            assert document["authorization_servers"] == [server.base]
            assert document["scopes_supported"] == ["read", "write", "admin"]
        body = initialize_request()
        for headers in (
            post_headers(None),
            post_headers("not-a-jwt"),
            post_headers(None, authorization="Basic eDp5"),
        ):
            answer = await http.post(
                url, json=body, headers={**headers, "origin": "http://localhost"}
            )
            assert answer.status_code == 401
            challenge = bearer_challenge(answer.headers.get_list("www-authenticate"))
            assert challenge is not None
            assert (
                challenge.resource_metadata == f"{origin}/.well-known/oauth-protected-resource/mcp"
            )
            assert challenge.scope == ("read",)
            assert challenge.error == (
                None if headers.get("authorization") is None else "invalid_token"
            )
            assert "www-authenticate" in answer.headers["access-control-expose-headers"]
            assert answer.json()["error"]["message"].startswith("Unauthorized")
        # The 2024-11-05 stream, the stateless wire and a GET stream need a token too.
        assert (
            await http.get(f"{origin}/sse", headers={"accept": "text/event-stream"})
        ).status_code == 401
        stateless = await http.post(
            url, json=stateless_call("whoami", {}), headers=stateless_headers(None, "whoami")
        )
        assert stateless.status_code == 401
        get = await http.get(url, headers={"accept": "text/event-stream", "mcp-session-id": "x"})
        assert get.status_code == 401
        # Checks of the head still come first: a wrong path is a 404.
        assert (
            await http.post(origin + "/nowhere", json=body, headers=post_headers(None))
        ).status_code == 404


@pytest.mark.parametrize("front", FRONTS)
async def test_tokens_the_resource_must_refuse(front: str) -> None:
    async with (
        authorization_server() as server,
        protected(front, server.base) as url,
        httpx2.AsyncClient() as http,
    ):
        refused = {
            "another audience": server.issue("alice", "http://elsewhere/mcp", "read"),
            "no audience": server.issue("alice", None, "read"),
            "expired": server.issue("alice", url, "read", lifetime=-120),
            "another issuer": server.issue("alice", url, "read", issuer="http://evil"),
            "a foreign key": server.issue(
                "alice", url, "read", key=ec.generate_private_key(ec.SECP256R1())
            ),
        }
        for why, token in refused.items():
            answer = await http.post(url, json=initialize_request(), headers=post_headers(token))
            assert answer.status_code == 401, why
            assert 'error="invalid_token"' in answer.headers["www-authenticate"], why
        # Within the leeway an expired token still passes (clock skew).
        fresh = server.issue("alice", url, "read", lifetime=-5)
        assert (
            await http.post(url, json=initialize_request(), headers=post_headers(fresh))
        ).status_code == 200
        # A token without the scope every request needs: 403, naming it.
        bare = server.issue("alice", url, "")
        answer = await http.post(url, json=initialize_request(), headers=post_headers(bare))
        assert answer.status_code == 403
        challenge = bearer_challenge([answer.headers["www-authenticate"]])
        assert challenge is not None and challenge.error == "insufficient_scope"
        assert challenge.scope == ("read",)


# -- our client's OAuth, both eras ---------------------------------------------------------


@pytest.mark.parametrize(("front", "mode"), [("h11", "handshake"), ("hypercorn", "stateless")])
async def test_the_client_authorizes_and_steps_up(
    front: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with authorization_server() as server, protected(front, server.base) as url:
        auth = OAuth(redirect_handler=browser)
        with trio.fail_after(DEADLINE):
            async with Client(url, mode=mode, auth=auth) as client:  # type: ignore[arg-type]
                tools = {tool.name: tool for tool in await client.list_tools()}
                assert tools["write"].meta == {SCOPES_META_KEY: ["write"]}
                assert tools["whoami"].meta is None
                who = await client.call_tool("whoami", {})
                assert who.content[0].text == "alice read"  # type: ignore[union-attr]
                # 403 insufficient_scope naming write: the client asks again, with it.
                wrote = await client.call_tool("write", {"text": "x"})
                assert wrote.content[0].text == "wrote x"  # type: ignore[union-attr]
                who = await client.call_tool("whoami", {})
                assert who.content[0].text == "alice read write"  # type: ignore[union-attr]
        assert [r for r in server.requests if r.startswith("GET /authorize")].__len__() == 2
    assert server.issued
    for record in caplog.records:
        message = record.getMessage()
        # No token is ever logged: neither one issued nor anything shaped as a JWT
        # (a session id may happen to begin as one does, but has no dots).
        assert not any(token in message for token in server.issued)
        assert re.search(r"eyJ[\w-]+\.[\w-]+\.", message) is None


async def test_scopes_of_resources_and_prompts() -> None:
    async with (
        authorization_server() as server,
        protected("h11", server.base) as url,
        httpx2.AsyncClient() as http,
    ):
        token = server.issue("alice", url, "read")
        init = await http.post(url, json=initialize_request(), headers=post_headers(token))
        session = {
            "mcp-session-id": init.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25",
        }
        for method, params, scope in (
            ("resources/read", {"uri": "memo://secret"}, "admin"),
            ("prompts/get", {"name": "draft"}, "write"),
            ("tools/call", {"name": "write", "arguments": {"text": "x"}}, "write"),
        ):
            message = {"jsonrpc": "2.0", "id": 3, "method": method, "params": params}
            answer = await http.post(url, json=message, headers=post_headers(token, **session))
            assert answer.status_code == 403, method
            challenge = bearer_challenge([answer.headers["www-authenticate"]])
            assert challenge is not None and challenge.scope == ("read", scope)
            assert answer.json()["id"] == 3
        stronger = server.issue("alice", url, "read admin")
        message = {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "resources/read",
            "params": {"uri": "memo://secret"},
        }
        answer = await http.post(url, json=message, headers=post_headers(stronger, **session))
        assert answer.json()["result"]["contents"][0]["text"] == "the secret"


# -- a session and a requestState belong to their principal ---------------------------------


@pytest.mark.parametrize("front", FRONTS)
async def test_another_principal_cannot_use_a_session(front: str) -> None:
    async with (
        authorization_server() as server,
        protected(front, server.base) as url,
        httpx2.AsyncClient() as http,
    ):
        alice = server.issue("alice", url, "read write")
        alice_again = server.issue("alice", url, "read")
        mallory = server.issue("mallory", url, "read write")
        init = await http.post(url, json=initialize_request(), headers=post_headers(alice))
        session = {
            "mcp-session-id": init.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25",
        }
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "whoami", "arguments": {}},
        }
        hijack = await http.post(url, json=call, headers=post_headers(mallory, **session))
        assert hijack.status_code == 404
        assert hijack.json()["error"]["message"] == "Not Found: session not found"
        stream = await http.get(
            url, headers={**post_headers(mallory, **session), "accept": "text/event-stream"}
        )
        assert stream.status_code == 404
        delete = await http.delete(url, headers=post_headers(mallory, **session))
        assert delete.status_code == 404
        # The same user with another token is the same principal.
        mine = await http.post(url, json=call, headers=post_headers(alice_again, **session))
        assert mine.json()["result"]["content"][0]["text"] == "alice read"


async def test_a_request_state_is_bound_to_its_principal() -> None:
    async with (
        authorization_server() as server,
        protected("h11", server.base) as url,
        httpx2.AsyncClient() as http,
    ):
        alice = server.issue("alice", url, "read")
        mallory = server.issue("mallory", url, "read")
        caps: dict[str, Any] = {"elicitation": {}}
        first = await http.post(
            url,
            json=stateless_call("confirm", {}, capabilities=caps),
            headers=stateless_headers(alice, "confirm"),
        )
        result = first.json()["result"]
        assert result["resultType"] == "input_required"
        key = next(iter(result["inputRequests"]))
        retry = stateless_call("confirm", {}, capabilities=caps)
        retry["params"]["inputResponses"] = {key: {"action": "accept", "content": {}}}
        retry["params"]["requestState"] = result["requestState"]
        stolen = await http.post(url, json=retry, headers=stateless_headers(mallory, "confirm"))
        assert stolen.json()["error"]["code"] == -32602
        assert "belongs to a different request" in stolen.json()["error"]["message"]
        mine = await http.post(url, json=retry, headers=stateless_headers(alice, "confirm"))
        assert mine.json()["result"]["content"][0]["text"] == "accept"


# -- verifiers ------------------------------------------------------------------------------


async def test_keys_are_refetched_on_an_unknown_kid_with_a_bound() -> None:
    async with authorization_server() as server:
        audience = "http://127.0.0.1:1/mcp"
        verifier = JWTVerifier(server.base, audience, min_refresh_interval=0.5)
        first = await verifier.verify(server.issue("alice", audience, "read"))
        assert first is not None and first.subject == "alice" and verifier.fetches == 1
        assert await verifier.verify(server.issue("bob", audience, "read")) is not None
        assert verifier.fetches == 1  # cached: no fetch on the request's path
        discovery = [r for r in server.requests if "well-known" in r]
        assert discovery == ["GET /.well-known/oauth-authorization-server"]
        # A flood of unknown kids costs at most one fetch per interval.
        for n in range(50):
            assert (
                await verifier.verify(server.issue("x", audience, "read", kid=f"forged{n}")) is None
            )
        assert verifier.fetches <= 2
        await trio.sleep(0.6)
        server.rotate()  # the issuer rotates: the new kid is fetched once
        rotated = await verifier.verify(server.issue("carol", audience, "read"))
        assert rotated is not None and rotated.subject == "carol"
        assert verifier.fetches <= 3


async def test_an_issuer_that_does_not_answer_is_a_503() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    dead = f"http://127.0.0.1:{free_port()}"
    async with authorization_server() as server, httpx2.AsyncClient() as http:
        token = server.issue("alice", url, "read")
        verifier = JWTVerifier(dead, url, timeout=2)
        async with protected("h11", dead, verifier=verifier) as url:
            answer = await http.post(url, json=initialize_request(), headers=post_headers(token))
            assert answer.status_code == 503


async def test_introspection_with_its_cache() -> None:
    async with authorization_server() as server:
        resource = "http://127.0.0.1:1/mcp"
        verifier = IntrospectionVerifier(
            f"{server.base}/introspect",
            client_id=RESOURCE_CLIENT[0],
            client_secret=RESOURCE_CLIENT[1],
            audience=resource,
            cache_ttl=60,
            cache_size=2,
        )
        token = server.issue("alice", resource, "read write")
        principal = await verifier.verify(token)
        assert principal is not None and principal.scopes == {"read", "write"}
        assert await verifier.verify(token) == principal
        assert verifier.requests == 1  # the second answer came from the cache
        assert await verifier.verify(server.issue("alice", "http://other/mcp", "read")) is None
        assert await verifier.verify("garbage") is None
        # The cache is bounded: the oldest answer goes first.
        await verifier.verify(server.issue("bob", resource, "read"))
        await verifier.verify(token)
        assert verifier.requests == 5


async def test_introspection_over_one_client_for_the_nodes_life() -> None:
    async with authorization_server() as server, httpx2.AsyncClient() as http:
        server.introspection_delay = 0.2
        verifier = IntrospectionVerifier(
            f"{server.base}/introspect",
            client_id=RESOURCE_CLIENT[0],
            client_secret=RESOURCE_CLIENT[1],
            audience=None,
            timeout=5,
            max_concurrent=2,
        )
        async with protected("h11", server.base, verifier=verifier) as url:
            shared = verifier._client
            assert shared is not None and not shared.is_closed
            statuses: list[int] = []

            async def initialize(who: str) -> None:
                token = server.issue(who, url, "read")
                answer = await http.post(
                    url, json=initialize_request(), headers=post_headers(token)
                )
                statuses.append(answer.status_code)

            async with trio.open_nursery() as nursery:
                for n in range(6):  # six tokens, none cached: six introspections
                    nursery.start_soon(initialize, f"user{n}")
            assert statuses == [200] * 6
            assert verifier.requests == 6
            assert server.most_introspecting == 2  # never more at once than allowed
            # Reused: the six went over the two connections the bound allows.
            assert len(server.connections) <= 2
            # Past its deadline (its wait for a turn included), a request gets 503.
            server.introspection_delay = 10
            verifier.timeout = 0.3
            late = await http.post(
                url, json=initialize_request(), headers=post_headers(server.issue("z", url, "read"))
            )
            assert late.status_code == 503
        assert verifier._client is None and shared.is_closed  # closed with the node


async def test_the_applications_own_verifier() -> None:
    async def verify(token: str) -> Principal | None:
        return (
            Principal(subject="svc", scopes=frozenset({"read"})) if token == "let-me-in" else None
        )

    async with (
        protected("h11", "http://127.0.0.1:9", verifier=verify) as url,
        httpx2.AsyncClient() as http,
    ):
        assert (
            await http.post(url, json=initialize_request(), headers=post_headers("nope"))
        ).status_code == 401
        answer = await http.post(url, json=initialize_request(), headers=post_headers("let-me-in"))
        assert answer.status_code == 200


async def test_client_credentials_through_our_client() -> None:
    async with authorization_server() as server, protected("hypercorn", server.base) as url:
        auth = OAuth(
            client_id="mallory-app", client_secret="mallory-secret", grant=ClientCredentials()
        )
        with trio.fail_after(DEADLINE):
            async with Client(url, auth=auth) as client:
                who = await client.call_tool("whoami", {})
                assert who.content[0].text == "mallory-app read"  # type: ignore[union-attr]
                with pytest.raises(ClientError):
                    await client.read_resource("memo://nowhere")


async def test_a_remembered_token_still_expires() -> None:
    async with authorization_server() as server:
        audience = "http://127.0.0.1:1/mcp"
        verifier = JWTVerifier(server.base, audience, leeway=0.5)
        token = server.issue("alice", audience, "read", lifetime=2)
        assert await verifier.verify(token) is not None
        assert await verifier.verify(token) is not None  # from the cache
        await trio.sleep(3)
        assert await verifier.verify(token) is None


async def test_visibility_rules_see_the_principal() -> None:
    app = make_app()
    app.visibility(
        lambda ctx, component: (
            component.name != "write"
            or (ctx.principal is not None and "write" in ctx.principal.scopes)
        )
    )
    async with authorization_server() as server, httpx2.AsyncClient() as http:
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        resource = ResourceServerConfig(resource=url, authorization_servers=(server.base,))
        config = RuntimeConfig(
            shutdown_grace=1, auth=Authorization(resource, JWTVerifier(server.base, url))
        )
        runtime = Runtime(app, config=config)
        stop = trio.Event()
        async with runtime.run(), trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(serve_h11, runtime, "127.0.0.1", port, shutdown=stop)
            )
            listing = {
                "jsonrpc": "2.0",
                "id": 5,
                "method": "tools/list",
                "params": {"_meta": stateless_meta()},
            }
            names = {}
            for scope in ("read", "read write"):
                token = server.issue("alice", url, scope)
                answer = await http.post(
                    url,
                    json=listing,
                    headers=post_headers(
                        token, **{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"}
                    ),
                )
                names[scope] = {tool["name"] for tool in answer.json()["result"]["tools"]}
            stop.set()
        assert "write" not in names["read"] and "write" in names["read write"]


def test_the_command_line_settings() -> None:
    _, serve = parser()

    def settings(*argv: str) -> Authorization | None:
        args = serve.parse_args(["app.py", *argv])
        return auth_config(args, ("write",))

    assert settings() is None
    auth = settings("--auth-issuer", "https://id.example/realms/r", "--auth-scopes", "read,extra")
    assert auth is not None
    assert auth.resource.resource == "http://127.0.0.1:8000/mcp"
    assert auth.resource.required_scopes == ("read", "extra")
    assert auth.resource.metadata()["scopes_supported"] == ["read", "extra", "write"]
    assert (
        isinstance(auth.verifier, JWTVerifier) and auth.verifier.audience == auth.resource.resource
    )
    behind = settings(
        "--auth-issuer", "https://id.example", "--resource-url", "https://mcp.example/x/mcp",
        "--auth-audience", "api://mcp",
    )  # fmt: skip
    assert behind is not None and behind.resource.resource == "https://mcp.example/x/mcp"
    assert isinstance(behind.verifier, JWTVerifier) and behind.verifier.audience == "api://mcp"
    introspected = settings(
        "--auth-issuer", "https://id.example", "--auth-introspection-url", "https://id.example/i",
        "--auth-client-id", "rs", "--auth-client-secret", "s3cret",
    )  # fmt: skip
    assert introspected is not None and isinstance(introspected.verifier, IntrospectionVerifier)
    for argv, message in (
        (("--resource-url", "https://x/mcp"), "--resource-url needs --auth-issuer"),
        (("--auth-issuer", "ftp://x"), "--auth-issuer must be an http(s) URL"),
        (("--auth-issuer", "https://x", "--stdio"), "stdio has no authorization"),
        (("--auth-issuer", "https://x", "--bind", "0.0.0.0:80"), "needs --resource-url"),
        (
            ("--auth-issuer", "https://x", "--auth-introspection-url", "https://x/i"),
            "needs --auth-client-id",
        ),
        (("--auth-issuer", "https://x", "--auth-scopes", 'a"b'), "authorization settings"),
    ):
        with pytest.raises(TargetError, match=re.escape(message)) as caught:
            settings(*argv)
        assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("front", FRONTS)
async def test_the_legacy_stream_belongs_to_its_principal(front: str) -> None:
    async with (
        authorization_server() as server,
        protected(front, server.base) as url,
        httpx2.AsyncClient() as http,
    ):
        origin = url.removesuffix("/mcp")
        alice = server.issue("alice", url, "read")
        mallory = server.issue("mallory", url, "read")
        sse = {"accept": "text/event-stream", "authorization": f"Bearer {alice}"}
        with trio.fail_after(DEADLINE):
            async with http.stream("GET", f"{origin}/sse", headers=sse) as stream:
                assert stream.status_code == 200
                lines = stream.aiter_lines()
                endpoint = ""
                while not endpoint.startswith("data: "):
                    endpoint = await anext(lines)
                messages = origin + endpoint.removeprefix("data: ")
                body = initialize_request("2024-11-05")
                stolen = await http.post(messages, json=body, headers=post_headers(mallory))
                assert stolen.status_code == 404
                mine = await http.post(messages, json=body, headers=post_headers(alice))
                assert mine.status_code == 202
