"""The app API: an :class:`MCPServer` with decorators for tools, resources,
prompts and completion, and the MCP methods that serve them.

The methods here (``tools/list``, ``tools/call``, ``resources/read`` …) are the
same on both eras of the wire: they take the request's params and a
:class:`~scaled_mcp.server.Context` and return the result object. The runtime
routes requests to :meth:`MCPServer.handle`; it never looks inside.
"""

from __future__ import annotations

import base64
import dis
import functools
import inspect
import logging
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

import attrs
import orjson
import trio

from ..protocol import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    CompleteResult,
    Completion,
    EmbeddedResource,
    Era,
    GetPromptResult,
    Icon,
    ImageContent,
    Prompt,
    PromptArgument,
    PromptMessage,
    ReadResourceResult,
    Resource,
    ResourceLink,
    ResourceTemplate,
    TextContent,
    TextResourceContents,
    Tool,
    ToolAnnotations,
    param_header_paths,
    to_wire,
)
from ._context import Context, InputNeeded, McpError, ToolError
from ._schema import (
    ArgumentBinder,
    ArgumentValidator,
    OutputShape,
    compile_validator,
    input_schema_for,
    output_schema_for,
    to_json_value,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "RESOURCE_NOT_FOUND",
    "ChangeListener",
    "MCPServer",
]

_log = logging.getLogger("scaled_mcp.server")

F = TypeVar("F", bound=Callable[..., Any])

#: Items on one page of ``tools/list``, ``resources/list`` … by default.
DEFAULT_PAGE_SIZE: Final = 100
#: Completion values in one answer at most (completion: "Maximum 100 items").
MAX_COMPLETION_VALUES: Final = 100
#: "Resource not found" (server/resources, Error Handling: ``-32002``).
RESOURCE_NOT_FOUND: Final = -32002

ChangeListener = Callable[[str, Any], None]
"""Called with ``("list_changed", kind)`` or ``("resource_updated", uri)``."""

_CONTENT_TYPES: Final = (TextContent, ImageContent, AudioContent, ResourceLink, EmbeddedResource)
_LIST_METHODS: Final = frozenset(
    {"tools/list", "resources/list", "resources/templates/list", "prompts/list"}
)
_TEMPLATE_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _is_context(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation is Context or (
        isinstance(annotation, type) and issubclass(annotation, Context)
    )


def _context_params(fn: Callable[..., Any]) -> tuple[str, ...]:
    hints = typing.get_type_hints(fn, include_extras=True)
    return tuple(name for name, hint in hints.items() if name != "return" and _is_context(hint))


def _unstructured(annotation: Any) -> bool:
    """Return annotations that are content or a whole result: no output schema."""
    if typing.get_origin(annotation) in (list, Sequence, typing.Union, type(int | str)):
        return any(_unstructured(arg) for arg in typing.get_args(annotation))
    return annotation in (*_CONTENT_TYPES, CallToolResult, str, Any) or annotation is dict


#: Bytecode that suspends a coroutine (``await``, ``async with``, ``async for``).
_SUSPENDING_OPS: Final = frozenset({"YIELD_VALUE", "SEND", "GET_AWAITABLE", "GET_ANEXT"})


def _never_waits(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is a coroutine function that can never yield to the event
    loop (its code has no ``await``, ``async with`` or ``async for``): such a
    handler runs to its end in one step, and nothing could cancel it midway."""
    if not inspect.iscoroutinefunction(fn):
        return False
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return False
    return not any(op.opname in _SUSPENDING_OPS for op in dis.get_instructions(code))


_is_coroutine_function: Final = functools.lru_cache(maxsize=1024)(inspect.iscoroutinefunction)


async def _invoke(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call a handler: coroutine functions on trio, plain functions in a worker thread."""
    if _is_coroutine_function(fn):
        return await fn(**kwargs)
    return await trio.to_thread.run_sync(functools.partial(fn, **kwargs))


def _icons(icons: Sequence[Icon | Mapping[str, Any]] | None) -> list[Icon] | None:
    if icons is None:
        return None
    return [i if isinstance(i, Icon) else Icon(**dict(i)) for i in icons]


@attrs.define(slots=True)
class _ToolEntry:
    fn: Callable[..., Any]
    wire: dict[str, Any]
    validator: ArgumentValidator
    binder: ArgumentBinder | None
    output: OutputShape | None
    context: tuple[str, ...]
    param_headers: dict[str, tuple[str, ...]]
    quick: bool


@attrs.define(slots=True)
class _ResourceEntry:
    fn: Callable[..., Any]
    wire: dict[str, Any]
    mime_type: str | None
    context: tuple[str, ...]
    pattern: re.Pattern[str] | None = None


@attrs.define(slots=True)
class _PromptEntry:
    fn: Callable[..., Any]
    wire: dict[str, Any]
    required: tuple[str, ...]
    known: tuple[str, ...]
    context: tuple[str, ...]


def _template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching URIs of an RFC 6570 level-1 template (``{var}`` parts)."""
    parts: list[str] = []
    last = 0
    for match in _TEMPLATE_VAR.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/?#]+)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


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
    raise McpError(-32602, "Invalid params: invalid cursor")


class MCPServer:
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
            info["icons"] = [to_wire(i) for i in _icons(icons) or []]
        self.server_info = info
        self.instructions = instructions
        self.page_size = page_size
        self._tools: dict[str, _ToolEntry] = {}
        self._resources: dict[str, _ResourceEntry] = {}
        self._templates: dict[str, _ResourceEntry] = {}
        self._prompts: dict[str, _PromptEntry] = {}
        self._completions: dict[tuple[str, str], Callable[..., Any]] = {}
        self._listeners: list[ChangeListener] = []
        self._declared: set[str] = set()
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
        }

    # -- what the server declares ----------------------------------------------

    @property
    def capabilities(self) -> dict[str, Any]:
        """The ``ServerCapabilities`` object, from what is registered.

        A kind is declared once something of it was registered (and stays
        declared when the last one is removed, so ``list_changed`` keeps its
        meaning); ``logging`` always.
        """
        caps: dict[str, Any] = {"logging": {}}
        if "tools" in self._declared:
            caps["tools"] = {"listChanged": True}
        if "resources" in self._declared:
            caps["resources"] = {"subscribe": True, "listChanged": True}
        if "prompts" in self._declared:
            caps["prompts"] = {"listChanged": True}
        if self._completions:
            caps["completions"] = {}
        return caps

    def add_listener(self, listener: ChangeListener) -> None:
        """Be told of registry changes and resource updates (the runtime listens)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: ChangeListener) -> None:
        """Stop telling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self, kind: str) -> None:
        self._declared.add(kind)
        for listener in tuple(self._listeners):
            listener("list_changed", kind)

    def notify_list_changed(self, kind: str) -> None:
        """Send ``notifications/<kind>/list_changed`` (``tools``, ``resources`` or
        ``prompts``) to every client, e.g. when what a list returns depends on
        state the server keeps elsewhere. Registering and removing send it too."""
        if kind not in ("tools", "resources", "prompts"):
            raise ValueError(f"no list_changed notification for {kind!r}")
        self._changed(kind)

    def notify_resource_updated(self, uri: str) -> None:
        """Tell every client subscribed to ``uri`` that the resource changed."""
        for listener in tuple(self._listeners):
            listener("resource_updated", uri)

    # -- tools -----------------------------------------------------------------

    def tool(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        input_schema: dict[str, Any] | None = None,
        output_schema: dict[str, Any] | None = None,
        annotations: ToolAnnotations | None = None,
        icons: Sequence[Icon | Mapping[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register a tool. Its ``inputSchema`` comes from the function's
        parameters and its ``outputSchema`` from the return annotation unless
        given; a parameter annotated :class:`Context` receives the context."""

        def register(fn: F) -> F:
            self.add_tool(
                fn,
                name=name,
                title=title,
                description=description,
                input_schema=input_schema,
                output_schema=output_schema,
                annotations=annotations,
                icons=icons,
                meta=meta,
            )
            return fn

        return register

    def add_tool(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        input_schema: dict[str, Any] | None = None,
        output_schema: dict[str, Any] | None = None,
        annotations: ToolAnnotations | None = None,
        icons: Sequence[Icon | Mapping[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Register ``fn`` as a tool (see :meth:`tool`); replaces a tool of the same name."""
        tool_name = name or fn.__name__
        context = _context_params(fn)
        schema = (
            input_schema if input_schema is not None else input_schema_for(fn, skip=_is_context)
        )
        shape: OutputShape | None
        if output_schema is not None:
            shape = OutputShape(output_schema, wrapped=False)
        else:
            shape = output_schema_for(fn, unstructured=_unstructured)
        tool = Tool(
            name=tool_name,
            title=title,
            description=description if description is not None else inspect.getdoc(fn),
            input_schema=schema,
            output_schema=shape.schema if shape is not None else None,
            annotations=annotations,
            icons=_icons(icons),
            meta=meta,
        )
        self._tools[tool_name] = _ToolEntry(
            fn=fn,
            wire=to_wire(tool),
            validator=compile_validator(schema),
            binder=None if input_schema is not None else ArgumentBinder(fn, skip=_is_context),
            output=shape,
            context=context,
            param_headers=param_header_paths(schema),
            quick=_never_waits(fn),
        )
        self._changed("tools")

    def remove_tool(self, name: str) -> None:
        """Remove a tool (KeyError if there is none of that name)."""
        del self._tools[name]
        self._changed("tools")

    # -- resources -------------------------------------------------------------

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        icons: Sequence[Icon | Mapping[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register a resource, or a resource template when ``uri`` has
        ``{name}`` parts (each becomes a keyword argument of the handler).

        The handler returns ``str`` (text), ``bytes`` (a blob), resource
        contents, a list of them, or a :class:`ReadResourceResult`.
        """

        def register(fn: F) -> F:
            self.add_resource(
                fn,
                uri,
                name=name,
                title=title,
                description=description,
                mime_type=mime_type,
                size=size,
                icons=icons,
                meta=meta,
            )
            return fn

        return register

    def add_resource(
        self,
        fn: Callable[..., Any],
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        icons: Sequence[Icon | Mapping[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Register ``fn`` for ``uri`` (see :meth:`resource`)."""
        context = _context_params(fn)
        doc = description if description is not None else inspect.getdoc(fn)
        resource_name = name or fn.__name__
        variables = _TEMPLATE_VAR.findall(uri)
        if variables:
            params = set(inspect.signature(fn).parameters) - set(context)
            if set(variables) != params:
                raise TypeError(
                    f"{fn.__name__}: parameters {sorted(params)} must match the "
                    f"template's variables {sorted(variables)}"
                )
            template = ResourceTemplate(
                uri_template=uri,
                name=resource_name,
                title=title,
                description=doc,
                mime_type=mime_type,
                icons=_icons(icons),
                meta=meta,
            )
            self._templates[uri] = _ResourceEntry(
                fn, to_wire(template), mime_type, context, _template_pattern(uri)
            )
        else:
            resource = Resource(
                uri=uri,
                name=resource_name,
                title=title,
                description=doc,
                mime_type=mime_type,
                size=size,
                icons=_icons(icons),
                meta=meta,
            )
            self._resources[uri] = _ResourceEntry(fn, to_wire(resource), mime_type, context)
        self._changed("resources")

    def remove_resource(self, uri: str) -> None:
        """Remove a resource or template (KeyError if there is none)."""
        if uri in self._resources:
            del self._resources[uri]
        else:
            del self._templates[uri]
        self._changed("resources")

    # -- prompts ---------------------------------------------------------------

    def prompt(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        icons: Sequence[Icon | Mapping[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        argument_descriptions: Mapping[str, str] | None = None,
    ) -> Callable[[F], F]:
        """Register a prompt; its arguments are the function's (string) parameters,
        required unless they have a default. The handler returns a string (one
        user message), messages, or a :class:`GetPromptResult`."""

        def register(fn: F) -> F:
            self.add_prompt(
                fn,
                name=name,
                title=title,
                description=description,
                icons=icons,
                meta=meta,
                argument_descriptions=argument_descriptions,
            )
            return fn

        return register

    def add_prompt(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        icons: Sequence[Icon | Mapping[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        argument_descriptions: Mapping[str, str] | None = None,
    ) -> None:
        """Register ``fn`` as a prompt (see :meth:`prompt`)."""
        context = _context_params(fn)
        arguments: list[PromptArgument] = []
        required: list[str] = []
        described = argument_descriptions or {}
        for pname, parameter in inspect.signature(fn).parameters.items():
            if pname in context:
                continue
            is_required = parameter.default is parameter.empty
            if is_required:
                required.append(pname)
            arguments.append(
                PromptArgument(name=pname, description=described.get(pname), required=is_required)
            )
        prompt_name = name or fn.__name__
        prompt = Prompt(
            name=prompt_name,
            title=title,
            description=description if description is not None else inspect.getdoc(fn),
            arguments=arguments or None,
            icons=_icons(icons),
            meta=meta,
        )
        self._prompts[prompt_name] = _PromptEntry(
            fn, to_wire(prompt), tuple(required), tuple(a.name for a in arguments), context
        )
        self._changed("prompts")

    def remove_prompt(self, name: str) -> None:
        """Remove a prompt (KeyError if there is none of that name)."""
        del self._prompts[name]
        self._changed("prompts")

    # -- completion ------------------------------------------------------------

    def completion(
        self, *, prompt: str | None = None, resource_template: str | None = None
    ) -> Callable[[F], F]:
        """Register the completion handler of a prompt's arguments or a resource
        template's variables: ``fn(argument, value, context_arguments)`` returns
        a list of strings or a :class:`Completion`."""
        if (prompt is None) == (resource_template is None):
            raise TypeError("give exactly one of prompt= or resource_template=")
        key = ("ref/prompt", prompt or "")
        if resource_template is not None:
            key = ("ref/resource", resource_template)

        def register(fn: F) -> F:
            self._completions[key] = fn
            return fn

        return register

    # -- serving ---------------------------------------------------------------

    def has_tool(self, name: str) -> bool:
        """Whether a tool of that name is registered."""
        return name in self._tools

    def has_prompt(self, name: str) -> bool:
        """Whether a prompt of that name is registered."""
        return name in self._prompts

    def tool_param_headers(self, name: str) -> dict[str, tuple[str, ...]] | None:
        """Tool ``name``'s ``x-mcp-header`` names and the argument paths they
        mirror (``None`` if there is no such tool)."""
        entry = self._tools.get(name)
        return entry.param_headers if entry is not None else None

    def never_waits(self, method: str, params: Mapping[str, Any]) -> bool:
        """Whether answering this request cannot yield to the event loop (then
        the runtime needs no cancel scope around it): the list methods, and
        ``tools/call`` of a coroutine tool with no ``await`` in it."""
        if method == "tools/call":
            entry = self._tools.get(params.get("name"))  # type: ignore[arg-type]
            return entry is None or entry.quick
        return method in _LIST_METHODS

    def serves(self, method: str) -> bool:
        """Whether :meth:`handle` answers ``method``."""
        return method in self._handlers

    async def handle(self, method: str, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Answer one request; raises :class:`McpError` for a JSON-RPC error."""
        handler = self._handlers.get(method)
        if handler is None:
            raise McpError(-32601, f"Method not found: {method}")
        return await handler(params, ctx)

    def _page(
        self, items: Iterable[dict[str, Any]], params: Mapping[str, Any], key: str
    ) -> dict[str, Any]:
        listed = list(items)
        start = _decode_cursor(params.get("cursor"))
        if start > len(listed):
            raise McpError(-32602, "Invalid params: invalid cursor")
        end = start + self.page_size
        result: dict[str, Any] = {key: listed[start:end]}
        if end < len(listed):
            result["nextCursor"] = _encode_cursor(end)
        return result

    async def _list_tools(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return self._page((e.wire for e in self._tools.values()), params, "tools")

    async def _list_resources(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return self._page((e.wire for e in self._resources.values()), params, "resources")

    async def _list_templates(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return self._page((e.wire for e in self._templates.values()), params, "resourceTemplates")

    async def _list_prompts(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return self._page((e.wire for e in self._prompts.values()), params, "prompts")

    async def _call_tool(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        name = params.get("name")
        entry = self._tools.get(name) if isinstance(name, str) else None
        if entry is None:
            # tools, Error Handling: "Unknown tools" are protocol errors (-32602).
            raise McpError(-32602, f"Unknown tool: {name}")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise McpError(-32602, "Invalid params: arguments must be an object")
        if not entry.validator.is_valid(arguments):
            # "Invalid arguments" are tool execution errors: the model can correct them.
            problems = "; ".join(entry.validator.errors(arguments))
            return _tool_error(f"Invalid arguments for tool {name}: {problems}")
        try:
            if entry.binder is None:
                accepted = _parameters(entry.fn)
                kwargs = {k: v for k, v in arguments.items() if accepted is None or k in accepted}
            else:
                kwargs = entry.binder(arguments)
        except (TypeError, ValueError, KeyError) as exc:
            return _tool_error(f"Invalid arguments for tool {name}: {exc}")
        for pname in entry.context:
            kwargs[pname] = ctx
        try:
            value = await _invoke(entry.fn, kwargs)
        except ToolError as exc:
            return _tool_error(str(exc))
        except (McpError, InputNeeded):
            raise
        except Exception as exc:
            _log.exception("tool %s failed", name)
            return _tool_error(f"Error executing tool {name}: {exc}")
        return _tool_result(entry, value)

    def _find_resource(self, uri: str) -> tuple[_ResourceEntry, dict[str, str]] | None:
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
            raise McpError(-32602, 'Invalid params: resources/read needs a string "uri"')
        found = self._find_resource(uri)
        if found is None:
            # resources, Error Handling: "Resource not found: -32002" until
            # 2025-11-25; 2026-07-28 (SEP-2164) answers with -32602.
            code = -32602 if ctx.era is Era.STATELESS else RESOURCE_NOT_FOUND
            raise McpError(code, f"Resource not found: {uri}", {"uri": uri})
        entry, variables = found
        kwargs: dict[str, Any] = dict(variables)
        for pname in entry.context:
            kwargs[pname] = ctx
        value = await _invoke(entry.fn, kwargs)
        return _resource_result(uri, entry.mime_type, value)

    async def _get_prompt(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        name = params.get("name")
        entry = self._prompts.get(name) if isinstance(name, str) else None
        if entry is None:
            raise McpError(-32602, f"Invalid params: unknown prompt {name!r}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict) or not all(
            isinstance(v, str) for v in arguments.values()
        ):
            raise McpError(-32602, "Invalid params: prompt arguments must be strings")
        missing = [a for a in entry.required if a not in arguments]
        if missing:
            raise McpError(-32602, f"Invalid params: missing required arguments {missing}")
        kwargs: dict[str, Any] = {k: v for k, v in arguments.items() if k in entry.known}
        for pname in entry.context:
            kwargs[pname] = ctx
        value = await _invoke(entry.fn, kwargs)
        return _prompt_result(value, entry.wire.get("description"))

    async def _complete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        ref = params.get("ref")
        argument = params.get("argument")
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise McpError(-32602, 'Invalid params: completion needs "ref" and "argument"')
        kind = ref.get("type")
        target = ref.get("name") if kind == "ref/prompt" else ref.get("uri")
        if kind == "ref/prompt" and target not in self._prompts:
            raise McpError(-32602, f"Invalid params: unknown prompt {target!r}")
        handler = self._completions.get((str(kind), str(target)))
        if handler is None:
            return {"completion": {"values": [], "total": 0, "hasMore": False}}
        context_args = (params.get("context") or {}).get("arguments") or {}
        value = await _invoke(
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


@functools.lru_cache(maxsize=1024)
def _parameters(fn: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword arguments ``fn`` takes; ``None`` when it takes ``**kwargs``."""
    parameters = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


def _tool_error(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}


def _content(value: Any) -> dict[str, Any]:
    if isinstance(value, _CONTENT_TYPES):
        return to_wire(value)
    if isinstance(value, str):
        return {"type": "text", "text": value}
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value
    raise TypeError(f"not a content block: {type(value).__name__}")


def _tool_result(entry: _ToolEntry, value: Any) -> dict[str, Any]:
    if isinstance(value, CallToolResult):
        return to_wire(value)
    shape = entry.output
    if shape is not None:
        structured = to_json_value(value)
        if shape.wrapped:
            structured = {"result": structured}
        # tools: "a tool that returns structured content SHOULD also return the
        # serialized JSON in a TextContent block".
        text = orjson.dumps(structured).decode()
        return {"content": [{"type": "text", "text": text}], "structuredContent": structured}
    if value is None:
        return {"content": []}
    if isinstance(value, list | tuple):
        return {"content": [_content(item) for item in value]}
    if isinstance(value, dict) and "content" in value and isinstance(value["content"], list):
        return value
    return {"content": [_content(value)]}


def _resource_result(uri: str, mime_type: str | None, value: Any) -> dict[str, Any]:
    if isinstance(value, ReadResourceResult):
        return to_wire(value)
    if isinstance(value, dict) and isinstance(value.get("contents"), list):
        return value
    items = value if isinstance(value, list | tuple) else [value]
    contents: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, TextResourceContents | BlobResourceContents):
            contents.append(to_wire(item))
        elif isinstance(item, str):
            contents.append(to_wire(TextResourceContents(uri=uri, text=item, mime_type=mime_type)))
        elif isinstance(item, bytes | bytearray):
            blob = base64.b64encode(bytes(item)).decode("ascii")
            contents.append(to_wire(BlobResourceContents(uri=uri, blob=blob, mime_type=mime_type)))
        elif isinstance(item, dict):
            contents.append(item)
        else:
            raise TypeError(f"a resource handler returned {type(item).__name__}")
    return {"contents": contents}


def _prompt_result(value: Any, description: Any) -> dict[str, Any]:
    if isinstance(value, GetPromptResult):
        return to_wire(value)
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return value
    items = value if isinstance(value, list | tuple) else [value]
    messages: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, PromptMessage):
            messages.append(to_wire(item))
        elif isinstance(item, dict) and "role" in item:
            messages.append(item)
        else:
            messages.append({"role": "user", "content": _content(item)})
    result: dict[str, Any] = {"messages": messages}
    if isinstance(description, str):
        result["description"] = description
    return result
