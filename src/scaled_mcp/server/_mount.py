"""Composition: one :class:`~scaled_mcp.server.MCPServer` mounted in another.

``parent.mount(child, prefix="weather")`` serves the child's tools and
prompts as ``weather_<name>`` (the separator is ``_`` unless given) and its
resources and templates under their own URIs (URIs name things already; a
parent's own resource wins over a child's of the same URI). A request for a
mounted component is handed to the child's own ``handle``, so the child's
middleware and visibility rules apply to its components; the parent's apply
around them. The child's list changes and resource updates reach the
parent's clients; its lifespan runs inside the parent's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, cast

import attrs

from ..runtime import Exchange
from ._context import Context
from ._visibility import Component, ComponentKind

if TYPE_CHECKING:
    from ._app import MCPServer

__all__ = ["DEFAULT_SEPARATOR", "MAX_MOUNTED_PAGES", "Mount", "MountedExchange"]

#: Between a mount's prefix and a tool's or prompt's name: ``weather_forecast``.
DEFAULT_SEPARATOR: Final = "_"
#: Pages of a mounted server's list read at most for one list request.
MAX_MOUNTED_PAGES: Final = 1000

#: For each list method: the key of its items, and their kind.
LISTED: Final[Mapping[str, tuple[str, ComponentKind]]] = {
    "tools/list": ("tools", "tool"),
    "resources/list": ("resources", "resource"),
    "resources/templates/list": ("resourceTemplates", "resource_template"),
    "prompts/list": ("prompts", "prompt"),
}


class MountedExchange:
    """The parent's exchange, as a mounted server's handler sees it: the same
    request, with the mounted server's own lifespan value."""

    def __init__(self, exchange: Exchange, server: MCPServer) -> None:
        self._exchange = exchange
        self._server = server

    @property
    def lifespan(self) -> Any:
        """The value of the mounted server's lifespan."""
        return self._server.lifespan_state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exchange, name)


@attrs.frozen(slots=True)
class Mount:
    """A server mounted under ``prefix``."""

    server: MCPServer
    prefix: str
    separator: str = DEFAULT_SEPARATOR

    def outside(self, name: str) -> str:
        """A child's tool or prompt name as the parent's clients see it."""
        return f"{self.prefix}{self.separator}{name}"

    def inside(self, name: str) -> str | None:
        """The child's name of the parent's ``name`` (``None``: not this mount's)."""
        head = self.prefix + self.separator
        return name[len(head) :] if name.startswith(head) else None

    def context(self, ctx: Context) -> Context:
        """The child's context for a request the parent received as ``ctx``."""
        exchange = cast(Exchange, MountedExchange(ctx._exchange, self.server))
        inner = self.server.new_context(exchange, ask_timeout=ctx.ask_timeout)
        # Questions keep one numbering across the parent's and the child's code.
        inner._asked = ctx._asked
        return inner

    async def listed(self, method: str, ctx: Context) -> list[dict[str, Any]]:
        """Every item of the child's list ``method``, named as the parent's clients see it."""
        key, kind = LISTED[method]
        inner = self.context(ctx)
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        for _ in range(MAX_MOUNTED_PAGES):
            page = await self.server.handle(method, params, inner)
            for item in page.get(key, ()):
                if kind in ("tool", "prompt"):
                    item = {**item, "name": self.outside(str(item.get("name")))}
                items.append(item)
            cursor = page.get("nextCursor")
            if cursor is None:
                break
            params = {"cursor": cursor}
        return items

    def component(self, kind: ComponentKind, item: Mapping[str, Any]) -> Component:
        """The parent's view of a child's listed item, for the parent's visibility rules."""
        server = self.server
        tags: frozenset[str] = frozenset()
        if kind == "tool":
            name = str(item.get("name"))
            entry = server.tool_entry(self.inside(name) or "")
            tags = entry.component.tags if entry is not None else tags
        elif kind == "prompt":
            name = str(item.get("name"))
            found = server.prompt_entry(self.inside(name) or "")
            tags = found.component.tags if found is not None else tags
        else:
            name = str(item.get("uri") if kind == "resource" else item.get("uriTemplate"))
            resource = server.resource_entry(name)
            tags = resource.component.tags if resource is not None else tags
        return Component(kind, name, tags, item)
