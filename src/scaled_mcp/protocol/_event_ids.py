"""SSE event ids that name their stream: ``<stream_id>:<seq>``.

Every event of a session's streams carries one, so that a client resuming with
``Last-Event-ID`` is answered from the right stream and from the right event
(:func:`format_event_id` writes them, :func:`parse_event_id` reads them back).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import attrs

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._trusted import trusted_constructor

__all__ = ["MAX_EVENT_SEQ", "MAX_STREAM_ID_LENGTH", "EventId", "format_event_id", "parse_event_id"]

MAX_STREAM_ID_LENGTH: Final = 256
"""The longest stream id :func:`format_event_id` and :func:`parse_event_id` accept."""

MAX_EVENT_SEQ: Final = 2**63 - 1
"""The largest sequence number of an event id (it fits a signed 64-bit integer)."""


@attrs.frozen(slots=True)
class EventId:
    """An event id that names its stream: ``<stream_id>:<seq>``.

    2025-11-25 basic/transports: event ids "MUST be globally unique across all
    streams within that session" and "SHOULD encode sufficient information to
    identify the originating stream, enabling the server to correlate a
    Last-Event-ID to the correct stream." So an id is the stream id, a colon,
    and the event's sequence number within that stream in decimal.

    ``stream_id`` is 1 to :data:`MAX_STREAM_ID_LENGTH` visible ASCII characters
    (0x21 to 0x7E) other than ``:``, so an id is always a valid HTTP header
    value and splits at its only colon. ``seq`` is an integer from 0 to
    :data:`MAX_EVENT_SEQ`, written without sign or leading zeros, so every id
    has exactly one spelling. Resuming after ``Last-Event-ID: s:n`` replays the
    events of stream ``s`` whose ``seq`` is greater than ``n``, and only those:
    "The server MUST NOT replay messages that would have been delivered on a
    different stream."

    Building one checks both parts (:class:`LocalProtocolError`).
    """

    stream_id: str
    seq: int

    def __attrs_post_init__(self) -> None:
        if not _is_stream_id(self.stream_id):
            raise LocalProtocolError(
                "a stream id must be 1 to "
                f"{MAX_STREAM_ID_LENGTH} visible ASCII characters other than ':', "
                f"not {self.stream_id!r}"
            )
        if type(self.seq) is not int or not 0 <= self.seq <= MAX_EVENT_SEQ:
            raise LocalProtocolError(
                f"an event sequence number must be an integer from 0 to {MAX_EVENT_SEQ}, "
                f"not {self.seq!r}"
            )

    def __str__(self) -> str:
        return f"{self.stream_id}:{self.seq}"


_STREAM_ID = re.compile(rf"[\x21-\x39\x3b-\x7e]{{1,{MAX_STREAM_ID_LENGTH}}}")
_SEQ = re.compile(rf"0|[1-9][0-9]{{0,{len(str(MAX_EVENT_SEQ)) - 1}}}")


# parse_event_id checks both parts before it builds one.
_event_id: Callable[[str, int], EventId] = trusted_constructor(EventId)


def _is_stream_id(value: object) -> bool:
    return type(value) is str and _STREAM_ID.fullmatch(value) is not None


def format_event_id(stream_id: str, seq: int) -> str:
    """The event id of event ``seq`` of stream ``stream_id``: ``"<stream_id>:<seq>"``.

    Raises :class:`LocalProtocolError` if either part is outside what
    :class:`EventId` allows.
    """
    return str(EventId(stream_id, seq))


def parse_event_id(value: str | bytes) -> EventId:
    """Read a ``Last-Event-ID`` (or any event id) written by :func:`format_event_id`.

    ``value`` is the header value as text or bytes. A value that is not exactly
    ``<stream_id>:<seq>`` in the canonical form raises
    :class:`RemoteProtocolError` (-32600, HTTP 400): the client claims to
    resume from an event this server never sent, and is told so rather than
    being handed a fresh stream that silently skips what it missed.
    """
    text: str | None
    if type(value) is bytes:
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            text = None
    elif type(value) is str:
        text = value
    else:
        raise LocalProtocolError(f"an event id must be str or bytes, not {value!r}")
    if text is not None:
        stream_id, colon, seq = text.partition(":")
        if colon and _STREAM_ID.fullmatch(stream_id) and _SEQ.fullmatch(seq):
            number = int(seq)
            if number <= MAX_EVENT_SEQ:
                return _event_id(stream_id, number)
    shown = value if len(value) <= 80 else value[:80]
    raise RemoteProtocolError(
        f"Invalid request: malformed Last-Event-ID {shown!r} "
        "(expected '<stream id>:<sequence number>')",
        code=ErrorCode.INVALID_REQUEST,
        http_status=400,
    )
