"""What the registry keeps of each tool, resource and prompt: its handler, its wire
form (computed once), its argument checks; and the small readers the entries are
built with (icons, URI templates)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs

from ..protocol.types import Icon
from ._schema import ArgumentBinder, ArgumentValidator, OutputShape
from ._visibility import Component

__all__ = [
    "PromptEntry",
    "ResourceEntry",
    "TaskSupport",
    "ToolEntry",
    "checked_timeout",
    "icon_list",
    "template_pattern",
    "template_variables",
]

_TEMPLATE_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: How a tool runs as a task of the tasks extension.
TaskSupport = Literal["optional", "required"]


def icon_list(icons: Sequence[Icon | Mapping[str, Any]] | None) -> list[Icon] | None:
    """``icons`` as :class:`Icon` objects (mappings are read as an Icon's fields)."""
    if icons is None:
        return None
    return [i if isinstance(i, Icon) else Icon(**dict(i)) for i in icons]


@attrs.define(slots=True)
class ToolEntry:
    """A registered tool: its handler, wire form, argument checks and output shape."""

    fn: Callable[..., Any]
    wire: dict[str, Any]
    validator: ArgumentValidator
    binder: ArgumentBinder | None
    output: OutputShape | None
    context: tuple[str, ...]
    param_headers: dict[str, tuple[str, ...]]
    quick: bool
    component: Component
    #: Whether the tool may (``"optional"``) or must (``"required"``) run as a
    #: task of the tasks extension; ``None``: never.
    task: TaskSupport | None = None
    #: The handler runs in the request first and becomes a task where it calls
    #: ``ctx.become_task()`` (else the task starts with the call).
    defer_task: bool = False
    #: Seconds its handler may run in a request (replacing the runtime's
    #: ``handler_timeout``); ``None``: the runtime's.
    timeout: float | None = None


@attrs.define(slots=True)
class ResourceEntry:
    """A registered resource, or a template (then ``pattern`` matches its URIs)."""

    fn: Callable[..., Any]
    wire: dict[str, Any]
    mime_type: str | None
    context: tuple[str, ...]
    component: Component
    pattern: re.Pattern[str] | None = None
    #: Seconds its handler may run (as :attr:`ToolEntry.timeout`).
    timeout: float | None = None


@attrs.define(slots=True)
class PromptEntry:
    """A registered prompt: its handler, wire form and argument names."""

    fn: Callable[..., Any]
    wire: dict[str, Any]
    required: tuple[str, ...]
    known: tuple[str, ...]
    context: tuple[str, ...]
    component: Component
    #: Seconds its handler may run (as :attr:`ToolEntry.timeout`).
    timeout: float | None = None


def checked_timeout(timeout: float | None) -> float | None:
    """``timeout`` if it is ``None`` or a positive number of seconds (``math.inf``:
    no deadline at all); ValueError otherwise."""
    if timeout is not None and not timeout > 0:
        raise ValueError("timeout must be a positive number of seconds (or None)")
    return timeout


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching URIs of an RFC 6570 level-1 template (``{var}`` parts)."""
    parts: list[str] = []
    last = 0
    for match in _TEMPLATE_VAR.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/?#]+)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


def template_variables(template: str) -> list[str]:
    """The ``{var}`` names of an RFC 6570 level-1 template, in order (none: a plain URI)."""
    return _TEMPLATE_VAR.findall(template)
