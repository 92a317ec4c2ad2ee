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
import subprocess
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
from ._model import Failed, Skipped, TransportName

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
#: The most events read from one stream, and the most bytes of one answer.
MAX_EVENTS: Final = 1000
MAX_BODY: Final = 16 * 1024 * 1024
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
    returned: ``kind`` says which), under ``revision``, from ``source``."""

    revision: str
    source: str
    message: Any
    kind: str = "message"


class Tap:
    """Every JSON-RPC message the server sent during the run, bounded."""

    def __init__(self, limit: int = MAX_TAPPED) -> None:
        self.messages: list[TappedMessage] = []
        self.dropped = 0
        self._limit = limit

    def record(self, revision: str, source: str, message: Any, *, kind: str = "message") -> None:
        """Keep ``message`` (see :class:`TappedMessage`); past the limit only count it."""
        if len(self.messages) >= self._limit:
            self.dropped += 1
            return
        self.messages.append(TappedMessage(revision, source, message, kind))


@attrs.frozen
class HttpAnswer:
    """What the server answered an HTTP request: status, headers (lower-case names),
    the body (a JSON body, or the SSE stream as far as it was read), the SSE
    ``events`` and ``comments``, the JSON-RPC ``messages`` they carry (parsed JSON
    values; ``undecodable`` counts bodies or events that were not JSON), and
    whether a stream was ``ended`` by the server (rather than cut by the probe)."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    events: tuple[ServerSentEvent, ...] = ()
    comments: int = 0
    messages: tuple[Any, ...] = ()
    undecodable: int = 0
    ended: bool = True
    last_event_id: str = ""

    @property
    def content_type(self) -> str:
        """The media type, lower-case and without parameters (``""`` if none)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_sse(self) -> bool:
        """Whether the answer is an SSE stream."""
        return self.content_type == "text/event-stream"

    def response_to(self, request_id: RequestId | None) -> dict[str, Any] | None:
        """The JSON-RPC response (result or error) with ``request_id``, if one came."""
        for message in self.messages:
            if (
                isinstance(message, dict)
                and "method" not in message
                and message.get("id", ...) == request_id
                and type(message.get("id")) is type(request_id)
            ):
                return message
        return None

    def error_code(self, request_id: RequestId | None) -> int | None:
        """The JSON-RPC error code answering ``request_id``, ``None`` without one."""
        response = self.response_to(request_id)
        error = response.get("error") if response is not None else None
        code = error.get("code") if isinstance(error, dict) else None
        return code if type(code) is int else None

    def describe(self) -> str:
        """A short account, for a failure's reason."""
        text = self.body[:200].decode("utf-8", "replace").replace("\n", " ")
        return f"HTTP {self.status} {self.content_type or '(no content type)'} {text!r}"


def _decode_json(body: bytes) -> tuple[list[Any], int]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [], 1
    return (list(value) if isinstance(value, list) else [value]), 0


def _ids_in(body: object) -> set[Any]:
    """The ids of the requests in a JSON-RPC body (a message or a batch)."""
    items = body if isinstance(body, list) else [body]
    return {
        orjson.dumps(item["id"])
        for item in items
        if isinstance(item, dict) and "method" in item and "id" in item
    }


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
            return await self.pipe.exchange(body, self.probe)
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
        """Record a message the server sent, under this probe's revision."""
        self.tap.record(self.revision, source, message)

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
                            decoded, bad = _decode_json(item.data.encode())
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
            decoded, undecodable = _decode_json(bytes(body))
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
        ids = set() if isinstance(body, bytes) else _ids_in(body)
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


class StdioPipe:
    """A stdio server run as a child: JSON-RPC messages one a line each way."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._buffer = bytearray()

    @classmethod
    async def start(cls, command: Sequence[str]) -> StdioPipe:
        """Run ``command`` (its stderr discarded)."""
        process = await trio.lowlevel.open_process(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return cls(process)

    async def exchange(self, body: object, probe: Probe) -> HttpAnswer:
        """Write ``body`` as one line; read lines until every request of it is answered,
        the child ends its output, or the probe's timeout (``status`` is 0: no HTTP)."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        pending = {b"null"} if isinstance(body, bytes) else _ids_in(body)
        messages: list[Any] = []
        undecodable = 0
        ended = False
        try:
            await self._stdin.send_all(data + b"\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            ended = True
        with trio.move_on_after(probe.options.timeout):
            while pending and not ended:
                line_end = self._buffer.find(b"\n")
                if line_end < 0:
                    if len(self._buffer) > MAX_BODY:
                        raise Failed(f"a line longer than {MAX_BODY} bytes")
                    chunk = await self._stdout.receive_some(65536)
                    ended = not chunk
                    self._buffer += chunk
                    continue
                line = bytes(self._buffer[:line_end]).strip()
                del self._buffer[: line_end + 1]
                if not line:
                    continue
                decoded, bad = _decode_json(line)
                messages += decoded
                undecodable += bad
                for message in decoded:
                    probe.record(message, "raw")
                    if isinstance(message, dict) and "method" not in message:
                        key = orjson.dumps(message.get("id"))
                        # A null id answers what could not be read: nothing else will come.
                        pending = set() if message.get("id") is None else pending - {key}
        return HttpAnswer(
            status=0, headers={}, messages=tuple(messages), undecodable=undecodable, ended=ended
        )

    async def aclose(self) -> None:
        """Close the child's stdin, give it a moment to exit, then kill it."""
        with trio.CancelScope(shield=True):
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await self._stdin.aclose()
            with trio.move_on_after(2):
                await self._process.wait()
            if self._process.returncode is None:
                self._process.kill()
                await self._process.wait()


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
