"""Middleware: code around the requests and notifications an
:class:`~scaled_mcp.server.MCPServer` receives.

A middleware is a :class:`Middleware` (override the hooks it needs) or an
``async def hook(ctx, call_next)`` function. Each hook gets a
:class:`MiddlewareContext` and ``call_next``; it may look, time, change
``ctx.params`` before ``await call_next(ctx)``, change the result after,
refuse by raising :class:`~scaled_mcp.server.McpError` (the client gets that
JSON-RPC error), or answer without calling ``call_next``.

The first middleware added is the outermost. The chain of each method is
built once, when a middleware is added, never per request; a server with no
middleware runs none of this.

Requests the protocol core answers itself (``initialize``, ``ping``,
``logging/setLevel``, ``resources/subscribe``, ``server/discover`` …) and the
client's notifications pass through the same hooks before the core sees them
(``ctx.core`` is true, ``ctx.context`` is ``None``): a hook may look at them
and refuse them, but not answer them differently: ``call_next`` returns
``None`` and what a hook returns is not used; the core answers. A refused
notification is dropped.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from ..protocol.jsonrpc import RequestId
from ..protocol.versions import Era
from ..runtime import Arrival
from ._context import Context

__all__ = [
    "METHOD_HOOKS",
    "CallNext",
    "Hook",
    "Middleware",
    "MiddlewareContext",
    "MiddlewareStack",
    "compose",
]

Result = dict[str, Any] | None


@attrs.define(slots=True, kw_only=True)
class MiddlewareContext:
    """One request or notification as middleware sees it.

    ``params`` may be replaced before ``call_next``. ``context`` is the
    handler's :class:`~scaled_mcp.server.Context` (``None`` for what the core
    answers itself and for notifications: then ``core`` is true).
    ``request_id`` is ``None`` for a notification.
    """

    method: str
    params: dict[str, Any]
    context: Context | None
    era: Era
    session_id: str | None
    request_id: RequestId | None
    client_info: Mapping[str, Any]
    core: bool = False

    @property
    def is_notification(self) -> bool:
        """Whether this is a notification (nothing answers it)."""
        return self.request_id is None

    @classmethod
    def of_request(cls, method: str, params: dict[str, Any], ctx: Context) -> MiddlewareContext:
        """The middleware context of a request the application answers."""
        return cls(
            method=method,
            params=params,
            context=ctx,
            era=ctx.era,
            session_id=ctx.session_id,
            request_id=ctx.request_id,
            client_info=ctx.client_info,
        )

    @classmethod
    def of_arrival(cls, arrival: Arrival) -> MiddlewareContext:
        """The middleware context of a message the core handles itself."""
        return cls(
            method=arrival.method,
            params=dict(arrival.params),
            context=None,
            era=arrival.era,
            session_id=arrival.session_id,
            request_id=arrival.request_id,
            client_info=arrival.client_info,
            core=True,
        )


CallNext = Callable[[MiddlewareContext], Awaitable[Result]]
"""What a hook calls to go on: the next hook, or the handler."""
Hook = Callable[[MiddlewareContext, CallNext], Awaitable[Result]]
"""``async def hook(ctx, call_next) -> result``."""

#: The hook of :class:`Middleware` called for each method, besides
#: ``on_message`` and ``on_request``/``on_notification``.
METHOD_HOOKS: Final[Mapping[str, str]] = {
    "initialize": "on_initialize",
    "ping": "on_ping",
    "tools/call": "on_call_tool",
    "tools/list": "on_list_tools",
    "resources/read": "on_read_resource",
    "resources/list": "on_list_resources",
    "resources/templates/list": "on_list_resource_templates",
    "prompts/get": "on_get_prompt",
    "prompts/list": "on_list_prompts",
    "completion/complete": "on_complete",
}


class Middleware:
    """Override the hooks you need; the others are skipped (they cost nothing).

    For one message the hooks run outermost first: ``on_message``, then
    ``on_request`` or ``on_notification``, then the method's own hook
    (``on_call_tool`` for ``tools/call`` … see :data:`METHOD_HOOKS`).
    """

    async def on_message(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around every request and notification."""
        return await call_next(ctx)

    async def on_request(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around every request."""
        return await call_next(ctx)

    async def on_notification(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around every notification from the client."""
        return await call_next(ctx)

    async def on_initialize(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``initialize`` (answered by the core: refuse or look only)."""
        return await call_next(ctx)

    async def on_ping(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``ping`` (answered by the core: refuse or look only)."""
        return await call_next(ctx)

    async def on_call_tool(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``tools/call``."""
        return await call_next(ctx)

    async def on_list_tools(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``tools/list``."""
        return await call_next(ctx)

    async def on_read_resource(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``resources/read``."""
        return await call_next(ctx)

    async def on_list_resources(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``resources/list``."""
        return await call_next(ctx)

    async def on_list_resource_templates(
        self, ctx: MiddlewareContext, call_next: CallNext
    ) -> Result:
        """Around ``resources/templates/list``."""
        return await call_next(ctx)

    async def on_get_prompt(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``prompts/get``."""
        return await call_next(ctx)

    async def on_list_prompts(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``prompts/list``."""
        return await call_next(ctx)

    async def on_complete(self, ctx: MiddlewareContext, call_next: CallNext) -> Result:
        """Around ``completion/complete``."""
        return await call_next(ctx)


@attrs.frozen(slots=True)
class _FunctionMiddleware:
    """A hook function, around every message or only ``methods``."""

    hook: Hook
    methods: frozenset[str] | None


def _hooks_of(
    item: Middleware | _FunctionMiddleware, method: str, notification: bool
) -> list[Hook]:
    if isinstance(item, _FunctionMiddleware):
        wanted = item.methods is None or method in item.methods
        return [item.hook] if wanted else []
    names = ["on_message", "on_notification" if notification else "on_request"]
    specific = METHOD_HOOKS.get(method)
    if specific is not None and not notification:
        names.append(specific)
    # Hooks left as Middleware's own only pass the message on: skipped.
    return [
        getattr(item, name)
        for name in names
        if getattr(type(item), name) is not getattr(Middleware, name)
    ]


def compose(hooks: Iterable[Hook], innermost: CallNext) -> CallNext:
    """``hooks`` around ``innermost``, the first outermost."""
    call = innermost
    for hook in reversed(list(hooks)):
        call = _layer(hook, call)
    return call


def _layer(hook: Hook, call_next: CallNext) -> CallNext:
    return lambda ctx: hook(ctx, call_next)


class MiddlewareStack:
    """A server's middleware, in the order added, and the hooks of each method
    (worked out once per method, again only when a middleware is added)."""

    __slots__ = ("_hooks", "_items")

    def __init__(self) -> None:
        self._items: list[Middleware | _FunctionMiddleware] = []
        self._hooks: dict[tuple[str, bool], tuple[Hook, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, middleware: Middleware | Hook, methods: Iterable[str] | None = None) -> None:
        """Add ``middleware`` innermost of those added so far."""
        if isinstance(middleware, Middleware):
            if methods is not None:
                raise TypeError("methods= is for hook functions; a Middleware picks its hooks")
            self._items.append(middleware)
        elif callable(middleware) and inspect.iscoroutinefunction(middleware):
            chosen = frozenset(methods) if methods is not None else None
            self._items.append(_FunctionMiddleware(middleware, chosen))
        else:
            raise TypeError(
                "middleware must be a Middleware or an `async def hook(ctx, call_next)`"
            )
        self._hooks.clear()

    def hooks(self, method: str, notification: bool) -> tuple[Hook, ...]:
        """The hooks around ``method``, outermost first."""
        key = (method, notification)
        found = self._hooks.get(key)
        if found is None:
            found = tuple(h for item in self._items for h in _hooks_of(item, method, notification))
            if len(self._hooks) < 1024:
                self._hooks[key] = found
        return found


async def pass_to_core(ctx: MiddlewareContext) -> Result:
    """The innermost ``call_next`` of what the core answers: nothing to return yet."""
    return None
