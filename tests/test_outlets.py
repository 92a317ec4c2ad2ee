"""Where a POST's messages go: one JSON body, or an SSE stream begun on demand,
its state moving only by the outlet's table."""

from __future__ import annotations

from typing import cast

import orjson
import pytest

from scaled_mcp.protocol.http import Headers
from scaled_mcp.protocol.jsonrpc import ErrorResponse, Notification, Response
from scaled_mcp.protocol.versions import Era
from scaled_mcp.runtime import ClientGone
from scaled_mcp.runtime._node import Node
from scaled_mcp.runtime._outlets import OUTLET_TRANSITIONS, OutletState, PostOutlet

NOTE = Notification("notifications/message", {"level": "info", "data": 1})


class FakeResponder:
    """Records what the outlet sends; ``gone_after`` sends, the client goes."""

    def __init__(self, gone_after: int | None = None) -> None:
        self.started = False
        self.answers: list[tuple[int, Headers, bytes]] = []
        self.sent: list[bytes] = []
        self.ended = False
        self._gone_after = gone_after

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.answers.append((status, headers, body))

    async def start(self, status: int, headers: Headers) -> None:
        self.started = True

    async def send(self, data: bytes) -> None:
        if self._gone_after is not None and len(self.sent) >= self._gone_after:
            raise ClientGone
        self.sent.append(data)

    async def end(self) -> None:
        self.ended = True

    async def wait_disconnected(self) -> None:
        raise AssertionError("not watched here")


class FakeNode:
    def __init__(self) -> None:
        self.streams = 0

    def new_stream_id(self) -> str:
        self.streams += 1
        return f"n1-{self.streams}"


def outlet(responder: FakeResponder, *, prefer_stream: bool = False) -> PostOutlet:
    # No log session (the stateless wire): the node only numbers the stream.
    node = cast(Node, FakeNode())
    return PostOutlet(node, responder, None, priming=False, prefer_stream=prefer_stream)


def test_the_states_move_one_way() -> None:
    assert set(OUTLET_TRANSITIONS) == set(OutletState)
    assert OUTLET_TRANSITIONS[OutletState.PENDING] == {OutletState.STREAMING}
    assert OUTLET_TRANSITIONS[OutletState.STREAMING] == {OutletState.DETACHED}
    assert not OUTLET_TRANSITIONS[OutletState.DETACHED]


async def test_replies_with_nothing_emitted_are_one_json_body() -> None:
    responder = FakeResponder()
    out = outlet(responder)
    await out.finish([Response(1, {})], batch=False, era=Era.HANDSHAKE)
    assert out.state is OutletState.PENDING
    assert [a[0] for a in responder.answers] == [200]
    assert not responder.started


async def test_the_first_emit_begins_the_stream() -> None:
    responder = FakeResponder()
    out = outlet(responder)
    await out.emit(NOTE)
    assert out.state is OutletState.STREAMING
    await out.finish([Response(1, {})], batch=False, era=Era.HANDSHAKE)
    assert responder.started and not responder.answers
    assert [orjson.loads(d.split(b"data: ", 1)[1]) for d in responder.sent] == [
        {"jsonrpc": "2.0", "method": "notifications/message", "params": NOTE.params},
        {"jsonrpc": "2.0", "id": 1, "result": {}},
    ]


async def test_a_preferred_stream_begins_for_the_reply_but_not_for_a_status() -> None:
    responder = FakeResponder()
    out = outlet(responder, prefer_stream=True)
    await out.finish([Response(1, {})], batch=False, era=Era.STATELESS)
    assert out.state is OutletState.STREAMING and len(responder.sent) == 1
    responder = FakeResponder()
    out = outlet(responder, prefer_stream=True)
    not_found = ErrorResponse(2, -32601, "Method not found: x")
    await out.finish([not_found], batch=False, era=Era.STATELESS)
    assert out.state is OutletState.PENDING
    assert [a[0] for a in responder.answers] == [404]


async def test_a_client_gone_detaches_the_stream() -> None:
    responder = FakeResponder(gone_after=1)
    out = outlet(responder)
    await out.emit(NOTE)
    await out.emit(NOTE)  # the client went: nothing more is sent
    assert out.state is OutletState.DETACHED
    await out.emit(NOTE)
    assert len(responder.sent) == 1


async def test_closing_the_stream_detaches_it_once() -> None:
    responder = FakeResponder()
    out = outlet(responder)
    await out.close_stream()
    assert out.state is OutletState.DETACHED and responder.ended
    await out.close_stream()
    await out.emit(NOTE)
    assert responder.sent == []


@pytest.mark.parametrize("state", list(OutletState))
def test_a_move_off_the_table_is_refused(state: OutletState) -> None:
    out = outlet(FakeResponder())
    out.state = state
    for target in set(OutletState) - OUTLET_TRANSITIONS[state]:
        with pytest.raises(RuntimeError):
            out._move(target)
        assert out.state is state
