"""Dispatch: the MCP methods an :class:`~scaled_mcp.server.MCPServer` answers.

``tools/list``, ``tools/call``, ``resources/list``, ``resources/templates/list``,
``resources/read``, ``prompts/list``, ``prompts/get`` and ``completion/complete``
are the same on both eras of the wire: each takes the request's params and a
:class:`~scaled_mcp.server.Context` and returns the result object, read from
the registry's tables. List results are paged with opaque cursors.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final

from ..protocol.jsonrpc import ErrorCode, resource_not_found_code
from ..protocol.tasks import parse_task_augmentation
from ..protocol.types import CompleteResult, Completion, check_tool_call_params, to_wire
from ..protocol.versions import Era
from ..runtime import InputNeeded, McpError
from ._context import Context, ToolError
from ._entries import PromptEntry, ResourceEntry, ToolEntry
from ._handlers import invoke, parameter_names
from ._mount import LISTED, Mount
from ._results import prompt_result, resource_result, tool_error, tool_result
from ._tasks import (
    BecomeTask,
    handle_task_method,
    refuse_without_tasks,
    start_task,
    task_host,
    wants_task,
)
from ._tasks_handshake import handle_handshake_task_method
from ._visibility import ComponentKind, VisibilityRule

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_COMPLETION_VALUES",
    "Dispatcher",
]

_log = logging.getLogger("scaled_mcp.server")

#: Items on one page of ``tools/list``, ``resources/list`` … by default.
DEFAULT_PAGE_SIZE: Final = 100
#: Completion values in one answer at most (completion: "Maximum 100 items").
MAX_COMPLETION_VALUES: Final = 100

_LIST_METHODS: Final = frozenset(
    {"tools/list", "resources/list", "resources/templates/list", "prompts/list"}
)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode("ascii")


def _decode_cursor(cursor: object) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode("ascii")).decode("ascii")
        kind, _, number = text.partition(":")
        if kind == "o" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeError):
        pass
    # pagination: "Invalid cursors SHOULD result in an error with code -32602".
    raise McpError(ErrorCode.INVALID_PARAMS, "Invalid params: invalid cursor")


class Dispatcher:
    """How each request is answered: :meth:`handle` routes a method to its
    handler, which reads the registry's tables (an
    :class:`~scaled_mcp.server.MCPServer` is both the registry and this)."""

    # The registry's tables: read here, filled only by the registry.
    _tools: dict[str, ToolEntry]
    _resources: dict[str, ResourceEntry]
    _templates: dict[str, ResourceEntry]
    _prompts: dict[str, PromptEntry]
    _completions: dict[tuple[str, str], Callable[..., Any]]
    _mounts: list[Mount]
    #: Items on one page of a list result.
    page_size: int

    def __init__(self) -> None:
        self._handlers: dict[
            str, Callable[[dict[str, Any], Context], Awaitable[dict[str, Any]]]
        ] = {
            "tools/list": self._list_tools,
            "tools/call": self._call_tool,
            "resources/list": self._list_resources,
            "resources/templates/list": self._list_templates,
            "resources/read": self._read_resource,
            "prompts/list": self._list_prompts,
            "prompts/get": self._get_prompt,
            "completion/complete": self._complete,
            "tasks/get": self._get_task,
            "tasks/update": self._update_task,
            "tasks/cancel": self._cancel_task,
            "tasks/result": self._task_result,
            "tasks/list": self._list_tasks,
        }
        #: Every visibility rule in one (``None``: everything is visible).
        self._visible: VisibilityRule | None = None

    #: Makes each request's context from the runtime's exchange and ask timeout
    #: (:meth:`Application.new_context <scaled_mcp.runtime.Application.new_context>`):
    #: the class itself, so that it costs the runtime no more than the object.
    new_context = Context

    def never_waits(self, method: str, params: Mapping[str, Any]) -> bool:
        """Whether answering this request cannot yield to the event loop (then
        the runtime needs no cancel scope around it): the list methods, and
        ``tools/call`` of a coroutine tool with no ``await`` in it."""
        if method == "tools/call":
            entry = self._tools.get(params.get("name"))  # type: ignore[arg-type]
            # A mounted server's tool may wait: it is not in this table.
            return entry.quick if entry is not None else not self._mounts
        return method in _LIST_METHODS and not self._mounts

    def serves(self, method: str) -> bool:
        """Whether :meth:`handle` answers ``method``."""
        return method in self._handlers

    async def handle(self, method: str, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Answer one request; raises :class:`McpError` for a JSON-RPC error, or
        the core's :class:`~scaled_mcp.protocol.RemoteProtocolError` for params
        whose shape the core checks (``tools/call``'s)."""
        handler = self._handlers.get(method)
        if handler is None:
            raise McpError(ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method}")
        return await handler(params, ctx)

    def _page(
        self, items: Iterable[dict[str, Any]], params: Mapping[str, Any], key: str
    ) -> dict[str, Any]:
        listed = list(items)
        start = _decode_cursor(params.get("cursor"))
        if start > len(listed):
            raise McpError(ErrorCode.INVALID_PARAMS, "Invalid params: invalid cursor")
        end = start + self.page_size
        result: dict[str, Any] = {key: listed[start:end]}
        if end < len(listed):
            result["nextCursor"] = _encode_cursor(end)
        return result

    async def _list_tools(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        if self._visible is None and not self._mounts:
            return self._page((e.wire for e in self._tools.values()), params, "tools")
        return await self._list_all("tools/list", self._tools.values(), params, ctx)

    async def _list_resources(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        if self._visible is None and not self._mounts:
            return self._page((e.wire for e in self._resources.values()), params, "resources")
        return await self._list_all("resources/list", self._resources.values(), params, ctx)

    async def _list_templates(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        if self._visible is None and not self._mounts:
            wires = (e.wire for e in self._templates.values())
            return self._page(wires, params, "resourceTemplates")
        method = "resources/templates/list"
        return await self._list_all(method, self._templates.values(), params, ctx)

    async def _list_prompts(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        if self._visible is None and not self._mounts:
            return self._page((e.wire for e in self._prompts.values()), params, "prompts")
        return await self._list_all("prompts/list", self._prompts.values(), params, ctx)

    async def _list_all(
        self,
        method: str,
        entries: Iterable[ToolEntry | ResourceEntry | PromptEntry],
        params: Mapping[str, Any],
        ctx: Context,
    ) -> dict[str, Any]:
        """A list of what the caller may see, mounted servers' items after the server's own."""
        key, kind = LISTED[method]
        visible = self._visible
        items = [e.wire for e in entries if visible is None or visible(ctx, e.component)]
        for mount in self._mounts:
            for item in await mount.listed(method, ctx):
                if visible is None or visible(ctx, mount.component(kind, item)):
                    items.append(item)
        return self._page(items, params, key)

    def _mount_of(self, kind: ComponentKind, name: str, ctx: Context) -> tuple[Mount, str] | None:
        """The mount serving tool or prompt ``name`` (if the caller may see it), and
        the name it has there."""
        visible = self._visible
        for mount in self._mounts:
            inner = mount.inside(name)
            if inner is None or not mount.server.knows(kind, inner):
                continue
            if visible is not None and not visible(ctx, mount.component(kind, {"name": name})):
                return None
            return mount, inner
        return None

    def _mount_of_uri(self, uri: str, ctx: Context) -> Mount | None:
        """The mount serving resource ``uri`` (if the caller may see it)."""
        visible = self._visible
        for mount in self._mounts:
            if mount.server.knows("resource", uri):
                if visible is not None and not visible(
                    ctx, mount.component("resource", {"uri": uri})
                ):
                    return None
                return mount
        return None

    async def _call_tool(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        # The core's check of the params' shape (-32602), which the session
        # machine and the stateless dispatcher made already: this is for a
        # caller of handle() that did not come through them.
        name = check_tool_call_params(params)
        entry = self._tools.get(name)
        if entry is None or (self._visible is not None and not self._visible(ctx, entry.component)):
            mounted = self._mount_of("tool", name, ctx) if entry is None else None
            if mounted is not None:
                mount, inner = mounted
                call = {**params, "name": inner}
                return await mount.server.handle("tools/call", call, mount.context(ctx))
            # tools, Error Handling: "Unknown tools" are protocol errors (-32602).
            raise McpError(ErrorCode.INVALID_PARAMS, f"Unknown tool: {name}")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not entry.validator.is_valid(arguments):
            # "Invalid arguments" are tool execution errors: the model can correct them.
            problems = "; ".join(entry.validator.errors(arguments))
            return tool_error(f"Invalid arguments for tool {name}: {problems}")
        try:
            if entry.binder is None:
                accepted = parameter_names(entry.fn)
                kwargs = {k: v for k, v in arguments.items() if accepted is None or k in accepted}
            else:
                kwargs = entry.binder(arguments)
        except (TypeError, ValueError, KeyError) as exc:
            return tool_error(f"Invalid arguments for tool {name}: {exc}")
        if ctx.era is Era.HANDSHAKE:
            return await self._call_tool_on_session(entry, name, kwargs, params, ctx)
        if entry.task is not None:
            return await self._call_task_tool(entry, name, kwargs, ctx)
        return await _run_tool(entry, name, kwargs, ctx)

    async def _call_tool_on_session(
        self,
        entry: ToolEntry,
        name: str,
        kwargs: dict[str, Any],
        params: dict[str, Any],
        ctx: Context,
    ) -> dict[str, Any]:
        """2025-11-25: a ``tools/call`` with a ``task`` param is task-augmented.
        "If taskSupport is "required" ... Servers MUST return a -32601 (Method
        not found) error if a client does not attempt" it; for a tool without
        task support, "Servers SHOULD return a -32601 error" when it does."""
        requested = parse_task_augmentation(params) if "task" in params else None
        if requested is None:
            if entry.task == "required":
                raise McpError(ErrorCode.METHOD_NOT_FOUND, f"Tool {name} must be called as a task")
            return await _run_tool(entry, name, kwargs, ctx)
        if entry.task is None or task_host(ctx._exchange) is None:
            raise McpError(ErrorCode.METHOD_NOT_FOUND, f"Tool {name} does not run as a task")

        async def work(task_ctx: Context) -> dict[str, Any]:
            return await _run_tool(entry, name, kwargs, task_ctx)

        return await start_task(ctx, work, {}, ttl_ms=requested or None)

    async def _call_task_tool(
        self, entry: ToolEntry, name: str, kwargs: dict[str, Any], ctx: Context
    ) -> dict[str, Any]:
        """A tool that may or must run as a task (the tasks extension): the server
        decides, per request, from the capabilities the request declared."""
        if not wants_task(ctx):
            if entry.task == "required":
                raise refuse_without_tasks()
            return await _run_tool(entry, name, kwargs, ctx)

        async def work(task_ctx: Context) -> dict[str, Any]:
            return await _run_tool(entry, name, kwargs, task_ctx)

        if not entry.defer_task:
            return await start_task(ctx, work, {})
        try:
            return await _run_tool(entry, name, kwargs, ctx)
        except BecomeTask as became:
            return await start_task(ctx, work, became.answers)

    async def _get_task(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await handle_task_method("tasks/get", params, ctx)

    async def _update_task(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await handle_task_method("tasks/update", params, ctx)

    async def _cancel_task(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await handle_task_method("tasks/cancel", params, ctx)

    async def _task_result(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await handle_handshake_task_method("tasks/result", params, ctx)

    async def _list_tasks(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await handle_handshake_task_method("tasks/list", params, ctx)

    def _find_resource(self, uri: str) -> tuple[ResourceEntry, dict[str, str]] | None:
        entry = self._resources.get(uri)
        if entry is not None:
            return entry, {}
        for template in self._templates.values():
            assert template.pattern is not None
            match = template.pattern.fullmatch(uri)
            if match is not None:
                return template, match.groupdict()
        return None

    async def _read_resource(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise McpError(
                ErrorCode.INVALID_PARAMS, 'Invalid params: resources/read needs a string "uri"'
            )
        found = self._find_resource(uri)
        if found is not None and self._visible is not None:
            entry = found[0]
            if not self._visible(ctx, entry.component):
                found = None
        elif found is None and self._mounts:
            mount = self._mount_of_uri(uri, ctx)
            if mount is not None:
                return await mount.server.handle("resources/read", params, mount.context(ctx))
        if found is None:
            code = resource_not_found_code(ctx.era)
            raise McpError(code, f"Resource not found: {uri}", {"uri": uri})
        entry, variables = found
        kwargs: dict[str, Any] = dict(variables)
        for pname in entry.context:
            kwargs[pname] = ctx
        value = await invoke(entry.fn, kwargs)
        return resource_result(uri, entry.mime_type, value)

    async def _get_prompt(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        name = params.get("name")
        entry = self._prompts.get(name) if isinstance(name, str) else None
        if entry is not None and self._visible is not None:
            if not self._visible(ctx, entry.component):
                entry = None
        elif entry is None and self._mounts and isinstance(name, str):
            mounted = self._mount_of("prompt", name, ctx)
            if mounted is not None:
                mount, inner = mounted
                get = {**params, "name": inner}
                return await mount.server.handle("prompts/get", get, mount.context(ctx))
        if entry is None:
            raise McpError(ErrorCode.INVALID_PARAMS, f"Invalid params: unknown prompt {name!r}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict) or not all(
            isinstance(v, str) for v in arguments.values()
        ):
            raise McpError(
                ErrorCode.INVALID_PARAMS, "Invalid params: prompt arguments must be strings"
            )
        missing = [a for a in entry.required if a not in arguments]
        if missing:
            raise McpError(
                ErrorCode.INVALID_PARAMS, f"Invalid params: missing required arguments {missing}"
            )
        kwargs: dict[str, Any] = {k: v for k, v in arguments.items() if k in entry.known}
        for pname in entry.context:
            kwargs[pname] = ctx
        value = await invoke(entry.fn, kwargs)
        return prompt_result(value, entry.wire.get("description"))

    async def _complete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        ref = params.get("ref")
        argument = params.get("argument")
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise McpError(
                ErrorCode.INVALID_PARAMS, 'Invalid params: completion needs "ref" and "argument"'
            )
        kind = ref.get("type")
        target = ref.get("name") if kind == "ref/prompt" else ref.get("uri")
        handler = self._completions.get((str(kind), str(target)))
        if handler is None and self._mounts:
            mounted = self._completing_mount(str(kind), str(target), ctx)
            if mounted is not None:
                mount, inner_ref = mounted
                ask = {**params, "ref": inner_ref}
                return await mount.server.handle("completion/complete", ask, mount.context(ctx))
        if kind == "ref/prompt":
            prompt = self._prompts.get(str(target))
            visible = self._visible
            if prompt is None or (visible is not None and not visible(ctx, prompt.component)):
                raise McpError(
                    ErrorCode.INVALID_PARAMS, f"Invalid params: unknown prompt {target!r}"
                )
        if handler is None:
            return {"completion": {"values": [], "total": 0, "hasMore": False}}
        context_args = (params.get("context") or {}).get("arguments") or {}
        value = await invoke(
            handler,
            {
                "argument": str(argument.get("name", "")),
                "value": str(argument.get("value", "")),
                "context_arguments": dict(context_args),
            },
        )
        completion = value if isinstance(value, Completion) else Completion(values=list(value))
        if len(completion.values) > MAX_COMPLETION_VALUES:
            completion = Completion(
                values=completion.values[:MAX_COMPLETION_VALUES],
                total=completion.total or len(completion.values),
                has_more=True,
            )
        return to_wire(CompleteResult(completion=completion))

    def _completing_mount(
        self, kind: str, target: str, ctx: Context
    ) -> tuple[Mount, dict[str, Any]] | None:
        """The mount completing ``target`` (a prompt's name, a template's URI), and
        the ``ref`` it knows it by."""
        if kind == "ref/prompt":
            mounted = self._mount_of("prompt", target, ctx)
            if mounted is None:
                return None
            mount, inner = mounted
            return mount, {"type": kind, "name": inner}
        if kind == "ref/resource":
            for mount in self._mounts:
                if mount.server.knows("resource_template", target):
                    return mount, {"type": kind, "uri": target}
        return None


async def _run_tool(
    entry: ToolEntry, name: str, kwargs: dict[str, Any], ctx: Context
) -> dict[str, Any]:
    """Call the tool's handler with ``ctx`` for its context parameters; its result,
    or a tool error (``isError``) for what it raised other than a protocol error."""
    for pname in entry.context:
        kwargs[pname] = ctx
    try:
        value = await invoke(entry.fn, kwargs)
    except ToolError as exc:
        return tool_error(str(exc))
    except (McpError, InputNeeded, BecomeTask):
        raise
    except Exception as exc:
        _log.exception("tool %s failed", name)
        return tool_error(f"Error executing tool {name}: {exc}")
    return tool_result(entry.output, value)
