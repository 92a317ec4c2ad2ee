"""The MCP methods a client calls, with typed results.

Each method builds its params, sends them through :meth:`Client.request` and
reads the result into the attrs types the server side uses
(:mod:`scaled_mcp.protocol.types`). List methods follow ``nextCursor`` to the
last page. ``list_tools`` drops the tools whose ``x-mcp-header`` annotations
are invalid (tools, x-mcp-header: "Clients MUST reject" them) and keeps the
annotations of the others for the ``Mcp-Param-*`` headers of their calls.
``call_tool(..., task=True)`` may answer with a task (:mod:`._tasks`).
"""

# Every method takes the per-call ``timeout`` the client applies with ``trio.fail_after``.
# ruff: noqa: ASYNC109

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeVar, overload

from ..protocol.client import tool_param_headers, valid_tools
from ..protocol.jsonrpc import ErrorCode, RemoteProtocolError
from ..protocol.tasks import TASKS_EXTENSION
from ..protocol.types import (
    CallToolResult,
    CompleteResult,
    GetPromptResult,
    Prompt,
    ReadResourceResult,
    Resource,
    ResourceTemplate,
    Tool,
    from_wire,
)
from ._errors import ClientError
from ._handlers import ProgressHandler
from ._tasks import ClientTask, read_task
from ._transport import ParamHeaders

__all__ = ["ClientMethods"]

T = TypeVar("T")

#: Pages a list method reads at most (a server whose cursors never end is refused).
MAX_PAGES: Final = 1000


def _typed(cls: type[T], data: Any) -> T:
    try:
        return from_wire(cls, data)
    except RemoteProtocolError as exc:
        raise ClientError(ErrorCode.INVALID_PARAMS, f"the server's answer: {exc.message}") from None


class ClientMethods(abc.ABC):
    """The typed MCP methods of :class:`~scaled_mcp.client.Client`."""

    def __init__(self) -> None:
        #: The ``Mcp-Param-*`` annotations of the tools listed so far, by tool name.
        self._param_headers: dict[str, ParamHeaders] = {}

    @abc.abstractmethod
    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        progress_handler: ProgressHandler | None = None,
        param_headers: ParamHeaders | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send a request; its result."""

    @property
    @abc.abstractmethod
    def server_capabilities(self) -> dict[str, Any]:
        """What the server declared it offers."""

    @abc.abstractmethod
    async def _answer_inputs(self, questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The client's answers to input requests, by key (its handlers')."""

    @abc.abstractmethod
    async def _watch_task(self, task_id: str, listener: Callable[[dict[str, Any]], None]) -> None:
        """Stateless era: hear ``notifications/tasks`` about ``task_id``."""

    @abc.abstractmethod
    async def _unwatch_task(self, task_id: str) -> None:
        """Stop hearing about ``task_id``."""

    @abc.abstractmethod
    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification."""

    @abc.abstractmethod
    def _set_log_level(self, level: str) -> None:
        """Keep the log level the stateless era sends in each request's ``_meta``."""

    @abc.abstractmethod
    async def _change_subscription(self, uri: str, *, subscribe: bool) -> None:
        """Stateless era: listen (or stop listening) for updates of ``uri``."""

    @property
    @abc.abstractmethod
    def stateless(self) -> bool:
        """Whether the client speaks the stateless era."""

    async def _list(self, method: str, key: str, timeout: float | None) -> list[Any]:
        items: list[Any] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params = {"cursor": cursor} if cursor is not None else None
            result = await self.request(method, params, timeout=timeout)
            page = result.get(key)
            if not isinstance(page, list):
                raise ClientError(ErrorCode.INVALID_PARAMS, f"{method}: no {key!r} array")
            items.extend(page)
            next_cursor = result.get("nextCursor")
            if not isinstance(next_cursor, str):
                return items
            cursor = next_cursor
        raise ClientError(ErrorCode.INVALID_PARAMS, f"{method}: more than {MAX_PAGES} pages")

    # -- tools ----------------------------------------------------------------------

    async def list_tools(self, *, timeout: float | None = None) -> list[Tool]:
        """Every tool the server offers (all pages), less those with invalid
        ``x-mcp-header`` annotations."""
        tools = valid_tools(await self._list("tools/list", "tools", timeout))
        for tool in tools:
            headers = tool_param_headers(tool)
            if headers:
                self._param_headers[tool["name"]] = headers
        return [_typed(Tool, tool) for tool in tools]

    @overload
    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        progress_handler: ProgressHandler | None = None,
        meta: Mapping[str, Any] | None = None,
        task: Literal[False] = False,
        task_ttl_ms: int | None = None,
    ) -> CallToolResult: ...
    @overload
    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        progress_handler: ProgressHandler | None = None,
        meta: Mapping[str, Any] | None = None,
        task: Literal[True],
        task_ttl_ms: int | None = None,
    ) -> CallToolResult | ClientTask: ...

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        progress_handler: ProgressHandler | None = None,
        meta: Mapping[str, Any] | None = None,
        task: bool = False,
        task_ttl_ms: int | None = None,
    ) -> CallToolResult | ClientTask:
        """Call tool ``name``; its result (``is_error`` set for a tool's own
        failure, a :class:`ClientError` for a protocol error).

        ``progress_handler`` gets this call's progress; ``meta`` is sent as
        the request's ``_meta``. With ``task=True`` the server may run the
        call as a task: then the answer is a :class:`ClientTask` (2026-07-28:
        the request declares the tasks extension; 2025-11-25: the call is
        task-augmented, with ``task_ttl_ms`` as its ``ttl``, when the server
        declares tasks for ``tools/call``). A task the client did not ask for
        (its capabilities declaring the extension for every request) is
        followed to its result within ``timeout``.
        """
        params: dict[str, Any] = {"name": name, "arguments": dict(arguments or {})}
        if meta:
            params["_meta"] = dict(meta)
        extensions: dict[str, Any] | None = None
        augmented = False
        if task and self.stateless:
            extensions = {TASKS_EXTENSION: {}}
        elif task and _handshake_tasks_for_tools(self.server_capabilities):
            params["task"] = {} if task_ttl_ms is None else {"ttl": int(task_ttl_ms)}
            augmented = True
        result = await self.request(
            "tools/call",
            params,
            timeout=timeout,
            progress_handler=progress_handler,
            param_headers=self._param_headers.get(name),
            extensions=extensions,
        )
        # The core lets a task through only to a request that allowed one.
        if (self.stateless and result.get("resultType") == "task") or (
            augmented and "task" in result
        ):
            handle = ClientTask(self, read_task(result, handshake=not self.stateless))
            return handle if task else await handle.result(timeout=timeout)
        return _typed(CallToolResult, result)

    # -- tasks ------------------------------------------------------------------------

    def task(self, task_id: str) -> ClientTask:
        """The handle of the task ``task_id`` (one created earlier, by this client
        or one before it with the same credentials or session)."""
        return ClientTask(self, task_id)

    async def list_tasks(self, *, timeout: float | None = None) -> list[ClientTask]:
        """2025-11-25 ``tasks/list`` (every page): this session's tasks. The
        2026-07-28 wire has none ("there is no ``tasks/list``")."""
        if self.stateless:
            raise ClientError(ErrorCode.METHOD_NOT_FOUND, "tasks/list is not a 2026-07-28 method")
        items = await self._list("tasks/list", "tasks", timeout)
        return [ClientTask(self, read_task(item, handshake=True)) for item in items]

    # -- resources --------------------------------------------------------------------

    async def list_resources(self, *, timeout: float | None = None) -> list[Resource]:
        """Every resource the server lists (all pages)."""
        items = await self._list("resources/list", "resources", timeout)
        return [_typed(Resource, item) for item in items]

    async def list_resource_templates(
        self, *, timeout: float | None = None
    ) -> list[ResourceTemplate]:
        """Every resource template the server lists (all pages)."""
        items = await self._list("resources/templates/list", "resourceTemplates", timeout)
        return [_typed(ResourceTemplate, item) for item in items]

    async def read_resource(self, uri: str, *, timeout: float | None = None) -> ReadResourceResult:
        """The contents of the resource at ``uri``."""
        result = await self.request("resources/read", {"uri": uri}, timeout=timeout)
        return _typed(ReadResourceResult, result)

    async def subscribe_resource(self, uri: str, *, timeout: float | None = None) -> None:
        """Ask for ``notifications/resources/updated`` about ``uri``: handshake era
        ``resources/subscribe``; stateless era, a ``subscriptions/listen`` stream
        (reopened with the new set of URIs)."""
        if self.stateless:
            await self._change_subscription(uri, subscribe=True)
            return
        await self.request("resources/subscribe", {"uri": uri}, timeout=timeout)

    async def unsubscribe_resource(self, uri: str, *, timeout: float | None = None) -> None:
        """Stop the updates about ``uri``."""
        if self.stateless:
            await self._change_subscription(uri, subscribe=False)
            return
        await self.request("resources/unsubscribe", {"uri": uri}, timeout=timeout)

    # -- prompts ------------------------------------------------------------------------

    async def list_prompts(self, *, timeout: float | None = None) -> list[Prompt]:
        """Every prompt the server offers (all pages)."""
        items = await self._list("prompts/list", "prompts", timeout)
        return [_typed(Prompt, item) for item in items]

    async def get_prompt(
        self,
        name: str,
        arguments: Mapping[str, str] | None = None,
        *,
        timeout: float | None = None,
    ) -> GetPromptResult:
        """Prompt ``name`` filled with ``arguments``."""
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        result = await self.request("prompts/get", params, timeout=timeout)
        return _typed(GetPromptResult, result)

    # -- completion, logging, ping, roots -------------------------------------------------

    async def complete(
        self,
        ref: Mapping[str, Any],
        argument: Mapping[str, str],
        *,
        context_arguments: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> CompleteResult:
        """Completions for ``argument`` (``{"name", "value"}``) of ``ref``
        (``{"type": "ref/prompt", "name"}`` or ``{"type": "ref/resource", "uri"}``)."""
        params: dict[str, Any] = {"ref": dict(ref), "argument": dict(argument)}
        if context_arguments is not None:
            params["context"] = {"arguments": dict(context_arguments)}
        result = await self.request("completion/complete", params, timeout=timeout)
        return _typed(CompleteResult, result)

    async def set_logging_level(self, level: str, *, timeout: float | None = None) -> None:
        """The least severe log level the server should send. Handshake era:
        ``logging/setLevel``; stateless era: sent in each later request's ``_meta``."""
        if self.stateless:
            self._set_log_level(level)
            return
        await self.request("logging/setLevel", {"level": level}, timeout=timeout)

    async def ping(self, *, timeout: float | None = None) -> None:
        """Check that the server answers: ``ping`` in the handshake era; the
        stateless era has no ``ping``, and a ``server/discover`` stands for it."""
        method = "server/discover" if self.stateless else "ping"
        await self.request(method, None, timeout=timeout)

    async def send_roots_list_changed(self) -> None:
        """Tell the server the client's roots changed (handshake era)."""
        await self.notify("notifications/roots/list_changed")


def _handshake_tasks_for_tools(capabilities: Mapping[str, Any]) -> bool:
    """2025-11-25: whether the server runs ``tools/call`` as tasks
    (``capabilities.tasks.requests.tools.call``)."""
    found: Any = capabilities.get("tasks")
    for key in ("requests", "tools", "call"):
        if not isinstance(found, Mapping):
            return False
        found = found.get(key)
    return isinstance(found, Mapping)
