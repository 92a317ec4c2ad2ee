"""Servers built on other MCP implementations, for ``scaled-mcp check`` to test, and how
to run them: the official SDK's ``MCPServer`` (``sdk_server.py``, in this venv) and
FastMCP (``fastmcp_server.py``, in its own venv under ``.cache``: it cannot share one
with the SDK version the tests use). What the checker reports against each is in
``<peer>.expected`` (failures) and ``<peer>.warnings``, each written up in
``docs/harness-findings.md``.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).parent
ROOT: Final = HERE.parent.parent
#: The peers: their name, and the server script.
SCRIPTS: Final = {"sdk": HERE / "sdk_server.py", "fastmcp": HERE / "fastmcp_server.py"}


def fastmcp_python() -> Path:
    """FastMCP's Python: the benchmark's venv (``bench/http_load.py``), made on first use."""
    spec = importlib.util.spec_from_file_location(
        "_bench_http_load", ROOT / "bench" / "http_load.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    python: Path = module.fastmcp_python()
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(peer: str, *, start_timeout: float = 120.0) -> Iterator[str]:
    """Run peer ``peer`` on a free port until the context ends; its endpoint URL."""
    python = Path(sys.executable) if peer == "sdk" else fastmcp_python()
    port = _free_port()
    # stderr to a file: a pipe nobody reads could fill and stall the peer
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(python), str(SCRIPTS[peer]), str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    stderr = log.read().decode(errors="replace")
                    raise AssertionError(f"the {peer} peer exited: {stderr[-2000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"the {peer} peer did not listen in time") from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
