"""HTTP/1.1 framing for the common request, without an event machine.

The direct front reads most requests with :func:`read_head`: a strict parser
for the plain shape every MCP client sends (``HTTP/1.1``, CRLF line ends, one
``Host``, a body framed by ``Content-Length`` or none). Whatever it does not
take whole -- chunked bodies, ``Expect: 100-continue``, upgrades, ``HTTP/1.0``,
``HEAD``, obsolete line folding, bare LF, duplicate or odd framing headers,
anything malformed -- it *declines*, and the front hands the connection's bytes
to h11 from that request on, so every unusual or invalid request gets h11's
answer. The property tests hold the two together: a head this parser accepts,
h11 reads identically (RFC 9112 section 2.2: "a recipient MAY recognize a
single LF as a line terminator" -- h11 does; we leave that to it).

Plain functions on bytes: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

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

# RFC 9110 section 5.6.2: token = 1*tchar.
_TOKEN: Final = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]++"
# field-vchar = VCHAR / obs-text; field-value = *field-content with inner SP / HTAB.
_FIELD_VALUE: Final = rb"(?:[\x21-\x7e\x80-\xff]++(?:[ \t]++[\x21-\x7e\x80-\xff]++)*+)?+"
_HEAD: Final = re.compile(
    rb"(" + _TOKEN + rb") ([\x21-\x7e]++) HTTP/1\.1\r\n"
    rb"((?:" + _TOKEN + rb":[ \t]*+" + _FIELD_VALUE + rb"[ \t]*+\r\n)*+)"
)


class _Decline:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DECLINE"


DECLINE: Final = _Decline()
"""The request is not of the plain shape: let h11 read it."""


class Head:
    """A request head read by :func:`read_head`, decoded as ISO-8859-1 (RFC 9110
    section 5.5: field values are bytes, latin-1 keeps every one of them).

    ``headers`` has lower-cased names and values without surrounding
    whitespace, as h11 gives them; ``size`` is the length of the head with its
    final blank line (the body starts there); ``close`` is true when the client
    asked to close the connection after this exchange.
    """

    __slots__ = ("close", "content_length", "headers", "method", "size", "target")

    def __init__(
        self,
        method: str,
        target: str,
        headers: tuple[tuple[str, str], ...],
        content_length: int,
        close: bool,
        size: int,
    ) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.content_length = content_length
        self.close = close
        self.size = size


_CONTENT_LENGTH: Final = 1
_HOST: Final = 2
_CONNECTION: Final = 3
_OTHER_FRAMING_FIELD: Final = 4
_SPECIAL_FIELDS: Final = {
    "content-length": _CONTENT_LENGTH,
    "host": _HOST,
    "connection": _CONNECTION,
    # Headers that change how the exchange is framed: h11 handles those requests.
    "transfer-encoding": _OTHER_FRAMING_FIELD,
    "expect": _OTHER_FRAMING_FIELD,
    "upgrade": _OTHER_FRAMING_FIELD,
}


def read_head(data: bytes | bytearray, max_size: int, searched: int = 0) -> Head | _Decline | None:
    """The head at the start of ``data``; ``None`` while it is incomplete.

    :data:`DECLINE` when the request is not of the plain shape (or is invalid,
    or its head is longer than ``max_size``): h11 reads it instead.
    ``searched``: the length of a prefix already seen incomplete (so that a
    head arriving byte by byte is scanned once, not once per byte).
    """
    start = max(searched - 3, 0)
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        if (
            len(data) > max_size
            or data.find(b"\n\n", start) >= 0
            or data.find(b"\n\r\n", start) >= 0
        ):
            return DECLINE
        return None
    if end + 4 > max_size:
        return DECLINE
    # Every line ends in CRLF and none is empty before the final blank line, so
    # h11 (which also ends a head at a bare LF) finds the same end.
    if _HEAD.fullmatch(data, 0, end + 2) is None:
        return DECLINE
    lines = data[:end].decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ")
    if method == "HEAD" or method == "CONNECT":
        return DECLINE  # their framing differs from the plain exchange
    headers: list[tuple[str, str]] = []
    content_length = -1
    hosts = 0
    close = False
    special = _SPECIAL_FIELDS.get
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.lower()
        value = value.strip(" \t")
        headers.append((name, value))
        kind = special(name)
        if kind is None:
            continue
        if kind == _CONTENT_LENGTH:
            if content_length >= 0 or not (value.isdigit() and value.isascii() and len(value) < 19):
                return DECLINE
            content_length = int(value)
        elif kind == _HOST:
            hosts += 1
        elif kind == _CONNECTION:
            # RFC 9112 section 9.6: "close" ends the connection after this exchange.
            if "close" in [token.strip(" \t").lower() for token in value.split(",")]:
                close = True
        else:
            return DECLINE
    if hosts != 1:
        return DECLINE  # RFC 9112 section 3.2: exactly one Host; h11 answers 400
    return Head(method, target, tuple(headers), max(content_length, 0), close, end + 4)


class HeadReader:
    """:func:`read_head` for one connection, which reads a head seen before once.

    A client sends the same head request after request (only a ``Content-Length``
    may change, and it is part of the head): the same bytes are the same head.
    """

    __slots__ = ("_last", "_last_raw", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._last: Head | None = None
        self._last_raw = b""

    def read(self, data: bytes | bytearray, searched: int = 0) -> Head | _Decline | None:
        """Like :func:`read_head` with this connection's ``max_size``."""
        last = self._last
        if last is not None and data.startswith(self._last_raw):
            return last
        head = read_head(data, self.max_size, searched)
        if type(head) is Head:
            self._last, self._last_raw = head, bytes(data[: head.size])
        return head


# RFC 9110 section 6.4.1: no content in 1xx, 204 and 304 responses, so no framing.
_NO_CONTENT: Final = frozenset({204, 304})


def header_block(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """``name: value`` lines, each ending in CRLF, for :func:`response_head`.

    Names and values are the runtime's own (a value it echoes was read as a
    header value): a CR, LF or NUL in them is a bug, refused with
    :class:`ValueError`.
    """
    lines = [name + b": " + value + b"\r\n" for name, value in headers]
    block = b"".join(lines)
    if block.count(b"\r") != len(lines) or block.count(b"\n") != len(lines) or b"\0" in block:
        raise ValueError(f"a response header holds CR, LF or NUL: {block!r}")
    return block


def response_head(
    status: int, reason: bytes, block: bytes, content_length: int | None, close: bool
) -> bytes:
    """The status line and header block of a response.

    ``block`` comes from :func:`header_block`; ``content_length`` ``None``
    streams the body in chunks (RFC 9112 section 7.1); ``close`` adds
    ``Connection: close``.
    """
    if status in _NO_CONTENT:
        framing = b""
    elif content_length is None:
        framing = b"transfer-encoding: chunked\r\n"
    else:
        framing = b"content-length: %d\r\n" % content_length
    if close:
        framing += b"connection: close\r\n"
    return b"HTTP/1.1 %d %s\r\n%s%s\r\n" % (status, reason, block, framing)


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (empty ``data`` would end it: not allowed here)."""
    if not data:
        raise ValueError("an empty chunk ends the body; send LAST_CHUNK for that")
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK: Final = b"0\r\n\r\n"
"""The end of a chunked body (no trailers)."""
