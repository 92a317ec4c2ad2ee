"""The 2024-11-05 HTTP+SSE transport across nodes, with authorization: the session a
``GET /sse`` opens belongs to its principal from the first moment, on every node -- a
``POST /messages`` with another principal's token that lands on another node before
``initialize`` is answered as an unknown session, the owner's own is served there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import orjson
import trio

from scaled_mcp.cluster import MemoryBackend
from scaled_mcp.protocol.oauth import Principal, ResourceServerConfig
from scaled_mcp.runtime import Authorization, Runtime, RuntimeConfig

from .helpers import INITIALIZED, Probe, initialize_request, make_app, start_front, text_of
from .http_client import HttpClient

RESOURCE = ResourceServerConfig(
    resource="http://127.0.0.1/mcp", authorization_servers=("http://issuer.example",)
)


async def _verify(token: str) -> Principal | None:
    return Principal(subject=token, scopes=frozenset()) if token in ("ann", "bob") else None


def as_(who: str) -> dict[str, str]:
    return {"content-type": "application/json", "authorization": f"Bearer {who}"}


@asynccontextmanager
async def two_nodes() -> AsyncIterator[tuple[HttpClient, HttpClient]]:
    backend = MemoryBackend()
    stop = trio.Event()
    config = RuntimeConfig(shutdown_grace=1, auth=Authorization(RESOURCE, _verify))
    runtimes = [Runtime(make_app(Probe()), backend=backend, config=config) for _ in range(2)]
    async with AsyncExitStack() as stack:
        for runtime in runtimes:
            await stack.enter_async_context(runtime.run())
        nursery = await stack.enter_async_context(trio.open_nursery())
        a, b = [await start_front("h11", runtime, stop, nursery) for runtime in runtimes]
        yield HttpClient("127.0.0.1", a), HttpClient("127.0.0.1", b)
        stop.set()


async def test_a_legacy_session_is_its_principals_on_every_node_before_initialize() -> None:
    async with two_nodes() as (a, b):
        opening = {"accept": "text/event-stream", "authorization": "Bearer ann"}
        async with a.stream("GET", "/sse", opening) as events:
            endpoint = await events.next_event()
            assert endpoint is not None and endpoint.event == "endpoint"
            url = endpoint.data
            initialize = orjson.dumps(initialize_request("2024-11-05"))
            # Another principal, on the other node, before initialize: unknown.
            stolen = await b.request("POST", url, as_("bob"), initialize)
            assert stolen.status == 404
            # The owner, on the other node: served, answered on its stream.
            posted = await b.request("POST", url, as_("ann"), initialize)
            assert posted.status == 202
            answer = await events.next_message()
            assert answer is not None and answer["result"]["protocolVersion"] == "2024-11-05"
            await b.request("POST", url, as_("ann"), orjson.dumps(INITIALIZED))
            call = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "mine"}},
            }
            for node in (a, b):
                assert (
                    await node.request("POST", url, as_("bob"), orjson.dumps(call))
                ).status == 404
            assert (await a.request("POST", url, as_("ann"), orjson.dumps(call))).status == 202
            answer = await events.next_message()
            assert answer is not None and text_of(answer["result"]) == "mine"
