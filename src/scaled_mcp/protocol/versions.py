"""MCP protocol revisions, their eras (and the era of a message), version negotiation and what
each revision allows (the content blocks it knows, and how newer ones are downgraded for it)."""

from __future__ import annotations

from ._content_revisions import (
    content_types,
    downgrade_content,
    downgrade_result,
    downgrade_sampling_params,
    sampling_content_types,
)
from ._message_era import UNDECLARED, declared_version, message_era
from ._versions import (
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    LATEST_VERSION,
    STATELESS_VERSIONS,
    SUPPORTED_VERSIONS,
    Era,
    allows_batches,
    closes_sse_streams_early,
    era_of,
    has_elicitation,
    negotiate_version,
    primes_sse_streams,
)

__all__ = [
    "HANDSHAKE_VERSIONS",
    "LATEST_HANDSHAKE_VERSION",
    "LATEST_VERSION",
    "STATELESS_VERSIONS",
    "SUPPORTED_VERSIONS",
    "UNDECLARED",
    "Era",
    "allows_batches",
    "closes_sse_streams_early",
    "content_types",
    "declared_version",
    "downgrade_content",
    "downgrade_result",
    "downgrade_sampling_params",
    "era_of",
    "has_elicitation",
    "message_era",
    "negotiate_version",
    "primes_sse_streams",
    "sampling_content_types",
]
