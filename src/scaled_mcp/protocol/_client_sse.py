"""When and how a client resumes an SSE stream that ended or broke.

One :class:`SSEResumption` follows one logical stream (a POST's answer
stream, or the GET stream) across its connections: it keeps the last event
id and the server's ``retry`` time as the decoder reports them, and decides
how long to wait before each reconnection, and when to give up.

transports, Resumability and Redelivery: "If the client wishes to resume
after a disconnection (whether due to network failure or the server closing
the stream), it SHOULD issue an HTTP GET to the MCP endpoint, and include the
Last-Event-ID header"; 2025-11-25, SSE polling: the client "SHOULD respect
the retry field" ("MUST wait the specified milliseconds before attempting
to reconnect"). A stream that gave no event id cannot be resumed: the
requests waiting on it fail (never a hang). Reconnections that fail in a row
wait longer each time (doubling, capped), and after ``max_attempts`` the
client gives up; any event received resets the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ._client_http import get_headers
from ._errors import LocalProtocolError
from ._sse import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE, SSEDecoder, SSEItem

__all__ = [
    "DEFAULT_MAX_RECONNECT_ATTEMPTS",
    "DEFAULT_MAX_RETRY_MS",
    "DEFAULT_RETRY_MS",
    "SSEResumption",
]

#: The wait before reconnecting when the server gave no ``retry`` field, in ms.
DEFAULT_RETRY_MS: Final = 1000
#: The longest wait between two failed reconnections, in ms (a server's larger ``retry`` wins).
DEFAULT_MAX_RETRY_MS: Final = 30_000
#: Reconnections in a row with no event received before the client gives up.
DEFAULT_MAX_RECONNECT_ATTEMPTS: Final = 5


class SSEResumption:
    """The resumption state of one logical SSE stream. See the module docstring."""

    __slots__ = (
        "attempts",
        "default_retry_ms",
        "last_event_id",
        "max_attempts",
        "max_retry_ms",
        "require_event_id",
        "retry_ms",
    )

    def __init__(
        self,
        *,
        default_retry_ms: int = DEFAULT_RETRY_MS,
        max_retry_ms: int = DEFAULT_MAX_RETRY_MS,
        max_attempts: int = DEFAULT_MAX_RECONNECT_ATTEMPTS,
        require_event_id: bool = True,
    ) -> None:
        if default_retry_ms < 0 or max_retry_ms < default_retry_ms:
            raise LocalProtocolError("need 0 <= default_retry_ms <= max_retry_ms")
        if max_attempts < 0:
            raise LocalProtocolError("max_attempts must not be negative")
        self.default_retry_ms = default_retry_ms
        self.max_retry_ms = max_retry_ms
        self.max_attempts = max_attempts
        #: Whether only a stream that gave an event id is reopened: a request's
        #: stream, whose answer would be lost otherwise. The GET stream carries
        #: no answer of its own: ``False`` reopens it afresh when it gave no id.
        self.require_event_id = require_event_id
        #: The id to send as ``Last-Event-ID`` (``None`` until the server gave one).
        self.last_event_id: str | None = None
        #: The server's latest ``retry`` time in ms (``None`` until it sent one).
        self.retry_ms: int | None = None
        #: Reconnections since the last event was received.
        self.attempts = 0

    def observe(self, decoder: SSEDecoder, items: Sequence[SSEItem] = ()) -> None:
        """Take what ``decoder`` saw after a :meth:`SSEDecoder.feed` that returned
        ``items``: the last event id and ``retry`` time; an event resets the
        count of failed reconnections."""
        last = decoder.last_event_id
        # An empty id field resets the last event id: nothing to resume from.
        self.last_event_id = last or None
        if decoder.retry is not None:
            self.retry_ms = decoder.retry
        if items:
            self.attempts = 0

    @property
    def can_resume(self) -> bool:
        """Whether the stream may be reopened: it gave an event id to resume
        from, or it need not (``require_event_id=False``)."""
        return self.last_event_id is not None or not self.require_event_id

    def next_delay(self) -> float | None:
        """Seconds to wait before the next reconnection, or ``None``: give up
        (no event id to resume from when one is required, or ``max_attempts``
        reconnections in a row without an event). Each call counts one reconnection.

        The first waits exactly the server's ``retry`` (or
        :data:`DEFAULT_RETRY_MS`); each further one in a row doubles it, up to
        ``max_retry_ms`` (or the server's ``retry`` when larger).
        """
        if not self.can_resume or self.attempts >= self.max_attempts:
            return None
        base = self.retry_ms if self.retry_ms is not None else self.default_retry_ms
        cap = max(self.max_retry_ms, base)
        delay_ms = min(base * (1 << min(self.attempts, 32)), cap)
        self.attempts += 1
        return delay_ms / 1000

    def resume_failed(self, status: int | None) -> float | None:
        """After a resuming GET that gave no stream: seconds before trying again,
        or ``None`` to give up.

        ``status`` is the HTTP status (``None``: no answer, the connection
        failed). A node restarting or a load balancer without a backend (no
        answer, 408, 429, 5xx) is worth waiting for; any other answer (400,
        401, 403, 404 "the stream or session is gone", 405 "no GET stream")
        will not change, and the requests waiting on the stream fail now.
        """
        if status is None or status in (408, 429) or status >= 500:
            return self.next_delay()
        self.attempts = self.max_attempts
        return None

    def decoder(
        self,
        *,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> SSEDecoder:
        """A decoder for the resumed stream that keeps the last event id, as an
        ``EventSource`` does across reconnections."""
        return SSEDecoder(
            max_line_size=max_line_size,
            max_event_size=max_event_size,
            last_event_id=self.last_event_id or "",
        )

    def resume_headers(
        self, *, protocol_version: str | None, session_id: str | None = None
    ) -> list[tuple[str, str]]:
        """The headers of the GET that resumes the stream, with ``Last-Event-ID``
        (none when the stream gave no id and need not: a fresh GET stream)."""
        if not self.can_resume:
            raise LocalProtocolError("the stream gave no event id to resume from")
        return get_headers(
            protocol_version=protocol_version,
            session_id=session_id,
            last_event_id=self.last_event_id,
        )
