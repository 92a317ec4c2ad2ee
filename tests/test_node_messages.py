"""What nodes send each other: broadcasts, forwarded messages, and the answers
a node gives for the requests of a dead node's stream."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.jsonrpc import (
    ErrorResponse,
    LocalProtocolError,
    Message,
    Notification,
    Request,
    Response,
    encode_message,
    internal_error,
)
from scaled_mcp.protocol.nodes import (
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
from tests.helpers import messages, notifications

_node_ids = st.text(st.characters(blacklist_characters="."), min_size=1, max_size=10)


@given(st.integers(0, 2**62), notifications)
def test_a_broadcast_round_trips(seq: int, notification: Notification) -> None:
    broadcast = Broadcast(seq, notification)
    assert decode_broadcast(encode_broadcast(broadcast)) == broadcast
    # The broadcast log keeps the notification alone; its number is the log's.
    assert logged_broadcast(seq, encode_message(notification)) == broadcast


def test_the_broadcast_payload() -> None:
    note = Notification("notifications/tools/list_changed")
    payload = encode_broadcast(Broadcast(3, note))
    assert orjson.loads(payload) == {
        "seq": 3,
        "message": {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"},
    }


@given(st.text(min_size=1, max_size=12), messages)
def test_a_forwarded_message_round_trips(session_id: str, message: Message) -> None:
    forwarded = ForwardedMessage(session_id, message)
    assert decode_forwarded(encode_forwarded(forwarded)) == forwarded


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"[1]",
        b"{}",
        b'{"seq":"1","message":{"jsonrpc":"2.0","method":"m"}}',
        b'{"seq":true,"message":{"jsonrpc":"2.0","method":"m"}}',
        b'{"seq":1,"message":{"jsonrpc":"2.0","id":1,"method":"m"}}',
        b'{"seq":1,"message":{"method":"m"}}',
        b'{"seq":1}',
    ],
)
def test_a_malformed_broadcast_is_the_clusters_fault(payload: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        decode_broadcast(payload)


def test_a_malformed_logged_broadcast() -> None:
    with pytest.raises(LocalProtocolError):
        logged_broadcast(1, b"{")
    with pytest.raises(LocalProtocolError):
        logged_broadcast(1, encode_message(Response(1, {})))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"null",
        b'{"message":{"jsonrpc":"2.0","method":"m"}}',
        b'{"session":1,"message":{"jsonrpc":"2.0","method":"m"}}',
        b'{"session":"s","message":{"jsonrpc":"1.0","method":"m"}}',
        b'{"session":"s"}',
    ],
)
def test_a_malformed_forwarded_message_is_the_clusters_fault(payload: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        decode_forwarded(payload)


@given(messages, _node_ids)
def test_any_message_goes_to_one_channel_or_none(message: Message, node: str) -> None:
    channel = forward_channel(message, node)
    assert channel in (None, CANCEL_CHANNEL) or channel.startswith("node:")


def test_wheremessages_for_other_nodes_go() -> None:
    assert forward_channel(Response("b.1", {}), "a") == node_channel("b")
    assert forward_channel(ErrorResponse("b.7", -1, "no"), "a") == node_channel("b")
    assert forward_channel(Response("a.1", {}), "a") is None  # its own: already answered
    assert forward_channel(Response(1, {}), "a") is None  # no node named
    assert forward_channel(ErrorResponse(None, -1, "no"), "a") is None
    cancel = Notification("notifications/cancelled", {"requestId": 5})
    assert forward_channel(cancel, "a") == CANCEL_CHANNEL
    assert forward_channel(Notification("notifications/progress", {}), "a") is None
    assert forward_channel(Request(1, "ping"), "a") is None
    assert node_channel("a") != node_channel("b")


@pytest.mark.parametrize(
    ("message", "request_id"),
    [
        (Notification("notifications/cancelled", {"requestId": 5}), 5),
        (Notification("notifications/cancelled", {"requestId": "x"}), "x"),
        (Notification("notifications/cancelled", {"requestId": [1]}), None),
        (Notification("notifications/cancelled"), None),
        (Notification("notifications/progress", {"requestId": 5}), None),
        (Response("n.1", {}), None),
    ],
)
def test_the_request_a_forwarded_cancellation_names(message: Message, request_id: object) -> None:
    assert ForwardedMessage("s", message).cancelled_request == request_id


@given(_node_ids, st.integers(1, 2**40))
def test_a_stream_names_the_node_that_writes_it(node: str, number: int) -> None:
    assert node_of_stream_id(stream_id_for(node, number)) == node


def test_a_sessions_get_stream_names_no_node() -> None:
    assert node_of_stream_id("get") is None
    assert node_of_stream_id("legacy") is None


def test_the_requests_a_dead_node_left_unanswered() -> None:
    logged = [
        encode_message(Notification("notifications/progress", {"progressToken": 1})),
        encode_message(Request("n1.1", "roots/list")),  # a request to the client: not an answer
        encode_message(Response(1, {})),
        encode_message(ErrorResponse("two", -32603, "no")),
        b"{not json",
    ]
    lost = orphaned_replies("n1", [1, "two", 3, "n1.1"], logged)
    message = "Internal error: the node running this request stopped"
    assert lost == [
        internal_error(3, message, {"node": "n1"}),
        internal_error("n1.1", message, {"node": "n1"}),
    ]
    assert orphaned_replies("n1", [], logged) == []
