"""Visibility: which tools, resources, prompts and skills each caller sees.

A server's visibility rules (``MCPServer.visibility``) are predicates
``rule(ctx, component) -> bool`` over the request's
:class:`~scaled_mcp.server.Context` (who is asking: ``client_info``,
``session_id``, ``session_state`` …) and a :class:`Component` (its kind, name
and tags). A component is visible when every rule says so. What a caller
cannot see is missing from its lists and answers like an unknown name or URI
when called, read or got: ``tools/list`` and ``tools/call`` always agree.
A server with no rule runs none of this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import attrs

from ._context import Context

__all__ = ["Component", "ComponentKind", "VisibilityRule", "all_rules", "tags_of"]

ComponentKind = Literal["tool", "resource", "resource_template", "prompt"]


@attrs.frozen(slots=True, eq=False)
class Component:
    """What a visibility rule decides about: one tool, resource, template,
    prompt or skill.

    ``name`` is the tool's or prompt's name (with the mount prefixes it has
    where the rule runs), the resource's URI, the template's URI template or
    the URI of the skill's ``SKILL.md`` (its ``wire`` the skill's entry).
    """

    kind: ComponentKind | Literal["skill"]
    name: str
    tags: frozenset[str]
    wire: Mapping[str, Any]


VisibilityRule = Callable[[Context, Component], bool]
"""``rule(ctx, component) -> bool``: whether the caller of ``ctx`` sees ``component``."""


def all_rules(rules: Iterable[VisibilityRule]) -> VisibilityRule | None:
    """One rule: every rule of ``rules`` (``None`` if there is none)."""
    chosen = tuple(rules)
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0]
    return lambda ctx, component: all(rule(ctx, component) for rule in chosen)


def tags_of(tags: Iterable[str] | None) -> frozenset[str]:
    """A component's tags, checked: strings only."""
    if tags is None:
        return frozenset()
    if isinstance(tags, str):
        raise TypeError("tags must be a collection of strings, not one string")
    found = frozenset(tags)
    if not all(isinstance(tag, str) for tag in found):
        raise TypeError("tags must be strings")
    return found
