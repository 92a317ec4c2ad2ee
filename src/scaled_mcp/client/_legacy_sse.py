"""The 2024-11-05 HTTP+SSE transport: a GET stream, and POSTs to the endpoint it names.

2024-11-05 transports (HTTP with SSE): "When a client connects, the server
MUST send an ``endpoint`` event containing a URI for the client to use for
sending messages. All subsequent client messages MUST be sent as HTTP POST
requests to this endpoint. Server messages are sent as SSE ``message``
events". Every answer arrives on the one stream; when it ends, every request
in flight has lost its answer.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Final

import httpx2
import trio

from ..protocol.client import HttpAnswer, classify_http_response, legacy_post_url, post_headers
from ..protocol.http import LEGACY_ENDPOINT_EVENT
from ..protocol.jsonrpc import (
    ErrorCode,
    Message,
    RemoteProtocolError,
    RequestId,
    decode_message,
    encode_message,
)
from ..protocol.sse import ServerSentEvent, SSEDecoder
from ._errors import ClientError, ConnectionLost, http_status_error
from ._http import read_limited
from ._transport import Inbound, Lost, ParamHeaders

__all__ = ["LegacySseTransport"]

_log = logging.getLogger("scaled_mcp.client")

#: Seconds the server gets to name its POST endpoint once the stream is open.
ENDPOINT_DEADLINE: Final = 10.0


class LegacySseTransport:
    """A 2024-11-05 server whose SSE stream is at ``url``, through ``http`` (owned)."""

    def __init__(self, url: str, http: httpx2.AsyncClient) -> None:
        self.protocol_version: str | None = None
        self._url = url
        self._http = http
        self._post_url: str | None = None
        self._endpoint = trio.Event()
        self._inbound: trio.MemorySendChannel[Inbound] | None = None

    async def start(self, nursery: trio.Nursery, inbound: trio.MemorySendChannel[Inbound]) -> None:
        """Open the stream and wait (bounded) for the ``endpoint`` event."""
        self._inbound = inbound
        request = self._http.build_request(
            "GET", self._url, headers={"Accept": "text/event-stream"}
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx2.HTTPError as exc:
            raise ConnectionLost(f"GET {self._url} failed: {exc!r}") from None
        answer = classify_http_response(
            response.status_code, response.headers.get("content-type"), has_session=False
        )
        if answer is not HttpAnswer.SSE:
            with trio.CancelScope(shield=True):
                await response.aclose()
            raise ClientError(
                ErrorCode.INTERNAL_ERROR,
                f"GET {self._url}: HTTP {response.status_code}, not an SSE stream",
                {"status": response.status_code},
            )
        nursery.start_soon(self._read, response, inbound)
        with trio.move_on_after(ENDPOINT_DEADLINE):
            await self._endpoint.wait()
        if self._post_url is None:
            raise ConnectionLost(f"{self._url} named no endpoint to POST to")

    async def _read(
        self, response: httpx2.Response, inbound: trio.MemorySendChannel[Inbound]
    ) -> None:
        decoder = SSEDecoder()
        try:
            async for chunk in response.aiter_bytes():
                for item in decoder.feed(chunk):
                    if type(item) is not ServerSentEvent:
                        continue
                    if item.event == LEGACY_ENDPOINT_EVENT:
                        if self._post_url is None:
                            self._post_url = legacy_post_url(self._url, item.data)
                            self._endpoint.set()
                        continue
                    if item.event != "message" or not item.data.strip():
                        continue
                    try:
                        message = decode_message(item.data)
                    except RemoteProtocolError as exc:
                        _log.warning("the server sent an invalid message: %s", exc.message)
                        continue
                    await inbound.send(message)
        except (httpx2.HTTPError, RemoteProtocolError) as exc:
            _log.info("the SSE stream from %s dropped: %r", self._url, exc)
        finally:
            with trio.CancelScope(shield=True):
                await response.aclose()
                with trio.move_on_after(1):
                    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                        await inbound.send(Lost(None, "the server's SSE stream ended"))

    async def send(self, message: Message, *, param_headers: ParamHeaders | None = None) -> None:
        """POST ``message`` to the endpoint: accepted with ``202``, answered on the stream."""
        if self._post_url is None:
            raise ConnectionLost("the SSE stream is not open")
        headers = post_headers(message, protocol_version=None, session_id=None)
        try:
            async with self._http.stream(
                "POST", self._post_url, content=encode_message(message), headers=headers
            ) as response:
                if response.status_code // 100 != 2:
                    body = await read_limited(response, 4096)
                    raise http_status_error(self._post_url, response.status_code, body)
        except httpx2.HTTPError as exc:
            raise ConnectionLost(f"POST {self._post_url} failed: {exc!r}") from None

    def forget(self, request_id: RequestId) -> None:
        """Nothing to close: answers share one stream."""
        return

    async def open_server_stream(self) -> None:
        """The one stream is open already."""
        return

    async def aclose(self) -> None:
        """Close the stream and the HTTP client (the server ends the session)."""
        with trio.CancelScope(shield=True), trio.move_on_after(2.0):
            await self._http.aclose()
