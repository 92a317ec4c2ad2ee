"""What a 2026-07-28 final result carries: ``resultType``, the server's identity, caching hints.

:func:`complete_result` makes an application's result a final result;
:class:`CacheHint` is the ``ttlMs`` / ``cacheScope`` pair the results of
:data:`CACHEABLE_METHODS` carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._errors import LocalProtocolError
from ._meta import META_SERVER_INFO

__all__ = [
    "CACHEABLE_METHODS",
    "RESULT_TYPE_COMPLETE",
    "RESULT_TYPE_INPUT_REQUIRED",
    "CacheHint",
    "complete_result",
]

#: ``resultType`` of an ordinary, final result.
RESULT_TYPE_COMPLETE: Final = "complete"
#: ``resultType`` of an :func:`input_required_result`.
RESULT_TYPE_INPUT_REQUIRED: Final = "input_required"

#: caching: "Servers MUST include caching hints on results with ``resultType:
#: "complete"`` returned by" these operations.
CACHEABLE_METHODS: Final = frozenset(
    {
        "server/discover",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        # The skills extension: "ListSkillsResult extends PaginatedResult,
        # CacheableResult", "GetSkillResult extends CacheableResult, so ttlMs and
        # cacheScope are REQUIRED".
        "skills/list",
        "skills/get",
    }
)


@attrs.frozen(slots=True)
class CacheHint:
    """The caching hints of a cacheable result (caching: ``ttlMs``, ``cacheScope``).

    ``ttl_ms`` is how long, in milliseconds, the client may consider the
    result fresh ("Servers MUST provide a ``ttlMs`` value that is ``>= 0``";
    0 means immediately stale). ``scope`` is ``"public"`` (no user-specific
    data: any cache may share it) or ``"private"`` (reusable only within the
    same authorization context).
    """

    ttl_ms: int
    scope: str = "private"

    def __attrs_post_init__(self) -> None:
        if type(self.ttl_ms) is not int or self.ttl_ms < 0:
            raise LocalProtocolError(f"ttl_ms must be an integer >= 0, not {self.ttl_ms!r}")
        if self.scope not in ("public", "private"):
            raise LocalProtocolError(f'scope must be "public" or "private", not {self.scope!r}')

    def to_json(self) -> dict[str, Any]:
        """The two result fields."""
        return {"ttlMs": self.ttl_ms, "cacheScope": self.scope}

    @classmethod
    def of(cls, result: Mapping[str, Any]) -> CacheHint | None:
        """The valid hints ``result`` already carries, or ``None``."""
        ttl = result.get("ttlMs")
        scope = result.get("cacheScope")
        if type(ttl) is int and ttl >= 0 and scope in ("public", "private"):
            return cls(ttl_ms=ttl, scope=scope)
        return None


#: Hints that forbid reuse: for results that "MUST NOT be cached".
_NO_STORE: Final = CacheHint(ttl_ms=0, scope="private")


def _result_meta(result: dict[str, Any]) -> dict[str, Any]:
    meta = result.get("_meta")
    if meta is None:
        return {}
    if type(meta) is not dict:
        raise LocalProtocolError(f"a result's _meta must be a dict, not {meta!r}")
    return dict(meta)


def complete_result(
    result: Mapping[str, Any],
    *,
    server_info: Mapping[str, Any] | None = None,
    cache: CacheHint | None = None,
) -> dict[str, Any]:
    """A copy of ``result`` as a 2026-07-28 final result.

    Adds ``resultType: "complete"`` ("The ``result`` MUST include a
    ``resultType`` field"), ``_meta["io.modelcontextprotocol/serverInfo"]``
    when ``server_info`` is given (servers "SHOULD include" it "in every
    result's ``_meta``"; a value the result already has wins) and the
    ``cache`` hints. A result that says it is not complete is a
    :class:`LocalProtocolError`.
    """
    if type(result) is not dict and not isinstance(result, Mapping):
        raise LocalProtocolError(f"a result must be a dict, not {result!r}")
    out = dict(result)
    result_type = out.get("resultType", RESULT_TYPE_COMPLETE)
    if result_type != RESULT_TYPE_COMPLETE:
        raise LocalProtocolError(f"a complete result cannot have resultType {result_type!r}")
    out["resultType"] = RESULT_TYPE_COMPLETE
    if server_info is not None:
        meta = _result_meta(out)
        meta.setdefault(META_SERVER_INFO, dict(server_info))
        out["_meta"] = meta
    if cache is not None:
        out.update(cache.to_json())
    return out
