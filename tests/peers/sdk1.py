"""The official Python SDK 1.x (``mcp<2``), whose line is the last with a WebSocket
client, in its own venv under ``.cache`` (it cannot share one with the SDK 2.x the
tests use), made with uv on first use; and a run of its WebSocket client
(``sdk1_websocket_client.py``) against a ``ws://`` URL."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).parent
ROOT: Final = HERE.parent.parent
#: The venv of the SDK 1.x line.
VENV: Final = ROOT / ".cache" / "peers" / "sdk1"
#: The SDK 1.x with its WebSocket dependency (``websockets``).
SPEC: Final = "mcp[ws]>=1.9,<2"
SCRIPT: Final = HERE / "sdk1_websocket_client.py"


def sdk1_python() -> Path:
    """The SDK 1.x venv's Python, made with uv on first use."""
    python = VENV / "bin" / "python"
    if python.exists():
        return python
    uv = shutil.which("uv") or ""
    if not uv:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "uv"], check=True)
        uv = str(Path(sys.executable).parent / "uv")
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([uv, "venv", "-q", "--python", "python3", str(VENV)], check=True)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), SPEC], check=True, timeout=600
    )
    return python


def run_websocket_client(
    url: str, calls: Sequence[tuple[str, dict[str, Any]]], *, timeout: float = 60
) -> dict[str, Any]:
    """What the SDK 1.x WebSocket client saw at ``url`` making ``calls`` (tool
    name, arguments; see the script); raises :class:`AssertionError` with its
    stderr when it failed."""
    done = subprocess.run(
        [str(sdk1_python()), str(SCRIPT), url, json.dumps([list(call) for call in calls])],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"the SDK 1.x client failed ({done.returncode}): {done.stderr[-3000:]}"
        )
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen
