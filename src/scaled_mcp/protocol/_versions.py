"""MCP protocol revisions and what each one allows.

Two eras are served from one endpoint. The handshake era (2024-11-05 through
2025-11-25) negotiates a version in ``initialize`` and keeps a session; the
stateless era (2026-07-28) carries the version on every request in ``_meta``.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "HANDSHAKE_VERSIONS",
    "LATEST_HANDSHAKE_VERSION",
    "LATEST_VERSION",
    "STATELESS_VERSIONS",
    "SUPPORTED_VERSIONS",
    "Era",
    "allows_batches",
    "closes_sse_streams_early",
    "era_of",
    "has_elicitation",
    "negotiate_version",
    "primes_sse_streams",
]

V2024_11_05: Final = "2024-11-05"
V2025_03_26: Final = "2025-03-26"
V2025_06_18: Final = "2025-06-18"
V2025_11_25: Final = "2025-11-25"
V2026_07_28: Final = "2026-07-28"

#: Revisions that begin with ``initialize``, oldest first.
HANDSHAKE_VERSIONS: Final[tuple[str, ...]] = (V2024_11_05, V2025_03_26, V2025_06_18, V2025_11_25)
#: Revisions with no handshake and no session, oldest first.
STATELESS_VERSIONS: Final[tuple[str, ...]] = (V2026_07_28,)
#: Every revision this core speaks, oldest first.
SUPPORTED_VERSIONS: Final[tuple[str, ...]] = HANDSHAKE_VERSIONS + STATELESS_VERSIONS
LATEST_HANDSHAKE_VERSION: Final = V2025_11_25
LATEST_VERSION: Final = V2026_07_28


class Era(enum.Enum):
    """Which family of revisions a version belongs to."""

    HANDSHAKE = "handshake"
    STATELESS = "stateless"


def era_of(version: str) -> Era | None:
    """The era of a supported ``version``, or ``None`` for an unknown one."""
    if version in HANDSHAKE_VERSIONS:
        return Era.HANDSHAKE
    if version in STATELESS_VERSIONS:
        return Era.STATELESS
    return None


def negotiate_version(requested: object) -> str:
    """The version to answer ``initialize`` with.

    Lifecycle, version negotiation: "If the server supports the requested
    protocol version, it MUST respond with the same version. Otherwise, the
    server MUST respond with another protocol version it supports. This SHOULD
    be the latest version supported by the server." A handshake cannot start a
    stateless-era session, so the answer is always a handshake-era version.
    """
    if isinstance(requested, str) and requested in HANDSHAKE_VERSIONS:
        return requested
    return LATEST_HANDSHAKE_VERSION


def allows_batches(version: str) -> bool:
    """Only 2025-03-26 has JSON-RPC batches; 2025-06-18 removed them."""
    return version == V2025_03_26


def has_elicitation(version: str) -> bool:
    """Elicitation (``elicitation/create``) exists from 2025-06-18 on."""
    return version >= V2025_06_18


# 2025-11-25 made a request's SSE stream pollable: primed with an event id, it
# may be closed before the response and resumed with ``Last-Event-ID``. The
# stateless era has no resumable streams.
_POLLABLE_STREAMS: Final = frozenset(v for v in HANDSHAKE_VERSIONS if v >= V2025_11_25)


def primes_sse_streams(version: str) -> bool:
    """Whether the server primes each SSE stream it begins for a request with an
    event id: 2025-11-25 "The server SHOULD immediately send an SSE event
    consisting of an event ID and an empty data field in order to prime the
    client to reconnect". Older clients are not told of such events."""
    return version in _POLLABLE_STREAMS


def closes_sse_streams_early(version: str) -> bool:
    """Whether the server may end a request's SSE stream before its response,
    the client resuming it: 2025-11-25 "the server MAY close the connection"
    after the priming event (the client "SHOULD" reconnect after the
    ``retry`` time); with older revisions the response would be lost."""
    return version in _POLLABLE_STREAMS
