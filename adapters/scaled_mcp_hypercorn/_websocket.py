"""ASGI ``websocket`` scopes served by the runtime's WebSocket session (hypercorn's front).

The upgrade is admitted as on the h11 front
(:func:`~scaled_mcp.runtime.admit_upgrade`); a refusal is answered with its
HTTP status through ASGI's ``websocket.http.response`` extension (hypercorn
has it), else by closing before accepting (hypercorn then answers 403).
hypercorn assembles messages (bounded by ``websocket_max_message_size``,
closing with 1009 past it; :func:`serve` sets it from the runtime's
:class:`~scaled_mcp.runtime.WebSocketConfig`), answers pings and validates
UTF-8 itself. ASGI has no way to send a ping, and hypercorn's own pinger is
left off (it races the connection's other writes): on this front the server
does not ping.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from scaled_mcp.protocol.http import HttpRequest, Reject
from scaled_mcp.runtime import (
    BinaryData,
    ClientGone,
    PeerClosed,
    Runtime,
    TextData,
    WebSocketEvent,
    admit_upgrade,
    serve_websocket,
)

__all__ = ["serve_asgi_websocket"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _AsgiTransport:
    """A :class:`~scaled_mcp.runtime.WebSocketTransport` over ASGI messages."""

    pings = False  # ASGI cannot send one

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._closed = False

    async def _out(self, message: Message) -> None:
        if self._closed:
            raise ClientGone
        try:
            await self._send(message)
        except OSError:
            self._closed = True
            raise ClientGone from None

    async def receive(self) -> WebSocketEvent:
        if self._closed:
            return PeerClosed(None)
        message = await self._receive()
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                return TextData(text, True)
            return BinaryData(message.get("bytes") or b"", True)
        self._closed = True
        return PeerClosed(message.get("code"))

    async def send_text(self, text: str) -> None:
        await self._out({"type": "websocket.send", "text": text})

    async def ping(self, payload: bytes) -> None:
        return

    async def close(self, code: int, reason: str) -> None:
        if not self._closed:
            await self._out({"type": "websocket.close", "code": code, "reason": reason})
            self._closed = True


async def _refuse(scope: Scope, send: Send, reject: Reject) -> None:
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in reject.headers]
        await send(
            {"type": "websocket.http.response.start", "status": reject.status, "headers": headers}
        )
        await send({"type": "websocket.http.response.body", "body": reject.body})
        return
    await send({"type": "websocket.close", "code": 1008})


async def serve_asgi_websocket(
    runtime: Runtime, scope: Scope, receive: Receive, send: Send
) -> None:
    """Serve one ASGI ``websocket`` scope of the MCP endpoint."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    target = scope["path"]
    query = scope.get("query_string", b"")
    if query:
        target = f"{target}?{query.decode('latin-1')}"
    headers = tuple(
        [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
    )
    if not any(name == "upgrade" for name, _ in headers):
        # HTTP/2 (RFC 8441) carries no Upgrade header: the scope is the upgrade.
        headers = (*headers, ("upgrade", "websocket"))
    request = HttpRequest.from_parsed("GET", target, headers)
    admitted = await admit_upgrade(runtime, request)
    if isinstance(admitted, Reject):
        await _refuse(scope, send, admitted)
        return
    await send({"type": "websocket.accept", "subprotocol": admitted.subprotocol})
    try:
        await serve_websocket(runtime, admitted, _AsgiTransport(receive, send))
    except ClientGone:
        return
