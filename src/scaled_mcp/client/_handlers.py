"""The application's handlers: what the client answers when the server asks
(sampling, elicitation, roots) and what it does with what the server tells
(log messages, progress, list changes, resource updates).

Every handler may be a plain function or a coroutine function. A sampling or
elicitation handler returns the attrs result (``CreateMessageResult``,
``ElicitResult``) or its wire form as a dict; raising
:class:`~scaled_mcp.client.ClientError` answers the server with that error.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

import attrs

from ..protocol.jsonrpc import ErrorCode
from ..protocol.types import CreateMessageResult, ElicitResult, Root, to_wire
from ._errors import ClientError

__all__ = [
    "ElicitationHandler",
    "Handlers",
    "InputRoundHandler",
    "ListChangedHandler",
    "LogHandler",
    "ProgressHandler",
    "ResourceUpdatedHandler",
    "RootsSource",
    "SamplingHandler",
    "call_handler",
]

#: ``sampling_handler(params)``: ``params`` are the ``sampling/createMessage`` params as sent.
SamplingHandler: TypeAlias = Callable[
    [dict[str, Any]], CreateMessageResult | dict[str, Any] | Awaitable[Any]
]
#: ``elicitation_handler(params)``: ``params`` are the ``elicitation/create`` params as sent.
ElicitationHandler: TypeAlias = Callable[
    [dict[str, Any]], ElicitResult | dict[str, Any] | Awaitable[Any]
]
#: ``log_handler(level, data, logger)`` for each ``notifications/message``.
LogHandler: TypeAlias = Callable[[str, Any, str | None], Awaitable[None] | None]
#: ``progress_handler(progress, total, message)`` for each ``notifications/progress``.
ProgressHandler: TypeAlias = Callable[[float, float | None, str | None], Awaitable[None] | None]
#: ``input_round_handler(questions)``: every input request of one input-required
#: round (2026-07-28), by key, as sent; returns the answers by the same keys.
InputRoundHandler: TypeAlias = Callable[
    [dict[str, dict[str, Any]]], dict[str, Any] | Awaitable[dict[str, Any]]
]
#: ``list_changed_handler(kind)``: ``kind`` is ``"tools"``, ``"resources"`` or ``"prompts"``.
ListChangedHandler: TypeAlias = Callable[[str], Awaitable[None] | None]
#: ``resource_updated_handler(uri)`` for each ``notifications/resources/updated``.
ResourceUpdatedHandler: TypeAlias = Callable[[str], Awaitable[None] | None]
_Roots: TypeAlias = Sequence[Root | dict[str, Any] | str]
#: The client's roots: a list (of :class:`Root`, wire dicts or ``file://`` URIs) or a
#: function returning one (called at each ``roots/list``).
RootsSource: TypeAlias = _Roots | Callable[[], _Roots | Awaitable[_Roots]]


async def call_handler(handler: Callable[..., Any], *args: Any) -> Any:
    """Call a handler that may be sync or async; its result."""
    result = handler(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def _wire(result: Any, kind: type[Any]) -> dict[str, Any]:
    if isinstance(result, kind):
        return to_wire(result)
    if isinstance(result, dict):
        return result
    raise TypeError(f"a handler returned {type(result).__name__}, not {kind.__name__} or a dict")


def _root(root: Root | dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(root, Root):
        return to_wire(root)
    if isinstance(root, str):
        return {"uri": root}
    return dict(root)


@attrs.frozen(slots=True, kw_only=True)
class Handlers:
    """The handlers a client was given; ``None`` means the client does not offer that."""

    sampling: SamplingHandler | None = None
    elicitation: ElicitationHandler | None = None
    roots: RootsSource | None = None
    log: LogHandler | None = None
    progress: ProgressHandler | None = None
    list_changed: ListChangedHandler | None = None
    resource_updated: ResourceUpdatedHandler | None = None
    input_round: InputRoundHandler | None = None

    def capabilities(self) -> dict[str, Any]:
        """The ``ClientCapabilities`` these handlers make true."""
        capabilities: dict[str, Any] = {}
        if self.sampling is not None:
            capabilities["sampling"] = {}
        if self.elicitation is not None:
            capabilities["elicitation"] = {"form": {}}
        if self.roots is not None:
            capabilities["roots"] = {"listChanged": True}
        return capabilities

    async def answer_round(self, questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The answers to one input-required round, by key: the round handler's,
        else each question answered in turn by :meth:`answer`."""
        if self.input_round is not None:
            return dict(await call_handler(self.input_round, questions))
        return {
            key: await self.answer(question["method"], question.get("params") or {})
            for key, question in questions.items()
        }

    async def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The result for a server request (or an input request of the stateless era).

        Raises :class:`ClientError` for what the client does not serve.
        """
        if method == "sampling/createMessage" and self.sampling is not None:
            return _wire(await call_handler(self.sampling, params), CreateMessageResult)
        if method == "elicitation/create" and self.elicitation is not None:
            return _wire(await call_handler(self.elicitation, params), ElicitResult)
        if method == "roots/list" and self.roots is not None:
            roots = self.roots
            if callable(roots):
                roots = await call_handler(roots)
            return {"roots": [_root(root) for root in roots]}
        if method == "ping":
            return {}
        raise ClientError(ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method}")
