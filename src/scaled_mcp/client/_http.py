"""The streamable HTTP transport (2025-03-26 and later) on ``httpx2``.

Each message is POSTed; the answer is a JSON body or an SSE stream read in the
background. After the handshake the client may open the GET stream for what
the server sends on its own. transports (resumability): a stream that drops
before it delivered its answer is resumed with a GET carrying
``Last-Event-ID``, after the delay the core's :class:`SSEResumption` decides
(the server's ``retry`` field, then a bounded backoff); when it cannot be
resumed, the request's answer is reported lost, never waited for. On close the
session is ended with a DELETE. Headers, and what a response status means,
are the core's decisions (``post_headers``, ``classify_http_response``).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Final

import httpx2
import trio

from ..protocol.client import (
    HttpAnswer,
    SSEResumption,
    classify_http_response,
    delete_headers,
    error_in_body,
    get_headers,
    post_headers,
)
from ..protocol.jsonrpc import (
    ErrorResponse,
    Message,
    RemoteProtocolError,
    Request,
    RequestId,
    Response,
    decode_body,
    decode_message,
    encode_message,
)
from ..protocol.sse import ServerSentEvent
from ._errors import ConnectionLost, SessionExpired, http_status_error
from ._transport import Inbound, Lost, ParamHeaders

__all__ = ["DEFAULT_MAX_BODY_SIZE", "StreamableHttpTransport", "read_limited"]

_log = logging.getLogger("scaled_mcp.client")

#: The largest JSON answer (or error body) read, in bytes; a larger one is refused.
DEFAULT_MAX_BODY_SIZE: Final = 16 * 1024 * 1024
#: Seconds the DELETE that ends a session may take on close.
_DELETE_DEADLINE: Final = 2.0
_SESSION_ID_HEADER: Final = "mcp-session-id"


async def read_limited(response: httpx2.Response, limit: int = DEFAULT_MAX_BODY_SIZE) -> bytes:
    """The body of ``response``, refused past ``limit`` bytes."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise ConnectionLost(f"the server's answer is larger than {limit} bytes")
    return bytes(body)


class StreamableHttpTransport:
    """One MCP endpoint URL over streamable HTTP, through ``http`` (owned: closed on close)."""

    def __init__(
        self, url: str, http: httpx2.AsyncClient, *, max_body_size: int = DEFAULT_MAX_BODY_SIZE
    ) -> None:
        self.protocol_version: str | None = None
        #: The ``Mcp-Session-Id`` the server gave (handshake era), ``None`` before or without one.
        self.session_id: str | None = None
        self._url = url
        self._http = http
        self._max_body_size = max_body_size
        self._nursery: trio.Nursery | None = None
        self._inbound: trio.MemorySendChannel[Inbound] | None = None
        self._closing = False
        # The cancel scopes of the background stream readers, cancelled on close.
        self._readers: set[trio.CancelScope] = set()
        # The readers of POST streams, by the request they answer.
        self._answering: dict[RequestId, trio.CancelScope] = {}

    async def start(self, nursery: trio.Nursery, inbound: trio.MemorySendChannel[Inbound]) -> None:
        """Nothing to connect yet: the first POST opens the connection."""
        self._nursery = nursery
        self._inbound = inbound

    async def send(self, message: Message, *, param_headers: ParamHeaders | None = None) -> None:
        """POST ``message``; its answer is delivered (at once from a JSON body,
        from a background task reading an SSE stream)."""
        assert self._nursery is not None and self._inbound is not None
        headers = post_headers(
            message,
            protocol_version=self.protocol_version,
            session_id=self.session_id,
            param_headers=param_headers,
        )
        request = self._http.build_request(
            "POST", self._url, content=encode_message(message), headers=headers
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx2.HTTPError as exc:
            raise ConnectionLost(f"POST {self._url} failed: {exc!r}") from None
        request_id = message.id if type(message) is Request else None
        handed_over = False
        try:
            session_id = response.headers.get(_SESSION_ID_HEADER)
            if session_id is not None and self.session_id is None:
                self.session_id = session_id
            answer = classify_http_response(
                response.status_code,
                response.headers.get("content-type"),
                has_session=self.session_id is not None,
            )
            if answer is HttpAnswer.ACCEPTED:
                return
            if answer is HttpAnswer.SSE:
                self._nursery.start_soon(self._background, response, request_id)
                handed_over = True
                return
            body = await self._read_body(response)
            if answer is HttpAnswer.JSON:
                await self._deliver_body(body, request_id)
                return
            if answer is HttpAnswer.SESSION_GONE:
                self.session_id = None
                raise SessionExpired()
            error = error_in_body(body)
            if error is not None and request_id is not None:
                # A JSON-RPC error in a 4xx answer (-32022, a header mismatch ...)
                # is the request's answer.
                reply = ErrorResponse(request_id, error.code, error.message, error.data)
                await self._inbound.send(reply)
                return
            raise http_status_error(self._url, response.status_code, body)
        except httpx2.HTTPError as exc:
            raise ConnectionLost(f"reading the answer from {self._url} failed: {exc!r}") from None
        finally:
            if not handed_over:
                with trio.CancelScope(shield=True):
                    await response.aclose()

    async def _read_body(self, response: httpx2.Response) -> bytes:
        return await read_limited(response, self._max_body_size)

    async def _deliver_body(self, body: bytes, request_id: RequestId | None) -> None:
        """Deliver a JSON answer's messages; a request it does not answer has lost its answer."""
        assert self._inbound is not None
        try:
            decoded = decode_body(body, allow_batch=True)
        except RemoteProtocolError as exc:
            raise ConnectionLost(f"the server's answer is not JSON-RPC: {exc.message}") from None
        answered = False
        for item in decoded.items:
            if isinstance(item, RemoteProtocolError):
                _log.warning("the server sent an invalid message: %s", item.message)
                continue
            if type(item) in (Response, ErrorResponse) and item.id == request_id:  # type: ignore[union-attr]
                answered = True
            await self._inbound.send(item)
        if request_id is not None and not answered:
            await self._inbound.send(Lost((request_id,), "the JSON answer did not answer it"))

    async def open_server_stream(self) -> None:
        """Open the GET stream (a server without one answers 405) and read it in
        the background. Returns once the server answered the GET, so that the
        stream is there before the client's next request."""
        assert self._nursery is not None
        response = await self._get(
            get_headers(protocol_version=self.protocol_version, session_id=self.session_id)
        )
        if response is not None:
            self._nursery.start_soon(self._background, response, None)

    async def _background(self, response: httpx2.Response, request_id: RequestId | None) -> None:
        """Read a POST's stream or the GET stream (``request_id`` ``None``) until
        it ends or the transport closes."""
        assert self._inbound is not None
        with trio.CancelScope() as scope:
            self._readers.add(scope)
            if request_id is not None:
                self._answering[request_id] = scope
            try:
                if self._closing:
                    scope.cancel()
                await self._read_stream(response, request_id)
            except Exception:
                if not self._closing:
                    _log.exception("reading an SSE stream from %s failed", self._url)
                if request_id is not None:
                    with trio.move_on_after(1), contextlib.suppress(trio.BrokenResourceError):
                        await self._inbound.send(Lost((request_id,), "reading the stream failed"))
            finally:
                self._readers.discard(scope)
                if request_id is not None and self._answering.get(request_id) is scope:
                    del self._answering[request_id]

    def forget(self, request_id: RequestId) -> None:
        """Stop reading the answer to ``request_id``: its stream is closed
        (2026-07-28: closing the stream is how a client cancels a request)."""
        scope = self._answering.pop(request_id, None)
        if scope is not None:
            scope.cancel()

    async def _get(self, headers: list[tuple[str, str]]) -> httpx2.Response | None:
        """A GET stream, or ``None`` if the server has none to give."""
        request = self._http.build_request("GET", self._url, headers=headers)
        try:
            response = await self._http.send(request, stream=True)
        except httpx2.HTTPError as exc:
            _log.info("GET %s failed: %r", self._url, exc)
            return None
        answer = classify_http_response(
            response.status_code,
            response.headers.get("content-type"),
            has_session=self.session_id is not None,
        )
        if answer is not HttpAnswer.SSE:
            with trio.CancelScope(shield=True):
                await response.aclose()
            return None
        return response

    async def _read_stream(self, response: httpx2.Response, request_id: RequestId | None) -> None:
        """Deliver a stream's messages; resume it while it drops before its answer.

        ``request_id`` is the POST's request (``None``: the GET stream, resumed
        for as long as the core allows, then given up quietly).
        """
        assert self._inbound is not None
        resumption = SSEResumption()
        answered = False
        current: httpx2.Response | None = response
        while True:
            if current is not None:
                answered = await self._pump(current, request_id, resumption) or answered
            if answered or self._closing:
                return
            delay = resumption.next_delay()
            if delay is None:
                if request_id is not None:
                    await self._inbound.send(
                        Lost((request_id,), "the stream carrying the answer dropped")
                    )
                return
            await trio.sleep(delay)
            headers = resumption.resume_headers(
                protocol_version=self.protocol_version, session_id=self.session_id
            )
            current = await self._get(headers)

    async def _pump(
        self, response: httpx2.Response, request_id: RequestId | None, resumption: SSEResumption
    ) -> bool:
        """Read one SSE response to its end; whether it carried the answer to ``request_id``."""
        assert self._inbound is not None
        decoder = resumption.decoder()
        answered = False
        try:
            async for chunk in response.aiter_bytes():
                items = decoder.feed(chunk)
                resumption.observe(decoder, items)
                for item in items:
                    if type(item) is not ServerSentEvent:
                        continue
                    if item.event != "message" or not item.data.strip():
                        continue  # a priming event, or an empty one
                    try:
                        message = decode_message(item.data)
                    except RemoteProtocolError as exc:
                        _log.warning("the server sent an invalid message: %s", exc.message)
                        continue
                    if (
                        request_id is not None
                        and type(message) in (Response, ErrorResponse)
                        and message.id == request_id  # type: ignore[union-attr]
                    ):
                        answered = True
                    await self._inbound.send(message)
        except (httpx2.HTTPError, RemoteProtocolError) as exc:
            _log.info("an SSE stream from %s dropped: %r", self._url, exc)
        finally:
            with trio.CancelScope(shield=True):
                await response.aclose()
        return answered

    async def aclose(self) -> None:
        """End the session (DELETE, when there is one) and close the HTTP client."""
        self._closing = True
        for scope in self._readers:
            scope.cancel()
        with trio.CancelScope(shield=True):
            if self.session_id is not None:
                headers = delete_headers(
                    protocol_version=self.protocol_version, session_id=self.session_id
                )
                with trio.move_on_after(_DELETE_DEADLINE):
                    try:
                        await self._http.delete(self._url, headers=headers)
                    except httpx2.HTTPError as exc:
                        _log.info("DELETE %s failed: %r", self._url, exc)
            with trio.move_on_after(_DELETE_DEADLINE):
                await self._http.aclose()
