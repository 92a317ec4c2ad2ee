"""The load tool's wire: the request it repeats, built once as a template, and the
answers read back only as far as a verdict needs.

A :class:`RequestTemplate` is one POST, encoded once by the core
(:mod:`scaled_mcp.protocol.client` builds the message and its headers, the ``_meta``
envelope on the 2026-07-28 wire); only the JSON-RPC id changes between requests.
:class:`ResponseReader` frames HTTP/1.1 responses from the bytes a connection reads
(``Content-Length``, chunked, or to the end of the connection) and :func:`verdict`
says whether an answer is a success or which kind of error it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import attrs
import orjson

from scaled_mcp.protocol.client import post_headers
from scaled_mcp.protocol.jsonrpc import Notification, Request, encode_message
from scaled_mcp.protocol.sse import SSEDecoder

__all__ = [
    "MAX_RESPONSE_SIZE",
    "Answer",
    "RequestTemplate",
    "ResponseReader",
    "Target",
    "WireError",
    "messages_of",
    "verdict",
]

#: The largest response the reader holds (head and body): a larger one is an error.
MAX_RESPONSE_SIZE: Final = 16 * 1024 * 1024
#: The largest response head.
_MAX_HEAD: Final = 64 * 1024
#: A request id no real request has: its digits are replaced by each request's id.
_ID_MARK: Final = 918273645546372819

_CONTENT_LENGTH: Final = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]+)[ \t]*(?=\r\n)", re.I)
_CHUNKED: Final = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.I)
_CLOSE: Final = re.compile(rb"\r\nconnection:[^\r\n]*close", re.I)
_EVENT_STREAM: Final = re.compile(rb"\r\ncontent-type:[ \t]*text/event-stream", re.I)
_STATUS: Final = re.compile(rb"HTTP/1\.[01] ([0-9]{3})")


class WireError(Exception):
    """An answer that is not HTTP/1.1 the reader can frame (the connection is dropped)."""


@attrs.frozen
class Target:
    """Where the load goes: ``http://host:port/path``."""

    host: str
    port: int
    path: str
    authority: str

    @classmethod
    def parse(cls, url: str) -> Target:
        """The target ``url`` names; ``ValueError`` with the reason when it cannot be used."""
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(f"{url!r}: the load tool speaks http:// only (no TLS)")
        if not parts.hostname:
            raise ValueError(f"{url!r}: no host")
        port = parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(parts.hostname, port, path, parts.netloc.rpartition("@")[2])


@attrs.frozen
class RequestTemplate:
    """One POST of a JSON-RPC message, encoded once; :meth:`render` gives its bytes
    with a fresh id (notifications have none and render the same every time)."""

    head: bytes
    body_before: bytes
    body_after: bytes
    has_id: bool

    @classmethod
    def build(
        cls,
        target: Target,
        message: Request | Notification,
        *,
        protocol_version: str | None,
        session_id: str | None = None,
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> RequestTemplate:
        """The template of ``message`` (its id is replaced on every render)."""
        headers = post_headers(message, protocol_version=protocol_version, session_id=session_id)
        head = [f"POST {target.path} HTTP/1.1", f"host: {target.authority}"]
        given = {name.lower() for name, _ in extra_headers}
        head += [f"{name}: {value}" for name, value in headers if name not in given]
        head += [f"{name}: {value}" for name, value in extra_headers]
        head.append("content-length: ")
        has_id = isinstance(message, Request)
        if has_id:
            assert isinstance(message, Request)
            message = attrs.evolve(message, id=_ID_MARK)
        body = encode_message(message)
        before, mark, after = body.partition(str(_ID_MARK).encode())
        if has_id and not mark:
            raise ValueError("the request's id could not be located in its encoding")
        return cls("\r\n".join(head).encode("latin-1"), before, after, has_id)

    def render(self, request_id: int) -> bytes:
        """The request's bytes, with ``request_id`` as its JSON-RPC id."""
        if self.has_id:
            body = b"%b%d%b" % (self.body_before, request_id, self.body_after)
        else:
            body = self.body_before
        return b"%b%d\r\n\r\n%b" % (self.head, len(body), body)


class Answer:
    """One HTTP response: its status, its head (the raw bytes) and its body
    (a plain slotted class: one is made per answer on the load's hot path)."""

    __slots__ = ("body", "event_stream", "head", "status")

    def __init__(
        self, status: int, head: bytes, body: bytes, event_stream: bool | None = None
    ) -> None:
        self.status = status
        self.head = head
        self.body = body
        #: Whether the body is ``text/event-stream``.
        self.event_stream = (
            _EVENT_STREAM.search(head) is not None if event_stream is None else event_stream
        )

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (for the set-up, not the hot path)."""
        found = re.search(
            rb"\r\n" + re.escape(name.encode()) + rb":[ \t]*([^\r\n]*)", self.head, re.I
        )
        return None if found is None else found.group(1).strip().decode("latin-1")


def _frame(head: bytes) -> tuple[int, int, bool, bool, bool]:
    """(status, body length or -1, chunked, connection close, event stream) of a head."""
    status = _STATUS.match(head)
    if status is None:
        raise WireError(f"not an HTTP/1.1 response: {head[:40]!r}")
    code = int(status.group(1))
    close = _CLOSE.search(head) is not None
    stream = _EVENT_STREAM.search(head) is not None
    if code in (204, 304) or 100 <= code < 200:
        return code, 0, False, close, stream
    if _CHUNKED.search(head) is not None:
        return code, -1, True, close, stream
    length = _CONTENT_LENGTH.search(head)
    return code, -1 if length is None else int(length.group(1)), False, close, stream


class ResponseReader:
    """Frames the HTTP/1.1 responses of one connection from the bytes it reads."""

    __slots__ = (
        "_body",
        "_buffer",
        "_chunked",
        "_close",
        "_head",
        "_last_frame",
        "_last_head",
        "_length",
        "_status",
    )

    def __init__(self) -> None:
        self._buffer = bytearray()
        # A connection's answers mostly repeat one head: it is parsed once.
        self._last_head = b""
        self._last_frame = (0, -1, False, False, False)
        self._reset()

    def _reset(self) -> None:
        self._head: bytes | None = None
        self._status = 0
        self._length = -1
        self._chunked = False
        self._close = False
        self._body = bytearray()  # a chunked body's chunks so far

    @property
    def pending(self) -> bool:
        """Whether part of a response has arrived and not its end."""
        return bool(self._buffer) or self._head is not None

    @property
    def must_close(self) -> bool:
        """Whether the response being read is delimited by the connection's end."""
        return self._head is not None and self._length < 0 and not self._chunked

    def feed(self, data: bytes) -> Answer | None:
        """Add ``data``; the response it completes, if any. Raises :class:`WireError`."""
        buffer = self._buffer
        if self._head is None and not buffer:
            # The common case: one whole response with a known length in one read.
            end = data.find(b"\r\n\r\n")
            if 0 <= end <= _MAX_HEAD:
                head = data[: end + 2]
                if head != self._last_head:
                    self._last_frame = _frame(head)
                    self._last_head = head
                frame = self._last_frame
                if frame[1] >= 0 and len(data) == end + 4 + frame[1]:
                    self._close = frame[3]
                    return Answer(frame[0], head, data[end + 4 :], frame[4])
        buffer += data
        if self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise WireError("response head too large")
                return None
            head = bytes(buffer[: end + 2])
            del buffer[: end + 4]
            if head != self._last_head:
                self._last_head = head
                self._last_frame = _frame(head)
            self._head = head
            self._status, self._length, self._chunked, self._close, _ = self._last_frame
        if len(buffer) > MAX_RESPONSE_SIZE:
            raise WireError("response too large")
        if self._chunked:
            return self._dechunk()
        if self._length < 0 or len(buffer) < self._length:
            return None
        return self._complete(self._length)

    def end(self) -> Answer | None:
        """The connection ended: the response it delimited, or ``None`` if none was due."""
        if self.must_close:
            return self._complete(len(self._buffer))
        if self.pending:
            raise WireError("the connection closed within a response")
        return None

    @property
    def closes(self) -> bool:
        """Whether the last response said ``Connection: close``."""
        return self._close

    def _complete(self, length: int) -> Answer:
        assert self._head is not None
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        answer = Answer(self._status, self._head, body)
        close = self._close
        self._reset()
        self._close = close
        return answer

    def _dechunk(self) -> Answer | None:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return None
            try:
                size = int(bytes(buffer[:line_end]).split(b";", 1)[0], 16)
            except ValueError:
                raise WireError("bad chunk size") from None
            if size == 0:
                # The last chunk, the trailer fields if any, and an empty line.
                end = buffer.find(b"\r\n\r\n", line_end)
                if end < 0:
                    return None
                del buffer[: end + 4]
                assert self._head is not None
                answer = Answer(self._status, self._head, bytes(self._body))
                close = self._close
                self._reset()
                self._close = close
                return answer
            if len(buffer) < line_end + 4 + size:
                return None
            self._body += buffer[line_end + 2 : line_end + 2 + size]
            if len(self._body) > MAX_RESPONSE_SIZE:
                raise WireError("response too large")
            del buffer[: line_end + 4 + size]


def messages_of(answer: Answer) -> list[Any]:
    """The JSON values of ``answer``'s body: one for a JSON body, one per SSE event with data."""
    if answer.event_stream:
        decoder = SSEDecoder()
        items = decoder.feed(answer.body)
        decoder.close()
        found = []
        for item in items:
            data = getattr(item, "data", "")
            if data:
                found.append(orjson.loads(data))
        return found
    return [orjson.loads(answer.body)] if answer.body.strip() else []


def verdict(answer: Answer) -> str | None:
    """``None`` when ``answer`` carries a JSON-RPC result (or is a notification's 202);
    else the kind of error: ``http 503``, ``jsonrpc -32602``, ``tool error`` (a
    ``tools/call`` result with ``isError``), ``no answer``, ``bad body``."""
    status = answer.status
    if not 200 <= status < 300:
        return f"http {status}"
    if not answer.event_stream:
        # The common case, with as little work as it can: one JSON object.
        try:
            message = orjson.loads(answer.body) if answer.body else None
        except orjson.JSONDecodeError:
            return "bad body"
        if message is None:
            return None if status == 202 else "no answer"
        return _judge(message)
    try:
        messages = messages_of(answer)
    except Exception:  # any undecodable body is one kind of error
        return "bad body"
    for message in reversed(messages):
        if isinstance(message, dict) and ("result" in message or "error" in message):
            return _judge(message)
    return "no answer"


def _judge(message: Any) -> str | None:
    if type(message) is not dict:
        return "no answer"
    if "result" in message:
        result = message["result"]
        if type(result) is dict and result.get("isError") is True:
            return "tool error"
        return None
    error = message.get("error")
    if error is None:
        return "no answer"
    code = error.get("code") if type(error) is dict else None
    return f"jsonrpc {code}"
