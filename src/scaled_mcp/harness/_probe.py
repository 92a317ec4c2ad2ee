"""What a check gets: :class:`Probe`, the server under test at one revision on one transport.

A probe sends what a check asks, byte for byte if it wants (:meth:`Probe.post`,
:meth:`Probe.get`, :meth:`Probe.delete` over HTTP), opens fresh raw sessions
(:meth:`Probe.session`: ``initialize`` and ``notifications/initialized`` in the
handshake era, the ``_meta`` envelope in the stateless one; a child process
over stdio) and hands out the run's connected :class:`~scaled_mcp.client.Client`
(:meth:`Probe.client`). Every JSON-RPC message the server sends to the raw
operations is recorded in the run's :class:`Tap` with its revision, so that a
final check can validate them all against the official schema; checks that use
the client record what it returns with :meth:`Tap.record`.

Every wait has the run's deadline (``options.timeout``); reading a stream stops
at a bound on its events and bytes.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

import attrs
import httpx2
import orjson
import trio

from ..client import Client
from ..protocol.client import post_headers
from ..protocol.jsonrpc import RemoteProtocolError, RequestId, message_from_json
from ..protocol.sse import ServerSentEvent, SSEComment, SSEDecoder
from ..protocol.versions import STATELESS_VERSIONS
from ._answer import MAX_BODY, HttpAnswer, decode_json, ids_in
from ._model import Failed, Skipped, TransportName
from ._stdio_pipe import StdioPipe

__all__ = [
    "ACCEPT_BOTH",
    "HttpAnswer",
    "Probe",
    "ProbeOptions",
    "RawSession",
    "Tap",
    "TappedMessage",
    "initialize_request",
    "make_client",
]

#: The ``Accept`` of a well-behaved streamable-HTTP POST.
ACCEPT_BOTH: Final = "application/json, text/event-stream"
#: The most events read from one stream.
MAX_EVENTS: Final = 1000
#: The most messages the tap holds (later ones are counted, not kept).
MAX_TAPPED: Final = 20_000
#: The revisions whose requests carry ``MCP-Protocol-Version`` (2025-06-18 on).
_VERSION_HEADER_FROM: Final = "2025-06-18"


@attrs.frozen
class ProbeOptions:
    """How to reach and treat the server: extra ``headers``, a ``bearer`` token or an
    ``auth`` (``httpx2.Auth``, e.g. OAuth), TLS ``verify``, the ``timeout`` of each
    wait in seconds, the ``seed`` of generated arguments, ``call_tools``."""

    headers: Mapping[str, str] = attrs.Factory(dict)
    bearer: str | None = None
    auth: httpx2.Auth | None = None
    verify: bool = True
    timeout: float = 10.0
    seed: int = 0
    call_tools: bool = False

    def base_headers(self) -> dict[str, str]:
        """The headers every HTTP request carries."""
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.bearer is not None:
            headers["authorization"] = f"Bearer {self.bearer}"
        return headers


@attrs.frozen
class TappedMessage:
    """A JSON value the server sent (a JSON-RPC message, or what a client call
    returned: ``kind`` says which), under ``revision``, from ``source``, over ``transport``."""

    revision: str
    source: str
    message: Any
    kind: str = "message"
    transport: TransportName = "http"


class Tap:
    """Every JSON-RPC message the server sent during the run, bounded."""

    def __init__(self, limit: int = MAX_TAPPED) -> None:
        self.messages: list[TappedMessage] = []
        self.dropped = 0
        self._limit = limit

    def record(
        self,
        revision: str,
        source: str,
        message: Any,
        *,
        kind: str = "message",
        transport: TransportName = "http",
    ) -> None:
        """Keep ``message`` (see :class:`TappedMessage`); past the limit only count it."""
        if len(self.messages) >= self._limit:
            self.dropped += 1
            return
        self.messages.append(TappedMessage(revision, source, message, kind, transport))


@attrs.define
class RawSession:
    """A fresh session opened by the probe, at ``revision``.

    ``session_id`` is the ``Mcp-Session-Id`` the server gave (``None`` without one,
    and always in the stateless era); ``initialize_result`` is the result of
    ``initialize`` (or of ``server/discover``, ``{}`` when it gave none).
    """

    probe: Probe
    revision: str
    session_id: str | None = None
    initialize_result: dict[str, Any] = attrs.Factory(dict)
    #: Over stdio: the child process this session speaks to.
    pipe: StdioPipe | None = None
    _ids: itertools.count[int] = attrs.Factory(lambda: itertools.count(1))

    @property
    def stateless(self) -> bool:
        """Whether the session is of the stateless era (no handshake, ``_meta`` on each request)."""
        return self.revision in STATELESS_VERSIONS

    @property
    def capabilities(self) -> dict[str, Any]:
        """What the server declared it offers."""
        caps = self.initialize_result.get("capabilities")
        return caps if isinstance(caps, dict) else {}

    def next_id(self) -> int:
        """A request id not used before in this session."""
        return next(self._ids)

    def message(
        self, method: str, params: Mapping[str, Any] | None = None, *, request_id: Any = ...
    ) -> dict[str, Any]:
        """A request (a notification with ``request_id=None``) of this session, the
        stateless era's ``_meta`` envelope added to its params."""
        out: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if request_id is not None:
            out["id"] = self.next_id() if request_id is ... else request_id
        body_params = dict(params or {})
        if self.stateless:
            body_params["_meta"] = {**self.probe.envelope(), **body_params.get("_meta", {})}
        if body_params or params is not None:
            out["params"] = body_params
        return out

    def headers(self, body: object = None) -> dict[str, str]:
        """The HTTP headers a well-behaved client sends with ``body`` in this session."""
        version = self.revision if self.revision >= _VERSION_HEADER_FROM else None
        headers: dict[str, str] = {}
        try:
            message = message_from_json(body) if isinstance(body, dict) else None
        except RemoteProtocolError:
            message = None
        if message is not None:
            headers.update(post_headers(message, protocol_version=version))
        else:
            headers.update({"accept": ACCEPT_BOTH, "content-type": "application/json"})
            if version is not None:
                headers["mcp-protocol-version"] = version
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
        return headers

    async def send(
        self, body: object, headers: Mapping[str, str | None] | None = None
    ) -> HttpAnswer:
        """POST ``body`` (JSON-encoded unless bytes) in this session; ``headers`` override
        the session's (``None`` removes one). Over stdio, the body is one line."""
        if self.pipe is not None:
            probe = self.probe
            return await self.pipe.exchange(
                body,
                seconds=probe.options.timeout,
                record=lambda message: probe.record(message, "raw"),
            )
        return await self.probe.post(body, {**self.headers(body), **(headers or {})})

    async def request(self, method: str, params: Mapping[str, Any] | None = None) -> HttpAnswer:
        """Send a request and wait for its answer."""
        return await self.send(self.message(method, params))

    async def result(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """The result of a request; :class:`Failed` if the server answers with anything else."""
        body = self.message(method, params)
        answer = await self.send(body)
        response = answer.response_to(body["id"])
        if response is None or "result" not in response:
            raise Failed(f"{method} did not return a result: {answer.describe()}")
        return response["result"]

    async def close(self) -> None:
        """End the session with a DELETE (handshake era over HTTP), ignoring what it answers."""
        if self.session_id is not None and self.probe.transport == "http":
            with trio.move_on_after(self.probe.options.timeout):
                await self.probe.delete(self.headers())


class Probe:
    """The server at ``url`` (or ``command``), at ``revision``, over ``transport``.

    Made by the runner for each revision and transport; ``http`` is the run's
    HTTP client, ``tap`` its record of messages, ``rng`` seeded from ``options.seed``.
    """

    def __init__(
        self,
        *,
        url: str | None,
        revision: str,
        transport: TransportName,
        options: ProbeOptions,
        http: httpx2.AsyncClient | None,
        tap: Tap,
        client_source: Callable[[], Awaitable[Client]] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.url = url
        self.revision = revision
        self.transport: TransportName = transport
        self.options = options
        self.tap = tap
        self.rng = random.Random(options.seed)
        self.command = list(command) if command is not None else None
        self._http = http
        self._client_source = client_source
        self._pipes: list[StdioPipe] = []

    @property
    def stateless(self) -> bool:
        """Whether the revision under test is of the stateless era."""
        return self.revision in STATELESS_VERSIONS

    def envelope(self) -> dict[str, Any]:
        """The ``_meta`` envelope of a 2026-07-28 request."""
        return {
            "io.modelcontextprotocol/protocolVersion": self.revision,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "scaled-mcp-check", "version": "1"},
        }

    def record(self, message: Any, source: str) -> None:
        """Record a message the server sent, under this probe's revision and transport."""
        self.tap.record(self.revision, source, message, transport=self.transport)

    # -- the run's client --------------------------------------------------------------------

    async def client(self) -> Client:
        """The run's connected client at this revision (shared; do not close it), opened
        on first use; :class:`Failed` when it cannot connect."""
        if self._client_source is None:
            raise Skipped("no client for this probe")
        return await self._client_source()

    # -- raw HTTP ---------------------------------------------------------------------------

    def _need_http(self) -> tuple[httpx2.AsyncClient, str]:
        if self._http is None or self.url is None:
            raise Skipped("needs an HTTP transport")
        return self._http, self.url

    async def send_http(
        self,
        method: str,
        headers: Mapping[str, str | None],
        body: bytes = b"",
        *,
        wait_for: set[Any] | None = None,
        read_seconds: float | None = None,
        max_events: int = MAX_EVENTS,
        url: str | None = None,
    ) -> HttpAnswer:
        """One HTTP request, its answer read: a JSON body whole; an SSE stream until
        the responses to ``wait_for`` (encoded ids) came, ``max_events`` were read,
        ``read_seconds`` passed, the server ended it, or the run's timeout."""
        http, own_url = self._need_http()
        all_headers = {**self.options.base_headers()}
        for name, value in headers.items():
            if value is None:
                all_headers.pop(name.lower(), None)
            else:
                all_headers[name.lower()] = value
        request = http.build_request(method, url or own_url, headers=all_headers, content=body)
        try:
            with trio.fail_after(self.options.timeout):
                response = await http.send(request, stream=True)
        except trio.TooSlowError:
            raise Failed(f"no answer to {method} within {self.options.timeout:g} s") from None
        except httpx2.HTTPError as exc:
            raise Failed(f"{method} failed: {type(exc).__name__}: {exc}") from None
        try:
            return await self._read(response, wait_for, read_seconds, max_events)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await response.aclose()

    async def _read(
        self,
        response: httpx2.Response,
        wait_for: set[Any] | None,
        read_seconds: float | None,
        max_events: int,
    ) -> HttpAnswer:
        headers = {name.lower(): value for name, value in response.headers.items()}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        body = bytearray()
        events: list[ServerSentEvent] = []
        messages: list[Any] = []
        comments = undecodable = 0
        ended = False
        decoder = SSEDecoder()
        pending = set(wait_for or ())
        deadline = self.options.timeout if read_seconds is None else read_seconds
        with trio.move_on_after(deadline):
            try:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise Failed(f"the answer is larger than {MAX_BODY} bytes")
                    if content_type != "text/event-stream":
                        continue
                    for item in decoder.feed(chunk):
                        if isinstance(item, SSEComment):
                            comments += 1
                            continue
                        events.append(item)
                        if item.data:
                            decoded, bad = decode_json(item.data.encode())
                            messages += decoded
                            undecodable += bad
                            for message in decoded:
                                if isinstance(message, dict) and "method" not in message:
                                    pending.discard(orjson.dumps(message.get("id")))
                    if (wait_for and not pending) or len(events) >= max_events:
                        break
                else:
                    ended = True
            except RemoteProtocolError as exc:
                raise Failed(f"the SSE stream is malformed: {exc}") from None
            except httpx2.HTTPError:
                ended = True  # the server dropped the connection: the stream is over
        if content_type != "text/event-stream" and body:
            if not ended:
                raise Failed(f"the body was not complete within {deadline:g} s")
            decoded, undecodable = decode_json(bytes(body))
            messages += decoded if content_type == "application/json" else []
        for message in messages:
            self.record(message, "raw")
        return HttpAnswer(
            status=response.status_code,
            headers=headers,
            body=bytes(body),
            events=tuple(events),
            comments=comments,
            messages=tuple(messages),
            undecodable=undecodable,
            ended=ended,
            last_event_id=decoder.last_event_id,
        )

    async def post(
        self,
        body: object,
        headers: Mapping[str, str | None] | None = None,
        **read: Any,
    ) -> HttpAnswer:
        """POST ``body`` (JSON-encoded unless bytes) with ``headers`` (by default those of
        a client before any session: JSON, both ``Accept`` types); an SSE answer is
        read until every request of the body is answered (see :meth:`send_http`)."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        base: dict[str, str | None] = {"content-type": "application/json", "accept": ACCEPT_BOTH}
        base.update(headers or {})
        ids = set() if isinstance(body, bytes) else ids_in(body)
        read.setdefault("wait_for", ids)
        return await self.send_http("POST", base, data, **read)

    async def get(
        self, headers: Mapping[str, str | None], *, read_seconds: float = 1.0, **read: Any
    ) -> HttpAnswer:
        """GET (an SSE stream, with ``Accept: text/event-stream`` unless ``headers`` say
        otherwise), read for ``read_seconds`` at most."""
        base: dict[str, str | None] = {"accept": "text/event-stream"}
        base.update(headers)
        base.pop("content-type", None)
        return await self.send_http("GET", base, read_seconds=read_seconds, **read)

    async def delete(self, headers: Mapping[str, str | None]) -> HttpAnswer:
        """DELETE with ``headers``."""
        base = dict(headers)
        base.pop("content-type", None)
        return await self.send_http("DELETE", base)

    @contextlib.asynccontextmanager
    async def open_events(
        self, headers: Mapping[str, str], *, url: str | None = None
    ) -> AsyncIterator[tuple[int, Mapping[str, str], AsyncIterator[ServerSentEvent]]]:
        """GET an SSE stream and keep it open: its status, headers and events (read as the
        caller iterates; it bounds its own waits)."""
        http, own_url = self._need_http()
        all_headers = {**self.options.base_headers(), "accept": "text/event-stream"}
        all_headers.update({name.lower(): value for name, value in headers.items()})
        request = http.build_request("GET", url or own_url, headers=all_headers)
        try:
            with trio.fail_after(self.options.timeout):
                response = await http.send(request, stream=True)
        except trio.TooSlowError:
            raise Failed(f"no answer to GET within {self.options.timeout:g} s") from None
        except httpx2.HTTPError as exc:
            raise Failed(f"GET failed: {type(exc).__name__}: {exc}") from None

        async def events() -> AsyncIterator[ServerSentEvent]:
            decoder = SSEDecoder()
            try:
                async for chunk in response.aiter_bytes():
                    for item in decoder.feed(chunk):
                        if isinstance(item, ServerSentEvent):
                            if item.event == "message" and item.data:
                                for message in decode_json(item.data.encode())[0]:
                                    self.record(message, "raw")
                            yield item
            except RemoteProtocolError as exc:
                raise Failed(f"the SSE stream is malformed: {exc}") from None

        try:
            headers_out = {name.lower(): value for name, value in response.headers.items()}
            yield response.status_code, headers_out, events()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await response.aclose()

    # -- raw sessions -------------------------------------------------------------------------

    async def session(self, *, initialized: bool = True) -> RawSession:
        """A fresh session at this revision: ``initialize`` (and, if ``initialized``,
        ``notifications/initialized``); in the stateless era, nothing to open.
        :class:`Failed` when the server does not accept the revision."""
        session = await self.fresh_session()
        if self.stateless:
            # 2026-07-28: "server/discover" says what the server offers (no handshake).
            answer = await session.request("server/discover")
            response = answer.response_to(1)
            result = response.get("result") if response is not None else None
            session.initialize_result = result if isinstance(result, dict) else {}
            return session
        body = initialize_request(self.revision, request_id=0)
        answer = await session.send(body)
        response = answer.response_to(0)
        result = response.get("result") if response is not None else None
        if not isinstance(result, dict):
            raise Failed(f"initialize at {self.revision} failed: {answer.describe()}")
        if result.get("protocolVersion") != self.revision:
            raise Failed(
                f"initialize at {self.revision} negotiated {result.get('protocolVersion')!r}"
            )
        session.initialize_result = result
        session.session_id = answer.headers.get("mcp-session-id")
        if initialized:
            await session.send(session.message("notifications/initialized", request_id=None))
        return session

    async def fresh_session(self) -> RawSession:
        """A session at this revision with nothing sent yet (over stdio, a new child)."""
        session = RawSession(self, self.revision)
        if self.transport == "stdio":
            if not self.command:
                raise Skipped("no command to run")
            session.pipe = await StdioPipe.start(self.command)
            self._pipes.append(session.pipe)
        return session

    async def aclose(self) -> None:
        """End what the last check left running (the children of stdio sessions)."""
        pipes, self._pipes = self._pipes, []
        for pipe in pipes:
            await pipe.aclose()


def initialize_request(
    revision: str, *, request_id: RequestId = 0, capabilities: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A handshake-era ``initialize`` request for ``revision``."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": revision,
            "capabilities": dict(capabilities or {}),
            "clientInfo": {"name": "scaled-mcp-check", "version": "1"},
        },
    }


def make_client(
    url_or_command: str | Sequence[str], revision: str, options: ProbeOptions
) -> Client:
    """The run's :class:`Client` at ``revision`` (not yet entered)."""
    return Client(
        url_or_command,
        protocol_version=revision,
        headers=dict(options.headers) or None,
        bearer=options.bearer,
        auth=options.auth,
        verify=options.verify,
        timeout=options.timeout,
    )
