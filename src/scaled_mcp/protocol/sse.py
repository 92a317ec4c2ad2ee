"""Server-sent events (``text/event-stream``): an incremental, bounded decoder and an encoder.

:class:`SSEDecoder` yields :class:`ServerSentEvent` and :class:`SSEComment`
items; the ``encode_*`` functions write events, comments and ``retry`` fields;
:class:`EventId` names the stream an event id belongs to, for resumption.
"""

from __future__ import annotations

from ._event_ids import (
    MAX_EVENT_SEQ,
    MAX_STREAM_ID_LENGTH,
    EventId,
    format_event_id,
    parse_event_id,
)
from ._sse import (
    DEFAULT_MAX_EVENT_SIZE,
    DEFAULT_MAX_LINE_SIZE,
    MAX_RETRY_MS,
    ServerSentEvent,
    SSEComment,
    SSEDecoder,
    SSEItem,
    encode_comment,
    encode_event,
    encode_message_event,
    encode_priming_event,
    encode_retry,
)

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "MAX_EVENT_SEQ",
    "MAX_RETRY_MS",
    "MAX_STREAM_ID_LENGTH",
    "EventId",
    "SSEComment",
    "SSEDecoder",
    "SSEItem",
    "ServerSentEvent",
    "encode_comment",
    "encode_event",
    "encode_message_event",
    "encode_priming_event",
    "encode_retry",
    "format_event_id",
    "parse_event_id",
]
