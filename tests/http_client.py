"""A small HTTP/1.1 client on trio and h11 for tests that talk to a real socket.

Requests go on a fresh connection each (``Connection: close``); a response is
either read whole or, for SSE, event by event through the core's decoder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import attrs
import h11
import orjson
import trio

from scaled_mcp.protocol.sse import ServerSentEvent, SSEDecoder

from .helpers import INITIALIZED, initialize_request

JSON_AND_SSE = "application/json, text/event-stream"


@attrs.define
class Reply:
    """A response read whole."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class EventStream:
    """The events of an SSE response, read as they come."""

    def __init__(
        self, status: int, headers: dict[str, str], conn: h11.Connection, stream: trio.SocketStream
    ) -> None:
        self.status = status
        self.headers = headers
        self._conn = conn
        self._stream = stream
        self._decoder = SSEDecoder()
        self._pending: list[ServerSentEvent] = []
        self.ended = False

    async def _more(self) -> bool:
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                data = await self._stream.receive_some(65536)
                self._conn.receive_data(data)
                continue
            if type(event) is h11.Data:
                for item in self._decoder.feed(bytes(event.data)):
                    if isinstance(item, ServerSentEvent):
                        self._pending.append(item)
                return True
            self.ended = True
            return False

    async def next_event(self, wait: float = 5.0) -> ServerSentEvent | None:
        """The next event, or ``None`` once the stream has ended."""
        with trio.fail_after(wait):
            while not self._pending:
                if self.ended or not await self._more():
                    return None
        return self._pending.pop(0)

    async def next_message(self, wait: float = 5.0) -> dict[str, Any] | None:
        """The next event that carries a JSON-RPC message, decoded."""
        while True:
            event = await self.next_event(wait)
            if event is None:
                return None
            if event.data:
                message: dict[str, Any] = orjson.loads(event.data)
                return message

    async def rest(self, wait: float = 5.0) -> list[ServerSentEvent]:
        """Every event until the stream ends."""
        events = []
        while (event := await self.next_event(wait)) is not None:
            events.append(event)
        return events


class HttpClient:
    """Requests to one ``host:port``."""

    def __init__(self, host: str, port: int, *, host_header: str | None = None) -> None:
        self.host = host
        self.port = port
        self.host_header = host_header or f"localhost:{port}"

    async def _open(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[h11.Connection, trio.SocketStream, h11.Response]:
        stream = await trio.open_tcp_stream(self.host, self.port)
        conn = h11.Connection(h11.CLIENT)
        fields = [("host", self.host_header), ("connection", "close"), *headers.items()]
        if body or method == "POST":
            fields.append(("content-length", str(len(body))))
        data = conn.send(h11.Request(method=method, target=path, headers=fields))
        data += conn.send(h11.Data(data=body)) if body else b""
        data += conn.send(h11.EndOfMessage())
        await stream.send_all(data)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
                continue
            assert type(event) is h11.Response, event
            return conn, stream, event

    async def request(
        self, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> Reply:
        """Send a request; read the whole response."""
        with trio.fail_after(10):
            conn, stream, response = await self._open(method, path, headers or {}, body)
            parts = []
            async with stream:
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        conn.receive_data(await stream.receive_some(65536))
                    elif type(event) is h11.Data:
                        parts.append(bytes(event.data))
                    else:
                        break
        return Reply(response.status_code, _headers(response), b"".join(parts))

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> AsyncIterator[EventStream]:
        """Send a request; read the response's SSE events as they come."""
        with trio.fail_after(10):
            conn, stream, response = await self._open(method, path, headers or {}, body)
        async with stream:
            yield EventStream(response.status_code, _headers(response), conn, stream)


def _headers(response: h11.Response) -> dict[str, str]:
    return {name.decode().lower(): value.decode() for name, value in response.headers}


class McpHttp:
    """MCP over streamable HTTP on top of :class:`HttpClient`: enough of a client for tests."""

    def __init__(self, client: HttpClient, path: str = "/mcp") -> None:
        self.client = client
        self.path = path
        self.session_id: str | None = None
        self.protocol_version: str | None = None

    def headers(self, **extra: str) -> dict[str, str]:
        out = {"content-type": "application/json", "accept": JSON_AND_SSE}
        if self.session_id is not None:
            out["mcp-session-id"] = self.session_id
        if self.protocol_version is not None:
            out["mcp-protocol-version"] = self.protocol_version
        out.update({k.replace("_", "-"): v for k, v in extra.items()})
        return out

    async def post(self, message: Any, **extra: str) -> Reply:
        return await self.client.request(
            "POST", self.path, self.headers(**extra), orjson.dumps(message)
        )

    @asynccontextmanager
    async def post_stream(self, message: Any, **extra: str) -> AsyncIterator[EventStream]:
        async with self.client.stream(
            "POST", self.path, self.headers(**extra), orjson.dumps(message)
        ) as events:
            yield events

    async def initialize(
        self, version: str = "2025-11-25", capabilities: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        reply = await self.post(initialize_request(version, capabilities, request_id=0))
        assert reply.status == 200, reply
        self.session_id = reply.headers["mcp-session-id"]
        result: dict[str, Any] = reply.json()["result"]
        self.protocol_version = result["protocolVersion"]
        ack = await self.post(INITIALIZED)
        assert ack.status == 202, ack
        return result

    async def call(
        self, request_id: int, method: str, params: dict[str, Any] | None = None
    ) -> Reply:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        return await self.post(message)


def stateless_headers(method: str, name: str | None = None) -> dict[str, str]:
    """The headers of a 2026-07-28 POST."""
    headers = {
        "content-type": "application/json",
        "accept": JSON_AND_SSE,
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": method,
    }
    if name is not None:
        headers["mcp-name"] = name
    return headers
