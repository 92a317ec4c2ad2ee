"""One node among its peers: its heartbeat, and the messages it forwards.

Only running work is node-local: a client's answer to a request another node
sent, or its cancellation of a request another node runs, may reach any node.
That node forwards it over the broker (the core says where, and encodes it);
the node running the work takes it here. A node heartbeats so that the others
can tell when it died (and answer the requests of its streams).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import trio

from ..cluster import BackendUnavailable
from ..protocol.jsonrpc import LocalProtocolError, Message, Notification, RemoteProtocolError
from ..protocol.nodes import (
    CANCEL_CHANNEL,
    ForwardedMessage,
    decode_forwarded,
    encode_forwarded,
    node_channel,
)
from ._node import Node
from ._sessions import LiveSession

__all__ = ["Peers"]

_log = logging.getLogger("scaled_mcp.runtime")

_Receive = Callable[[LiveSession, tuple[Message | RemoteProtocolError, ...]], Any]


#: Seconds between two attempts to listen on the peers' channel.
_RETRY: Final = 1.0


class Peers:
    """This node's link to the others; ``receive`` feeds a forwarded message
    to its session (:meth:`~scaled_mcp.runtime.Runtime.receive_messages`)."""

    __slots__ = ("_backend", "_node", "_receive")

    def __init__(self, node: Node, receive: _Receive) -> None:
        self._node = node
        self._backend = node.backend
        self._receive = receive

    async def forward(self, live: LiveSession) -> None:
        """Publish what the session queued for other nodes (``live.forward``)."""
        while live.forward:
            channel, message = live.forward.pop(0)
            payload = encode_forwarded(ForwardedMessage(live.session.session_id, message))
            await self._backend.broker.publish(channel, payload)

    async def heartbeat(self) -> None:
        """Tell the other nodes this one is alive (a dead node's streams are
        then recovered by whichever node a client resumes them on)."""
        ttl = self._node.config.node_heartbeat_ttl
        failing = False
        while True:
            try:
                await self._backend.nodes.heartbeat(
                    self._node.node_id, ttl=ttl, status=self._node.status()
                )
                if failing:
                    _log.info("heartbeat restored: the broker answers again")
                failing = False
            except BackendUnavailable as exc:
                # Once per outage, not once per beat: a broker down for an hour
                # would otherwise write thousands of lines (the rest at debug).
                _log.log(logging.DEBUG if failing else logging.WARNING, "heartbeat failed: %s", exc)
                failing = True
            await trio.sleep(ttl / 3)

    async def keep_listening(self) -> None:
        """Take what other nodes forward here, reconnecting if the channel is lost."""
        last_failure = -math.inf
        while True:
            try:
                await self._listen()
            except BackendUnavailable as exc:
                # A warning per outage (failures in a row, a second apart, are one).
                now = trio.current_time()
                level = logging.DEBUG if now - last_failure < _RETRY * 5 else logging.WARNING
                _log.log(level, "lost the peers' channel: %s", exc)
                last_failure = now
                await trio.sleep(_RETRY)

    async def _listen(self) -> None:
        """Take the messages other nodes forward to the work running here."""
        broker = self._backend.broker
        async with (
            broker.subscribe(node_channel(self._node.node_id)) as answers,
            broker.subscribe(CANCEL_CHANNEL) as cancels,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(self._take_forwarded, cancels)
            await self._take_forwarded(answers)

    async def _take_forwarded(self, messages: AsyncIterator[bytes]) -> None:
        sessions = self._node.sessions
        async for payload in messages:
            try:
                forwarded = decode_forwarded(payload)
            except LocalProtocolError:
                _log.warning("dropped a malformed message from another node")
                continue
            live = sessions.get(forwarded.session_id)
            if live is None:
                continue
            message = forwarded.message
            if type(message) is Notification and forwarded.cancelled_request not in live.running:
                continue  # not running here either
            self._receive(live, (message,))
            live.forward.clear()  # never forwarded twice
