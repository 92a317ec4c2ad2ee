"""Server-sent events (``text/event-stream``): an incremental decoder and an encoder.

How a stream is read (the WHATWG HTML standard, "Server-sent events", section
"Interpreting an event stream", restated):

* The stream is UTF-8. Bytes that are not valid UTF-8 decode to U+FFFD; they
  never stop the stream. One byte order mark (U+FEFF) at the very start of the
  stream is skipped; a second one, or one anywhere else, is content.
* A line ends with CR LF, with LF alone or with CR alone. A CR that ends one
  chunk of bytes and an LF that starts the next are one line end, not two.
* An empty line dispatches the event built so far.
* A line whose first character is a colon is a comment and changes nothing.
  (The decoder still reports it, as :class:`SSEComment`, so that a client can
  see heartbeats.)
* Any other line is a field. The field name is what comes before the first
  colon and the value what follows it, less one space if the value starts
  with one. A line with no colon at all is a field name with an empty value.
* ``event`` sets the event type. ``data`` appends the value and one LF to the
  data buffer. ``id`` sets the *last event ID buffer*, unless the value
  contains NUL, in which case the whole field is ignored; that buffer is not
  cleared between events. ``retry`` sets the reconnection time in
  milliseconds at once, if the value is made of ASCII digits only, and is
  ignored otherwise. Every other field name is ignored.
* Dispatching: the stream's last event ID becomes the last event ID buffer,
  whether or not an event is then delivered. If the data buffer is empty, the
  event type is cleared and nothing is delivered. Otherwise the final LF of the
  data buffer is dropped and an event is delivered, of the buffered type or
  ``"message"`` when none was given. Data and event type are then cleared.
* At the end of the stream, a line without its line end and an event without
  its empty line are discarded.

How MCP uses it (streamable HTTP transport, 2025-03-26 to 2025-11-25, and the
2024-11-05 HTTP+SSE transport): each event carries one JSON-RPC message as its
``data`` under the default type ``message`` (:func:`encode_message_event`);
events carry ids so that a client can resume with ``Last-Event-ID``
(their form: :mod:`._event_ids`); 2025-11-25 adds a *priming
event*, an id with empty data, sent first (:func:`encode_priming_event`), and a
``retry`` field before the server closes a connection (:func:`encode_retry`).
Comment lines are heartbeats (:func:`encode_comment`).

Limits. :class:`SSEDecoder` holds at most one incomplete line and one event in
memory, so it takes two limits, both in bytes of the encoded stream:
``max_line_size`` (default :data:`DEFAULT_MAX_LINE_SIZE`), the longest line,
line end excluded, and ``max_event_size`` (default
:data:`DEFAULT_MAX_EVENT_SIZE`), the sum of the field lines of one event,
comments and line ends excluded. Crossing either raises
:class:`RemoteProtocolError` with ``code=ErrorCode.INVALID_REQUEST`` (-32600)
and ``http_status=413``, as the JSON-RPC codec does for an oversized batch.
Decoding is linear in the input however it is cut into chunks: every byte is
looked at a bounded number of times.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, TypeAlias

import attrs

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._trusted import trusted_constructor

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "MAX_RETRY_MS",
    "SSEComment",
    "SSEDecoder",
    "SSEItem",
    "ServerSentEvent",
    "encode_comment",
    "encode_event",
    "encode_message_event",
    "encode_priming_event",
    "encode_retry",
]

DEFAULT_MAX_LINE_SIZE: Final = 16 * 1024 * 1024
"""Default ``max_line_size`` of :class:`SSEDecoder`: 16 MiB.

MCP puts a whole JSON-RPC message on one ``data`` line, so a line is as long as
the largest message a client accepts (a tool result with an embedded image can
run to megabytes).
"""

DEFAULT_MAX_EVENT_SIZE: Final = 16 * 1024 * 1024
"""Default ``max_event_size`` of :class:`SSEDecoder`: 16 MiB."""

MAX_RETRY_MS: Final = 2**63 - 1
"""The largest ``retry`` value, in milliseconds.

The encoder refuses larger values; the decoder reads a larger one (the standard
sets no bound) as this one, which is longer than any client will wait anyway.
"""

_BOM: Final = b"\xef\xbb\xbf"
_EOL_BYTES = re.compile(rb"\r\n|\r|\n")
_RETRY_DIGITS: Final = len(str(MAX_RETRY_MS))


def _too_large(what: str, limit_name: str, limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"server-sent events: {what} exceeds {limit_name}={limit} bytes",
        code=ErrorCode.INVALID_REQUEST,
        http_status=413,
    )


def _check_field_value(name: str, value: object) -> None:
    # A CR or LF would end the line and start another field; the standard
    # ignores an id with NUL, so sending one would silently lose it.
    if type(value) is not str:
        raise LocalProtocolError(f"the SSE {name} must be a string, not {value!r}")
    if "\r" in value or "\n" in value or "\0" in value:
        raise LocalProtocolError(f"the SSE {name} must not contain CR, LF or NUL: {value!r}")


def _check_retry(value: object) -> None:
    if type(value) is not int or not 0 <= value <= MAX_RETRY_MS:
        raise LocalProtocolError(
            f"the SSE retry must be an integer from 0 to {MAX_RETRY_MS} (milliseconds), "
            f"not {value!r}"
        )


@attrs.frozen(slots=True)
class ServerSentEvent:
    """One event of an SSE stream.

    ``data`` is the event's data: its lines joined with LF. The encoder writes
    each line, whatever its line end (CR LF, LF or CR), as its own ``data``
    field, so the decoder gives CR and CR LF back as LF.

    ``event`` is the event type, ``"message"`` when the stream names none (the
    encoder then writes no ``event`` field).

    ``id`` is the value of the ``id`` field sent *with this event*, ``None`` when
    it had none. The standard's "last event ID", which persists from one event
    to the next and is what a client sends back as ``Last-Event-ID``, is
    :attr:`SSEDecoder.last_event_id`.

    ``retry`` is the reconnection time in milliseconds sent with this event,
    ``None`` when it had none; the latest one of the stream is
    :attr:`SSEDecoder.retry`.

    Building one checks it: ``event`` is non-empty, ``event`` and ``id`` contain
    no CR, LF or NUL, ``retry`` is an integer in ``0..MAX_RETRY_MS``; otherwise
    :class:`LocalProtocolError`.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    def __attrs_post_init__(self) -> None:
        if type(self.data) is not str:
            raise LocalProtocolError(f"SSE data must be a string, not {self.data!r}")
        _check_field_value("event type", self.event)
        if not self.event:
            raise LocalProtocolError(
                'the SSE event type must not be empty (the default is "message")'
            )
        if self.id is not None:
            _check_field_value("id", self.id)
        if self.retry is not None:
            _check_retry(self.retry)


@attrs.frozen(slots=True)
class SSEComment:
    """A comment line (``: text``), the stream's heartbeat; it carries no event.

    ``text`` is what follows the colon, less one leading space. Building one
    checks that ``text`` holds no CR or LF (:class:`LocalProtocolError`).
    """

    text: str = ""

    def __attrs_post_init__(self) -> None:
        if type(self.text) is not str or "\r" in self.text or "\n" in self.text:
            raise LocalProtocolError(
                f"an SSE comment must be a string without CR or LF, not {self.text!r}"
            )


SSEItem: TypeAlias = ServerSentEvent | SSEComment
"""What :meth:`SSEDecoder.feed` returns, in stream order: events and comments."""

# The decoder's fast path: it gives what the stream held, without the checks
# made on events and comments a server builds to send.
_event: Callable[[str, str, str | None, int | None], ServerSentEvent] = trusted_constructor(
    ServerSentEvent
)
_comment: Callable[[str], SSEComment] = trusted_constructor(SSEComment)


class SSEDecoder:
    """Turns the bytes of a ``text/event-stream`` body into events, incrementally.

    Feed bytes as they arrive with :meth:`feed`, which returns the events and
    comments they complete; call :meth:`close` at the end of the body. How the
    body is cut into chunks never changes what comes out.

    ``max_line_size`` and ``max_event_size`` bound the memory the decoder holds
    (see the module documentation); crossing one raises
    :class:`RemoteProtocolError` (-32600, HTTP 413). ``last_event_id`` is the
    last event ID to start from: a client that reconnects passes the one it
    sent as ``Last-Event-ID``, as an ``EventSource`` keeps it across
    reconnections.

    After a :class:`RemoteProtocolError` the decoder is broken for good: every
    later :meth:`feed` raises :class:`RemoteProtocolError` again.
    """

    __slots__ = (
        "_closed",
        "_data",
        "_error",
        "_event_id",
        "_event_retry",
        "_event_size",
        "_event_type",
        "_first_line",
        "_id_buffer",
        "_last_event_id",
        "_partial",
        "_retry",
        "_skip_lf",
        "max_event_size",
        "max_line_size",
    )

    def __init__(
        self,
        *,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        last_event_id: str = "",
    ) -> None:
        if type(max_line_size) is not int or max_line_size < 1:
            raise LocalProtocolError(f"max_line_size must be a positive integer: {max_line_size!r}")
        if type(max_event_size) is not int or max_event_size < 1:
            raise LocalProtocolError(
                f"max_event_size must be a positive integer: {max_event_size!r}"
            )
        if type(last_event_id) is not str:
            raise LocalProtocolError(f"last_event_id must be a string: {last_event_id!r}")
        #: The longest line accepted, in bytes, line end excluded.
        self.max_line_size = max_line_size
        #: The largest event accepted: bytes of its field lines, line ends excluded.
        self.max_event_size = max_event_size
        self._partial = bytearray()
        self._skip_lf = False
        self._first_line = True
        self._data: list[str] = []
        self._event_type = ""
        self._event_id: str | None = None
        self._event_retry: int | None = None
        self._event_size = 0
        self._id_buffer = last_event_id
        self._last_event_id = last_event_id
        self._retry: int | None = None
        self._closed = False
        self._error: RemoteProtocolError | None = None

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID: what to send as ``Last-Event-ID`` to resume.

        It changes when an event is dispatched (an empty line), even one with no
        data; ``""`` when no id was seen (or the server reset it with an empty id).
        """
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The latest reconnection time the server asked for, in ms; ``None`` if none."""
        return self._retry

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def feed(self, data: bytes | bytearray | memoryview) -> list[SSEItem]:
        """Take the next bytes of the stream; return the events and comments they complete.

        Atomic: if it raises :class:`RemoteProtocolError`, none of the events of
        this chunk is returned, and :attr:`last_event_id` and :attr:`retry` are
        left as they were after the previous call. Feeding after :meth:`close`
        raises :class:`LocalProtocolError`.
        """
        if self._error is not None:
            raise RemoteProtocolError(
                f"server-sent events: the stream already failed: {self._error.message}",
                code=self._error.code,
                http_status=self._error.http_status,
            )
        if self._closed:
            raise LocalProtocolError("server-sent events: feed() after close()")
        if not data:
            return []
        chunk = data if type(data) is bytes else bytes(data)
        last_event_id = self._last_event_id
        retry = self._retry
        try:
            return self._feed(chunk)
        except RemoteProtocolError as exc:
            self._last_event_id = last_event_id
            self._retry = retry
            self._error = exc
            self._partial = bytearray()
            self._data = []
            raise

    def close(self) -> None:
        """End the stream: an unterminated line or event is discarded. Idempotent."""
        self._closed = True
        self._partial = bytearray()
        self._data = []
        self._event_type = ""
        self._event_id = None
        self._event_retry = None
        self._event_size = 0

    def _feed(self, chunk: bytes) -> list[SSEItem]:
        if self._skip_lf:
            # A CR ended the previous chunk: an LF opening this one completes
            # that same CR LF line end.
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        out: list[SSEItem] = []
        pieces = chunk.splitlines(keepends=True)
        tail = pieces[-1]
        last_byte = tail[-1]
        if last_byte != 0x0A and last_byte != 0x0D:
            pieces.pop()
        else:
            tail = b""
            self._skip_lf = last_byte == 0x0D
        limit = self.max_line_size
        for piece in pieces:
            if piece.endswith(b"\r\n"):
                line = piece[:-2]
            else:
                line = piece[:-1]
            if self._partial:
                self._partial += line
                line = bytes(self._partial)
                self._partial = bytearray()
            if len(line) > limit:
                raise _too_large(f"a line of {len(line)} bytes", "max_line_size", limit)
            self._line(line, out)
        if tail:
            if len(self._partial) + len(tail) > limit:
                raise _too_large(
                    f"a line of at least {len(self._partial) + len(tail)} bytes",
                    "max_line_size",
                    limit,
                )
            self._partial += tail
        return out

    def _line(self, line: bytes, out: list[SSEItem]) -> None:
        if self._first_line:
            self._first_line = False
            if line.startswith(_BOM):
                line = line[3:]
        if not line:
            self._dispatch(out)
            return
        if line[0] == 0x3A:
            text = line[2:] if line[1:2] == b" " else line[1:]
            out.append(_comment(text.decode("utf-8", "replace")))
            return
        self._event_size += len(line)
        if self._event_size > self.max_event_size:
            raise _too_large(
                f"an event of {self._event_size} bytes", "max_event_size", self.max_event_size
            )
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event_type = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._event_id = self._id_buffer = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            # bytes.isdigit() is true for ASCII digits only, and false for b"".
            digits = value.lstrip(b"0")
            if len(digits) > _RETRY_DIGITS:
                retry = MAX_RETRY_MS
            else:
                retry = min(int(digits or b"0"), MAX_RETRY_MS)
            self._event_retry = self._retry = retry

    def _dispatch(self, out: list[SSEItem]) -> None:
        self._last_event_id = self._id_buffer
        if self._data:
            # One LF per data line, less the final one: the lines joined by LF.
            out.append(
                _event(
                    "\n".join(self._data),
                    self._event_type or "message",
                    self._event_id,
                    self._event_retry,
                )
            )
            self._data = []
        self._event_type = ""
        self._event_id = None
        self._event_retry = None
        self._event_size = 0


def _field(name: bytes, value: bytes) -> bytes:
    # "name: value"; the space is the one a reader strips, so a value that
    # starts with a space keeps it.
    if value:
        return name + b": " + value + b"\n"
    return name + b":\n"


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"the SSE {what} is not encodable as UTF-8: {exc}") from None


def _data_fields(data: bytes) -> bytes:
    if b"\n" not in data and b"\r" not in data:
        return _field(b"data", data)
    return b"".join([_field(b"data", line) for line in _EOL_BYTES.split(data)])


def encode_event(event: ServerSentEvent) -> bytes:
    """The bytes of one event, ended by its empty line.

    Fields come in the order ``event``, ``id``, ``retry``, ``data``; each line
    of ``data`` (split at CR LF, LF or CR) is its own ``data`` field, so an
    event with empty data still has one (empty) ``data`` field and is
    delivered. An ``event`` of ``"message"`` is left out, being the default.
    """
    parts: list[bytes] = []
    if event.event != "message":
        parts.append(_field(b"event", _utf8(event.event, "event type")))
    if event.id is not None:
        parts.append(_field(b"id", _utf8(event.id, "id")))
    if event.retry is not None:
        parts.append(b"retry: %d\n" % event.retry)
    parts.append(_data_fields(_utf8(event.data, "data")))
    parts.append(b"\n")
    return b"".join(parts)


def encode_message_event(body: bytes, *, event_id: str | None = None) -> bytes:
    """The event that carries one encoded JSON-RPC message, with an optional id.

    ``body`` is the UTF-8 JSON of one message, as :func:`encode_message` makes
    it; the event has the default type ``message``. This is the hot path of a
    streaming response, so ``body`` is used as it is, without building a
    :class:`ServerSentEvent`; a body with line breaks (pretty-printed JSON) is
    still written correctly, one ``data`` field per line.
    """
    if event_id is None:
        return _data_fields(body) + b"\n"
    _check_field_value("id", event_id)
    return _field(b"id", _utf8(event_id, "id")) + _data_fields(body) + b"\n"


def encode_priming_event(event_id: str, *, retry: int | None = None) -> bytes:
    """The priming event of a 2025-11-25 SSE stream: an id, empty data, maybe ``retry``.

    2025-11-25 basic/transports: "The server SHOULD immediately send an SSE
    event consisting of an event ID and an empty data field in order to prime
    the client to reconnect (using that event ID as Last-Event-ID)." The
    ``data`` field is present, so clients deliver the event (with data ``""``)
    and record its id. ``retry`` tells the client how long to wait before it
    reconnects.
    """
    return encode_event(ServerSentEvent(data="", id=event_id, retry=retry))


def encode_retry(retry_ms: int) -> bytes:
    """A block that sets the client's reconnection time and delivers no event.

    2025-11-25 basic/transports: "If the server does close the connection prior
    to terminating the SSE stream, it SHOULD send an SSE event with a standard
    retry field before closing the connection. The client MUST respect the
    retry field, waiting the given number of milliseconds before attempting to
    reconnect."
    """
    _check_retry(retry_ms)
    return b"retry: %d\n\n" % retry_ms


def encode_comment(text: str = "") -> bytes:
    """A comment line followed by an empty line: a heartbeat, e.g. ``b": ping\\n\\n"``.

    Readers ignore comments; the empty line after it delivers nothing, since
    no data is pending between events. ``text`` must hold no CR or LF
    (:class:`LocalProtocolError`).
    """
    if type(text) is not str or "\r" in text or "\n" in text:
        raise LocalProtocolError(f"an SSE comment must be a string without CR or LF: {text!r}")
    if not text:
        return b":\n\n"
    return b": " + _utf8(text, "comment") + b"\n\n"
