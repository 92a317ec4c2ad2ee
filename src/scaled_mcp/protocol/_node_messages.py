"""What the nodes of a cluster send each other, and what one answers for another.

No node owns a session; only running work is node-local. So a change every
session may want (a broadcast: ``list_changed``, ``resources/updated``) and a
client's message for work running on another node (its answer to a request
that node sent, a cancellation) travel between nodes through the broker's
channels, as bytes this module encodes and decodes. A payload that does not
decode raises :class:`LocalProtocolError`: the cluster, not the client, is to
blame.

Streams name the node that writes them (``"<node>-<n>"``), so that a node a
client resumes a stream on can tell that its writer died, and answer the
requests it left unanswered (:func:`orphaned_replies`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import attrs
import orjson

from ._errors import LocalProtocolError, RemoteProtocolError
from ._jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    RequestId,
    Response,
    decode_message,
    encode_message,
    message_from_json,
    message_to_json,
)
from ._replies import internal_error
from ._session import node_of_request_id

__all__ = [
    "BROADCAST_CHANNEL",
    "CANCEL_CHANNEL",
    "Broadcast",
    "ForwardedMessage",
    "decode_broadcast",
    "decode_forwarded",
    "encode_broadcast",
    "encode_forwarded",
    "forward_channel",
    "logged_broadcast",
    "node_channel",
    "node_of_stream_id",
    "orphaned_replies",
    "stream_id_for",
]

#: The channel of the messages for every session (``list_changed``, ``resources/updated``).
BROADCAST_CHANNEL: Final = "broadcast"
#: The channel of cancellations of requests not running where they arrived.
CANCEL_CHANNEL: Final = "cancel"
_NODE_CHANNEL_PREFIX: Final = "node:"
_CANCELLED: Final = "notifications/cancelled"


def node_channel(node_id: str) -> str:
    """The channel of one node: the answers to the requests it sent to clients."""
    return f"{_NODE_CHANNEL_PREFIX}{node_id}"


def _malformed(what: str, detail: object) -> LocalProtocolError:
    return LocalProtocolError(f"malformed {what} from another node: {detail}")


# -- broadcasts ------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Broadcast:
    """A change notification for every session and every ``subscriptions/listen``
    stream, with its number in the broadcast log: a stream that moves to
    another node catches up from the log, taking each number once."""

    seq: int
    notification: Notification


def encode_broadcast(broadcast: Broadcast) -> bytes:
    """The payload that publishes ``broadcast`` on :data:`BROADCAST_CHANNEL`."""
    return b'{"seq":%d,"message":%s}' % (broadcast.seq, encode_message(broadcast.notification))


def _as_broadcast(seq: object, message: Message) -> Broadcast:
    if type(seq) is not int:
        raise _malformed("broadcast", f"its number is {seq!r}")
    if type(message) is not Notification:
        raise _malformed("broadcast", f"{message!r} is not a notification")
    return Broadcast(seq, message)


def decode_broadcast(payload: bytes) -> Broadcast:
    """The broadcast a payload of :func:`encode_broadcast` carries."""
    try:
        data = orjson.loads(payload)
        seq = data["seq"]
        message = message_from_json(data["message"])
    except (ValueError, KeyError, TypeError, RemoteProtocolError) as exc:
        raise _malformed("broadcast", repr(exc)) from None
    return _as_broadcast(seq, message)


def logged_broadcast(seq: int, body: bytes) -> Broadcast:
    """Broadcast ``seq`` as the broadcast log keeps it (the encoded notification)."""
    try:
        message = decode_message(body)
    except RemoteProtocolError as exc:
        raise _malformed("broadcast", repr(exc)) from None
    return _as_broadcast(seq, message)


# -- messages for work running on another node ----------------------------------------


@attrs.frozen(slots=True)
class ForwardedMessage:
    """A client's message to session ``session_id`` that concerns work running
    on another node: an answer to a request that node sent, or a cancellation."""

    session_id: str
    message: Message

    @property
    def cancelled_request(self) -> RequestId | None:
        """The request a forwarded ``notifications/cancelled`` names (``None``
        for any other message, or a cancellation naming no valid id)."""
        message = self.message
        if type(message) is not Notification or message.method != _CANCELLED:
            return None
        request_id = (message.params or {}).get("requestId")
        return request_id if type(request_id) is str or type(request_id) is int else None


def forward_channel(message: Message, node_id: str) -> str | None:
    """Where a message the session here did not take goes: an answer to a
    request another node sent (its id names the node, "<node>.<n>") to that
    node's channel; a cancellation of a request not running here to
    :data:`CANCEL_CHANNEL`, heard by every node; anything else nowhere."""
    kind = type(message)
    if kind is Response or kind is ErrorResponse:
        node = node_of_request_id(message.id)  # type: ignore[union-attr]
        if node is not None and node != node_id:
            return node_channel(node)
        return None
    if kind is Notification and message.method == _CANCELLED:  # type: ignore[union-attr]
        return CANCEL_CHANNEL
    return None


def encode_forwarded(forwarded: ForwardedMessage) -> bytes:
    """The payload that forwards a message to another node."""
    return orjson.dumps(
        {"session": forwarded.session_id, "message": message_to_json(forwarded.message)}
    )


def decode_forwarded(payload: bytes) -> ForwardedMessage:
    """The forwarded message a payload of :func:`encode_forwarded` carries."""
    try:
        data = orjson.loads(payload)
        session_id = data["session"]
        message = message_from_json(data["message"])
    except (ValueError, KeyError, TypeError, RemoteProtocolError) as exc:
        raise _malformed("forwarded message", repr(exc)) from None
    if type(session_id) is not str:
        raise _malformed("forwarded message", f"session {session_id!r}")
    return ForwardedMessage(session_id, message)


# -- streams and the nodes that write them ------------------------------------------------


def stream_id_for(node_id: str, number: int) -> str:
    """The id of stream ``number`` that ``node_id`` begins: unique across nodes."""
    return f"{node_id}-{number}"


def node_of_stream_id(stream_id: str) -> str | None:
    """The node that writes a stream :func:`stream_id_for` named, or ``None``
    for a stream no one node writes (a session's GET stream)."""
    node = stream_id.rpartition("-")[0]
    return node or None


def _answered_ids(logged: Iterable[bytes]) -> set[Any]:
    answered: set[Any] = set()
    for body in logged:
        try:
            message = orjson.loads(body)
        except ValueError:
            continue
        if isinstance(message, dict) and "method" not in message:
            request_id = message.get("id")
            if type(request_id) is str or type(request_id) is int:
                answered.add(request_id)
    return answered


def orphaned_replies(
    node_id: str, requests: Iterable[RequestId], logged: Iterable[bytes]
) -> list[ErrorResponse]:
    """What to answer, in place of ``node_id`` that died, to the ``requests`` of
    a stream it began and never ended, whose events so far are ``logged``: an
    internal error for each request none of them answered, so that the client
    is not left waiting forever."""
    answered = _answered_ids(logged)
    return [
        internal_error(
            request_id,
            "Internal error: the node running this request stopped",
            {"node": node_id},
        )
        for request_id in requests
        if request_id not in answered
    ]
