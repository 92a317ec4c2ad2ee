"""Real parts for the cluster tests: a redis-server, nodes started with the CLI, nginx.

``redis-server`` and ``nginx`` are Debian packages; ``scripts/test`` installs them
when missing. Every process runs on a free 127.0.0.1 port in a temporary folder
and is stopped when its context ends.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
STATE_KEY = "k1:" + "cluster-tests-shared-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60  # a loaded machine takes long to start a Python process
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not listen on {port} within 60 s") from None
            time.sleep(0.05)


def wait_for_http(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Until a request on ``port`` gets an HTTP answer: a socket listening is not
    yet a process serving (the workers of ``--workers`` inherit a socket their
    supervisor listens on, and may take long to start on a loaded machine)."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if sock.recv(16).startswith(b"HTTP/1.1 "):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not answer on {port} within 60 s")
        time.sleep(0.1)


def require(binary: str) -> str:
    found = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.path.exists(p)), None
    )
    if found is None:
        raise AssertionError(f"{binary} is missing: apt-get install {binary} (scripts/test does)")
    return found


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@attrs.define
class Redis:
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                require("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def cli(self, *args: str) -> str:
        """Run a redis-cli command (for inspecting keys)."""
        return subprocess.run(
            [require("redis-cli"), "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout


@contextmanager
def redis_server(folder: Path) -> Iterator[Redis]:
    server = Redis(free_port(), folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def redis_cluster(folder: Path, masters: int = 3) -> Iterator[str]:
    """A Redis Cluster of ``masters`` redis-servers; the broker URL of its first node."""
    servers = []
    try:
        for index in range(masters):
            node_folder = folder / f"redis-cluster-{index}"
            node_folder.mkdir()
            port = free_port()
            while port > 50000:  # the cluster bus listens on port + 10000
                port = free_port()
            process = subprocess.Popen(
                [
                    require("redis-server"),
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(node_folder),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            servers.append((port, process))
            wait_for_port(port, process, "redis-server (cluster)")
        subprocess.run(
            [
                require("redis-cli"),
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port, _ in servers),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        deadline = time.monotonic() + 20
        while (
            "cluster_state:ok"
            not in subprocess.run(
                [require("redis-cli"), "-p", str(servers[0][0]), "CLUSTER", "INFO"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        ):
            if time.monotonic() > deadline:
                raise AssertionError("the Redis Cluster did not become ready")
            time.sleep(0.2)
        yield f"redis-cluster://127.0.0.1:{servers[0][0]}"
    finally:
        for _, process in servers:
            stop(process)


@attrs.define
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes]


def spawn_node(target: str, name: str, broker: str, *extra: str, log: Path | None = None) -> Node:
    """Start a node's process; it listens once :func:`wait_for_port` says so."""
    port = free_port()
    command = [
        sys.executable, "-m", "scaled_mcp.cli", "serve", target, "--bind", f"127.0.0.1:{port}",
        "--broker", broker, "--node-id", name, "--state-key", STATE_KEY, *extra,
    ]  # fmt: skip
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out)
    return Node(name, port, process)


def start_node(target: str, name: str, broker: str, *extra: str, log: Path | None = None) -> Node:
    node = spawn_node(target, name, broker, *extra, log=log)
    try:
        wait_for_port(node.port, node.process, f"node {name}")
    except BaseException:
        stop(node.process)
        raise
    return node


@contextmanager
def nodes(
    target: str,
    count: int,
    broker: str,
    *extra: str,
    folder: Path | None = None,
    tag: str | None = None,
) -> Iterator[list[Node]]:
    """``count`` nodes named ``<tag>0``, ``<tag>1`` … (a fresh tag by default: node
    names must be unique among the nodes sharing a Redis)."""
    tag = tag or f"n{secrets.token_hex(3)}x"
    started: list[Node] = []
    try:
        # all started before any is waited for: a node takes seconds to start on a busy machine
        for n in range(count):
            log = folder / f"node{n}.log" if folder is not None else None
            started.append(spawn_node(target, f"{tag}{n}", broker, *extra, log=log))
        for node in started:
            wait_for_port(node.port, node.process, f"node {node.name}")
        yield started
    finally:
        for node in started:
            stop(node.process)


@contextmanager
def workers(target: str, broker: str, count: int, *extra: str) -> Iterator[int]:
    """``scaled-mcp serve --workers COUNT``: one port, COUNT processes; yields the port."""
    port = free_port()
    command = [
        sys.executable, "-m", "scaled_mcp.cli", "serve", target, "--bind", f"127.0.0.1:{port}",
        "--workers", str(count), "--broker", broker, *extra,
    ]  # fmt: skip
    supervisor = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_http(port, supervisor, "the workers")
        yield port
    finally:
        stop(supervisor)
    if supervisor.returncode != 0:
        raise AssertionError(f"the workers exited with status {supervisor.returncode}")


_NGINX = """
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fastcgi;
  uwsgi_temp_path {folder}/uwsgi;
  scgi_temp_path {folder}/scgi;
  upstream mcp {{
{servers}
  }}
  # WebSocket upgrades pass through; other requests keep the upstream connection.
  map $http_upgrade $connection_upgrade {{ default upgrade; '' ""; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 3600s;
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


@contextmanager
def nginx(folder: Path, ports: list[int]) -> Iterator[int]:
    """A round-robin proxy (no stickiness, no buffering) in front of ``ports``; its port."""
    port = free_port()
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in ports)
    config = folder / "nginx.conf"
    config.write_text(_NGINX.format(folder=folder, servers=servers, port=port))
    process = subprocess.Popen(
        [require("nginx"), "-c", str(config), "-p", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "nginx")
        yield port
    finally:
        stop(process, signal.SIGQUIT)


# -- the fixtures of the modules that test through a cluster ---------------------------------
# A module-scoped fixture serves each module that uses it once: every module gets its
# own redis-server and cluster. ``tests/conftest.py`` makes them known to every module.


@pytest.fixture(scope="module")
def folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's folder for its processes' configurations and logs."""
    return tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])


@pytest.fixture(scope="module")
def redis(folder: Path) -> Iterator[Redis]:
    """The module's redis-server."""
    with redis_server(folder) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, redis: Redis, folder: Path
) -> Iterator[tuple[list[Node], int]]:
    """Three h11 nodes of the module's ``APP`` on its redis-server, named ``node0`` …
    ``node2``, behind nginx; the nodes and nginx's port."""
    app: str = request.module.APP
    with (
        nodes(app, 3, redis.url, "--http", "h11", folder=folder, tag="node") as started,
        nginx(folder, [node.port for node in started]) as proxy,
    ):
        yield started, proxy
