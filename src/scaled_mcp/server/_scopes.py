"""Scopes per tool, resource and prompt: what a token needs to call, read or get each.

A component registered with ``scopes=[...]`` names them in its ``_meta``
(:data:`~scaled_mcp.protocol.oauth.SCOPES_META_KEY`), so ``tools/list`` and
the other lists show a client what to ask for before it calls; the runtime
checks them before the handler runs (:meth:`MCPServer.required_scopes`) and
answers a token without them with 403 ``insufficient_scope`` naming them, so
the client can step up. Hiding a component from callers without its scopes is
a separate choice: a visibility rule over ``ctx.principal``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..protocol.oauth import SCOPES_META_KEY

__all__ = ["scopes_in", "with_scopes"]


def with_scopes(meta: dict[str, Any] | None, scopes: Iterable[str] | None) -> dict[str, Any] | None:
    """``meta`` with ``scopes`` under :data:`SCOPES_META_KEY` (``meta`` as it is without scopes)."""
    if scopes is None:
        return meta
    if isinstance(scopes, str):
        raise TypeError("scopes must be a collection of strings, not one string")
    names = list(dict.fromkeys(scopes))
    if not names:
        return meta
    # RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if not all(
        isinstance(s, str) and s and all("!" <= c <= "~" and c not in '"\\' for c in s)
        for s in names
    ):
        raise TypeError(
            "scopes must be scope tokens: printable ASCII, no space, quote or backslash"
        )
    return {**(meta or {}), SCOPES_META_KEY: names}


def scopes_in(wire: Mapping[str, Any]) -> tuple[str, ...]:
    """The scopes a component's wire form names in its ``_meta``."""
    meta = wire.get("_meta")
    if not isinstance(meta, Mapping):
        return ()
    scopes = meta.get(SCOPES_META_KEY)
    if not isinstance(scopes, list):
        return ()
    return tuple(s for s in scopes if isinstance(s, str))
