"""HTTP/1.1 framing of the plain request every MCP client sends, on bytes.

:func:`read_head` (or the incremental :class:`HeadReader`) parses a request head
into a :class:`Head`, or returns :data:`DECLINE` for anything unusual, which a
front hands to a full HTTP/1.1 implementation; :func:`response_head`,
:func:`header_block`, :func:`chunk` and :data:`LAST_CHUNK` write responses.
"""

from __future__ import annotations

from ._http1 import (
    DECLINE,
    LAST_CHUNK,
    Head,
    HeadReader,
    chunk,
    header_block,
    read_head,
    response_head,
)

__all__ = [
    "DECLINE",
    "LAST_CHUNK",
    "Head",
    "HeadReader",
    "chunk",
    "header_block",
    "read_head",
    "response_head",
]
