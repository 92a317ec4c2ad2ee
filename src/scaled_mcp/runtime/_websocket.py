"""MCP over WebSocket on a node, whichever front carries the socket.

The upgrade is admitted as any request of the MCP endpoint is
(:func:`admit_upgrade`: Origin and Host, then the bearer token, 401/403 before
upgrading); then :func:`serve_websocket` serves the connection through a
:class:`WebSocketTransport` (``wsproto`` on the h11 front, ASGI's websocket on
hypercorn). What each frame means is the core's decision
(:mod:`scaled_mcp.protocol.websocket`); the messages are served as stdio's are
(:mod:`._duplex`).

Sessions (SEP-1288): a connection whose messages name no session is one
session, as stdio is (the official SDK 1.x clients); its id goes back on the
``initialize`` response as ``mcpSessionId``, and the session is kept in the
cluster's store like any other. A message naming a session (``mcpSessionId``)
continues it, on any node: a client that reconnects continues its session, and
the connection that held it before is closed with 1000 ("MCP session
reconnected on another connection"), wherever it is (the broker tells it).
The session's broadcasts (list changes, resource updates) reach the socket
from any node through the broker, as on stdio.

Backpressure: messages wait to be written in a queue of ``send_queue``; a
handler with more to send waits for room, up to ``send_timeout``, after which
the connection is closed (1008): a client that does not read cannot make the
server hold more than the queue. Keepalive: after ``ping_interval`` seconds
without a frame the server pings; no answer within ``pong_timeout`` closes the
connection (1001).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Protocol

import attrs
import trio

from ..cluster import BackendUnavailable
from ..protocol.http import HttpRequest, Reject
from ..protocol.jsonrpc import (
    Message,
    RemoteProtocolError,
    Request,
    RequestId,
    Response,
    error_response_for,
)
from ..protocol.nodes import BROADCAST_CHANNEL, decode_broadcast
from ..protocol.oauth import Principal
from ..protocol.versions import Era, allows_batches
from ..protocol.websocket import (
    RECONNECTED_REASON,
    AnswerError,
    CloseCode,
    CloseConnection,
    IncomingMessages,
    MessageAssembler,
    check_upgrade,
    encode_text,
    encode_text_batch,
    refusal_answers,
    too_many_requests_answers,
    unknown_session_answers,
)
from ._auth import current_principal, principal_key
from ._duplex import StatelessCalls, serve_session_messages, stateless_request
from ._front import ClientGone
from ._runtime import Runtime
from ._sessions import LiveSession
from ._websocket_config import WebSocketConfig

__all__ = [
    "BinaryData",
    "FramingFailed",
    "PeerClosed",
    "Pong",
    "TextData",
    "Upgrade",
    "WebSocketEvent",
    "WebSocketTransport",
    "admit_upgrade",
    "serve_websocket",
]

_log = logging.getLogger("scaled_mcp.websocket")


@attrs.frozen(slots=True)
class TextData:
    """A chunk of a text message (``finished`` on its last chunk)."""

    data: str
    finished: bool


@attrs.frozen(slots=True)
class BinaryData:
    """A chunk of a binary message."""

    data: bytes
    finished: bool


@attrs.frozen(slots=True)
class FramingFailed:
    """The client broke the framing (``code``: what the transport says, 1002 or 1007)."""

    code: int | None
    reason: str


@attrs.frozen(slots=True)
class PeerClosed:
    """The client closed (its close frame answered by the transport) or went away."""

    code: int | None


@attrs.frozen(slots=True)
class Pong:
    """The client answered a ping."""


#: What a transport reads from the client.
WebSocketEvent = TextData | BinaryData | FramingFailed | PeerClosed | Pong


class WebSocketTransport(Protocol):
    """One accepted WebSocket, as a front carries it.

    ``pings``: whether :meth:`ping` sends one (a front whose server pings by
    itself, as hypercorn does, says no). :meth:`send_text` raises
    :class:`ClientGone` once the client has gone; :meth:`close` sends the
    close frame and waits for the client's (the caller bounds the wait).
    """

    pings: bool

    async def receive(self) -> WebSocketEvent: ...
    async def send_text(self, text: str) -> None: ...
    async def ping(self, payload: bytes) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...


@attrs.frozen(slots=True)
class Upgrade:
    """An upgrade admitted: the subprotocol to answer, the caller's principal."""

    subprotocol: str
    principal: Principal | None


async def admit_upgrade(runtime: Runtime, request: HttpRequest) -> Upgrade | Reject:
    """Check an upgrade of the MCP endpoint before accepting it: the core's
    checks (:func:`~scaled_mcp.protocol.websocket.check_upgrade`), then, with
    authorization, the bearer token (``Authorization``, or offered as
    ``mcp.auth.<token>``): the :class:`Reject` to answer instead, if any."""
    offer = check_upgrade(request, runtime.config.http)
    if isinstance(offer, Reject):
        return offer
    auth = runtime.config.auth
    principal: Principal | None = None
    if auth is not None:
        assert offer.request is not None
        admitted = await auth.admit(offer.request)
        if isinstance(admitted, Reject):
            return admitted
        # The scopes every request of the server needs: 403 before upgrading.
        lacking = auth.refuse_scopes(admitted, (), None)
        if lacking is not None:
            return lacking
        principal = admitted
    return Upgrade(offer.subprotocol, principal)


async def serve_websocket(
    runtime: Runtime, upgrade: Upgrade, transport: WebSocketTransport
) -> None:
    """Serve one accepted WebSocket until it closes (see the module docstring)."""
    auth = runtime.config.auth
    token = auth.enter(upgrade.principal) if auth is not None and upgrade.principal else None
    try:
        await _Connection(runtime, transport).run()
    finally:
        if token is not None:
            assert auth is not None
            auth.leave(token)


def _takeover_channel(session_id: str) -> str:
    return f"ws-session:{session_id}"


class _Outlet:
    """The connection's :class:`~scaled_mcp.runtime._outlets.Outlet`: every message
    goes into the bounded queue the writer empties."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        #: ``initialize`` requests whose response names the session.
        self.announce: dict[RequestId, str] = {}

    async def begin_stream(self) -> None:
        return

    async def close_stream(self) -> None:
        return

    async def emit(self, message: Message) -> None:
        session_id = None
        if self.announce and type(message) is Response:
            session_id = self.announce.pop(message.id, None)
        await self._connection.queue(encode_text(message, session_id=session_id))

    async def finish(self, replies: list[Message], *, batch: bool, era: Era) -> None:
        if batch and replies:
            await self._connection.queue(encode_text_batch(replies))
            return
        for reply in replies:
            await self.emit(reply)


class _Connection:
    """One WebSocket's session, queue, keepalive and closing."""

    def __init__(self, runtime: Runtime, transport: WebSocketTransport) -> None:
        self.runtime = runtime
        self.transport = transport
        self.config: WebSocketConfig = runtime.config.websocket
        self.outlet = _Outlet(self)
        self.live: LiveSession | None = None
        self.stateless: StatelessCalls = {}
        self.token = secrets.token_hex(8).encode()
        self._send, self._receive = trio.open_memory_channel[str](self.config.send_queue)
        self.reading = trio.CancelScope()
        #: Why the server ends the connection (``None``: the client ended it).
        self.close_with: CloseConnection | None = None
        self.last_heard = trio.current_time()
        self.handlers: trio.Nursery | None = None
        self.background: trio.Nursery | None = None
        #: The scope of the work that holds the session (its broadcasts, takeovers).
        self.bound = trio.CancelScope()
        self.writing = False

    # -- closing ----------------------------------------------------------------

    def end(self, code: CloseCode, reason: str) -> None:
        """Stop reading: the connection closes with ``code`` once drained."""
        if self.close_with is None and not self.reading.cancel_called:
            self.close_with = CloseConnection(code, reason)
        self.reading.cancel()

    async def queue(self, text: str) -> None:
        """Queue one frame's text; waits for room up to ``send_timeout``."""
        if self.reading.cancel_called and self.close_with is None:
            return  # the client has gone
        try:
            self._send.send_nowait(text)
            return
        except trio.WouldBlock:
            pass
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return
        with trio.move_on_after(self.config.send_timeout) as waited:
            try:
                await self._send.send(text)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                return
        if waited.cancelled_caught:
            _log.info("closing a WebSocket whose client does not read its messages")
            self.end(CloseCode.POLICY_VIOLATION, "the client does not read its messages")

    # -- the connection's life ----------------------------------------------------

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as background:
                self.background = background
                writer_done = trio.Event()
                background.start_soon(self._writer, writer_done)
                background.start_soon(self._watch_node_closing)
                if self.transport.pings:
                    background.start_soon(self._keepalive)
                principal = current_principal()
                if principal is not None and principal.expires_at is not None:
                    background.start_soon(self._end_at_expiry, principal.expires_at)
                async with trio.open_nursery() as handlers:
                    self.handlers = handlers
                    closing: CloseConnection | None = None
                    with self.reading:
                        closing = await self._read()
                    if closing is not None and self.close_with is None:
                        self.close_with = closing
                    self.bound.cancel()
                    handlers.cancel_scope.deadline = trio.current_time() + self._drain_time()
                self._send.close()
                with trio.move_on_after(self.config.close_timeout):
                    await writer_done.wait()
                close = self.close_with
                if close is not None and not self.writing:
                    with trio.move_on_after(self.config.close_timeout), suppress(ClientGone):
                        await self.transport.close(close.code, close.reason)
                background.cancel_scope.cancel()
        finally:
            if self.live is not None:
                self.live.listening -= 1

    def _drain_time(self) -> float:
        close = self.close_with
        if close is None:
            return 0.0  # the client went: nobody to answer
        if close.code == CloseCode.GOING_AWAY:
            return self.runtime.config.shutdown_grace
        if close.code == CloseCode.NORMAL:
            return self.config.close_timeout
        return 0.0  # a broken client: its work ends now

    async def _writer(self, done: trio.Event) -> None:
        try:
            async for text in self._receive:
                self.writing = True
                try:
                    await self.transport.send_text(text)
                except ClientGone:
                    self.reading.cancel()
                    return
                finally:
                    self.writing = False
        finally:
            done.set()

    async def _watch_node_closing(self) -> None:
        await self.runtime.node.closing.wait()
        self.end(CloseCode.GOING_AWAY, "the server is shutting down")

    async def _end_at_expiry(self, expires_at: float) -> None:
        # The token was checked at the upgrade; the connection lasts no longer
        # than it does (the client reconnects with a fresh one).
        await trio.sleep(max(0.0, expires_at - time.time()))
        self.end(CloseCode.POLICY_VIOLATION, "the access token expired")

    async def _keepalive(self) -> None:
        interval = self.config.ping_interval
        while True:
            await trio.sleep_until(self.last_heard + interval)
            if trio.current_time() - self.last_heard < interval:
                continue
            pinged = trio.current_time()
            with suppress(ClientGone):
                await self.transport.ping(b"mcp")
            await trio.sleep(self.config.pong_timeout)
            if self.last_heard < pinged:
                self.end(CloseCode.GOING_AWAY, "no answer to a ping")
                return

    # -- reading ----------------------------------------------------------------------

    def _allow_batch(self) -> bool:
        version = self.live.session.protocol_version if self.live is not None else None
        return version is not None and allows_batches(version)

    async def _read(self) -> CloseConnection | None:
        assembler = MessageAssembler(max_message_size=self.config.max_message_size)
        while True:
            event = await self.transport.receive()
            self.last_heard = trio.current_time()
            kind = type(event)
            if kind is PeerClosed:
                return None
            if kind is TextData:
                assert isinstance(event, TextData)
                decision = assembler.text(
                    event.data, finished=event.finished, allow_batch=self._allow_batch()
                )
            elif kind is BinaryData:
                assert isinstance(event, BinaryData)
                decision = assembler.binary(event.data, finished=event.finished)
            elif kind is FramingFailed:
                assert isinstance(event, FramingFailed)
                decision = assembler.failed(event.code, event.reason)
            else:
                continue  # a pong: the client is there
            if decision is None:
                continue
            if type(decision) is CloseConnection:
                return decision
            if type(decision) is AnswerError:
                await self.outlet.emit(error_response_for(decision.error))
                continue
            assert type(decision) is IncomingMessages
            try:
                await self._incoming(decision)
            except BackendUnavailable:
                return CloseConnection(CloseCode.INTERNAL_ERROR, "the session store is unavailable")

    async def _incoming(self, decision: IncomingMessages) -> None:
        assert self.handlers is not None
        items, batch = decision.items, decision.batch
        if any(type(item) is Request for item in items):
            # The node's rate limit counts each message carrying requests, as it
            # counts each POST.
            wait = self.runtime.rate_limit_wait()
            if wait:
                for answer in too_many_requests_answers(items, wait):
                    await self.outlet.emit(answer)
                return
        if await self._refused_scopes(items):
            return
        handled = stateless_request(
            self.runtime, items, batch, self.outlet, self.handlers, self.stateless
        )
        if handled is not None:
            await handled
            return
        live = await self._bind(decision)
        if live is None:
            return
        for item in items:
            if type(item) is Request and item.method == "initialize":
                self.outlet.announce[item.id] = live.session.session_id
        await serve_session_messages(
            self.runtime, live, items, batch, self.outlet, self.handlers, saved=self._save
        )

    async def _refused_scopes(self, items: tuple[Message | RemoteProtocolError, ...]) -> bool:
        """With authorization: a message whose requests need a scope the token
        lacks is answered with the error a POST of it gets (its requests not run)."""
        auth = self.runtime.config.auth
        principal = current_principal()
        if auth is None or principal is None:
            return False
        scopes_of = getattr(self.runtime.app, "required_scopes", None)
        refused = auth.refuse_scopes(principal, items, scopes_of)
        if refused is None:
            return False
        for answer in refusal_answers(items, refused.message, code=refused.code):
            await self.outlet.emit(answer)
        return True

    async def _save(self, live: LiveSession, before: tuple[object, ...]) -> None:
        if live.forward:
            await self.runtime.forward(live)
        await self.runtime.node.sessions.save(live, before)

    # -- the connection's session ---------------------------------------------------------

    async def _bind(self, decision: IncomingMessages) -> LiveSession | None:
        named = decision.session_id
        if named is not None and (self.live is None or self.live.session.session_id != named):
            live = await self._resume(named)
            if live is None:
                initializing = any(
                    type(item) is Request and item.method == "initialize" for item in decision.items
                )
                if not initializing or self.live is not None:
                    await self._unknown_session(decision)
                    return None
                live = await self._new_session()
                if live is None:
                    return None
            await self._adopt(live, resumed=live.session.session_id == named)
        elif self.live is None:
            live = await self._new_session()
            if live is None:
                return None
            await self._adopt(live, resumed=False)
        return self.live

    async def _unknown_session(self, decision: IncomingMessages) -> None:
        for answer in unknown_session_answers(decision.items):
            await self.outlet.emit(answer)

    async def _new_session(self) -> LiveSession | None:
        """A new session of this connection, unless the node serves ``max_sessions``
        (the session unused longest is ended first, as for an HTTP ``initialize``):
        the connection then closes with 1013."""
        config = self.runtime.config
        sessions = self.runtime.node.sessions
        if len(sessions) >= config.max_sessions:
            idlest = sessions.idlest(time.time() - config.evict_idle_after)
            if idlest is not None:
                await sessions.terminate(idlest)
        if len(sessions) >= config.max_sessions:
            self.end(CloseCode.TRY_AGAIN_LATER, "this node serves too many sessions")
            return None
        session = sessions.new_session()
        session.owner = principal_key()
        live = LiveSession(session)
        sessions.add(live)
        return live

    async def _resume(self, session_id: str) -> LiveSession | None:
        node = self.runtime.node
        state = await node.backend.sessions.load(session_id)
        if state is None or state.owner != principal_key():
            # A session answers only the principal that created it.
            return None
        return node.sessions.take(state)

    async def _adopt(self, live: LiveSession, *, resumed: bool) -> None:
        if self.live is not None:
            self.live.listening -= 1
            self.bound.cancel()
        self.live = live
        live.listening += 1  # a client connected is not idle
        self.bound = trio.CancelScope()
        broker = self.runtime.node.backend.broker
        channel = _takeover_channel(live.session.session_id)
        if resumed:
            # SEP-1288: the connection that held the session before is closed.
            with suppress(BackendUnavailable):
                await broker.publish(channel, self.token)
        assert self.background is not None
        await self.background.start(self._hold_session, live, channel, self.bound)

    async def _hold_session(
        self,
        live: LiveSession,
        channel: str,
        scope: trio.CancelScope,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """While the connection holds ``live``: its broadcasts go out, it is kept
        alive in the store, and a connection that takes it over elsewhere closes
        this one."""
        broker = self.runtime.node.backend.broker
        with scope:
            async with (
                broker.subscribe(channel) as takeovers,
                broker.subscribe(BROADCAST_CHANNEL) as broadcasts,
            ):
                task_status.started()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._forward_broadcasts, live, broadcasts)
                    nursery.start_soon(self._touch, live)
                    async for token in takeovers:
                        if token != self.token:
                            self.end(CloseCode.NORMAL, RECONNECTED_REASON)
                            return

    async def _touch(self, live: LiveSession) -> None:
        """Keep the session from expiring in the store while its client is connected
        (a client listening is not idle), as a GET stream does."""
        ttl = self.runtime.config.session_idle_timeout
        while True:
            await trio.sleep(ttl / 3)
            with suppress(BackendUnavailable):
                await self.runtime.node.backend.sessions.touch(live.session.session_id, ttl=ttl)

    async def _forward_broadcasts(
        self, live: LiveSession, broadcasts: AsyncIterator[bytes]
    ) -> None:
        async for payload in broadcasts:
            notification = decode_broadcast(payload).notification
            if live.session.wants_broadcast(notification):
                await self.outlet.emit(notification)
