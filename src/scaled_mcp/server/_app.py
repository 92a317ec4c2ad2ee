"""The app API: :class:`MCPServer`, what users write their servers with.

An :class:`MCPServer` is a registry of what it offers (tools, resources,
prompts, completions: :mod:`._registry`; skills: :mod:`._skills`) and a
dispatcher answering the MCP methods that serve them (:mod:`._dispatch`). It is the runtime's
:class:`~scaled_mcp.runtime.Application`: the runtime enters its lifespan
(:meth:`MCPServer.running`) and routes requests to :meth:`MCPServer.handle`;
it never looks inside. Around that: its middleware (:mod:`._middleware`),
the servers mounted in it (:mod:`._mount`) and who sees what
(:mod:`._visibility`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, Final, overload

from ..protocol.jsonrpc import ErrorCode
from ..protocol.types import Icon, to_wire
from ..runtime import Arrival, McpError
from ._context import Context
from ._dispatch import DEFAULT_PAGE_SIZE, Dispatcher
from ._entries import PromptEntry, ResourceEntry, ToolEntry, icon_list
from ._middleware import (
    CallNext,
    Hook,
    Middleware,
    MiddlewareContext,
    MiddlewareStack,
    compose,
    pass_to_core,
)
from ._mount import DEFAULT_SEPARATOR, Mount
from ._registry import Registry
from ._scopes import scopes_in
from ._skills import SkillServing
from ._visibility import ComponentKind, VisibilityRule, all_rules

__all__ = ["RESOURCE_NOT_FOUND", "Lifespan", "MCPServer"]

#: The handshake era's "Resource not found" code: the core's
#: :attr:`ErrorCode.RESOURCE_NOT_FOUND`, whose use depends on the revision
#: (:func:`~scaled_mcp.protocol.jsonrpc.resource_not_found_code`).
RESOURCE_NOT_FOUND: Final = ErrorCode.RESOURCE_NOT_FOUND

Lifespan = Callable[["MCPServer"], AbstractAsyncContextManager[Any]]
"""``lifespan(server)``: an async context manager (e.g. an ``@asynccontextmanager``
function) whose value handlers reach as ``ctx.lifespan``."""

#: A mount prefix: what a tool name may hold (tools: "A-Z, a-z, 0-9, _, -, .").
_PREFIX: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _may_wait(method: str, params: Mapping[str, Any]) -> bool:
    return False


class MCPServer(SkillServing, Registry, Dispatcher):
    """An MCP server: what it offers, and how each request is answered.

    ``name`` and ``version`` make up ``serverInfo``; ``instructions`` are sent
    in the ``initialize`` result (and ``server/discover``). ``page_size`` is the
    number of items a list request returns before a ``nextCursor``.
    ``lifespan(server)`` is an async context manager each node enters before it
    serves and leaves after it drained; handlers reach its value as
    ``ctx.lifespan``.
    """

    def __init__(
        self,
        name: str,
        version: str = "0.1.0",
        *,
        title: str | None = None,
        instructions: str | None = None,
        website_url: str | None = None,
        icons: Sequence[Icon | Mapping[str, Any]] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        lifespan: Lifespan | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        info: dict[str, Any] = {"name": name, "version": version}
        if title is not None:
            info["title"] = title
        if website_url is not None:
            info["websiteUrl"] = website_url
        if icons is not None:
            info["icons"] = [to_wire(i) for i in icon_list(icons) or []]
        self.server_info = info
        self.instructions = instructions
        self.page_size = page_size
        self._lifespan = lifespan
        #: The value of the lifespan while it runs (``None`` otherwise).
        self.lifespan_state: Any = None
        self._middleware = MiddlewareStack()
        self._chains: dict[str, CallNext] = {}
        self._rules: list[VisibilityRule] = []
        #: The runtime's hook for what the core answers itself: set once a
        #: middleware is added (``None``: the runtime skips it).
        self.admit: Callable[[Arrival], Awaitable[None]] | None = None
        Registry.__init__(self)
        Dispatcher.__init__(self)

    # -- lifespan ----------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Any]:
        """The server's lifespan, then those of the servers mounted in it (in the
        order mounted), left in the reverse order; its value is the server's own
        lifespan's (``None`` without one)."""
        async with AsyncExitStack() as stack:
            value = None
            if self._lifespan is not None:
                value = await stack.enter_async_context(self._lifespan(self))
            self.lifespan_state = value
            try:
                for mount in self._mounts:
                    await stack.enter_async_context(mount.server.running())
                yield value
            finally:
                self.lifespan_state = None

    # -- middleware --------------------------------------------------------------

    @overload
    def middleware(self, hook: Hook, /) -> Hook: ...
    @overload
    def middleware(
        self, hook: None = None, /, *, methods: Iterable[str]
    ) -> Callable[[Hook], Hook]: ...

    def middleware(
        self, hook: Hook | None = None, /, *, methods: Iterable[str] | None = None
    ) -> Hook | Callable[[Hook], Hook]:
        """Decorate ``async def hook(ctx, call_next)`` to run around every request
        and notification, or (``@app.middleware(methods=["tools/call"])``)
        around those methods only."""
        if hook is not None:
            self.add_middleware(hook)
            return hook

        def register(fn: Hook) -> Hook:
            self.add_middleware(fn, methods=methods)
            return fn

        return register

    def add_middleware(
        self, middleware: Middleware | Hook, *, methods: Iterable[str] | None = None
    ) -> None:
        """Add a :class:`Middleware` or a hook function (see :meth:`middleware`),
        inside those added before it."""
        self._middleware.add(middleware, methods)
        self._chains.clear()
        # From now on requests go through the chain; without middleware none of
        # this is in the way (the class's handle and never_waits serve).
        self.handle = self._handle_through_middleware  # type: ignore[method-assign]
        # A hook may wait: every request gets its cancel scope.
        self.never_waits = _may_wait  # type: ignore[method-assign]
        self.admit = self._admit

    async def _handle_through_middleware(
        self, method: str, params: dict[str, Any], ctx: Context
    ) -> dict[str, Any]:
        chain = self._chains.get(method)
        if chain is None:
            chain = compose(self._middleware.hooks(method, False), self._innermost)
            if len(self._chains) < 1024:
                self._chains[method] = chain
        result = await chain(MiddlewareContext.of_request(method, params, ctx))
        if result is None:
            raise McpError(ErrorCode.INTERNAL_ERROR, f"middleware gave no result for {method}")
        return result

    async def _innermost(self, mctx: MiddlewareContext) -> dict[str, Any]:
        assert mctx.context is not None
        return await Dispatcher.handle(self, mctx.method, mctx.params, mctx.context)

    async def _admit(self, arrival: Arrival) -> None:
        """Run the middleware around a message the core handles itself; raises
        :class:`McpError` to refuse it."""
        notification = arrival.request_id is None
        if not notification and arrival.method in self._handlers:
            return  # answered by this server: its middleware runs in handle()
        hooks = self._middleware.hooks(arrival.method, notification)
        if hooks:
            await compose(hooks, pass_to_core)(MiddlewareContext.of_arrival(arrival))

    # -- composition -------------------------------------------------------------

    def mount(self, server: MCPServer, prefix: str, *, separator: str = DEFAULT_SEPARATOR) -> None:
        """Serve ``server``'s tools and prompts here as ``<prefix><separator><name>``,
        its resources and templates under their own URIs (see :mod:`._mount`).

        Mount before the server is served: the capabilities a node declares
        are read when it starts."""
        if not _PREFIX.fullmatch(prefix) or not _PREFIX.fullmatch(separator):
            raise ValueError("prefix and separator: 1 to 64 of A-Z, a-z, 0-9, '_', '-', '.'")
        if server is self or server.contains(self):
            raise ValueError("a server cannot be mounted in itself")
        self._mounts.append(Mount(server, prefix, separator))
        server.add_listener(self._on_mounted_change)
        self.serve_mounted_skills()
        for kind in ("tools", "resources", "prompts"):
            if kind in server.capabilities:
                self._changed(kind)

    def contains(self, server: MCPServer) -> bool:
        """Whether ``server`` is mounted in this one, directly or deeper."""
        return any(m.server is server or m.server.contains(server) for m in self._mounts)

    def _on_mounted_change(self, kind: str, value: Any) -> None:
        if kind == "list_changed":
            self._changed(value)
        else:
            self.notify_resource_updated(value)

    # -- what a request's entry asks of the runtime ------------------------------

    def _entry_serving(
        self, method: str, params: Mapping[str, Any]
    ) -> ToolEntry | ResourceEntry | PromptEntry | None:
        """The entry of the tool a request calls, the resource it reads or the
        prompt it gets, in this server or a mounted one (``None``: no such
        entry, or another method)."""
        key = "uri" if method == "resources/read" else "name"
        name = params.get(key)
        if not isinstance(name, str):
            return None
        if method == "tools/call":
            entry: ToolEntry | ResourceEntry | PromptEntry | None = self.tool_entry(name)
        elif method == "prompts/get":
            entry = self.prompt_entry(name)
        elif method == "resources/read":
            found = self._find_resource(name)
            entry = found[0] if found is not None else None
        else:
            return None
        if entry is not None:
            return entry
        for mount in self._mounts:
            inner = name if key == "uri" else mount.inside(name)
            kind: ComponentKind = (
                "resource" if key == "uri" else ("tool" if method == "tools/call" else "prompt")
            )
            if inner is not None and mount.server.knows(kind, inner):
                return mount.server._entry_serving(method, {**params, key: inner})
        return None

    def handler_timeout(self, method: str, params: Mapping[str, Any]) -> float | None:
        """Seconds the handler of this request may run: the ``timeout=`` of the
        tool it calls, the resource it reads or the prompt it gets, when
        registered with one (``None``: the runtime's ``handler_timeout``)."""
        entry = self._entry_serving(method, params)
        return entry.timeout if entry is not None else None

    # -- authorization -----------------------------------------------------------

    def required_scopes(self, method: str, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The OAuth scopes a request needs: those of the tool it calls, the
        resource it reads or the prompt it gets (``scopes=`` when registered),
        in this server or a mounted one; none for other methods."""
        entry = self._entry_serving(method, params)
        return scopes_in(entry.wire) if entry is not None else ()

    def declared_scopes(self) -> tuple[str, ...]:
        """Every scope the tools, resources, templates and prompts of this server
        (and those mounted in it) name: what its protected resource metadata
        lists in ``scopes_supported``."""
        found: dict[str, None] = {}
        for table in (self._tools, self._resources, self._templates, self._prompts):
            for entry in table.values():
                found.update(dict.fromkeys(scopes_in(entry.wire)))
        for mount in self._mounts:
            found.update(dict.fromkeys(mount.server.declared_scopes()))
        return tuple(found)

    # -- visibility --------------------------------------------------------------

    def visibility(self, rule: VisibilityRule) -> VisibilityRule:
        """Add a rule ``rule(ctx, component) -> bool`` (usable as a decorator):
        a caller sees, and may use, only the components every rule lets through."""
        self._rules.append(rule)
        self._visible = all_rules(self._rules)
        return rule
