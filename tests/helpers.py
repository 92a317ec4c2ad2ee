"""What the tests share: the messages a client opens with, a context for calling an
app directly, the app the runtime tests serve, a node serving on a front, and a
client that talks to a node in memory (no socket: the autojump clock can run).

No test module imports another; what two of them need lives here (or, for a
client on a real socket, in ``http_client``).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import orjson
import trio
from hypothesis import strategies as st

from scaled_mcp import Context, McpError, MCPServer, ToolError
from scaled_mcp.protocol.http import Headers, HttpRequest
from scaled_mcp.protocol.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
)
from scaled_mcp.protocol.sse import ServerSentEvent, SSEComment, SSEDecoder, SSEItem
from scaled_mcp.protocol.stateless import InputRequest
from scaled_mcp.protocol.versions import Era
from scaled_mcp.runtime import ClientGone, Runtime, RuntimeConfig, SessionStateHandle, serve_h11
from scaled_mcp_hypercorn import serve as serve_hypercorn

# -- messages ---------------------------------------------------------------------------

#: What a client sends once ``initialize`` is answered.
INITIALIZED: Final[dict[str, Any]] = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def initialize_request(
    version: str = "2025-11-25",
    capabilities: dict[str, Any] | None = None,
    *,
    request_id: RequestId = 1,
) -> dict[str, Any]:
    """A handshake-era client's ``initialize`` request."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "tests", "version": "1"},
        },
    }


def stateless_meta(capabilities: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    """The ``_meta`` envelope of a 2026-07-28 request."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities or {},
        "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "1"},
    }
    meta.update(more)
    return meta


def lines(*messages: object) -> bytes:
    """``messages`` as newline-delimited JSON, as a stdio client writes them."""
    return b"".join(orjson.dumps(message) + b"\n" for message in messages)


def text_of(result: Mapping[str, Any]) -> str:
    """The text of a tool result's first content block."""
    return str(result["content"][0]["text"])


# -- calling an app directly ------------------------------------------------------------


class BareExchange:
    """The smallest Exchange: a handshake-era request that asks nothing of the client."""

    era = Era.HANDSHAKE
    request_id: RequestId = 1
    protocol_version = "2025-11-25"
    session_id = "s"
    client_info: Mapping[str, Any] = {"name": "tests", "version": "1"}
    client_capabilities: Mapping[str, Any] = {}
    progress_token = None
    lifespan: Any = None

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        return None

    async def log(self, level: str, data: Any, logger: str | None) -> None:
        return None

    async def ask(
        self, method: str, params: dict[str, Any], answer_within: float
    ) -> dict[str, Any]:
        raise McpError(-32603, "no client here")

    def answer(self, key: str, question: InputRequest) -> dict[str, Any] | None:
        return None

    def answered(self) -> dict[str, Any]:
        return {}

    async def resource_updated(self, uri: str) -> None:
        return None

    async def close_stream(self) -> None:
        return None

    session_state = SessionStateHandle.unavailable("no session here")


def ctx() -> Context:
    """A context for ``app.handle(...)`` called with no transport around it."""
    return Context(BareExchange())


# -- the app the runtime tests serve ----------------------------------------------------


class Probe:
    """What the tools of :func:`make_app` saw, for the tests to check."""

    def __init__(self) -> None:
        self.cancelled = trio.Event()
        self.started = trio.Event()
        #: Set by a test to let ``held`` and ``reconnect`` go on.
        self.release = trio.Event()
        self.finished = 0


def make_app(probe: Probe) -> MCPServer:
    """The app the runtime tests serve, on any transport; its tools report to ``probe``."""
    app = MCPServer("runtime-tests", "1.0.0")

    @app.tool()
    async def echo(text: str) -> str:
        return text

    @app.tool()
    async def steps(ctx: Context, count: int = 3) -> str:
        for step in range(1, count + 1):
            await ctx.report_progress(step, count)
            await ctx.info(f"step {step}")
        return "done"

    @app.tool()
    async def ask_model(ctx: Context, prompt: str) -> str:
        result = await ctx.sample([prompt], max_tokens=10)
        return f"model said: {getattr(result.content, 'text', None)}"

    @app.tool()
    async def ask_user(ctx: Context) -> str:
        result = await ctx.elicit(
            "Name?", {"type": "object", "properties": {"name": {"type": "string"}}}
        )
        return f"{result.action}: {(result.content or {}).get('name')}"

    @app.tool()
    async def block(ctx: Context) -> str:
        probe.started.set()
        try:
            await trio.sleep_forever()
        finally:
            probe.cancelled.set()

    @app.tool()
    async def stream_then_block(ctx: Context) -> str:
        await ctx.report_progress(1, 2)
        probe.started.set()
        try:
            await trio.sleep_forever()
        finally:
            probe.cancelled.set()

    @app.tool()
    async def held() -> str:
        probe.started.set()
        await probe.release.wait()
        probe.finished += 1
        return "released"

    @app.tool()
    async def nap(seconds: float) -> str:
        await trio.sleep(seconds)
        return f"slept {seconds:g}"

    @app.tool()
    async def broken() -> str:
        raise RuntimeError("secret internals /etc/passwd")

    @app.tool()
    async def refuse() -> str:
        raise ToolError("not today")

    @app.tool()
    async def reconnect(ctx: Context) -> str:
        await ctx.close_sse_stream()
        await probe.release.wait()
        return "after the break"

    @app.tool()
    def blocking_sync(text: str) -> str:
        return text.upper()

    @app.resource("test://watched", mime_type="text/plain")
    async def watched() -> str:
        return "now"

    @app.resource("test://broken")
    async def broken_resource() -> str:
        raise RuntimeError("boom")

    return app


# -- a node on a front ------------------------------------------------------------------

#: The HTTP fronts a node can serve on.
FRONTS: Final = ("h11", "hypercorn")


async def start_front(front: str, runtime: Runtime, stop: trio.Event, nursery: trio.Nursery) -> int:
    """Serve ``runtime`` with ``front`` on a free 127.0.0.1 port until ``stop``; the port."""
    if front == "h11":
        listeners = await nursery.start(
            functools.partial(serve_h11, runtime, "127.0.0.1", 0, shutdown=stop)
        )
        return int(listeners[0].socket.getsockname()[1])
    bound = await nursery.start(
        functools.partial(serve_hypercorn, runtime, ["127.0.0.1:0"], shutdown=stop)
    )
    return int(bound[0].rpartition(":")[2])


@asynccontextmanager
async def serving(
    app: MCPServer, front: str, config: RuntimeConfig | None = None
) -> AsyncIterator[int]:
    """A node serving ``app`` on ``front`` for the duration of the context; its port."""
    runtime = Runtime(app, config=config or RuntimeConfig(shutdown_grace=1))
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        yield await start_front(front, runtime, stop, nursery)
        stop.set()


# -- a client in memory -----------------------------------------------------------------

#: What a client accepts on a POST.
JSON_AND_SSE: Final = "application/json, text/event-stream"


class MemoryResponder:
    """A :class:`~scaled_mcp.runtime.Responder` in memory: the answer to one
    request, kept for the test to read as it comes.

    It records the ``status``, the ``headers``, a complete response's ``body``
    and a streamed one's ``chunks``; a stream is decoded with the core's SSE
    decoder into ``items`` (events and comments), each with the trio time it
    arrived in ``times``; ``ended_at`` is when the response was over. Writes
    take no time, as on a socket that does not block, so on the autojump clock
    these times are exact. :meth:`disconnect` is the client going away:
    :meth:`wait_disconnected` returns, and later sends raise
    :class:`~scaled_mcp.runtime.ClientGone`. Breaking the Responder contract
    (a second head, a body before the head) fails the test.
    """

    def __init__(self) -> None:
        self.started = False
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.chunks: list[bytes] = []
        self.items: list[SSEItem] = []
        self.times: list[float] = []
        #: The head of a streamed response was sent and its body is open.
        self.streaming = False
        #: The response is over: sent whole, ended, or the runtime is done with it.
        self.ended = False
        #: The trio time the response was over.
        self.ended_at: float | None = None
        #: The client went away (:meth:`disconnect`).
        self.gone = False
        #: The trio time the item :meth:`next_item` returned last had arrived.
        self.read_at: float | None = None
        self._decoder = SSEDecoder()
        self._disconnected = trio.Event()
        self._next = 0
        self._changed = trio.lowlevel.ParkingLot()

    # -- the Responder protocol

    def _head(self, status: int, headers: Headers) -> None:
        assert not self.started, "a response has one head"
        self.started = True
        if self.gone:
            raise ClientGone
        self.status = status
        self.headers = dict(headers)

    # Each write is done at once unless already cancelled, then yields, as a
    # socket write that does not block does (``trio.SocketStream.send_all``).

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        self._head(status, headers)
        self.body = body
        self.close()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def start(self, status: int, headers: Headers) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        self._head(status, headers)
        self.streaming = True
        self._changed.unpark_all()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def send(self, data: bytes) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        assert self.started, "a body goes after its head"
        if self.gone or not self.streaming:
            raise ClientGone
        self.chunks.append(data)
        now = trio.current_time()
        for item in self._decoder.feed(data):
            self.items.append(item)
            self.times.append(now)
        self._changed.unpark_all()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def end(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        self.close()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_disconnected(self) -> None:
        await self._disconnected.wait()

    # -- what the client does

    def close(self) -> None:
        """End the response (what a front does when the runtime returns); idempotent."""
        self.streaming = False
        if not self.ended:
            self.ended = True
            self.ended_at = trio.current_time()
        self._changed.unpark_all()

    def disconnect(self) -> None:
        """The client goes away."""
        self.gone = True
        self._disconnected.set()
        self._changed.unpark_all()

    # -- reading the answer

    def json(self) -> Any:
        """The complete response's body, decoded."""
        assert self.ended and not self.chunks, "not a complete response"
        return orjson.loads(self.body)

    def events(self) -> list[ServerSentEvent]:
        """The events received so far (comments left out)."""
        return [item for item in self.items if isinstance(item, ServerSentEvent)]

    def messages(self) -> list[dict[str, Any]]:
        """The JSON-RPC messages received so far, decoded."""
        return [orjson.loads(event.data) for event in self.events() if event.data]

    def heartbeats(self) -> list[float]:
        """The trio times the comments (heartbeats) received so far arrived."""
        return [
            at
            for at, item in zip(self.times, self.items, strict=True)
            if isinstance(item, SSEComment)
        ]

    async def next_item(self, wait: float = 600.0) -> SSEItem | None:
        """The next event or comment, or ``None`` once the response is over
        (``wait`` is in seconds of the trio clock)."""
        with trio.fail_after(wait):
            while self._next == len(self.items):
                if self.ended or self.gone:
                    return None
                await self._changed.park()
        index = self._next
        self._next += 1
        self.read_at = self.times[index]
        return self.items[index]

    async def next_event(self, wait: float = 600.0) -> ServerSentEvent | None:
        """The next event (comments skipped), or ``None`` once the response is over."""
        while (item := await self.next_item(wait)) is not None:
            if isinstance(item, ServerSentEvent):
                return item
        return None

    async def next_message(self, wait: float = 600.0) -> dict[str, Any] | None:
        """The next event that carries a JSON-RPC message, decoded."""
        while (event := await self.next_event(wait)) is not None:
            if event.data:
                message: dict[str, Any] = orjson.loads(event.data)
                return message
        return None

    async def wait_started(self, wait: float = 600.0) -> None:
        """Return once the head was sent (or the response is over)."""
        with trio.fail_after(wait):
            while not self.started and not self.ended:
                await self._changed.park()

    async def wait_ended(self, wait: float = 600.0) -> None:
        """Return once the response is over."""
        with trio.fail_after(wait):
            while not self.ended:
                await self._changed.park()


def mcp_headers(
    session_id: str | None = None, version: str | None = None, **extra: str
) -> dict[str, str]:
    """The headers of a streamable-HTTP request (``last_event_id=`` is ``last-event-id``)."""
    headers = {"content-type": "application/json", "accept": JSON_AND_SSE}
    if session_id is not None:
        headers["mcp-session-id"] = session_id
    if version is not None:
        headers["mcp-protocol-version"] = version
    headers.update({name.replace("_", "-"): value for name, value in extra.items()})
    return headers


def http_request(
    method: str,
    body: object = b"",
    headers: Mapping[str, str] | None = None,
    *,
    path: str = "/mcp",
) -> HttpRequest:
    """The request a front would hand over; ``body`` is JSON-encoded unless bytes."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    fields = (("host", "localhost"), *((k.lower(), v) for k, v in (headers or {}).items()))
    return HttpRequest.from_parsed(method, path, fields, data)


async def answer_request(
    runtime: Runtime, request: HttpRequest, responder: MemoryResponder
) -> None:
    """Have ``runtime`` answer ``request``; the response ends when it returns, as on a front."""
    try:
        await runtime.handle_http(request, responder)
    finally:
        responder.close()


async def post(
    runtime: Runtime,
    body: object,
    headers: Mapping[str, str] | None = None,
    *,
    path: str = "/mcp",
) -> MemoryResponder:
    """POST ``body`` and wait for the whole answer."""
    responder = MemoryResponder()
    await answer_request(runtime, http_request("POST", body, headers, path=path), responder)
    return responder


def post_stream(
    nursery: trio.Nursery,
    runtime: Runtime,
    body: object,
    headers: Mapping[str, str] | None = None,
    *,
    path: str = "/mcp",
) -> MemoryResponder:
    """POST ``body`` in the background: its answer, to read as it comes."""
    responder = MemoryResponder()
    request = http_request("POST", body, headers, path=path)
    nursery.start_soon(answer_request, runtime, request, responder)
    return responder


def get(
    nursery: trio.Nursery,
    runtime: Runtime,
    headers: Mapping[str, str] | None = None,
    *,
    path: str = "/mcp",
) -> MemoryResponder:
    """GET a stream in the background: its answer, to read as it comes."""
    responder = MemoryResponder()
    nursery.start_soon(
        answer_request, runtime, http_request("GET", b"", headers, path=path), responder
    )
    return responder


async def open_session(
    runtime: Runtime, version: str = "2025-11-25", capabilities: dict[str, Any] | None = None
) -> dict[str, str]:
    """``initialize`` and ``notifications/initialized`` in memory: the headers
    of the session's later requests."""
    reply = await post(
        runtime, initialize_request(version, capabilities, request_id=0), mcp_headers()
    )
    assert reply.status == 200, reply.body
    headers = mcp_headers(
        reply.headers["mcp-session-id"], reply.json()["result"]["protocolVersion"]
    )
    ack = await post(runtime, INITIALIZED, headers)
    assert ack.status == 202, ack.body
    return headers


@asynccontextmanager
async def serving_in_memory(runtime: Runtime) -> AsyncIterator[trio.Nursery]:
    """Run ``runtime`` with no front: the nursery its requests run in. On exit
    the node drains, then what still runs is cancelled, as a front does."""
    async with runtime.run(), trio.open_nursery() as front:
        yield front
        await runtime.drain()
        front.cancel_scope.cancel()


# -- hypothesis strategies of JSON-RPC messages ------------------------------------------------

#: JSON-RPC ids: integers of the 64-bit range and strings.
request_ids = st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=10))
#: Any JSON value (small).
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
#: JSON objects (params, results).
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
#: Notifications with any method and params.
notifications = st.builds(
    Notification, method=st.text(min_size=1, max_size=12), params=st.none() | json_objects
)
#: Every kind of JSON-RPC message.
messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(
        Request,
        id=request_ids,
        method=st.text(min_size=1, max_size=12),
        params=st.none() | json_objects,
    ),
    notifications,
    st.builds(Response, id=request_ids, result=json_objects),
    st.builds(
        ErrorResponse,
        id=st.none() | request_ids,
        code=st.integers(-(2**31), 2**31),
        message=st.text(max_size=10),
        data=st.none() | json_values,
    ),
)


# -- one client per era, in memory ------------------------------------------------------------

#: The eras a feature is tested on: a handshake session, and the 2026-07-28 wire.
ERAS: Final = ("handshake", "stateless")


class EraClient:
    """Requests to a runtime in memory on one era: ``handshake`` (a 2025-11-25
    session, opened on first use) or ``stateless`` (2026-07-28 requests, each with
    its ``_meta`` envelope and headers)."""

    def __init__(self, runtime: Runtime, era: str, client_name: str = "tests") -> None:
        self.runtime = runtime
        self.era = era
        self.client_name = client_name
        self._headers: dict[str, str] | None = None
        self._next_id = 0

    async def _session(self) -> dict[str, str]:
        if self._headers is None:
            opening = initialize_request(request_id=0)
            opening["params"]["clientInfo"]["name"] = self.client_name
            reply = await post(self.runtime, opening, mcp_headers())
            assert reply.status == 200, reply.body
            session = reply.headers["mcp-session-id"]
            self._headers = mcp_headers(session, reply.json()["result"]["protocolVersion"])
            ack = await post(self.runtime, INITIALIZED, self._headers)
            assert ack.status == 202, ack.body
        return self._headers

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON-RPC response to ``method``."""
        self._next_id += 1
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        params = dict(params or {})
        if self.era == "stateless":
            meta = stateless_meta()
            meta["io.modelcontextprotocol/clientInfo"] = {"name": self.client_name, "version": "1"}
            params["_meta"] = meta
            name = params.get("name", params.get("uri"))
            extra = {"mcp_method": method}
            if method in ("tools/call", "prompts/get", "resources/read") and name is not None:
                extra["mcp_name"] = str(name)
            headers = mcp_headers(version="2026-07-28", **extra)
        else:
            headers = await self._session()
        body["params"] = params
        reply = await post(self.runtime, body, headers)
        assert reply.status in (200, 400, 404), (reply.status, reply.body)
        message = reply.json() if reply.body else reply.messages()[-1]
        assert isinstance(message, dict)
        return message

    async def result(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The result of ``method`` (fails on an error answer)."""
        message = await self.send(method, params)
        assert "result" in message, message
        result = message["result"]
        assert isinstance(result, dict)
        return result

    async def error(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The error answering ``method`` (fails on a result)."""
        message = await self.send(method, params)
        assert "error" in message, message
        error = message["error"]
        assert isinstance(error, dict)
        return error
