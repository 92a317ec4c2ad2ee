"""The application's own JSON document kept with a handshake-era session
(``ctx.session_state``): its codec and its size bound.

A document is a JSON object built of JSON values only (``dict`` with ``str``
keys, ``list``, ``str``, ``int``, finite ``float``, ``bool``, ``None``), so
what a node reads back is exactly what another node wrote. Encoded, it is at
most a bound in bytes (:data:`DEFAULT_MAX_SESSION_DOCUMENT` unless the node
says otherwise): a session's document travels with every request that reads
it, and lives in the shared store as long as the session does. An empty
document is stored as nothing at all (``b""``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import orjson

from ._errors import LocalProtocolError

__all__ = [
    "DEFAULT_MAX_SESSION_DOCUMENT",
    "MAX_SESSION_DOCUMENT_DEPTH",
    "SessionDocumentTooLarge",
    "decode_session_document",
    "encode_session_document",
]

#: Bytes a session's document may take, encoded, unless the node is told otherwise.
DEFAULT_MAX_SESSION_DOCUMENT: Final = 16 * 1024
#: How deep objects and arrays may nest in a document.
MAX_SESSION_DOCUMENT_DEPTH: Final = 64


class SessionDocumentTooLarge(LocalProtocolError):
    """A session document encodes to more than the bound allows."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the session state would take {size} bytes as JSON, over the bound of {limit}"
        )
        self.size = size
        self.limit = limit


def encode_session_document(document: Mapping[str, Any], *, limit: int) -> bytes:
    """``document`` as compact JSON bytes (``b""`` for an empty one).

    Raises :class:`SessionDocumentTooLarge` past ``limit`` bytes, and
    :class:`LocalProtocolError` for anything that is not plain JSON (the path
    of the first offending value in the message).
    """
    if not isinstance(document, Mapping):
        raise LocalProtocolError(
            f"the session state must be a JSON object, not {type(document).__name__}"
        )
    if not document:
        return b""
    if type(document) is not dict:
        document = dict(document)
    try:
        data = orjson.dumps(document)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise LocalProtocolError(f"the session state is not JSON: {exc}") from None
    if len(data) > limit:
        raise SessionDocumentTooLarge(len(data), limit)
    # orjson also writes dataclasses, dates, enums... and NaN as null: only plain
    # JSON comes back as it went in. The walk is bounded: every value costs a byte.
    _check(document, "$", 0)
    return data


def decode_session_document(data: bytes) -> dict[str, Any]:
    """The document stored as ``data`` (``{}`` for ``b""``); malformed data raises
    :class:`LocalProtocolError` (the store, not the peer, is to blame)."""
    if not data:
        return {}
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise LocalProtocolError(f"malformed stored session state: {exc}") from None
    if not isinstance(document, dict):
        raise LocalProtocolError("malformed stored session state: not a JSON object")
    return document


def _check(value: Any, path: str, depth: int) -> None:
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return
    if kind is float:
        if not math.isfinite(value):
            raise LocalProtocolError(f"the session state holds {value!r} at {path}: not JSON")
        return
    if depth >= MAX_SESSION_DOCUMENT_DEPTH:
        raise LocalProtocolError(
            f"the session state nests deeper than {MAX_SESSION_DOCUMENT_DEPTH} at {path}"
        )
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise LocalProtocolError(f"the session state has a non-string key at {path}")
            _check(item, f"{path}.{key}", depth + 1)
        return
    if kind is list:
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", depth + 1)
        return
    raise LocalProtocolError(
        f"the session state holds a {kind.__name__} at {path}: only JSON values are kept"
    )
