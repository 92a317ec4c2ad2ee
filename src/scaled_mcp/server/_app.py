"""The app API: :class:`MCPServer`, what users write their servers with.

An :class:`MCPServer` is a registry of what it offers (tools, resources,
prompts, completions: :mod:`._registry`) and a dispatcher answering the MCP
methods that serve them (:mod:`._dispatch`). It is the runtime's
:class:`~scaled_mcp.runtime.Application`: the runtime routes requests to
:meth:`MCPServer.handle`; it never looks inside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ..protocol.jsonrpc import ErrorCode
from ..protocol.types import Icon, to_wire
from ._dispatch import DEFAULT_PAGE_SIZE, Dispatcher
from ._registry import Registry, icon_list

__all__ = ["RESOURCE_NOT_FOUND", "MCPServer"]

#: The handshake era's "Resource not found" code: the core's
#: :attr:`ErrorCode.RESOURCE_NOT_FOUND`, whose use depends on the revision
#: (:func:`~scaled_mcp.protocol.jsonrpc.resource_not_found_code`).
RESOURCE_NOT_FOUND: Final = ErrorCode.RESOURCE_NOT_FOUND


class MCPServer(Registry, Dispatcher):
    """An MCP server: what it offers, and how each request is answered.

    ``name`` and ``version`` make up ``serverInfo``; ``instructions`` are sent
    in the ``initialize`` result (and ``server/discover``). ``page_size`` is the
    number of items a list request returns before a ``nextCursor``.
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
        Registry.__init__(self)
        Dispatcher.__init__(self)
