"""Newline-delimited messages: the framing of the stdio transport.

transports (stdio): "Messages are delimited by newlines, and MUST NOT contain
embedded newlines." :class:`LineReader` turns the bytes of such a stream, cut
anywhere, into its lines. It holds at most one incomplete line, and that line
at most ``max_line_size`` bytes (default :data:`DEFAULT_MAX_MESSAGE_LINE_SIZE`):
a longer line is reported once, as a :class:`RemoteProtocolError` (-32600,
HTTP 413, as the other limits of the core) to answer with, as soon as it is
known to be too long, and the rest of it is
skipped up to its newline, never read as a message. Reading is linear in the
input however it is cut: every byte is searched once.
"""

from __future__ import annotations

from typing import Final

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError

__all__ = ["DEFAULT_MAX_MESSAGE_LINE_SIZE", "LineReader"]

#: The longest line (one message) a :class:`LineReader` accepts by default, in
#: bytes before its newline.
DEFAULT_MAX_MESSAGE_LINE_SIZE: Final = 4 * 1024 * 1024


class LineReader:
    """Splits a byte stream into newline-delimited messages, incrementally.

    :meth:`feed` takes the bytes as they arrive and returns what they complete,
    in order: each line, without its newline and with surrounding whitespace
    (the CR of a CRLF, say) stripped, blank lines skipped; and, for a line of
    more than :attr:`max_line_size` bytes before its newline, one
    :class:`RemoteProtocolError` in its place. How the stream is cut into
    chunks never changes what comes out. Bytes after the last newline are an
    unfinished line: a stream that ends there ends without that message.
    """

    __slots__ = ("_partial", "_skipping", "max_line_size")

    def __init__(self, *, max_line_size: int = DEFAULT_MAX_MESSAGE_LINE_SIZE) -> None:
        if type(max_line_size) is not int or max_line_size < 1:
            raise LocalProtocolError(f"max_line_size must be a positive integer: {max_line_size!r}")
        #: The longest line accepted, in bytes, its newline excluded.
        self.max_line_size = max_line_size
        # The start of an unfinished line (at most max_line_size bytes).
        self._partial = bytearray()
        # In a line already refused: what comes up to its newline is dropped.
        self._skipping = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes | RemoteProtocolError]:
        """Take the next bytes of the stream; return the lines they complete and
        the refusals of the lines found too long."""
        chunk = data if type(data) is bytes else bytes(data)
        out: list[bytes | RemoteProtocolError] = []
        limit = self.max_line_size
        partial = self._partial
        start = 0
        size = len(chunk)
        while start < size:
            end = chunk.find(b"\n", start)
            if self._skipping:
                if end < 0:
                    break
                self._skipping = False
            elif end < 0:
                # No newline yet: the line goes on in a later chunk.
                if len(partial) + size - start > limit:
                    out.append(_too_large(limit))
                    partial.clear()
                    self._skipping = True
                else:
                    partial += chunk[start:]
                break
            elif len(partial) + end - start > limit:
                out.append(_too_large(limit))
                partial.clear()
            else:
                if partial:
                    partial += chunk[start:end]
                    line = bytes(partial).strip()
                    partial.clear()
                else:
                    line = chunk[start:end].strip()
                if line:
                    out.append(line)
            start = end + 1
        return out


def _too_large(limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"Invalid request: the message is too large (a line over {limit} bytes)",
        code=ErrorCode.INVALID_REQUEST,
        http_status=413,
    )
