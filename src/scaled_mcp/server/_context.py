"""The per-request :class:`Context` a handler receives, on either era of the wire.

The same handler code runs on a handshake-era session and on the stateless
2026-07-28 wire. What differs is how a server-to-client question travels:

* on a session, ``await ctx.sample(...)`` sends ``sampling/createMessage`` to
  the client on the request's stream and waits for its answer;
* on the stateless wire there is no stream to ask on: the request is answered
  with an input-required result carrying the question and a sealed
  ``requestState``, and the client retries with the answer. The handler then
  runs again from the start, and the same ``await ctx.sample(...)`` returns the
  answer at once (questions are keyed by the order they are asked in).
* in a task (the tasks extension, a tool registered with ``task=``), a question
  makes the task ``input_required`` until the client answers it with
  ``tasks/update``, and the ``await`` then returns the answer
  (:mod:`._tasks`).

The runtime supplies an :class:`~scaled_mcp.runtime.Exchange` for each
request and the application wraps it in a :class:`Context`
(``MCPServer.new_context``); the context turns the handler's calls into MCP
messages through the protocol core.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

import trio

from ..protocol.jsonrpc import ErrorCode, RemoteProtocolError, RequestId
from ..protocol.notifications import LOG_LEVELS, LogLevel
from ..protocol.oauth import Principal
from ..protocol.stateless import InputRequest
from ..protocol.types import (
    CreateMessageResult,
    ElicitResult,
    Root,
    SamplingMessage,
    from_wire,
    to_wire,
)
from ..protocol.versions import Era
from ..runtime import Exchange, InputNeeded, McpError, SessionStateHandle, current_principal
from ._tasks import BecomeTask, wants_task

__all__ = ["Context", "LogLevel", "ToolError"]


class ToolError(Exception):
    """Raise from a tool to answer with a tool error (``isError: true``) carrying
    this message: tools: "Tool Execution Errors ... reported in tool results
    with ``isError: true``"."""


#: Seconds a server-to-client request waits for the client's answer by default.
DEFAULT_ASK_TIMEOUT = 300.0


class Context:
    """What a handler can do besides returning its result.

    Declare a parameter annotated ``Context`` and the handler receives one.
    """

    __slots__ = ("_answers", "_asked", "_exchange", "ask_timeout")

    def __init__(self, exchange: Exchange, *, ask_timeout: float = DEFAULT_ASK_TIMEOUT) -> None:
        self._exchange = exchange
        self._asked: dict[str, int] = {}
        # The answers this request got, by key (carried into a task it becomes).
        self._answers: dict[str, Any] = {}
        self.ask_timeout = ask_timeout

    # -- who is asking ---------------------------------------------------------

    @property
    def request_id(self) -> RequestId:
        """The JSON-RPC id of the request being handled."""
        return self._exchange.request_id

    @property
    def era(self) -> Era:
        """Which era of the protocol the request came in."""
        return self._exchange.era

    @property
    def protocol_version(self) -> str:
        """The revision in force for this request."""
        return self._exchange.protocol_version

    @property
    def session_id(self) -> str | None:
        """The handshake-era session id (``None`` on the stateless wire and stdio)."""
        return self._exchange.session_id

    @property
    def client_info(self) -> Mapping[str, Any]:
        """The client's ``Implementation`` object."""
        return self._exchange.client_info

    @property
    def principal(self) -> Principal | None:
        """Who is calling, when the server requires authorization: the
        token's subject, scopes and claims (never the token). ``None`` without
        authorization (and on stdio, which has none)."""
        return current_principal()

    @property
    def client_capabilities(self) -> Mapping[str, Any]:
        """The capabilities the client declared."""
        return self._exchange.client_capabilities

    @property
    def progress_token(self) -> str | int | None:
        """The request's ``progressToken``, if it asked for progress."""
        return self._exchange.progress_token

    @property
    def lifespan(self) -> Any:
        """The value of the server's lifespan (``MCPServer(lifespan=...)``) on
        this node: a database pool, an HTTP client …; ``None`` without one."""
        return self._exchange.lifespan

    # -- notifications ---------------------------------------------------------

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """``notifications/progress`` for this request (nothing if it sent no
        ``progressToken``). Progress "MUST increase with each notification"."""
        await self._exchange.progress(progress, total, message)

    async def log(self, level: LogLevel, data: Any, *, logger: str | None = None) -> None:
        """``notifications/message`` at ``level``, if the client's level allows it."""
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {level!r}")
        await self._exchange.log(level, data, logger)

    async def debug(self, data: Any, *, logger: str | None = None) -> None:
        """Log at ``debug``."""
        await self.log("debug", data, logger=logger)

    async def info(self, data: Any, *, logger: str | None = None) -> None:
        """Log at ``info``."""
        await self.log("info", data, logger=logger)

    async def warning(self, data: Any, *, logger: str | None = None) -> None:
        """Log at ``warning``."""
        await self.log("warning", data, logger=logger)

    async def error(self, data: Any, *, logger: str | None = None) -> None:
        """Log at ``error``."""
        await self.log("error", data, logger=logger)

    async def close_sse_stream(self) -> None:
        """Close this request's SSE stream now and go on working: the client
        reconnects with ``Last-Event-ID`` and receives the rest (2025-11-25
        resumable streams; nothing happens on revisions and wires without them)."""
        await self._exchange.close_stream()

    async def notify_resource_updated(self, uri: str) -> None:
        """``notifications/resources/updated`` to every client subscribed to ``uri``."""
        await self._exchange.resource_updated(uri)

    # -- the application's state of the session ----------------------------------

    @property
    def session_state(self) -> SessionStateHandle:
        """A small JSON object kept with the session in the cluster's store, read
        by the next request on any node: ``await ctx.session_state.get()``,
        ``await ctx.session_state.update(fn)`` (safe against concurrent writers),
        ``set(doc)``, ``clear()``. Bounded in size; gone with the session. The
        stateless 2026-07-28 wire has none: every call raises
        :class:`~scaled_mcp.runtime.SessionStateUnavailable`."""
        return self._exchange.session_state

    # -- questions to the client -----------------------------------------------

    async def ask_many(self, questions: Mapping[str, InputRequest]) -> dict[str, dict[str, Any]]:
        """Ask several questions at once; their raw answers by the same keys.

        On a session the requests go out together and are awaited together;
        on the stateless wire they make one input-required result (keys are
        the ``inputRequests`` keys the client answers under).
        """
        exchange = self._exchange
        ask_all = getattr(exchange, "ask_all", None)
        if ask_all is not None:
            # Running as a task: the questions make the task input_required.
            got: dict[str, dict[str, Any]] = await ask_all(questions, self.ask_timeout)
            return got
        if exchange.era is Era.HANDSHAKE:
            answers: dict[str, dict[str, Any]] = {}

            async def one(key: str, question: InputRequest) -> None:
                answers[key] = await exchange.ask(
                    question.method, question.params or {}, self.ask_timeout
                )

            if len(questions) == 1:
                ((key, question),) = questions.items()
                await one(key, question)
                self._answers.update(answers)
                return answers
            try:
                async with trio.open_nursery() as nursery:
                    for key, question in questions.items():
                        nursery.start_soon(one, key, question)
            except BaseExceptionGroup as group:
                failed, _ = group.split(McpError)
                if failed is None:
                    raise
                raise failed.exceptions[0] from None
            self._answers.update(answers)
            return {key: answers[key] for key in questions}
        found: dict[str, dict[str, Any]] = {}
        missing: dict[str, InputRequest] = {}
        for key, question in questions.items():
            answer = exchange.answer(key, question)
            if answer is None:
                missing[key] = question
            else:
                found[key] = answer
        if missing:
            raise InputNeeded(missing, exchange.answered())
        self._answers.update(found)
        return found

    async def become_task(self) -> None:
        """Go on as a task of the tasks extension (a tool registered with
        ``defer_task=True``): the client gets a ``CreateTaskResult`` now and the
        handler runs again as the task, where the questions already answered
        return their answers at once. tasks: servers "SHOULD resolve all MRTR
        exchanges synchronously before responding with a CreateTaskResult".
        Nothing happens inside a task, or for a client without the extension."""
        if getattr(self._exchange, "ask_all", None) is not None or not wants_task(self):
            return
        raise BecomeTask(dict(self._answers))

    async def _ask(self, kind: str, question: InputRequest, key: str | None) -> dict[str, Any]:
        if key is None:
            number = self._asked.get(kind, 0) + 1
            self._asked[kind] = number
            key = f"{kind}-{number}"
        return (await self.ask_many({key: question}))[key]

    async def sample(
        self,
        messages: Sequence[SamplingMessage | Mapping[str, Any] | str],
        *,
        max_tokens: int,
        system_prompt: str | None = None,
        temperature: float | None = None,
        stop_sequences: Sequence[str] | None = None,
        model_preferences: Mapping[str, Any] | None = None,
        include_context: Literal["none", "thisServer", "allServers"] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> CreateMessageResult:
        """Ask the client's model (``sampling/createMessage``).

        A plain string is a user message with text content. ``key`` names the
        question on the stateless wire (default: ``sampling-<n>``).
        """
        wire_messages = [_sampling_message(m) for m in messages]
        fields: dict[str, Any] = {}
        for name, value in (
            ("systemPrompt", system_prompt),
            ("temperature", temperature),
            ("stopSequences", list(stop_sequences) if stop_sequences is not None else None),
            ("modelPreferences", dict(model_preferences) if model_preferences else None),
            ("includeContext", include_context),
            ("tools", [dict(t) for t in tools] if tools is not None else None),
            ("toolChoice", dict(tool_choice) if tool_choice is not None else None),
            ("metadata", dict(metadata) if metadata is not None else None),
        ):
            if value is not None:
                fields[name] = value
        question = InputRequest.create_message(wire_messages, max_tokens, **fields)
        return _result(CreateMessageResult, await self._ask("sampling", question, key))

    async def elicit(
        self, message: str, requested_schema: Mapping[str, Any], *, key: str | None = None
    ) -> ElicitResult:
        """Ask the user through a form (``elicitation/create``, form mode)."""
        question = InputRequest.elicit(message, requested_schema)
        return _result(ElicitResult, await self._ask("elicitation", question, key))

    async def elicit_url(
        self,
        message: str,
        url: str,
        *,
        elicitation_id: str | None = None,
        key: str | None = None,
    ) -> ElicitResult:
        """Send the user to ``url`` (``elicitation/create``, URL mode)."""
        question = InputRequest.elicit_url(message, url)
        if elicitation_id is not None and question.params is not None:
            question = InputRequest(
                question.method, {**question.params, "elicitationId": elicitation_id}
            )
        return _result(ElicitResult, await self._ask("elicitation", question, key))

    async def list_roots(self, *, key: str | None = None) -> list[Root]:
        """The client's roots (``roots/list``)."""
        answer = await self._ask("roots", InputRequest.list_roots(), key)
        roots = answer.get("roots")
        if not isinstance(roots, list):
            raise McpError(
                ErrorCode.INVALID_PARAMS, "Invalid params: the roots/list answer has no roots list"
            )
        return [from_wire(Root, root) for root in roots]


def _sampling_message(message: SamplingMessage | Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(message, str):
        return {"role": "user", "content": {"type": "text", "text": message}}
    if isinstance(message, SamplingMessage):
        return to_wire(message)
    return dict(message)


_T = TypeVar("_T")


def _result(cls: type[_T], answer: dict[str, Any]) -> _T:
    try:
        return from_wire(cls, answer)
    except RemoteProtocolError as exc:
        raise McpError(
            ErrorCode.INVALID_PARAMS, f"Invalid params: the client's answer is malformed: {exc}"
        ) from None
