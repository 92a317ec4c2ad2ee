"""The engine benchmark's workload: the ``tools/call`` request every path serves.

Shared by our side (``engine.py``) and the SDK's (``sdk_engine.py``); it imports
neither, so that our rows can run without loading the SDK (``instructions.py``
counts a child process's every instruction, start-up included).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "CLIENT_INFO",
    "ECHO_TEXT",
    "HANDSHAKE_VERSION",
    "MODERN_META",
    "MODERN_VERSION",
    "tools_call_bytes",
]

ECHO_TEXT = "hello"
"""The text every benchmarked ``tools/call`` asks the ``echo`` tool to return."""

HANDSHAKE_VERSION = "2025-11-25"
"""Protocol revision negotiated by ``initialize`` on the handshake-era paths."""

MODERN_VERSION = "2026-07-28"
"""Protocol revision named in the per-request ``_meta`` envelope on the stateless paths."""

CLIENT_INFO: dict[str, str] = {"name": "engine-bench", "version": "1.0"}

MODERN_META: dict[str, Any] = {
    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
}
"""The 2026-07-28 ``_meta`` envelope every stateless request carries."""


def tools_call_bytes(request_id: int, *, modern: bool = False) -> bytes:
    """The benchmark's ``tools/call`` request as wire bytes (one JSON object, no newline).

    ``modern`` adds the 2026-07-28 per-request ``_meta`` envelope.
    """
    params: dict[str, Any] = {"name": "echo", "arguments": {"text": ECHO_TEXT}}
    if modern:
        params["_meta"] = MODERN_META
    request = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    return json.dumps(request, separators=(",", ":")).encode()
