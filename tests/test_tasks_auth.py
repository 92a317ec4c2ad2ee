"""Tasks bound to the caller that created them, on a node requiring authorization.

Two principals (tokens of ``tests/oauth_server.py``): on the 2026-07-28 wire a
task belongs to the principal that created it, on a handshake session to the
session (which answers only its principal). Whatever another principal asks
about it (``tasks/get``, ``tasks/update``, ``tasks/cancel``; on 2025-11-25 also
``tasks/result`` and ``tasks/list``) is answered exactly as for an id that
does not exist, and changes nothing. The cluster's leg is in
``tests/test_auth_cluster.py``.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import trio

from scaled_mcp.protocol.oauth import ResourceServerConfig
from scaled_mcp.protocol.tasks import TASKS_EXTENSION
from scaled_mcp.runtime import Authorization, JWTVerifier, Runtime, RuntimeConfig, serve_h11
from scaled_mcp.server import MCPServer

from .cluster import free_port
from .helpers import JSON_AND_SSE, initialize_request, stateless_meta
from .oauth_server import AuthorizationServer, running_server

DEADLINE = 20
WITH_TASKS: dict[str, Any] = {"extensions": {TASKS_EXTENSION: {}}}


def make_app() -> MCPServer:
    app = MCPServer("tasks-auth", "1.0")

    @app.tool(task="optional")
    async def wait(seconds: float) -> str:
        await trio.sleep(seconds)
        return f"waited {seconds}"

    return app


@asynccontextmanager
async def protected_node() -> AsyncIterator[tuple[AuthorizationServer, str]]:
    """An authorization server, and a node on the h11 front requiring its tokens."""
    server = AuthorizationServer()
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    async with running_server(server):
        resource = ResourceServerConfig(
            resource=url, authorization_servers=(server.base,), required_scopes=("read",)
        )
        auth = Authorization(resource, JWTVerifier(server.base, url, timeout=5))
        runtime = Runtime(make_app(), config=RuntimeConfig(shutdown_grace=1, auth=auth))
        stop = trio.Event()
        async with runtime.run(), trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(serve_h11, runtime, "127.0.0.1", port, shutdown=stop)
            )
            yield server, url
            stop.set()


def headers(token: str, **more: str) -> dict[str, str]:
    return {
        "accept": JSON_AND_SSE,
        "content-type": "application/json",
        "authorization": f"Bearer {token}",
        **more,
    }


async def stateless(
    http: httpx2.AsyncClient, url: str, token: str, method: str, **params: Any
) -> dict[str, Any]:
    """One 2026-07-28 request declaring the tasks extension; its JSON-RPC answer."""
    name = params.get("taskId", params.get("name"))
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": method,
        "params": {**params, "_meta": stateless_meta(WITH_TASKS)},
    }
    more = {"mcp-protocol-version": "2026-07-28", "mcp-method": method, "mcp-name": str(name)}
    answer = await http.post(url, json=body, headers=headers(token, **more))
    reply: dict[str, Any] = answer.json()
    # The HTTP status is part of the answer: an error's is the same whatever its cause.
    reply["status"] = answer.status_code
    return reply


def as_unknown(error: dict[str, Any], task_id: str) -> dict[str, Any]:
    """``error`` with the task id it may name replaced, to compare with another id's."""
    return {**error, "message": str(error["message"]).replace(task_id[:32], "<id>")}


async def test_another_principals_task_is_unknown_on_the_stateless_wire() -> None:
    with trio.fail_after(DEADLINE):
        async with protected_node() as (server, url), httpx2.AsyncClient() as http:
            alice = server.issue("alice", url, "read")
            alice_again = server.issue("alice", url, "read")
            mallory = server.issue("mallory", url, "read")
            created = await stateless(
                http, url, alice, "tools/call", name="wait", arguments={"seconds": 30}
            )
            task_id = created["result"]["taskId"]
            assert created["result"]["resultType"] == "task"
            made_up = secrets.token_urlsafe(24)
            for method, more in (
                ("tasks/get", {}),
                ("tasks/update", {"inputResponses": {"x": {"action": "accept"}}}),
                ("tasks/cancel", {}),
            ):
                stolen = await stateless(http, url, mallory, method, taskId=task_id, **more)
                unknown = await stateless(http, url, mallory, method, taskId=made_up, **more)
                assert "result" not in stolen and stolen["error"]["code"] == -32602
                assert stolen["status"] == unknown["status"]
                assert as_unknown(stolen["error"], task_id) == as_unknown(
                    unknown["error"], made_up
                ), method
            # Mallory's cancel changed nothing; the same user with another token sees it.
            mine = await stateless(http, url, alice_again, "tasks/get", taskId=task_id)
            assert mine["result"]["status"] == "working"
            await stateless(http, url, alice, "tasks/cancel", taskId=task_id)
            done = await stateless(http, url, alice, "tasks/get", taskId=task_id)
            assert done["result"]["status"] == "cancelled"


async def handshake(
    http: httpx2.AsyncClient, url: str, token: str
) -> tuple[dict[str, str], list[int]]:
    init = await http.post(url, json=initialize_request(), headers=headers(token))
    assert init.status_code == 200
    session = {
        "mcp-session-id": init.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-11-25",
    }
    return headers(token, **session), [1]


async def call(
    http: httpx2.AsyncClient,
    url: str,
    session: tuple[dict[str, str], list[int]],
    method: str,
    **params: Any,
) -> dict[str, Any]:
    sent, ids = session
    ids[0] += 1
    body = {"jsonrpc": "2.0", "id": ids[0], "method": method, "params": params}
    answer = await http.post(url, json=body, headers=sent)
    assert answer.status_code == 200, answer.text
    reply: dict[str, Any] = answer.json()
    return reply


async def test_another_principals_task_is_unknown_on_a_handshake_session() -> None:
    with trio.fail_after(DEADLINE):
        async with protected_node() as (server, url), httpx2.AsyncClient() as http:
            alices = await handshake(http, url, server.issue("alice", url, "read"))
            mallorys = await handshake(http, url, server.issue("mallory", url, "read"))
            created = await call(
                http, url, alices, "tools/call", name="wait", arguments={"seconds": 30}, task={}
            )
            task_id = created["result"]["task"]["taskId"]
            made_up = secrets.token_urlsafe(24)
            for method in ("tasks/get", "tasks/result", "tasks/cancel"):
                stolen = await call(http, url, mallorys, method, taskId=task_id)
                unknown = await call(http, url, mallorys, method, taskId=made_up)
                assert "result" not in stolen and stolen["error"]["code"] == -32602
                assert as_unknown(stolen["error"], task_id) == as_unknown(
                    unknown["error"], made_up
                ), method
            assert (await call(http, url, mallorys, "tasks/list"))["result"]["tasks"] == []
            listed = (await call(http, url, alices, "tasks/list"))["result"]["tasks"]
            assert [(t["taskId"], t["status"]) for t in listed] == [(task_id, "working")]
            cancelled = await call(http, url, alices, "tasks/cancel", taskId=task_id)
            assert cancelled["result"]["status"] == "cancelled"
