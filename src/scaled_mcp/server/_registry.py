"""The registry: what an :class:`~scaled_mcp.server.MCPServer` offers.

The decorators and ``add_*``/``remove_*`` methods for tools, resources (and
templates), prompts and completion handlers, the entries they build (each
with its wire form, computed once), the capabilities that follow from them,
and the listeners told of every change (the runtime listens, to send
``list_changed`` and ``resources/updated`` notifications).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ..protocol.http import param_header_paths
from ..protocol.tasks import (
    HANDSHAKE_TASK_METHODS,
    HANDSHAKE_TASKS_CAPABILITY,
    TASK_METHODS,
    TASKS_EXTENSION,
)
from ..protocol.types import (
    Icon,
    Prompt,
    PromptArgument,
    Resource,
    ResourceTemplate,
    Tool,
    ToolAnnotations,
    to_wire,
)
from ..runtime import ChangeListener
from ._entries import (
    PromptEntry,
    ResourceEntry,
    TaskSupport,
    ToolEntry,
    checked_timeout,
    icon_list,
    template_pattern,
    template_variables,
)
from ._handlers import context_params, is_context, never_waits, unstructured
from ._mount import Mount
from ._schema import (
    ArgumentBinder,
    OutputShape,
    compile_validator,
    input_schema_for,
    output_schema_for,
)
from ._scopes import with_scopes
from ._visibility import Component, ComponentKind, tags_of

__all__ = ["Registry"]

F = TypeVar("F", bound=Callable[..., Any])


class Registry:
    """What the server offers: tools, resources, prompts and completions, by
    name (or URI), as registered through the decorators and ``add_*`` methods."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolEntry] = {}
        self._resources: dict[str, ResourceEntry] = {}
        self._templates: dict[str, ResourceEntry] = {}
        self._prompts: dict[str, PromptEntry] = {}
        self._completions: dict[tuple[str, str], Callable[..., Any]] = {}
        self._listeners: list[ChangeListener] = []
        self._declared: set[str] = set()
        #: Servers mounted in this one, in the order mounted.
        self._mounts: list[Mount] = []

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
        if self._completions or any("completions" in m.server.capabilities for m in self._mounts):
            caps["completions"] = {}
        if self.runs_tasks():
            caps.setdefault("extensions", {})[TASKS_EXTENSION] = {}
        return caps

    def runs_tasks(self) -> bool:
        """Whether a tool may run as a task (the tasks extension), this server's
        own or a mounted server's."""
        return any(entry.task is not None for entry in self._tools.values()) or any(
            mount.server.runs_tasks() for mount in self._mounts
        )

    @property
    def handshake_capabilities(self) -> dict[str, Any]:
        """The capabilities declared on handshake sessions: :attr:`capabilities`,
        with 2025-11-25's ``tasks`` instead of the tasks extension once a tool may
        run as a task."""
        caps = self.capabilities
        if self.runs_tasks():
            extensions = caps.pop("extensions", None)
            if isinstance(extensions, dict):
                others = {k: v for k, v in extensions.items() if k != TASKS_EXTENSION}
                if others:
                    caps["extensions"] = others
            caps["tasks"] = copy.deepcopy(dict(HANDSHAKE_TASKS_CAPABILITY))
        return caps

    @property
    def handshake_extension_methods(self) -> frozenset[str]:
        """The extension methods of handshake sessions: 2025-11-25's four task
        methods in place of the extension's three."""
        methods = frozenset(self.extension_methods)
        if self.runs_tasks():
            methods = (methods - TASK_METHODS) | HANDSHAKE_TASK_METHODS
        return methods

    @property
    def extension_methods(self) -> frozenset[str]:
        """The request methods of the extensions served: the tasks extension's
        once a tool may run as a task."""
        return TASK_METHODS if self.runs_tasks() else frozenset()

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
        tags: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        task: TaskSupport | None = None,
        defer_task: bool = False,
        timeout: float | None = None,
    ) -> Callable[[F], F]:
        """Register a tool. Its ``inputSchema`` comes from the function's
        parameters and its ``outputSchema`` from the return annotation unless
        given; a parameter annotated :class:`Context` receives the context.
        ``scopes`` are the OAuth scopes a token needs to call it (shown in its
        ``_meta``; a call without them gets 403 ``insufficient_scope``).

        ``task="optional"`` lets the tool run as a task of the tasks extension
        for a client that declares it (and synchronously for one that does
        not); ``task="required"`` refuses a client that does not (-32021). The
        same handler runs either way. With ``defer_task=True`` the handler runs
        in the request first (it may ask questions as input-required rounds)
        and becomes a task where it calls ``await ctx.become_task()``.

        ``timeout``: seconds the handler may run in a request, replacing the
        runtime's ``handler_timeout`` for this tool (``math.inf``: none at all);
        past it the handler is cancelled and the caller gets -32001 ``Request
        timed out``. A tool running as a task is bounded by the task's TTL
        instead."""

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
                tags=tags,
                scopes=scopes,
                task=task,
                defer_task=defer_task,
                timeout=timeout,
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
        tags: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        task: TaskSupport | None = None,
        defer_task: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Register ``fn`` as a tool (see :meth:`tool`); replaces a tool of the same name."""
        if task not in (None, "optional", "required"):
            raise ValueError('task is None, "optional" or "required"')
        if defer_task and task is None:
            raise ValueError("defer_task needs task support")
        tool_name = name or fn.__name__
        context = context_params(fn)
        schema = input_schema if input_schema is not None else input_schema_for(fn, skip=is_context)
        shape: OutputShape | None
        if output_schema is not None:
            shape = OutputShape(output_schema, wrapped=False)
        else:
            shape = output_schema_for(fn, unstructured=unstructured)
        tool = Tool(
            name=tool_name,
            title=title,
            description=description if description is not None else inspect.getdoc(fn),
            input_schema=schema,
            output_schema=shape.schema if shape is not None else None,
            annotations=annotations,
            icons=icon_list(icons),
            meta=with_scopes(meta, scopes),
        )
        wire = to_wire(tool)
        if task is not None:
            # 2025-11-25 Tool.execution.taskSupport ("forbidden" when absent).
            wire["execution"] = {"taskSupport": task}
        self._tools[tool_name] = ToolEntry(
            fn=fn,
            wire=wire,
            validator=compile_validator(schema),
            binder=None if input_schema is not None else ArgumentBinder(fn, skip=is_context),
            output=shape,
            context=context,
            param_headers=param_header_paths(schema),
            quick=task is None and never_waits(fn),
            component=Component("tool", tool_name, tags_of(tags), wire),
            task=task,
            defer_task=defer_task,
            timeout=checked_timeout(timeout),
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
        tags: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        timeout: float | None = None,
    ) -> Callable[[F], F]:
        """Register a resource, or a resource template when ``uri`` has
        ``{name}`` parts (each becomes a keyword argument of the handler).
        ``scopes``: the OAuth scopes a token needs to read it, ``timeout`` the
        seconds its handler may run (both as for tools).

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
                tags=tags,
                scopes=scopes,
                timeout=timeout,
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
        tags: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Register ``fn`` for ``uri`` (see :meth:`resource`)."""
        timeout = checked_timeout(timeout)
        context = context_params(fn)
        doc = description if description is not None else inspect.getdoc(fn)
        resource_name = name or fn.__name__
        variables = template_variables(uri)
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
                icons=icon_list(icons),
                meta=with_scopes(meta, scopes),
            )
            wire = to_wire(template)
            self._templates[uri] = ResourceEntry(
                fn,
                wire,
                mime_type,
                context,
                Component("resource_template", uri, tags_of(tags), wire),
                template_pattern(uri),
                timeout,
            )
        else:
            resource = Resource(
                uri=uri,
                name=resource_name,
                title=title,
                description=doc,
                mime_type=mime_type,
                size=size,
                icons=icon_list(icons),
                meta=with_scopes(meta, scopes),
            )
            wire = to_wire(resource)
            component = Component("resource", uri, tags_of(tags), wire)
            self._resources[uri] = ResourceEntry(
                fn, wire, mime_type, context, component, timeout=timeout
            )
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
        tags: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        timeout: float | None = None,
    ) -> Callable[[F], F]:
        """Register a prompt; its arguments are the function's (string) parameters,
        required unless they have a default. The handler returns a string (one
        user message), messages, or a :class:`GetPromptResult`. ``scopes``: the
        OAuth scopes a token needs to get it, ``timeout`` the seconds its
        handler may run (both as for tools)."""

        def register(fn: F) -> F:
            self.add_prompt(
                fn,
                name=name,
                title=title,
                description=description,
                icons=icons,
                meta=meta,
                argument_descriptions=argument_descriptions,
                tags=tags,
                scopes=scopes,
                timeout=timeout,
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
        tags: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Register ``fn`` as a prompt (see :meth:`prompt`)."""
        timeout = checked_timeout(timeout)
        context = context_params(fn)
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
            icons=icon_list(icons),
            meta=with_scopes(meta, scopes),
        )
        wire = to_wire(prompt)
        self._prompts[prompt_name] = PromptEntry(
            fn,
            wire,
            tuple(required),
            tuple(a.name for a in arguments),
            context,
            Component("prompt", prompt_name, tags_of(tags), wire),
            timeout,
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

    # -- lookups ---------------------------------------------------------------

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
        if entry is not None:
            return entry.param_headers
        for mount in self._mounts:
            inner = mount.inside(name)
            if inner is not None and mount.server.knows("tool", inner):
                return mount.server.tool_param_headers(inner)
        return None

    def tool_entry(self, name: str) -> ToolEntry | None:
        """Tool ``name`` of this server (not of its mounted servers)."""
        return self._tools.get(name)

    def prompt_entry(self, name: str) -> PromptEntry | None:
        """Prompt ``name`` of this server (not of its mounted servers)."""
        return self._prompts.get(name)

    def resource_entry(self, uri: str) -> ResourceEntry | None:
        """The resource of ``uri``, or the template of URI template ``uri``, of this server."""
        return self._resources.get(uri) or self._templates.get(uri)

    def knows(self, kind: ComponentKind, name: str) -> bool:
        """Whether this server or a server mounted in it serves the tool or prompt
        ``name``, the resource of URI ``name`` (directly or through a template),
        or the template ``name``; whoever may see it."""
        if kind == "tool" and name in self._tools:
            return True
        if kind == "prompt" and name in self._prompts:
            return True
        if kind == "resource_template" and name in self._templates:
            return True
        if kind == "resource" and (
            name in self._resources
            or any(
                t.pattern is not None and t.pattern.fullmatch(name)
                for t in self._templates.values()
            )
        ):
            return True
        for mount in self._mounts:
            if kind in ("tool", "prompt"):
                inner = mount.inside(name)
                if inner is not None and mount.server.knows(kind, inner):
                    return True
            elif mount.server.knows(kind, name):
                return True
        return False
