"""The official Python MCP SDK's side of the engine benchmark.

The engine benchmark measures one ``tools/call`` request's bytes through a
protocol core to the response's bytes, in µs per message on one core. This
module measures the same thing for the official SDK (``mcp`` 2.3), in process,
on a single anyio event loop (asyncio backend, the SDK's default).

What is measured, per message::

    request bytes
      -> mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
         (the SDK's JSON-RPC message model, parsed exactly as its stdio and SSE
         transports parse)
      -> SessionMessage on the server's read stream
      -> JSONRPCDispatcher (one task per request) -> ServerRunner (per-version
         params validation, init gate, middleware chain, params model)
      -> the user's ``echo`` tool
      -> result shaping (per-version result sieve) -> JSONRPCResponse
      -> SessionMessage on the server's write stream
      -> message.model_dump_json(by_alias=True, exclude_unset=True) + newline,
         UTF-8 (exactly as stdio_server writes a line)
    response bytes

Each round serves a fresh connection whose session is set up first, untimed:
the ``initialize`` handshake for 2025-11-25, or one enveloped request that
opens a 2026-07-28 connection. Then ``n`` requests (distinct ids) are
pipelined, and the round is timed from the first request's bytes going in to
the last response's bytes coming out; µs per message = elapsed / n. Every
response is checked after the round (each id answered once, with the echoed
text and no error), so a failing path cannot pass for a fast one.

The server's stream pair (`Transport`):

* ``direct``: a read stream that parses queued request lines when the
  dispatcher asks for the next message, and a write stream that serializes each
  response as it is sent. These implement the SDK's ``ReadStream`` and
  ``WriteStream`` protocols with no task hop, so a round costs the SDK's
  codec, dispatcher and runner and nothing else: the SDK's protocol core, the
  boundary the engine's figure has;
* ``memory``: the SDK's own in-memory transport,
  ``mcp.shared.memory.create_client_server_memory_streams`` (context streams
  with a buffer of 1, what its in-process ``Client`` runs over), with the line
  codec on the client's side of it;
* ``stdio``: the unbuffered context streams ``stdio_server`` builds, i.e. the
  SDK's stdio transport with only the file I/O and its worker threads taken away;
* ``asgi``: not a stream pair but the stateless 2026-07-28 HTTP entry,
  ``StreamableHTTPSessionManager.handle_request`` (stateless, JSON responses),
  called in process with an ASGI scope, the request body and the headers a
  2026-07-28 client sends; response bytes are the ASGI response body. Requests
  go one after another (that entry runs each to completion in the caller's
  task). This row includes the SDK's HTTP-layer work (Starlette request and
  response, header checks), so it is a different boundary from the others.

The paths (`SDK_PATHS`): the primary figure (`PRIMARY_PATH`) is the low-level
``Server`` with an ``on_call_tool`` handler, driven by
``mcp.server.runner.serve_loop`` (the handshake-era loop the SDK's
streamable-HTTP manager runs per session), with the default OpenTelemetry
middleware dropped as the SDK documents, over ``direct`` streams: the cheapest
complete path the SDK has. The other rows add back, one at a time, what a user
gets by default: the SDK's transports' streams, ``Server.run`` (what stdio
serving calls: ``serve_dual_era_loop``, which relays every frame through one
more memory stream to pick the era), the OpenTelemetry middleware, the
stateless 2026-07-28 era (no handshake, every request carries the ``_meta``
envelope, a ``Connection`` is built per request) over streams and over the
HTTP entry, and the high-level ``MCPServer`` with an ``@tool()``-decorated
``echo``.

Run alone: ``python bench/sdk_engine.py`` prints the machine and the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    MutableMapping,
    Sequence,
)
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from itertools import islice
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import mcp_types as types
from common import (
    Measurement,
    describe_machine,
    format_table,
    pin_to_cpu,
    prepare_round,
    summarize,
)
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.runner import serve_loop
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared._context_streams import (
    ContextReceiveStream,
    ContextSendStream,
    create_context_streams,
)
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.memory import create_client_server_memory_streams
from mcp.shared.message import SessionMessage
from workload import (
    CLIENT_INFO,
    ECHO_TEXT,
    HANDSHAKE_VERSION,
    MODERN_META,
    MODERN_VERSION,
    tools_call_bytes,
)

__all__ = [
    "DEFAULT_WINDOW",
    "ECHO_TEXT",
    "HANDSHAKE_VERSION",
    "MODERN_VERSION",
    "PRIMARY_PATH",
    "SDK_PATHS",
    "SdkPath",
    "build_server",
    "main",
    "measure_sdk",
    "measure_sdk_paths",
    "tools_call_bytes",
]

DEFAULT_WINDOW = 32
"""Requests a pipelining round keeps outstanding at once."""

# The envelope's keys are spelled out in workload.py (which imports no SDK): the SDK's own.
assert set(MODERN_META) == {
    types.PROTOCOL_VERSION_META_KEY,
    types.CLIENT_CAPABILITIES_META_KEY,
    types.CLIENT_INFO_META_KEY,
}

# The SDK's own line codec, as used by mcp.server.stdio.stdio_server.
_parse_message = types.jsonrpc_message_adapter.validate_json

ServerRead = ReadStream[SessionMessage | Exception]
ServerWrite = WriteStream[SessionMessage]

ServerKind = Literal["lowlevel", "mcpserver"]
Driver = Literal["serve_loop", "run", "http"]
Transport = Literal["direct", "memory", "stdio", "asgi"]


@dataclass(frozen=True, slots=True)
class SdkPath:
    """One way of serving the benchmark's ``echo`` tool with the SDK."""

    label: str
    """Row label in the printed table."""
    server: ServerKind
    """``lowlevel``: ``Server(on_call_tool=...)``; ``mcpserver``: ``MCPServer`` + ``@tool()``."""
    driver: Driver
    """``serve_loop``: the handshake-era loop alone; ``run``: ``Server.run`` (dual-era loop);
    ``http``: ``StreamableHTTPSessionManager.handle_request`` (stateless, JSON responses)."""
    modern: bool
    """True: stateless 2026-07-28 requests with the ``_meta`` envelope, no handshake."""
    default_middleware: bool
    """True: keep the server's default middleware (an OpenTelemetry span per message)."""
    transport: Transport = "direct"
    """What carries the bytes to and from the server; see the module docstring."""


def _path(
    server: ServerKind,
    driver: Driver,
    *,
    modern: bool,
    default_middleware: bool,
    transport: Transport = "direct",
) -> SdkPath:
    driver_names = {
        "serve_loop": "serve_loop",
        "run": "Server.run",
        "http": "StreamableHTTPSessionManager",
    }
    label = " | ".join(
        [
            "Server" if server == "lowlevel" else "MCPServer @tool",
            driver_names[driver],
            MODERN_VERSION if modern else HANDSHAKE_VERSION,
            "OTel middleware" if default_middleware else "no middleware",
            "in-process ASGI" if transport == "asgi" else f"{transport} streams",
        ]
    )
    return SdkPath(f"sdk: {label}", server, driver, modern, default_middleware, transport)


PRIMARY_PATH = _path("lowlevel", "serve_loop", modern=False, default_middleware=False)
"""The SDK's cheapest complete in-process path: the figure to set beside the engine's."""

SDK_PATHS: tuple[SdkPath, ...] = (
    PRIMARY_PATH,
    _path("lowlevel", "serve_loop", modern=False, default_middleware=False, transport="memory"),
    _path("lowlevel", "serve_loop", modern=False, default_middleware=False, transport="stdio"),
    _path("lowlevel", "run", modern=False, default_middleware=False),
    _path("lowlevel", "run", modern=False, default_middleware=True),
    _path("lowlevel", "run", modern=True, default_middleware=False),
    _path("lowlevel", "run", modern=True, default_middleware=True),
    _path("lowlevel", "http", modern=True, default_middleware=False, transport="asgi"),
    _path("mcpserver", "run", modern=False, default_middleware=True),
    _path("mcpserver", "run", modern=True, default_middleware=True),
)
"""Every path `main` measures, primary first."""


def _initialize_bytes() -> bytes:
    request = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": CLIENT_INFO,
        },
    }
    return json.dumps(request, separators=(",", ":")).encode()


_INITIALIZED_BYTES = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'

_ECHO_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}


async def _lowlevel_list_tools(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(
        tools=[
            types.Tool(name="echo", description="Echo the text.", input_schema=_ECHO_INPUT_SCHEMA)
        ]
    )


async def _lowlevel_call_tool(
    ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    if params.name != "echo":
        raise ValueError(f"unknown tool {params.name!r}")
    text = str((params.arguments or {}).get("text", ""))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


def _echo_input_schema(name: str) -> dict[str, Any] | None:
    return _ECHO_INPUT_SCHEMA if name == "echo" else None


def build_server(path: SdkPath) -> Server[Any]:
    """The low-level ``Server`` that serves ``path``, with ``echo`` registered the usual way."""
    server: Server[Any]
    if path.server == "lowlevel":
        server = Server(
            "engine-bench",
            version="1.0",
            on_list_tools=_lowlevel_list_tools,
            on_call_tool=_lowlevel_call_tool,
            # Lets the 2026-07-28 HTTP entry check `Mcp-Param-*` headers without
            # running `tools/list` for every `tools/call`.
            get_tool_input_schema=_echo_input_schema,
        )
    else:
        app = MCPServer("engine-bench", version="1.0", log_level="WARNING")

        @app.tool()
        def echo(text: str) -> str:
            """Echo the text."""
            return text

        # `MCPServer` serves through its low-level server; the SDK's own in-memory
        # transport and `run_stdio_async` reach it the same way.
        server = app._lowlevel_server
    if not path.default_middleware:
        # The SDK's documented opt-out of its per-message OpenTelemetry span.
        server.middleware.clear()
    return server


class _ResponseSink:
    """Serializes the server's messages as ``stdio_server`` writes a line, and counts them."""

    def __init__(self) -> None:
        self.responses: list[bytes] = []
        self._wanted = 0
        self._reached = anyio.Event()

    def expect(self, count: int) -> anyio.Event:
        """An event set once ``count`` more responses have come out."""
        self._wanted = len(self.responses) + count
        self._reached = anyio.Event()
        return self._reached

    def record(self, message: SessionMessage) -> None:
        """Turn one outgoing message into its wire bytes."""
        line = message.message.model_dump_json(by_alias=True, exclude_unset=True)
        self.responses.append((line + "\n").encode("utf-8"))
        if len(self.responses) >= self._wanted:
            self._reached.set()


def _parse_line(line: bytes) -> SessionMessage | Exception:
    """Parse one request line as ``stdio_server`` does; a bad line becomes an exception item."""
    try:
        return SessionMessage(_parse_message(line, by_name=False))
    except Exception as exc:
        return exc


class _DirectReadStream:
    """A ``ReadStream`` that parses queued request lines as the dispatcher pulls them."""

    def __init__(self) -> None:
        self._lines: deque[bytes] = deque()
        self._more = anyio.Event()
        self._eof = False

    def feed(self, lines: Iterable[bytes]) -> None:
        """Queue request lines (bytes that have arrived)."""
        self._lines.extend(lines)
        self._more.set()

    def end(self) -> None:
        """No more lines: the dispatcher sees end of stream once the queue is drained."""
        self._eof = True
        self._more.set()

    async def receive(self) -> SessionMessage | Exception:
        while not self._lines:
            if self._eof:
                raise anyio.EndOfStream
            self._more = anyio.Event()
            await self._more.wait()
        return _parse_line(self._lines.popleft())

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self.end()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _DirectWriteStream:
    """A ``WriteStream`` that hands each message to the client as the server sends it."""

    def __init__(self, deliver: Callable[[SessionMessage], None]) -> None:
        self._deliver = deliver
        self._closed = False

    async def send(self, item: SessionMessage, /) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        self._deliver(item)

    async def aclose(self) -> None:
        self._closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _Client:
    """The benchmark's side of a connection: request bytes in, response bytes out.

    `pipeline` keeps at most ``window`` requests outstanding: it sends that
    many, then one more as each response comes out, like a pipelining client
    with a bounded window. The window stands in for flow control where the
    streams have none (``direct``); without one, all ``n`` handler tasks would
    be alive at once and the garbage collector's cost would grow with ``n``.
    """

    def __init__(
        self, server_read: ServerRead, server_write: ServerWrite, sink: _ResponseSink
    ) -> None:
        self.sink = sink
        self.server_read = server_read
        self.server_write = server_write
        self._backlog: Iterator[bytes] | None = None

    async def send_lines(self, lines: Sequence[bytes]) -> None:
        """Deliver request lines to the server."""
        raise NotImplementedError

    async def request(self, line: bytes) -> bytes:
        """Send one request line and wait for the next response line."""
        answered = self.sink.expect(1)
        await self.send_lines([line])
        await answered.wait()
        return self.sink.responses[-1]

    async def pipeline(self, lines: Sequence[bytes], window: int) -> None:
        """Send ``lines`` with at most ``window`` outstanding; return when all are answered."""
        done = self.sink.expect(len(lines))
        backlog = iter(lines)
        self._backlog = backlog
        await self.send_lines(list(islice(backlog, window)))
        await done.wait()
        self._backlog = None

    def _next_line(self) -> bytes | None:
        return None if self._backlog is None else next(self._backlog, None)

    async def pump(self) -> None:
        """Move the server's output into the sink until the server closes; a no-op if direct."""

    async def close(self) -> None:
        """End of input: the server drains and returns."""
        raise NotImplementedError


class _DirectClient(_Client):
    """Queues lines on the direct read stream; the direct write stream delivers responses."""

    def __init__(self) -> None:
        self._reader = _DirectReadStream()
        super().__init__(self._reader, _DirectWriteStream(self._deliver), _ResponseSink())

    def _deliver(self, message: SessionMessage) -> None:
        self.sink.record(message)
        line = self._next_line()
        if line is not None:
            self._reader.feed((line,))

    async def send_lines(self, lines: Sequence[bytes]) -> None:
        self._reader.feed(lines)

    async def close(self) -> None:
        self._reader.end()


class _ChannelClient(_Client):
    """Parses lines onto an SDK send stream; a pump task serializes what comes back."""

    def __init__(
        self,
        client_read: ContextReceiveStream[SessionMessage | Exception],
        client_write: ContextSendStream[SessionMessage | Exception],
        server_read: ServerRead,
        server_write: ServerWrite,
    ) -> None:
        super().__init__(server_read, server_write, _ResponseSink())
        self._client_read = client_read
        self._client_write = client_write

    async def send_lines(self, lines: Sequence[bytes]) -> None:
        send = self._client_write.send
        for line in lines:
            await send(_parse_line(line))

    async def pipeline(self, lines: Sequence[bytes], window: int) -> None:
        # The SDK's streams carry their own flow control (a sender waits while
        # the buffer is full), which is what its transports rely on; feeding
        # every line through it is cheaper here than a client-side window.
        done = self.sink.expect(len(lines))
        await self.send_lines(lines)
        await done.wait()

    async def pump(self) -> None:
        record = self.sink.record
        async for item in self._client_read:
            if isinstance(item, Exception):
                raise item
            record(item)

    async def close(self) -> None:
        await self._client_write.aclose()


@asynccontextmanager
async def _connect(transport: Transport) -> AsyncIterator[_Client]:
    """A client end and the server's stream pair for ``transport``."""
    if transport == "direct":
        yield _DirectClient()
    elif transport == "memory":
        # The SDK's in-memory transport (what its in-process `Client` runs over).
        async with create_client_server_memory_streams() as (client_streams, server_streams):
            yield _ChannelClient(*client_streams, *server_streams)
    else:
        # The streams `stdio_server` builds: context streams with no buffer.
        client_write, server_read = create_context_streams[SessionMessage | Exception](0)
        server_write, client_read = create_context_streams[SessionMessage | Exception](0)
        async with client_write, server_read, server_write, client_read:
            yield _ChannelClient(client_read, client_write, server_read, server_write)


@asynccontextmanager
async def _open_session(server: Server[Any], path: SdkPath) -> AsyncIterator[_Client]:
    """Serve one connection, with its session already set up."""
    async with _connect(path.transport) as client, anyio.create_task_group() as tg:
        tg.start_soon(client.pump)
        if path.driver == "run":
            tg.start_soon(
                server.run,
                client.server_read,
                client.server_write,
                server.create_initialization_options(),
            )
        else:
            tg.start_soon(_serve_loop_with_lifespan, server, client)
        if path.modern:
            # A 2026-07-28 connection opens with its first enveloped request.
            _check_echo_response(await client.request(tools_call_bytes(0, modern=True)), 0)
        else:
            reply = await client.request(_initialize_bytes())
            if json.loads(reply).get("result", {}).get("protocolVersion") != HANDSHAKE_VERSION:
                raise RuntimeError(f"initialize failed: {reply!r}")
            await client.send_lines([_INITIALIZED_BYTES])
        client.sink.responses.clear()
        try:
            yield client
        finally:
            # End of input: the dispatcher drains and the server closes its write
            # side, which ends the pump.
            await client.close()


async def _serve_loop_with_lifespan(server: Server[Any], client: _Client) -> None:
    # `Server.run` enters the lifespan around its loop; do the same around `serve_loop`.
    async with server.lifespan(server) as lifespan_state:
        await serve_loop(
            server,
            client.server_read,
            client.server_write,
            lifespan_state=lifespan_state,
            init_options=server.create_initialization_options(),
        )


def _check_echo_response(line: bytes, request_id: int) -> None:
    reply = json.loads(line)
    if reply.get("id") != request_id or "result" not in reply:
        raise RuntimeError(f"request {request_id} was not answered with a result: {line!r}")
    result = reply["result"]
    content = result.get("content") or [{}]
    if result.get("isError") or content[0].get("text") != ECHO_TEXT:
        raise RuntimeError(f"request {request_id} did not echo {ECHO_TEXT!r}: {line!r}")


def _check_round(responses: Sequence[bytes], n_messages: int) -> None:
    """Every request 1..n answered exactly once with the echoed text."""
    if len(responses) != n_messages:
        raise RuntimeError(f"expected {n_messages} responses, got {len(responses)}")
    if ECHO_TEXT.encode() not in responses[-1]:
        raise RuntimeError(f"last response lacks the echoed text: {responses[-1]!r}")
    seen: set[int] = set()
    for line in responses:
        request_id = json.loads(line)["id"]
        _check_echo_response(line, request_id)
        seen.add(request_id)
    if seen != set(range(1, n_messages + 1)):
        raise RuntimeError("responses do not answer requests 1..n exactly once")


async def _timed_round(
    server: Server[Any], path: SdkPath, requests: Sequence[bytes], window: int
) -> float:
    """Pipeline ``requests`` through a fresh, set-up session; seconds from first in to last out."""
    async with _open_session(server, path) as client:
        prepare_round()
        start = time.perf_counter()
        await client.pipeline(requests, window)
        elapsed = time.perf_counter() - start
        responses = list(client.sink.responses)
    _check_round(responses, len(requests))
    return elapsed


_HTTP_HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"127.0.0.1:8000"),
    (b"content-type", b"application/json"),
    (b"accept", b"application/json, text/event-stream"),
    (b"mcp-protocol-version", MODERN_VERSION.encode()),
    (b"mcp-method", b"tools/call"),
    (b"mcp-name", b"echo"),
]

_HTTP_SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.4"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/mcp",
    "raw_path": b"/mcp",
    "root_path": "",
    "query_string": b"",
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}


class _AsgiExchange:
    """One HTTP request's ASGI ``receive`` and ``send``, reused request after request."""

    def __init__(self) -> None:
        self.body = b""
        self._sent_body = False
        self.status = 0
        self.response: list[bytes] = []

    def start(self, body: bytes) -> dict[str, Any]:
        """Arm the exchange with a request body; returns the request's scope."""
        self.body = body
        self._sent_body = False
        self.status = 0
        self.response = []
        return {**_HTTP_SCOPE, "headers": list(_HTTP_HEADERS)}

    async def receive(self) -> dict[str, Any]:
        if self._sent_body:
            return {"type": "http.disconnect"}
        self._sent_body = True
        return {"type": "http.request", "body": self.body, "more_body": False}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.response.append(message.get("body", b""))


async def _timed_http_round(
    manager: StreamableHTTPSessionManager, exchange: _AsgiExchange, requests: Sequence[bytes]
) -> float:
    """Post ``requests`` one after another to the stateless HTTP entry; seconds for all."""
    handle = manager.handle_request
    responses: list[bytes] = []
    prepare_round()
    start = time.perf_counter()
    for body in requests:
        scope = exchange.start(body)
        await handle(scope, exchange.receive, exchange.send)
        responses.append(b"".join(exchange.response))
    elapsed = time.perf_counter() - start
    if exchange.status != 200:
        raise RuntimeError(f"HTTP {exchange.status}: {responses[-1]!r}")
    _check_round(responses, len(requests))
    return elapsed


class _PathRunner:
    """Runs the rounds of one path; the server (and HTTP manager) live across rounds."""

    def __init__(self, path: SdkPath, n_messages: int, window: int) -> None:
        self.path = path
        self.server = build_server(path)
        self.requests = [tools_call_bytes(i, modern=path.modern) for i in range(1, n_messages + 1)]
        self.window = window
        self.elapsed: list[float] = []
        self._manager: StreamableHTTPSessionManager | None = None
        self._exchange = _AsgiExchange()

    async def start(self, stack: AsyncExitStack) -> None:
        """Start what must outlive the rounds: the HTTP session manager, for the HTTP path."""
        if self.path.driver == "http":
            self._manager = StreamableHTTPSessionManager(
                app=self.server, json_response=True, stateless=True
            )
            await stack.enter_async_context(self._manager.run())

    async def round(self) -> float:
        """One timed round: seconds from the first request in to the last response out."""
        if self._manager is not None:
            return await _timed_http_round(self._manager, self._exchange, self.requests)
        return await _timed_round(self.server, self.path, self.requests, self.window)

    def measurement(self) -> Measurement:
        """The recorded rounds as a `Measurement`."""
        notes = "sequential requests" if self._manager is not None else f"window {self.window}"
        return summarize(self.path.label, len(self.requests), self.elapsed, notes=notes)


async def _measure_paths(
    paths: Sequence[SdkPath], n_messages: int, rounds: int, warmup: int, window: int
) -> list[Measurement]:
    runners = [_PathRunner(path, n_messages, window) for path in paths]
    async with AsyncExitStack() as stack:
        for runner in runners:
            await runner.start(stack)
        # Round-robin over the paths, so that load from elsewhere on the machine
        # falls on every path alike rather than on whichever ran at the time.
        for index in range(warmup + rounds):
            for runner in runners:
                seconds = await runner.round()
                if index >= warmup:
                    runner.elapsed.append(seconds)
    return [runner.measurement() for runner in runners]


def measure_sdk_paths(
    n_messages: int,
    rounds: int,
    paths: Sequence[SdkPath] = SDK_PATHS,
    *,
    warmup: int = 1,
    window: int = DEFAULT_WINDOW,
) -> list[Measurement]:
    """Measure each of ``paths`` on one asyncio event loop; one `Measurement` per path.

    Each round serves a fresh connection (session set up untimed), pipelines
    ``n_messages`` ``tools/call`` requests with at most ``window`` outstanding
    and times first request in to last response out (the HTTP path posts them
    one after another). The paths take turns round by round; the first
    ``warmup`` rounds of each are not recorded.
    """
    if n_messages <= 0 or rounds <= 0 or warmup < 0 or window <= 0:
        raise ValueError("n_messages, rounds and window must be positive, warmup not negative")

    async def run() -> list[Measurement]:
        return await _measure_paths(paths, n_messages, rounds, warmup, window)

    return anyio.run(run, backend="asyncio")


def measure_sdk(
    n_messages: int,
    rounds: int,
    *,
    path: SdkPath = PRIMARY_PATH,
    warmup: int = 1,
    window: int = DEFAULT_WINDOW,
) -> Measurement:
    """Measure one SDK path (the primary one unless told), median µs/message over ``rounds``."""
    return measure_sdk_paths(n_messages, rounds, [path], warmup=warmup, window=window)[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the machine and the SDK's figures; ``--help`` for the options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--messages", type=int, default=2000, help="requests per round")
    parser.add_argument("-r", "--rounds", type=int, default=9, help="recorded rounds per path")
    parser.add_argument("-w", "--warmup", type=int, default=1, help="unrecorded rounds per path")
    parser.add_argument(
        "--window",
        type=int,
        default=DEFAULT_WINDOW,
        help="requests outstanding at once while pipelining",
    )
    parser.add_argument(
        "--primary-only", action="store_true", help="measure only the primary (cheapest) path"
    )
    parser.add_argument(
        "--pin-cpu",
        type=int,
        default=None,
        metavar="CPU",
        help="restrict the process to this CPU before measuring",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    pinned = pin_to_cpu(args.pin_cpu) if args.pin_cpu is not None else None
    paths = [PRIMARY_PATH] if args.primary_only else list(SDK_PATHS)
    machine = describe_machine()
    results = measure_sdk_paths(
        args.messages, args.rounds, paths, warmup=args.warmup, window=args.window
    )
    if args.json:
        payload = {
            "machine": machine.as_dict(),
            "pinned_cpu": pinned,
            "results": [m.as_dict() for m in results],
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(machine.format())
    if pinned is not None:
        print(f"pinned to cpu {pinned}")
    print(
        "official MCP SDK, in process, one asyncio event loop: tools/call request bytes "
        "-> response bytes, pipelined, after the session is set up"
    )
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
