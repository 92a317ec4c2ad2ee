"""The WebSocket transport (``ws://`` and ``wss://``): wsproto over a trio socket.

MCP over WebSocket as SEP-1288 proposes it: the upgrade asks for the ``mcp``
subprotocol, and "all messages MUST be sent as UTF-8 encoded text frames", one
JSON-RPC message a frame; a binary frame ends the connection with close code
1003 (Unsupported Data). One connection carries everything both ways: answers,
the server's requests and notifications, so there is no server stream to open.

In the handshake era a connection carries one session, as stdio does: when it
drops, what was in flight is lost, and the next request reconnects and raises
:class:`SessionExpired`, so that the client starts a new session before the
call after it. In the stateless era (2026-07-28) every request stands alone:
the next request reconnects and goes on. The transport pings the server every
``ping_interval`` seconds and gives the connection up when no pong comes within
``ping_timeout``. What the reader holds is bounded: one message of at most
``max_message_size`` bytes (past it: close code 1009), and the client's inbound
channel, which it waits on (backpressure on the socket) rather than buffering.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import ssl
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection as WsCloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import (
    LocalProtocolError as WsLocalProtocolError,
    RemoteProtocolError as WsRemoteProtocolError,
)

from ..protocol.jsonrpc import (
    ErrorCode,
    ErrorResponse,
    Message,
    RemoteProtocolError,
    Request as JsonRpcRequest,
    RequestId,
    Response,
)
from ..protocol.versions import STATELESS_VERSIONS
from ..protocol.websocket import (
    DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE,
    SUBPROTOCOL,
    AnswerError,
    CloseCode,
    CloseConnection,
    IncomingMessages,
    MessageAssembler,
    WebSocketDecision,
    client_subprotocols,
    encode_text,
)
from ._errors import ClientError, ConnectionLost, SessionExpired, http_status_error
from ._transport import Inbound, Lost, ParamHeaders

__all__ = ["DEFAULT_PING_INTERVAL", "DEFAULT_PING_TIMEOUT", "WebSocketTransport"]

_log = logging.getLogger("scaled_mcp.client")

#: Seconds between the keepalive pings (``None``: no pings).
DEFAULT_PING_INTERVAL: Final = 20.0
#: Seconds a ping's pong may take before the connection is given up.
DEFAULT_PING_TIMEOUT: Final = 20.0
#: Seconds the close handshake may take on close: then the socket is closed regardless.
_CLOSE_DEADLINE: Final = 2.0
#: The most bytes of a refused upgrade's body kept for the error.
_REJECT_BODY_LIMIT: Final = 4096
_READ_SIZE: Final = 65536


class _Closed(Exception):
    """The connection ended: why, for the requests it leaves unanswered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Connection:
    """One open WebSocket: the stream, its wsproto state, and the lock its writers share."""

    def __init__(self, stream: trio.abc.Stream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.lock = trio.Lock()
        self.closed = trio.Event()
        #: Why the connection ended, once it has.
        self.reason: str | None = None
        #: A request this connection carried opened a session (``initialize``).
        self.has_session = False
        #: Our requests sent on this connection and not answered yet.
        self.in_flight: set[RequestId] = set()
        #: Our own requests (the ``ping`` that checks a resumed session), answered or not.
        self.probes: dict[RequestId, trio.Event] = {}
        self.probe_answered_ok = False
        #: The payload of the ping awaiting its pong, and the event its pong sets.
        self.pong: tuple[bytes, trio.Event] | None = None

    async def send_event(self, event: Event) -> None:
        """Write ``event``'s bytes; frames are produced and written under one lock, in order."""
        async with self.lock:
            if self.ws.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
                raise _Closed(self.reason or "the WebSocket is closed")
            data = self.ws.send(event)
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise _Closed(f"the WebSocket connection broke: {exc!r}") from None


class WebSocketTransport:
    """One MCP endpoint at a ``ws://`` or ``wss://`` URL.

    ``headers`` go on every upgrade request (``Authorization`` among them);
    ``ssl_context`` verifies a ``wss://`` server (default: the system's CAs).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ping_interval: float | None = DEFAULT_PING_INTERVAL,
        ping_timeout: float = DEFAULT_PING_TIMEOUT,
        max_message_size: int = DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"not a ws(s):// URL: {url!r}")
        self.protocol_version: str | None = None
        #: The session the server named (``mcpSessionId``), named in our messages from then on.
        self.session_id: str | None = None
        self._url = url
        self._secure = parts.scheme == "wss"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._secure else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        default_port = parts.port is None or parts.port == (443 if self._secure else 80)
        self._host_header = host if default_port else f"{host}:{parts.port}"
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = dict(headers or {})
        self._ssl_context = ssl_context
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._max_message_size = max_message_size
        self._nursery: trio.Nursery | None = None
        self._inbound: trio.MemorySendChannel[Inbound] | None = None
        self._connection: _Connection | None = None
        self._connecting = trio.Lock()
        self._pings = itertools.count(1)
        self._closing = False

    @property
    def connected(self) -> bool:
        """Whether a WebSocket is open now."""
        connection = self._connection
        return connection is not None and not connection.closed.is_set()

    async def start(self, nursery: trio.Nursery, inbound: trio.MemorySendChannel[Inbound]) -> None:
        """Open the WebSocket (TCP, TLS for ``wss://``, the upgrade) and read it in ``nursery``.

        Raises :class:`ClientError` when the server refuses the upgrade (its HTTP
        status in ``data``) or does not speak the ``mcp`` subprotocol."""
        self._nursery = nursery
        self._inbound = inbound
        await self._connect()

    async def _connect(self) -> _Connection:
        assert self._nursery is not None and self._inbound is not None
        try:
            stream: trio.abc.Stream = await trio.open_tcp_stream(self._host, self._port)
        except OSError as exc:
            raise ConnectionLost(f"cannot connect to {self._url}: {exc}") from None
        try:
            if self._secure:
                context = self._ssl_context or ssl.create_default_context()
                tls = trio.SSLStream(stream, context, server_hostname=self._host)
                try:
                    await tls.do_handshake()
                except (trio.BrokenResourceError, ssl.SSLError) as exc:
                    raise ConnectionLost(f"TLS with {self._url} failed: {exc!r}") from None
                stream = tls
            ws = WSConnection(ConnectionType.CLIENT)
            connection = _Connection(stream, ws)
            await self._upgrade(connection)
        except BaseException:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)
            raise
        self._connection = connection
        self._nursery.start_soon(self._read, connection, self._inbound)
        if self._ping_interval is not None:
            self._nursery.start_soon(self._keepalive, connection, self._ping_interval)
        return connection

    async def _upgrade(self, connection: _Connection) -> None:
        """The opening handshake: our upgrade request, and the server's answer to it."""
        request = Request(
            host=self._host_header,
            target=self._target,
            subprotocols=client_subprotocols(),
            extra_headers=[(k.encode(), v.encode()) for k, v in self._headers.items()],
        )
        try:
            await connection.stream.send_all(connection.ws.send(request))
        except (trio.BrokenResourceError, OSError) as exc:
            raise ConnectionLost(f"the upgrade request to {self._url} failed: {exc!r}") from None
        status: int | None = None
        body = bytearray()
        while True:
            try:
                data = await connection.stream.receive_some(_READ_SIZE)
            except (trio.BrokenResourceError, OSError) as exc:
                raise ConnectionLost(f"{self._url} dropped the upgrade: {exc!r}") from None
            try:
                connection.ws.receive_data(bytes(data) or None)
                # Read lazily: frames after the answer stay in wsproto's buffer for the reader.
                for event in connection.ws.events():
                    if self._upgraded(event, status, body):
                        return
                    if isinstance(event, RejectConnection):
                        status = event.status_code
            except WsRemoteProtocolError as exc:
                raise ConnectionLost(f"{self._url} answered the upgrade badly: {exc}") from None
            if not data:
                if status is not None:
                    raise http_status_error(self._url, status, bytes(body))
                raise ConnectionLost(f"{self._url} closed the connection during the upgrade")

    def _upgraded(self, event: Event, status: int | None, body: bytearray) -> bool:
        """Whether ``event`` accepts the upgrade; raises when it refuses it."""
        if isinstance(event, AcceptConnection):
            if event.subprotocol != SUBPROTOCOL:
                raise ClientError(
                    ErrorCode.INTERNAL_ERROR,
                    f"{self._url} did not accept the {SUBPROTOCOL!r} subprotocol",
                    {"subprotocol": event.subprotocol},
                )
            return True
        if isinstance(event, RejectConnection):
            if not event.has_body:
                raise http_status_error(self._url, event.status_code, b"")
        elif isinstance(event, RejectData):
            if len(body) < _REJECT_BODY_LIMIT:
                body += event.data
            if event.body_finished:
                raise http_status_error(self._url, status or 0, bytes(body))
        return False

    async def send(self, message: Message, *, param_headers: ParamHeaders | None = None) -> None:
        """Send ``message`` in one text frame; after a drop, reconnect first (see the module)."""
        if self._closing:
            raise ConnectionLost("the transport is closed")
        connection = self._connection
        if connection is None or connection.closed.is_set():
            connection = await self._reconnect(message)
        if _opens_session(message):
            connection.has_session = True
            self.session_id = None
        text = encode_text(message, session_id=self.session_id)
        if type(message) is JsonRpcRequest:
            connection.in_flight.add(message.id)
        try:
            await connection.send_event(TextMessage(data=text))
        except _Closed as exc:
            raise ConnectionLost(exc.reason) from None

    async def _reconnect(self, message: Message) -> _Connection:
        """A new connection in place of one that ended. In the handshake era the
        session goes on where the server named it (``mcpSessionId``); where it
        did not, it is gone (``SessionExpired``) unless ``message`` opens one."""
        async with self._connecting:
            previous = self._connection
            if previous is not None and not previous.closed.is_set():
                return previous
            connection = await self._connect()
        if previous is None or not previous.has_session or _opens_session(message):
            return connection
        if self.protocol_version in STATELESS_VERSIONS:
            return connection
        if self.session_id is not None:
            connection.has_session = True
            if await self._continues(connection):
                _log.info("the WebSocket closed (%s): the session goes on", previous.reason)
                return connection
            self.session_id = None
            reason = (
                f"the server no longer knows the session (the WebSocket closed: {previous.reason})"
            )
        else:
            reason = f"the WebSocket carrying the session closed ({previous.reason})"
        raise SessionExpired(f"{reason}; a new session starts with the next request")

    async def _continues(self, connection: _Connection) -> bool:
        """Whether the server continues our named session on ``connection``: a
        ``ping`` naming it is answered (a server that lost it answers an error)."""
        probe = JsonRpcRequest(f"scaled-mcp-resume-{next(self._pings)}", "ping", None)
        answered = trio.Event()
        connection.probes[probe.id] = answered
        try:
            await connection.send_event(
                TextMessage(data=encode_text(probe, session_id=self.session_id))
            )
            with trio.move_on_after(self._ping_timeout):
                await answered.wait()
        except _Closed as exc:
            raise ConnectionLost(exc.reason) from None
        finally:
            del connection.probes[probe.id]
        if not answered.is_set():
            raise ConnectionLost(f"the server did not answer within {self._ping_timeout:g} s")
        return connection.probe_answered_ok

    def forget(self, request_id: RequestId) -> None:
        """Nothing to close: every answer shares the one connection."""
        return

    async def open_server_stream(self) -> None:
        """Nothing to open: the server sends on the same connection."""
        return

    async def _read(
        self, connection: _Connection, inbound: trio.MemorySendChannel[Inbound]
    ) -> None:
        reason = "the WebSocket closed"
        try:
            reason = await self._read_messages(connection, inbound)
        except _Closed as exc:
            reason = exc.reason
        finally:
            # A reason set first (the keepalive's) says more than the broken read it caused.
            reason = connection.reason = connection.reason or reason
            connection.closed.set()
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(connection.stream)
                with (
                    trio.move_on_after(1),
                    contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError),
                ):
                    # Only this connection's requests: a new one may carry others already.
                    await inbound.send(Lost(tuple(connection.in_flight), reason))

    async def _read_messages(
        self, connection: _Connection, inbound: trio.MemorySendChannel[Inbound]
    ) -> str:
        """Deliver every message until the connection ends; why it ended. What
        each frame means is the core's decision (:class:`MessageAssembler`)."""
        ws = connection.ws
        assembler = MessageAssembler(max_message_size=self._max_message_size)
        # Frames that arrived with the upgrade's answer are already in wsproto's buffer.
        data: bytes | None = b""
        while True:
            if data is None or data:
                try:
                    ws.receive_data(data)
                except WsRemoteProtocolError as exc:
                    return f"the server broke the WebSocket protocol: {exc}"
            for event in ws.events():
                decision: WebSocketDecision | None = None
                if isinstance(event, TextMessage):
                    decision = assembler.text(
                        event.data, finished=event.message_finished, allow_batch=True
                    )
                elif isinstance(event, BytesMessage):
                    decision = assembler.binary(bytes(event.data), finished=event.message_finished)
                elif isinstance(event, Ping):
                    with contextlib.suppress(_Closed):
                        await connection.send_event(event.response())
                elif isinstance(event, Pong):
                    waiting = connection.pong
                    if waiting is not None and waiting[0] == event.payload:
                        waiting[1].set()
                elif isinstance(event, WsCloseConnection):
                    if ws.state is ConnectionState.REMOTE_CLOSING:
                        with contextlib.suppress(_Closed):
                            await connection.send_event(event.response())
                    elif ws.state is ConnectionState.OPEN:
                        # wsproto's report of a framing failure, not a close from the server.
                        decision = assembler.failed(event.code, event.reason or "")
                    else:
                        return _close_reason(event.code, event.reason)
                    if decision is None:
                        return _close_reason(event.code, event.reason)
                if isinstance(decision, CloseConnection):
                    await self._close(connection, decision.code, decision.reason)
                    # RFC 6455, 7.1.1: the TCP connection is closed once the
                    # server answered the close (or the wait is over).
                    with trio.move_on_after(_CLOSE_DEADLINE):
                        await self._until_close_answered(connection)
                    code, why = int(decision.code), decision.reason
                    return f"the client closed the WebSocket with code {code}: {why}"
                if isinstance(decision, AnswerError):
                    _log.warning("the server sent an invalid message: %s", decision.error.message)
                elif isinstance(decision, IncomingMessages):
                    await self._deliver(connection, decision, inbound)
            if data is None:
                return "the server closed the connection"
            try:
                data = bytes(await connection.stream.receive_some(_READ_SIZE)) or None
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                return f"the WebSocket connection broke: {exc!r}"

    async def _until_close_answered(self, connection: _Connection) -> None:
        """Read (and drop) what comes until the server's close frame or the end."""
        while connection.ws.state is ConnectionState.LOCAL_CLOSING:
            try:
                data = bytes(await connection.stream.receive_some(_READ_SIZE)) or None
                connection.ws.receive_data(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return
            except WsRemoteProtocolError:
                return
            for _ in connection.ws.events():
                pass
            if data is None:
                return

    async def _deliver(
        self,
        connection: _Connection,
        incoming: IncomingMessages,
        inbound: trio.MemorySendChannel[Inbound],
    ) -> None:
        if incoming.session_id is not None and self.session_id is None:
            # SEP-1288 names the session in the messages: we name it in ours from now on.
            self.session_id = incoming.session_id
        for item in incoming.items:
            if isinstance(item, RemoteProtocolError):
                _log.warning("the server sent an invalid message: %s", item.message)
            else:
                if isinstance(item, Response | ErrorResponse) and item.id is not None:
                    probe = connection.probes.get(item.id)
                    if probe is not None:
                        connection.probe_answered_ok = isinstance(item, Response)
                        probe.set()
                        continue
                    connection.in_flight.discard(item.id)
                await inbound.send(item)

    async def _keepalive(self, connection: _Connection, interval: float) -> None:
        """Ping every ``interval`` seconds; no pong within the timeout ends the connection."""
        while not connection.closed.is_set():
            with trio.move_on_after(interval):
                await connection.closed.wait()
                return
            payload = str(next(self._pings)).encode()
            answered = trio.Event()
            connection.pong = (payload, answered)
            try:
                await connection.send_event(Ping(payload=payload))
            except _Closed:
                return
            with trio.move_on_after(self._ping_timeout):
                await answered.wait()
            if not answered.is_set():
                connection.reason = f"no pong within {self._ping_timeout:g} s"
                _log.info("the server did not answer a ping: closing the WebSocket")
                await trio.aclose_forcefully(connection.stream)
                return

    async def _close(self, connection: _Connection, code: int, reason: str) -> None:
        """Start the close handshake with ``code`` (the reader then ends the connection)."""
        with contextlib.suppress(_Closed, WsLocalProtocolError):
            await connection.send_event(WsCloseConnection(code=code, reason=reason))

    async def aclose(self) -> None:
        """The close handshake (1000), bounded in time; then the socket is closed."""
        self._closing = True
        connection = self._connection
        if connection is None:
            return
        with trio.CancelScope(shield=True):
            if not connection.closed.is_set():
                await self._close(connection, CloseCode.NORMAL, "")
                with trio.move_on_after(_CLOSE_DEADLINE):
                    await connection.closed.wait()
            await trio.aclose_forcefully(connection.stream)


def _opens_session(message: Message) -> bool:
    return type(message) is JsonRpcRequest and message.method == "initialize"


def _close_reason(code: int, reason: str | None) -> str:
    """What a close frame says, in words."""
    words = f"the server closed the WebSocket with code {code}"
    return f"{words}: {reason}" if reason else words
