"""What the client's WebSocket transport reads, as a property (Hypothesis): any
messages, each sent in any number of fragments (continuation frames), with pings
between the fragments, over a real socket, arrive whole and in order, and every
ping gets its pong; past the message bound the connection closes with 1009."""

from __future__ import annotations

import contextlib
import itertools

import trio
from hypothesis import HealthCheck, given, settings, strategies as st
from wsproto.events import Ping, Pong, TextMessage

from scaled_mcp.client._transport import Inbound, Lost
from scaled_mcp.client._websocket import WebSocketTransport
from scaled_mcp.protocol.jsonrpc import Notification, encode_message

from .test_websocket_client import Peer, url, ws_server

#: JSON values a notification's params may hold (text of any Unicode, to split anywhere).
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
_notifications = st.builds(
    lambda method, data: Notification(method, {"data": data}),
    st.sampled_from(["notifications/message", "notifications/progress", "x/y"]),
    _values,
)


def _fragments(text: str, cuts: list[int]) -> list[str]:
    points = sorted({cut % (len(text) + 1) for cut in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)] or [""]


async def _exchange(
    messages: list[Notification], cuts: list[list[int]], max_message_size: int
) -> tuple[list[Inbound], list[bytes], list[int]]:
    """Send ``messages`` fragmented at ``cuts`` with a ping after each fragment;
    what the transport delivered, the pongs the server got, the close codes."""
    pongs: list[bytes] = []
    sent = trio.Event()

    async def script(peer: Peer) -> None:
        pings = 0
        # A client that closed (1009) may reset the socket under what is still sent.
        with contextlib.suppress(trio.BrokenResourceError):
            for message, at in zip(messages, cuts, strict=True):
                parts = _fragments(encode_message(message).decode(), at)
                for index, part in enumerate(parts):
                    await peer.send(TextMessage(part, message_finished=index == len(parts) - 1))
                    pings += 1
                    await peer.send(Ping(str(pings).encode()))
        sent.set()
        async for event in server.control(peer):
            if isinstance(event, Pong):
                pongs.append(bytes(event.payload))

    delivered: list[Inbound] = []
    async with ws_server(script) as server:
        transport = WebSocketTransport(
            url(server), ping_interval=None, max_message_size=max_message_size
        )
        send, receive = trio.open_memory_channel[Inbound](4)
        async with trio.open_nursery() as nursery:
            await transport.start(nursery, send)
            with trio.fail_after(20):
                while len(delivered) < len(messages):
                    item = await receive.receive()
                    delivered.append(item)
                    if isinstance(item, Lost):
                        break
                await sent.wait()
                await trio.sleep(0.05)  # the last pongs cross the socket
            await transport.aclose()
            nursery.cancel_scope.cancel()
    return delivered, pongs, server.close_codes


_settings = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(st.data())
def test_fragmented_messages_arrive_whole_and_in_order(data: st.DataObject) -> None:
    messages = data.draw(st.lists(_notifications, min_size=1, max_size=5))
    cuts = [data.draw(st.lists(st.integers(0, 10_000), max_size=4)) for _ in messages]
    delivered, pongs, closes = trio.run(_exchange, messages, cuts, 1 << 20)
    assert delivered == messages
    assert sorted(pongs, key=int) == [str(n).encode() for n in range(1, len(pongs) + 1)]
    assert len(pongs) == sum(
        len(_fragments(encode_message(m).decode(), c)) for m, c in zip(messages, cuts, strict=True)
    )
    assert closes == [1000]  # the transport's own close on aclose


@_settings
@given(st.data())
def test_a_message_over_the_bound_closes_with_1009(data: st.DataObject) -> None:
    bound = data.draw(st.integers(16, 200))
    small = Notification("x/y", {"data": ""})
    size = len(encode_message(small))
    big = Notification("x/y", {"data": "é" * data.draw(st.integers(bound, 2 * bound))})
    cuts: list[list[int]] = [[], data.draw(st.lists(st.integers(0, 10_000), max_size=4))]
    delivered, _, closes = trio.run(_exchange, [small, big], cuts, max(bound, size))
    assert delivered[0] == small
    assert isinstance(delivered[1], Lost) and "1009" in delivered[1].reason
    assert closes == [1009]


def test_fragments_cover_the_text() -> None:
    assert _fragments("abcdef", [2, 4]) == ["ab", "cd", "ef"]
    assert _fragments("abcdef", [9]) == ["ab", "cdef"]  # 9 mod 7
    assert _fragments("", [3]) == [""]
