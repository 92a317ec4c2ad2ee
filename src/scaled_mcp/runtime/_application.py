"""What the runtime drives: an :class:`Application`, and what the two exchange.

The runtime serves any object that has the few methods of :class:`Application`
(:class:`~scaled_mcp.server.MCPServer` is one). For each request it hands the
application an :class:`Exchange` (what the request can do with the client),
from which the application makes its own per-request context
(:meth:`Application.new_context`), and then calls :meth:`Application.handle`
with that context. A handler ends its request early by raising
:class:`McpError` (a JSON-RPC error) or, on the stateless wire, by raising
:class:`InputNeeded` (an input-required result). The application tells the
runtime of changes through a :data:`ChangeListener`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from ..protocol.jsonrpc import RequestId
from ..protocol.stateless import InputRequest
from ..protocol.versions import Era

if TYPE_CHECKING:
    from ._session_state import SessionStateHandle

__all__ = [
    "Application",
    "Arrival",
    "ChangeListener",
    "Exchange",
    "InputNeeded",
    "McpError",
    "StartupError",
]

ContextT = TypeVar("ContextT")

ChangeListener = Callable[[str, Any], None]
"""Called with ``("list_changed", kind)`` (``kind``: ``tools``, ``resources`` or
``prompts``) or ``("resource_updated", uri)``."""


class McpError(Exception):
    """Raise from a handler to answer the request with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.data = data


class InputNeeded(Exception):
    """Stateless wire: the handler asked a question the client has not answered yet.

    Raised by the context, caught by the runtime, which answers with an
    input-required result: ``requests`` are the questions by key, ``answered``
    what the client already answered (sealed into ``requestState``).
    """

    def __init__(self, requests: dict[str, InputRequest], answered: dict[str, Any]) -> None:
        super().__init__(f"input required: {sorted(requests)}")
        self.requests = requests
        self.answered = answered


class StartupError(Exception):
    """The node could not start: the application's lifespan failed on entry
    (the message is one line, for the command line to print)."""


@attrs.frozen(slots=True, kw_only=True)
class Arrival:
    """A request or notification the core handles itself, shown to the
    application's :attr:`Application.admit` before the core sees it.
    ``request_id`` is ``None`` for a notification."""

    method: str
    params: Mapping[str, Any]
    era: Era
    session_id: str | None
    request_id: RequestId | None
    client_info: Mapping[str, Any]


class Exchange(Protocol):
    """What the runtime offers one request in flight."""

    @property
    def era(self) -> Era: ...
    @property
    def request_id(self) -> RequestId: ...
    @property
    def protocol_version(self) -> str: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def client_info(self) -> Mapping[str, Any]: ...
    @property
    def client_capabilities(self) -> Mapping[str, Any]: ...
    @property
    def progress_token(self) -> str | int | None: ...
    @property
    def lifespan(self) -> Any:
        """The value the application's lifespan gave on this node."""
        ...

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        """Send progress for this request, if it asked for it."""
        ...

    async def log(self, level: str, data: Any, logger: str | None) -> None:
        """Send a log message for this request, if the client's level lets it through."""
        ...

    async def ask(
        self, method: str, params: dict[str, Any], answer_within: float
    ) -> dict[str, Any]:
        """Session: send a request to the client and return its result (raises
        :class:`McpError` for a JSON-RPC error answer or a timeout)."""
        ...

    def answer(self, key: str, question: InputRequest) -> dict[str, Any] | None:
        """Stateless: the client's answer to ``question`` under ``key`` (checked
        for its kind; -32602 if malformed), or ``None`` if it gave none yet."""
        ...

    def answered(self) -> dict[str, Any]:
        """Stateless: the answers read so far, to seal into ``requestState``."""
        ...

    async def resource_updated(self, uri: str) -> None:
        """Tell every subscriber of ``uri`` that it changed."""
        ...

    async def close_stream(self) -> None:
        """End the response stream now; the client resumes it (resumable streams only)."""
        ...

    @property
    def session_state(self) -> SessionStateHandle:
        """The application's state of the request's session (made when first read;
        unavailable on the stateless wire)."""
        ...


class Application(Protocol[ContextT]):
    """What the runtime serves: the methods it calls, and nothing more.

    ``ContextT`` is the application's per-request context, made by
    :meth:`new_context` and passed back to :meth:`handle`; the runtime never
    looks inside it.
    """

    @property
    def server_info(self) -> dict[str, Any]:
        """The ``Implementation`` object of ``serverInfo``."""
        ...

    @property
    def capabilities(self) -> dict[str, Any]:
        """The ``ServerCapabilities`` object, as of now."""
        ...

    @property
    def instructions(self) -> str | None:
        """The ``instructions`` of the ``initialize`` and ``server/discover`` results."""
        ...

    def new_context(self, exchange: Exchange, *, ask_timeout: float) -> ContextT:
        """The context of one request over ``exchange``; a question it asks the
        client waits ``ask_timeout`` seconds for the answer unless told otherwise.

        Called once per request, on the hot path: an application may make it
        the context's class itself."""
        ...

    async def handle(
        self, method: str, params: dict[str, Any], context: ContextT
    ) -> dict[str, Any]:
        """The result of one request the core handed to the application.

        Raises :class:`McpError` to answer with a JSON-RPC error,
        :class:`InputNeeded` (stateless wire) to answer with an input-required
        result, or :class:`~scaled_mcp.protocol.RemoteProtocolError` for a
        request the peer got wrong; anything else is answered -32603.
        """
        ...

    def never_waits(self, method: str, params: Mapping[str, Any]) -> bool:
        """Whether :meth:`handle` cannot yield to the event loop for this request
        (then the runtime spares its cancel scope)."""
        ...

    def tool_param_headers(self, name: str) -> Mapping[str, Sequence[str]] | None:
        """Tool ``name``'s ``x-mcp-header`` names and the argument paths they
        mirror (``None`` if there is no such tool)."""
        ...

    def add_listener(self, listener: ChangeListener) -> None:
        """Tell ``listener`` of list changes and resource updates from now on."""
        ...

    def remove_listener(self, listener: ChangeListener) -> None:
        """Stop telling ``listener``."""
        ...

    def running(self) -> AbstractAsyncContextManager[Any]:
        """The application's lifespan: entered by each node before it serves, left
        after it drained; its value is what handlers reach (:attr:`Exchange.lifespan`)."""
        ...

    #: Called with each request and notification the core handles itself, before
    #: it does (raise :class:`McpError` to refuse it); ``None``: not called.
    admit: Callable[[Arrival], Awaitable[None]] | None
