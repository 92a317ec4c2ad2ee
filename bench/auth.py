"""What authorization costs per HTTP request: the runtime's path with it off and on.

Times ``Runtime.handle_http`` in process (no sockets: the front's cost is the same
either way) for a 2026-07-28 ``tools/call`` of an ``echo`` tool, rounds alternating
between the configurations:

* **off** -- no ``auth`` in the node's config (the path every figure in this folder
  was measured on);
* **on, JWT remembered** -- ``JWTVerifier`` with its cache of verified tokens (a client
  sends one token request after request): the bearer header read, a SHA-256 of the
  token, the scope check of the tool, the principal set for the handler;
* **on, JWT checked every time** -- ``cache_size=0``: an ES256 signature check and the
  claim checks by PyJWT on every request;
* **on, the application's verifier** -- ``async def verify(token)`` returning a
  principal: the gate alone.

The issuer's keys are served by a small ASGI app on a local port, fetched once
before the timed rounds. Run: ``cd bench && ../.venv/bin/python auth.py [-r ROUNDS]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from contextlib import AsyncExitStack
from typing import Any

import jwt
import trio
from common import describe_machine, format_table, prepare_round, summarize
from cryptography.hazmat.primitives.asymmetric import ec
from hypercorn.config import Config
from hypercorn.trio import serve

from scaled_mcp.protocol.http import Headers, HttpRequest
from scaled_mcp.protocol.oauth import Principal, ResourceServerConfig
from scaled_mcp.runtime import Authorization, JWTVerifier, Runtime, RuntimeConfig
from scaled_mcp.server import MCPServer

RESOURCE = "http://127.0.0.1:8000/mcp"
ISSUER_HOST = "127.0.0.1"


class _Responder:
    started = False

    def __init__(self) -> None:
        self.status = 0

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status = status

    async def start(self, status: int, headers: Headers) -> None:
        self.status = status
        self.started = True

    async def send(self, data: bytes) -> None:
        pass

    async def end(self) -> None:
        pass

    async def wait_disconnected(self) -> None:
        await trio.sleep_forever()


def app() -> MCPServer:
    server = MCPServer("bench", "1.0")

    @server.tool(scopes=["tools"])
    def echo(text: str) -> str:
        return text

    return server


def request(token: str | None) -> HttpRequest:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "echo",
            "arguments": {"text": "hello"},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
            },
        },
    }
    headers = [
        ("host", "127.0.0.1:8000"),
        ("accept", "application/json, text/event-stream"),
        ("content-type", "application/json"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
    ]
    if token is not None:
        headers.append(("authorization", f"Bearer {token}"))
    return HttpRequest.from_parsed("POST", "/mcp", tuple(headers), json.dumps(body).encode())


async def measure(rounds: int, n: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))

    async def keys_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        base = f"http://{ISSUER_HOST}:{scope['server'][1]}"
        document: dict[str, Any] = {"keys": [{**jwk, "kid": "k1", "use": "sig"}]}
        if scope["path"].startswith("/.well-known/"):
            document = {
                "issuer": base,
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
            }
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps(document).encode()})

    asgi: Any = keys_app
    config = Config()
    config.bind = [f"{ISSUER_HOST}:0"]
    config.accesslog = config.errorlog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(
            functools.partial(serve, asgi, config, shutdown_trigger=stop.wait)
        )
        issuer = f"http://{ISSUER_HOST}:" + bound[0].rpartition(":")[2]
        token = jwt.encode(
            {
                "iss": issuer,
                "sub": "bench",
                "aud": RESOURCE,
                "exp": int(time.time()) + 3600,
                "scope": "tools",
            },
            key,
            algorithm="ES256",
            headers={"kid": "k1"},
        )
        resource = ResourceServerConfig(resource=RESOURCE, authorization_servers=(issuer,))

        async def own(presented: str) -> Principal | None:
            return (
                Principal(subject="bench", scopes=frozenset({"tools"}))
                if presented == token
                else None
            )

        configs: dict[str, Authorization | None] = {
            "auth off": None,
            "auth on, JWT remembered": Authorization(resource, JWTVerifier(issuer, RESOURCE)),
            "auth on, JWT checked every time": Authorization(
                resource, JWTVerifier(issuer, RESOURCE, cache_size=0)
            ),
            "auth on, the application's verifier": Authorization(resource, own),
        }
        runtimes = {}
        for label, auth in configs.items():
            runtime = Runtime(app(), config=RuntimeConfig(auth=auth))
            runtimes[label] = runtime
        elapsed: dict[str, list[float]] = {label: [] for label in configs}
        async with AsyncExitStack() as running:
            for runtime in runtimes.values():
                await running.enter_async_context(runtime.run())
            for label, runtime in runtimes.items():
                presented = request(None if configs[label] is None else token)
                # Warm up: the keys are fetched here, never in a timed round.
                responder = _Responder()
                await runtime.handle_http(presented, responder)
                assert responder.status == 200, (label, responder.status)
            for r in range(rounds + 1):
                for label, runtime in runtimes.items():
                    presented = request(None if configs[label] is None else token)
                    responder = _Responder()
                    prepare_round()
                    start = time.perf_counter()
                    for _ in range(n):
                        await runtime.handle_http(presented, responder)
                    if r:
                        elapsed[label].append(time.perf_counter() - start)
        stop.set()
    measurements = [summarize(label, n, times) for label, times in elapsed.items()]
    print(format_table(measurements))
    off = measurements[0].median_us
    for m in measurements[1:]:
        print(f"{m.label}: +{m.median_us - off:.2f} µs per request over auth off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--rounds", type=int, default=7)
    parser.add_argument("-n", "--messages", type=int, default=2000)
    args = parser.parse_args()
    print(describe_machine())
    trio.run(measure, args.rounds, args.messages)


if __name__ == "__main__":
    main()
