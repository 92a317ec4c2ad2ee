"""Authorization through the cluster: three nodes started with the CLI's ``--auth-*``
options, sharing a redis-server, behind nginx round-robin, and an authorization
server in its own process (``tests/oauth_server.py``).

Our client's OAuth (client credentials) works through the proxy whichever node
answers; a session belongs to the principal that created it on every node: another
principal's token with its id is answered 404 wherever it lands; a task
belongs to the principal that created it on every node: another principal's
``tasks/get``, ``tasks/update`` and ``tasks/cancel`` are answered as for an
unknown task wherever they land.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import httpx2
import pytest
import trio

from scaled_mcp.client import Client, ClientCredentials, OAuth

from .cluster import (
    _NGINX,
    ROOT,
    Node,
    Redis,
    free_port,
    nodes,
    redis_server,
    require,
    stop,
    wait_for_port,
)
from .helpers import JSON_AND_SSE, initialize_request
from .oauth_server import STATIC_CLIENTS
from .test_tasks_auth import as_unknown, stateless

APP = str(ROOT / "tests" / "auth_app.py")
DEADLINE = 30


@attrs.frozen
class Cluster:
    issuer: str
    url: str
    nodes: list[Node]
    redis: Redis


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("auth-cluster")
    as_port, proxy = free_port(), free_port()
    issuer = f"http://127.0.0.1:{as_port}"
    url = f"http://127.0.0.1:{proxy}/mcp"
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.oauth_server", str(as_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(as_port, server, "the authorization server")
        with (
            redis_server(folder) as redis,
            nodes(
                APP, 3, redis.url, "--http", "h11", "--auth-issuer", issuer,
                "--resource-url", url, "--auth-scopes", "read", folder=folder,
            ) as started,
        ):  # fmt: skip
            servers = "\n".join(f"    server 127.0.0.1:{n.port};" for n in started)
            config = folder / "nginx.conf"
            config.write_text(_NGINX.format(folder=folder, servers=servers, port=proxy))
            proxy_process = subprocess.Popen(
                [require("nginx"), "-c", str(config), "-p", str(folder)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_for_port(proxy, proxy_process, "nginx")
                yield Cluster(issuer, url, started, redis)
            finally:
                stop(proxy_process)
    finally:
        stop(server)


async def token_of(cluster: Cluster, client_id: str, scope: str) -> str:
    async with httpx2.AsyncClient() as http:
        answer = await http.post(
            f"{cluster.issuer}/token",
            data={"grant_type": "client_credentials", "scope": scope, "resource": cluster.url},
            auth=(client_id, STATIC_CLIENTS[client_id]),
        )
    token: str = answer.json()["access_token"]
    return token


def headers(token: str, **more: str) -> dict[str, str]:
    return {
        "accept": JSON_AND_SSE,
        "content-type": "application/json",
        "authorization": f"Bearer {token}",
        **more,
    }


@pytest.mark.parametrize("mode", ["handshake", "stateless"])
async def test_our_client_through_the_cluster(cluster: Cluster, mode: str) -> None:
    auth = OAuth(client_id="alice-app", client_secret="alice-secret", grant=ClientCredentials())
    pids: set[str] = set()
    with trio.fail_after(DEADLINE):
        async with Client(cluster.url, mode=mode, auth=auth) as client:  # type: ignore[arg-type]
            for _ in range(6):
                result = await client.call_tool("whoami", {})
                subject, pid = result.content[0].text.split()  # type: ignore[union-attr]
                assert subject == "alice-app"
                pids.add(pid)
            wrote = await client.call_tool("write", {"text": "x"})  # a step-up to write
            assert wrote.content[0].text == "wrote x"  # type: ignore[union-attr]
    assert len(pids) == 3  # every node checked the tokens of the one principal


async def test_a_session_hijack_is_refused_on_every_node(cluster: Cluster) -> None:
    alice = await token_of(cluster, "alice-app", "read")
    mallory = await token_of(cluster, "mallory-app", "read write")
    call: dict[str, Any] = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}},
    }
    async with httpx2.AsyncClient() as http:
        with trio.fail_after(DEADLINE):
            first = f"http://127.0.0.1:{cluster.nodes[0].port}/mcp"
            init = await http.post(first, json=initialize_request(), headers=headers(alice))
            assert init.status_code == 200
            session = {
                "mcp-session-id": init.headers["mcp-session-id"],
                "mcp-protocol-version": "2025-11-25",
            }
            # The owner is stored with the session, as a digest: small, and no subject.
            key = f"mcp:s:{{{session['mcp-session-id']}}}"
            stored = cluster.redis.cli("GET", key)
            assert '"owner":"p1.' in stored.replace(" ", "") and "alice-app" not in stored
            assert int(cluster.redis.cli("MEMORY", "USAGE", key).strip()) <= 1024
            for node in cluster.nodes:
                url = f"http://127.0.0.1:{node.port}/mcp"
                stolen = await http.post(url, json=call, headers=headers(mallory, **session))
                assert stolen.status_code == 404, node.name
                mine = await http.post(url, json=call, headers=headers(alice, **session))
                assert mine.json()["result"]["content"][0]["text"].startswith("alice-app ")


async def test_a_task_belongs_to_its_principal_on_every_node(cluster: Cluster) -> None:
    alice = await token_of(cluster, "alice-app", "read")
    mallory = await token_of(cluster, "mallory-app", "read")
    urls = [f"http://127.0.0.1:{node.port}/mcp" for node in cluster.nodes]
    async with httpx2.AsyncClient() as http:
        with trio.fail_after(DEADLINE):
            created = await stateless(
                http, urls[0], alice, "tools/call", name="wait", arguments={"seconds": 60}
            )
            task_id = created["result"]["taskId"]
            # The owner is stored with the task, as the principal's digest.
            stored = cluster.redis.cli("GET", f"mcp:t:{{{task_id}}}").replace(" ", "")
            assert '"owner":"principal:p1.' in stored and "alice-app" not in stored
            made_up = secrets.token_urlsafe(24)
            responses = {"inputResponses": {"x": {"action": "accept"}}}
            for url in urls:
                for method, more in (
                    ("tasks/get", {}),
                    ("tasks/update", responses),
                    ("tasks/cancel", {}),
                ):
                    stolen = await stateless(http, url, mallory, method, taskId=task_id, **more)
                    unknown = await stateless(http, url, mallory, method, taskId=made_up, **more)
                    assert stolen["status"] == unknown["status"], (url, method)
                    assert as_unknown(stolen["error"], task_id) == as_unknown(
                        unknown["error"], made_up
                    ), (url, method)
                mine = await stateless(http, url, alice, "tasks/get", taskId=task_id)
                assert mine["result"]["status"] == "working", url
            await stateless(http, urls[2], alice, "tasks/cancel", taskId=task_id)
            done = await stateless(http, urls[1], alice, "tasks/get", taskId=task_id)
            assert done["result"]["status"] == "cancelled"


def test_the_metadata_names_the_public_url(cluster: Cluster) -> None:
    for node in cluster.nodes:
        answer = httpx2.get(
            f"http://127.0.0.1:{node.port}/.well-known/oauth-protected-resource/mcp"
        )
        document = answer.json()
        assert document["resource"] == cluster.url
        assert document["authorization_servers"] == [cluster.issuer]
        assert document["scopes_supported"] == ["read", "write"]
