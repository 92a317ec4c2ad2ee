"""An HTTP request as the transport rules read it.

:class:`HttpRequest` is what a front hands over; the header view reads its
fields by name (optional whitespace stripped, repeated fields told apart), and
the checks here are those of single header values: ``Accept`` negotiation,
session ids, and the encoded ``Mcp-Name`` / ``Mcp-Param-*`` values. The names
of the headers MCP defines live here too.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import re
from collections.abc import Callable, Iterable
from typing import Final, TypeAlias

import attrs

from ._errors import ErrorCode, RemoteProtocolError
from ._jsonrpc import RequestId
from ._trusted import trusted_constructor

__all__ = ["Headers", "HttpRequest", "decode_header_value", "is_valid_session_id"]

Headers: TypeAlias = tuple[tuple[str, str], ...]
"""HTTP header fields as ``(name, value)`` pairs, names lower-cased."""

_JSON: Final = "application/json"
_EVENT_STREAM: Final = "text/event-stream"
_SESSION_HEADER: Final = "mcp-session-id"
_VERSION_HEADER: Final = "mcp-protocol-version"
_METHOD_HEADER: Final = "mcp-method"
_NAME_HEADER: Final = "mcp-name"
_PARAM_PREFIX: Final = "mcp-param-"
_LAST_EVENT_ID: Final = "last-event-id"
_LEGACY_QUERY_KEY: Final = "sessionId"

_ZERO_Q = re.compile(r"0(\.0{0,3})?")
_B64_PREFIX: Final = "=?base64?"
_B64_SUFFIX: Final = "?="


def _lower_names(headers: Iterable[tuple[str, str]]) -> Headers:
    return tuple((name.lower(), value) for name, value in headers)


def _latin1(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


@attrs.frozen(slots=True)
class HttpRequest:
    """One HTTP request as the transport rules see it.

    ``path`` excludes the query string, ``query`` is the raw text after ``?``
    (without it). Header names are lower-cased on construction (field names are
    case-insensitive; values are kept as they are, optional whitespace around
    them is ignored when they are read). An HTTP/2 front passes ``:authority``
    as ``host``. ``body`` may be empty when only the head is known (see
    :func:`precheck`).
    """

    method: str
    path: str
    query: str = ""
    headers: Headers = attrs.field(default=(), converter=_lower_names)
    body: bytes = b""

    @classmethod
    def from_wire(
        cls,
        method: bytes | str,
        target: bytes | str,
        headers: Iterable[tuple[bytes | str, bytes | str]],
        body: bytes = b"",
    ) -> HttpRequest:
        """Build a request from what an HTTP parser hands over: a request target
        (``/mcp?x=1``) and header bytes, decoded as ISO-8859-1 as HTTP defines."""
        path, _, query = _latin1(target).partition("?")
        lowered = tuple(
            [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                if type(name) is bytes and type(value) is bytes
                else (_latin1(name).lower(), _latin1(value))
                for name, value in headers
            ]
        )
        # Every field is already in its final form: skip the converter.
        return _http_request(_latin1(method), path, query, lowered, body)

    @classmethod
    def from_parsed(
        cls, method: str, target: str, headers: Headers, body: bytes = b""
    ) -> HttpRequest:
        """Like :meth:`from_wire`, for a parser that has decoded the head as
        ISO-8859-1 and lower-cased the header names already."""
        path, _, query = target.partition("?")
        return _http_request(method, path, query, headers, body)


_http_request: Callable[[str, str, str, Headers, bytes], HttpRequest] = trusted_constructor(
    HttpRequest
)


class _Duplicate(enum.Enum):
    DUPLICATE = "duplicate"


_DUPLICATE: Final = _Duplicate.DUPLICATE


class _HeaderView:
    """The request's headers by name, each value stripped of optional whitespace
    ("a field parsing implementation MUST exclude such whitespace prior to
    evaluating the field value", RFC 9110 section 5.5)."""

    __slots__ = ("_fields", "param_headers")

    def __init__(self, headers: Headers) -> None:
        fields: dict[str, list[str]] = {}
        params: list[tuple[str, str]] = []
        for name, value in headers:
            stripped = value.strip(" \t")
            fields.setdefault(name, []).append(stripped)
            if name.startswith(_PARAM_PREFIX):
                params.append((name, stripped))
        self._fields = fields
        #: The ``Mcp-Param-*`` headers in their order (stateless era, ``x-mcp-header``).
        self.param_headers: Headers = tuple(params)

    def all(self, name: str) -> list[str]:
        return self._fields.get(name, [])

    def one(self, name: str) -> str | _Duplicate | None:
        """The field's value; repeated identical values count once (as RFC 9110
        allows for Content-Length), differing ones are :data:`_DUPLICATE`."""
        values = self._fields.get(name)
        if values is None:
            return None
        first = values[0]
        if len(values) > 1 and any(value != first for value in values):
            return _DUPLICATE
        return first


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip(" \t").lower()


def _acceptable(values: list[str], wanted: str) -> bool:
    """Whether ``Accept`` accepts ``wanted``: the most specific matching media
    range decides, and ``q=0`` means "not acceptable" (RFC 9110 section 12.5.1)."""
    if len(values) == 1 and len(values[0]) <= _MAX_CACHED_ACCEPT:
        # Clients send the same Accept on every request: parse each one once.
        return _accepts_one(values[0], wanted)
    return _parse_accept(values, wanted)


#: The longest Accept value whose parse is remembered.
_MAX_CACHED_ACCEPT: Final = 256


@functools.lru_cache(maxsize=256)
def _accepts_one(value: str, wanted: str) -> bool:
    return _parse_accept([value], wanted)


def _parse_accept(values: list[str], wanted: str) -> bool:
    wanted_type, _, wanted_subtype = wanted.partition("/")
    best = -1
    best_ok = False
    for header in values:
        for item in header.split(","):
            media, *params = item.split(";")
            media_type, slash, subtype = media.strip(" \t").lower().partition("/")
            if not slash:
                continue
            if media_type == wanted_type and subtype == wanted_subtype:
                rank = 2
            elif media_type == wanted_type and subtype == "*":
                rank = 1
            elif media_type == "*" and subtype == "*":
                rank = 0
            else:
                continue
            if rank <= best:
                continue
            ok = True
            for param in params:
                key, _, value = param.partition("=")
                if key.strip(" \t").lower() == "q" and _ZERO_Q.fullmatch(value.strip(" \t")):
                    ok = False
            best, best_ok = rank, ok
    return best_ok


def _visible_ascii(value: str) -> bool:
    return bool(value) and value.isascii() and value.isprintable() and " " not in value


def is_valid_session_id(value: str, max_length: int = 256) -> bool:
    """Whether ``value`` can be a session id: "The session ID MUST only contain
    visible ASCII characters (ranging from 0x21 to 0x7E)", at most ``max_length``."""
    return len(value) <= max_length and _visible_ascii(value)


def _header_chars_ok(value: str) -> bool:
    # RFC 9110 field values: visible ASCII, space and horizontal tab.
    return value.isascii() and value.replace("\t", " ").isprintable()


def decode_header_value(value: str, *, request_id: RequestId | None = None) -> str:
    """Decode an ``Mcp-Name`` / ``Mcp-Param-*`` value: ``=?base64?...?=`` is the
    Base64 of UTF-8 text, anything else is literal.

    "Servers MUST decode an encoded Mcp-Name or Mcp-Param-{Name} value before
    comparing it to the corresponding request body value." Invalid characters,
    bad Base64 (alphabet or padding) and bad UTF-8 raise
    :class:`RemoteProtocolError` -32020 (HTTP 400).
    """
    if not _header_chars_ok(value):
        raise RemoteProtocolError(
            "Header mismatch: header value contains invalid characters",
            code=ErrorCode.HEADER_MISMATCH,
            request_id=request_id,
        )
    if (
        len(value) >= len(_B64_PREFIX) + len(_B64_SUFFIX)
        and value.startswith(_B64_PREFIX)
        and value.endswith(_B64_SUFFIX)
    ):
        encoded = value[len(_B64_PREFIX) : -len(_B64_SUFFIX)]
        try:
            if len(encoded) % 4:
                raise ValueError("incorrect padding")
            return base64.b64decode(encoded, validate=True).decode("utf-8")
        except (ValueError, binascii.Error):
            raise RemoteProtocolError(
                "Header mismatch: invalid Base64 header value",
                code=ErrorCode.HEADER_MISMATCH,
                request_id=request_id,
            ) from None
    return value
