"""The :class:`Client`: one connection to an MCP server, in either era.

``async with Client(target) as client:`` opens a transport in a nursery the
client owns, runs the handshake its ``mode`` asks for, and reads everything
the server sends in one task, which routes each answer to the call awaiting
it and serves the server's requests with the application's handlers. Every
call waits with a deadline (its ``timeout``, else the client's); a call whose
scope is cancelled (or that times out) tells the server so
(``notifications/cancelled``). What to send and what an answer means are the
core's decisions (:class:`ClientSession` in the handshake era,
:class:`StatelessClient` in the stateless one); this module schedules.
"""

# Calls take a per-call ``timeout`` (MCP: "implementations SHOULD establish
# timeouts for all sent requests"); each is applied with ``trio.fail_after``.
# ruff: noqa: ASYNC109

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Literal, TypeAlias

import httpx2
import trio

from ..protocol.client import (
    ClientSession,
    Complete,
    Failed,
    HandshakeCompleted,
    HandshakeFailed,
    InputRequired,
    RequestFailed,
    ResultReceived,
    RetryWithVersion,
    StatelessCall,
    StatelessClient,
    TaskCreated,
    should_fall_back_to_handshake,
)
from ..protocol.jsonrpc import (
    ErrorCode,
    ErrorResponse,
    LocalProtocolError,
    Notification,
    RemoteProtocolError,
    Request,
)
from ..protocol.versions import (
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    LATEST_VERSION,
    STATELESS_VERSIONS,
)
from ._errors import ClientError, ConnectionLost, SessionExpired
from ._handlers import (
    ElicitationHandler,
    Handlers,
    InputRoundHandler,
    ListChangedHandler,
    LogHandler,
    ProgressHandler,
    ResourceUpdatedHandler,
    RootsSource,
    SamplingHandler,
)
from ._http import StreamableHttpTransport
from ._inbox import SEND_DEADLINE, Inbox, Waiter
from ._legacy_sse import LegacySseTransport
from ._listen import ListenStreams
from ._methods import ClientMethods
from ._targets import Target, transport_for
from ._transport import INBOUND_BUFFER, Inbound, Lost, ParamHeaders, Transport

__all__ = ["Client", "Mode"]

_log = logging.getLogger("scaled_mcp.client")

#: How the client starts: ``auto`` tries ``server/discover`` and falls back to
#: ``initialize``; ``handshake`` and ``stateless`` use one era only.
Mode: TypeAlias = Literal["auto", "handshake", "stateless"]

#: Who the client says it is, unless told otherwise.
DEFAULT_CLIENT_INFO: Final = {"name": "scaled-mcp", "version": "0.1.0"}


class Client(ListenStreams, ClientMethods):
    """A connection to one MCP server; use it as ``async with Client(target) as client:``.

    ``target`` is an ``http(s)://`` URL (streamable HTTP; a path ending in
    ``/sse`` uses the 2024-11-05 HTTP+SSE transport), a ``ws(s)://`` URL
    (MCP over WebSocket, SEP-1288; ``headers``, ``bearer``, ``verify`` and
    ``cert`` apply to its upgrade), an :class:`MCPServer`
    (served in memory, in this trio run), or a command (argv list) run as a
    child process speaking stdio. ``protocol_version`` pins the revision to
    speak (its era then decides the mode). HTTP settings: static ``headers``,
    a ``bearer`` token, ``auth`` (an ``httpx2.Auth``, such as OAuth),
    ``verify`` and ``cert`` (TLS), ``http2`` (HTTP/2 over TLS, needs the ``h2``
    package). ``timeout`` is the default deadline of
    every call, in seconds. See :mod:`._handlers` for the handlers.
    """

    def __init__(
        self,
        target: Target,
        *,
        mode: Mode = "auto",
        sampling_handler: SamplingHandler | None = None,
        elicitation_handler: ElicitationHandler | None = None,
        roots: RootsSource | None = None,
        log_handler: LogHandler | None = None,
        progress_handler: ProgressHandler | None = None,
        list_changed_handler: ListChangedHandler | None = None,
        resource_updated_handler: ResourceUpdatedHandler | None = None,
        input_round_handler: InputRoundHandler | None = None,
        headers: Mapping[str, str] | None = None,
        bearer: str | None = None,
        auth: httpx2.Auth | None = None,
        verify: Any = True,
        cert: Any = None,
        http2: bool = False,
        timeout: float = 30.0,
        client_info: Mapping[str, Any] | None = None,
        capabilities: Mapping[str, Any] | None = None,
        protocol_version: str | None = None,
    ) -> None:
        if mode not in ("auto", "handshake", "stateless"):
            raise ValueError(f"mode must be auto, handshake or stateless, not {mode!r}")
        if protocol_version is not None:
            if protocol_version in STATELESS_VERSIONS:
                mode = "stateless"
            elif protocol_version in HANDSHAKE_VERSIONS:
                mode = "handshake"
            else:
                raise ValueError(f"unknown protocol version {protocol_version!r}")
        self._handlers = Handlers(
            sampling=sampling_handler,
            elicitation=elicitation_handler,
            roots=roots,
            log=log_handler,
            progress=progress_handler,
            list_changed=list_changed_handler,
            resource_updated=resource_updated_handler,
            input_round=input_round_handler,
        )
        self._capabilities = {**self._handlers.capabilities(), **(capabilities or {})}
        self._client_info = dict(client_info or DEFAULT_CLIENT_INFO)
        self._mode: Mode = mode
        self._pinned_version = protocol_version
        self._timeout = timeout
        self._transport: Transport = transport_for(
            target,
            headers=headers,
            bearer=bearer,
            auth=auth,
            verify=verify,
            cert=cert,
            http2=http2,
            timeout=timeout,
        )
        if isinstance(self._transport, LegacySseTransport) and mode == "auto":
            self._mode = "handshake"
        self._session: ClientSession | None = None
        self._stateless: StatelessClient | None = None
        self._inbox = Inbox(self._handlers, self._transport)
        self._tokens = itertools.count(1)
        self._nursery_manager: Any = None
        self._nursery: trio.Nursery | None = None
        self._log_level: str | None = None
        # Handshake era over HTTP: the server forgot the session; renew it before the next call.
        self._session_expired = False
        self._renewing = trio.Lock()
        self._server_info: dict[str, Any] = {}
        self._server_capabilities: dict[str, Any] = {}
        self._instructions: str | None = None
        self._protocol_version: str | None = None
        self._closed = False
        ClientMethods.__init__(self)
        ListenStreams.__init__(self)

    # -- what the handshake said ---------------------------------------------------------

    @property
    def server_info(self) -> dict[str, Any]:
        """The server's ``Implementation`` (name, version …), ``{}`` if it gave none."""
        return self._server_info

    @property
    def server_capabilities(self) -> dict[str, Any]:
        """What the server declared it offers."""
        return self._server_capabilities

    @property
    def protocol_version(self) -> str:
        """The revision in use."""
        assert self._protocol_version is not None, "the client is not open"
        return self._protocol_version

    @property
    def instructions(self) -> str | None:
        """The server's instructions, if it gave any."""
        return self._instructions

    @property
    def stateless(self) -> bool:
        """Whether the client speaks the stateless era (2026-07-28)."""
        return self._stateless is not None

    # -- lifetime -----------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        self._nursery_manager = trio.open_nursery()
        self._nursery = await self._nursery_manager.__aenter__()
        self._inbox.nursery = self._nursery
        try:
            send, receive = trio.open_memory_channel[Inbound](INBOUND_BUFFER)
            with trio.fail_after(self._timeout):
                await self._transport.start(self._nursery, send)
            self._nursery.start_soon(self._inbox.read, receive)
            await self._open()
        except BaseException as exc:
            await self._shutdown()
            await self._nursery_manager.__aexit__(None, None, None)
            if isinstance(exc, trio.TooSlowError):
                raise ClientError(
                    ErrorCode.REQUEST_TIMEOUT, "the server did not answer the handshake in time"
                ) from None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # The body's own exception goes on as it is, never wrapped in the
        # nursery's group: the nursery only holds the client's background tasks.
        await self._shutdown()
        await self._nursery_manager.__aexit__(None, None, None)
        return None

    async def _shutdown(self) -> None:
        self._closed = True
        await self._transport.aclose()
        self._inbox.fail_all("the client is closed")
        assert self._nursery is not None
        self._nursery.cancel_scope.cancel()

    async def _open(self) -> None:
        if self._mode != "handshake":
            try:
                if await self._discover():
                    if self._handlers.list_changed is not None:
                        await self._relisten()
                    return
            except ClientError as exc:
                status = exc.data.get("status") if isinstance(exc.data, dict) else None
                error = ErrorResponse(None, exc.code, exc.message, exc.data)
                if self._mode == "stateless" or not should_fall_back_to_handshake(status, error):
                    raise
                _log.info("server/discover failed (%s): using initialize", exc.message)
            self._stateless = None
        await self._initialize()

    async def _discover(self) -> bool:
        """``server/discover``; whether a stateless revision both speak was found."""
        stateless = StatelessClient(
            client_info=self._client_info,
            capabilities=self._capabilities,
            protocol_version=self._pinned_version or LATEST_VERSION,
        )
        self._stateless = stateless
        with trio.fail_after(self._timeout):
            result = await self._run_call(stateless.call("server/discover"), None)
        try:
            found = stateless.read_discover_result(result)
        except RemoteProtocolError as exc:
            raise ClientError(exc.code, exc.message, exc.data) from None
        if found.version is None:
            if self._mode == "stateless":
                raise ClientError(
                    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
                    "the server speaks no stateless revision this client speaks",
                    {"supported": list(found.supported_versions)},
                )
            return False
        self._protocol_version = found.version
        self._transport.protocol_version = found.version
        self._server_info = found.server_info or {}
        self._server_capabilities = found.capabilities
        self._instructions = found.instructions
        return True

    async def _initialize(self) -> None:
        session = ClientSession(
            client_info=self._client_info,
            capabilities=self._capabilities,
            protocol_version=self._pinned_version or LATEST_HANDSHAKE_VERSION,
        )
        self._session = session
        self._inbox.session = session
        self._transport.protocol_version = None
        request = session.initialize()
        answer = await self._exchange(request, timeout=self._timeout)
        if isinstance(answer, HandshakeFailed):
            error = answer.error
            if error is not None:
                raise ClientError.from_response(error)
            raise ClientError(ErrorCode.INVALID_REQUEST, f"initialize failed: {answer.reason}")
        assert isinstance(answer, HandshakeCompleted)
        self._protocol_version = answer.protocol_version
        self._server_info = answer.server_info
        self._server_capabilities = answer.server_capabilities
        self._instructions = answer.instructions
        self._transport.protocol_version = answer.protocol_version
        await self._transport.send(session.initialized())
        # A server that does not answer the GET in time just has no stream for us.
        with trio.move_on_after(self._timeout):
            await self._transport.open_server_stream()

    async def _exchange(self, request: Request, *, timeout: float) -> Any:
        """Send ``request``, wait (bounded) for what the reader settles its waiter with."""
        waiter = self._inbox.waiters[request.id] = Waiter()
        try:
            with trio.fail_after(timeout):
                await self._transport.send(request)
                await waiter.done.wait()
        finally:
            del self._inbox.waiters[request.id]
        answer = waiter.answer
        if isinstance(answer, Lost):
            raise ConnectionLost(answer.reason)
        return answer

    # -- requests -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        progress_handler: ProgressHandler | None = None,
        param_headers: ParamHeaders | None = None,
        extensions: Mapping[str, Any] | None = None,
        capabilities: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send any request; its result (a JSON object). Raises :class:`ClientError`
        on an error answer, a lost answer or when ``timeout`` (default: the
        client's) runs out; cancelling the caller cancels the request.
        On the 2026-07-28 wire capabilities are per request: ``capabilities``
        declares these in place of the client's own (a gateway passes its
        downstream client's), ``extensions`` adds extensions beside them; on a
        handshake session both are the session's, and these are ignored."""
        if self._closed or self._nursery is None:
            raise ConnectionLost("the client is not open")
        deadline = self._timeout if timeout is None else timeout
        try:
            with trio.fail_after(deadline if deadline > 0 else math.inf):
                if self._stateless is not None:
                    return await self._stateless_request(
                        method, params, progress_handler, param_headers, extensions, capabilities
                    )
                if self._session_expired:
                    await self._renew_session()
                return await self._session_request(method, params, progress_handler)
        except SessionExpired:
            self._session_expired = True
            raise
        except trio.TooSlowError:
            raise ClientError(
                ErrorCode.REQUEST_TIMEOUT, f"{method} timed out after {deadline:g} s"
            ) from None

    async def _renew_session(self) -> None:
        """A new session after the server forgot ours (one renewal at a time)."""
        async with self._renewing:
            if self._session_expired:
                if self._session is not None:
                    self._session.close()
                await self._initialize()
                self._session_expired = False

    async def _session_request(
        self,
        method: str,
        params: dict[str, Any] | None,
        progress_handler: ProgressHandler | None,
    ) -> dict[str, Any]:
        session = self._session
        assert session is not None
        handler = progress_handler or self._handlers.progress
        try:
            request = session.send_request(method, params, progress_token=handler is not None)
        except LocalProtocolError as exc:
            raise ClientError(ErrorCode.INVALID_REQUEST, str(exc)) from None
        if handler is not None:
            self._inbox.progress_handlers[request.id] = handler
        try:
            answer = await self._await_answer(request, None)
        finally:
            self._inbox.progress_handlers.pop(request.id, None)
        if isinstance(answer, ResultReceived):
            return answer.result
        if isinstance(answer, RequestFailed):
            raise ClientError.from_response(answer.error)
        raise ClientError(ErrorCode.INTERNAL_ERROR, f"unexpected answer {answer!r}")

    async def _stateless_request(
        self,
        method: str,
        params: dict[str, Any] | None,
        progress_handler: ProgressHandler | None,
        param_headers: ParamHeaders | None,
        extensions: Mapping[str, Any] | None = None,
        capabilities: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        stateless = self._stateless
        assert stateless is not None
        handler = progress_handler or self._handlers.progress
        token = f"scaled-mcp-{next(self._tokens)}" if handler is not None else None
        if extensions:
            base = self._capabilities if capabilities is None else capabilities
            declared = base.get("extensions")
            capabilities = {
                **base,
                "extensions": {**(declared if isinstance(declared, dict) else {}), **extensions},
            }
        try:
            call = stateless.call(
                method,
                params,
                progress_token=token,
                log_level=self._log_level,
                capabilities=None if capabilities is None else dict(capabilities),
            )
        except LocalProtocolError as exc:
            raise ClientError(ErrorCode.INVALID_PARAMS, str(exc)) from None
        if token is not None and handler is not None:
            self._inbox.progress_handlers[token] = handler
        try:
            return await self._run_call(call, param_headers)
        finally:
            if token is not None:
                self._inbox.progress_handlers.pop(token, None)

    async def _run_call(
        self, call: StatelessCall, param_headers: ParamHeaders | None
    ) -> dict[str, Any]:
        """Every round of a stateless call: input requests answered with the
        handlers, -32022 retried with the revision the core picked; a task
        (only to a request that declared the tasks extension) is the result."""
        stateless = self._stateless
        assert stateless is not None
        request = call.request
        while True:
            self._transport.protocol_version = stateless.protocol_version
            answer = await self._await_answer(request, param_headers)
            outcome = call.receive(answer)
            if isinstance(outcome, Complete | TaskCreated):
                return outcome.result
            if isinstance(outcome, Failed):
                raise ClientError.from_response(outcome.error)
            if isinstance(outcome, RetryWithVersion):
                self._protocol_version = outcome.version
                request = call.retry()
                continue
            assert isinstance(outcome, InputRequired)
            responses = await self._handlers.answer_round(dict(outcome.input_requests))
            try:
                request = call.retry(responses)
            except LocalProtocolError as exc:
                raise ClientError(ErrorCode.INTERNAL_ERROR, str(exc)) from None

    async def _await_answer(self, request: Request, param_headers: ParamHeaders | None) -> Any:
        """Send ``request`` and wait for its answer; a cancelled wait cancels it."""
        waiter = self._inbox.waiters[request.id] = Waiter()
        try:
            try:
                await self._transport.send(request, param_headers=param_headers)
            except ClientError:
                # Refused on the way: nothing to cancel on the server.
                if self._session is not None:
                    self._session.cancel(request.id)
                raise
            await waiter.done.wait()
        except BaseException as exc:
            # Cancelled or timed out while the server may hold the request.
            if not waiter.done.is_set() and not isinstance(exc, ClientError):
                await self._cancel(request)
            raise
        finally:
            del self._inbox.waiters[request.id]
        answer = waiter.answer
        if isinstance(answer, Lost):
            if self._session is not None:
                self._session.cancel(request.id)
            raise ConnectionLost(answer.reason, {"method": request.method})
        return answer

    async def _cancel(self, request: Request) -> None:
        """Tell the server a request is given up (cancellation: "the request
        SHOULD still be in-flight"), bounded in time, whatever cancelled us."""
        self._transport.forget(request.id)
        notification: Notification | None
        if self._session is not None:
            notification = self._session.cancel(request.id, "the client cancelled the request")
        elif isinstance(self._transport, StreamableHttpTransport):
            # 2026-07-28 over HTTP: closing the request's stream cancels it.
            notification = None
        else:
            notification = Notification(
                "notifications/cancelled",
                {"requestId": request.id, "reason": "the client cancelled the request"},
            )
        if notification is None or self._closed:
            return
        with trio.CancelScope(shield=True), trio.move_on_after(SEND_DEADLINE):
            try:
                await self._transport.send(notification)
            except ClientError as exc:
                _log.info("notifications/cancelled was not sent: %s", exc.message)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (handshake era; the stateless era has no client notifications)."""
        if self._session is None:
            raise ClientError(ErrorCode.INVALID_REQUEST, f"{method}: no session to notify")
        try:
            notification = self._session.send_notification(method, params)
        except LocalProtocolError as exc:
            raise ClientError(ErrorCode.INVALID_REQUEST, str(exc)) from None
        with trio.fail_after(SEND_DEADLINE):
            await self._transport.send(notification)

    def _set_log_level(self, level: str) -> None:
        self._log_level = level

    async def _answer_inputs(self, questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return await self._handlers.answer_round(questions)
