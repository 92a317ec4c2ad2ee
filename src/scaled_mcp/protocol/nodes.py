"""What the nodes of a cluster send each other, and what one answers for another.

Broadcasts (:class:`Broadcast`) and forwarded client messages
(:class:`ForwardedMessage`) as bytes on the broker's channels, the channels'
names, and the stream ids that name the node writing a stream.
"""

from __future__ import annotations

from ._node_messages import (
    BROADCAST_CHANNEL,
    CANCEL_CHANNEL,
    Broadcast,
    ForwardedMessage,
    decode_broadcast,
    decode_forwarded,
    encode_broadcast,
    encode_forwarded,
    forward_channel,
    logged_broadcast,
    node_channel,
    node_of_stream_id,
    orphaned_replies,
    stream_id_for,
)

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
