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
from typing import Final

__all__ = [
    "DECLINE",
    "LAST_CHUNK",
    "Head",
    "chunk",
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
_DIGITS: Final = re.compile(rb"[0-9]{1,18}")
# Methods whose framing differs from the plain request/response exchange.
_OTHER_FRAMING: Final = frozenset({b"HEAD", b"CONNECT"})
# Headers that change how the exchange is framed: h11 handles those requests.
_FRAMING_FIELDS: Final = frozenset({b"transfer-encoding", b"expect", b"upgrade"})


class _Decline:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DECLINE"


DECLINE: Final = _Decline()
"""The request is not of the plain shape: let h11 read it."""


class Head:
    """A request head read by :func:`read_head`.

    ``headers`` has lower-cased names and values without surrounding
    whitespace, as h11 gives them; ``size`` is the length of the head with its
    final blank line (the body starts there); ``close`` is true when the client
    asked to close the connection after this exchange.
    """

    __slots__ = ("close", "content_length", "headers", "method", "size", "target")

    def __init__(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
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


def read_head(data: bytes, max_size: int) -> Head | _Decline | None:
    """The head at the start of ``data``; ``None`` while it is incomplete.

    :data:`DECLINE` when the request is not of the plain shape (or is invalid,
    or its head is longer than ``max_size``): h11 reads it instead.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > max_size or b"\n\n" in data or b"\n\r\n" in data:
            return DECLINE
        return None
    if end + 4 > max_size:
        return DECLINE
    size = end + 4
    if data.count(b"\n", 0, size) != data.count(b"\r\n", 0, size):
        return DECLINE  # a bare LF somewhere: h11 may see another head
    matched = _HEAD.fullmatch(data, 0, end + 2)
    if matched is None:
        return DECLINE
    method, target, block = matched.groups()
    if method in _OTHER_FRAMING:
        return DECLINE
    headers: list[tuple[bytes, bytes]] = []
    content_length = -1
    hosts = 0
    close = False
    for line in block.split(b"\r\n")[:-1]:
        name, _, value = line.partition(b":")
        name = name.lower()
        value = value.strip(b" \t")
        headers.append((name, value))
        if name == b"content-length":
            if content_length >= 0 or _DIGITS.fullmatch(value) is None:
                return DECLINE
            content_length = int(value)
        elif name == b"host":
            hosts += 1
        elif name == b"connection":
            # RFC 9112 section 9.6: "close" ends the connection after this exchange.
            if b"close" in [token.strip(b" \t").lower() for token in value.split(b",")]:
                close = True
        elif name in _FRAMING_FIELDS:
            return DECLINE
    if hosts != 1:
        return DECLINE  # RFC 9112 section 3.2: exactly one Host; h11 answers 400
    return Head(method, target, headers, max(content_length, 0), close, size)


# RFC 9110 section 6.4.1: no content in 1xx, 204 and 304 responses, so no framing.
_NO_CONTENT: Final = frozenset({204, 304})


def response_head(
    status: int,
    reason: bytes,
    headers: list[tuple[bytes, bytes]],
    content_length: int | None,
    close: bool,
) -> bytes:
    """The status line and header block of a response.

    ``content_length`` ``None`` streams the body in chunks (RFC 9112 section
    7.1); ``close`` adds ``Connection: close``. Names and values are the
    runtime's own (a value it echoes was read as a header value): a CR, LF or
    NUL in them is a bug, refused with :class:`ValueError`.
    """
    lines = [b"HTTP/1.1 %d %s" % (status, reason)]
    lines.extend([name + b": " + value for name, value in headers])
    if status not in _NO_CONTENT:
        if content_length is None:
            lines.append(b"transfer-encoding: chunked")
        else:
            lines.append(b"content-length: %d" % content_length)
    if close:
        lines.append(b"connection: close")
    block = b"\r\n".join(lines)
    breaks = len(lines) - 1
    if block.count(b"\n") != breaks or block.count(b"\r") != breaks or b"\0" in block:
        raise ValueError(f"a response header holds CR, LF or NUL: {headers!r}")
    return block + b"\r\n\r\n"


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (empty ``data`` would end it: not allowed here)."""
    if not data:
        raise ValueError("an empty chunk ends the body; send LAST_CHUNK for that")
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK: Final = b"0\r\n\r\n"
"""The end of a chunked body (no trailers)."""
