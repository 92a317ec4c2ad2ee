"""What the client's answers to the server's questions must hold, beyond what its application gives.

elicitation, form mode (2025-11-25, SEP-1034): the requested schema's
primitive properties may carry a ``default``; a client that accepts the form
fills in every field the user left out with its default
(:func:`apply_elicitation_defaults`), in both eras (an ``elicitation/create``
request, or an input request of a multi round-trip call).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["apply_elicitation_defaults"]


def apply_elicitation_defaults(
    requested_schema: Mapping[str, Any] | None, result: Mapping[str, Any]
) -> dict[str, Any]:
    """``result`` (an ``ElicitResult``) with the schema's defaults filled in.

    Only an ``accept`` carries content: each property of ``requested_schema``
    with a ``default`` that the content lacks gets it; values the user gave
    are kept. Anything else (``decline``, ``cancel``, a schema without
    properties) is returned unchanged (as a copy).
    """
    out = dict(result)
    if out.get("action") != "accept" or not isinstance(requested_schema, Mapping):
        return out
    properties = requested_schema.get("properties")
    if not isinstance(properties, Mapping):
        return out
    content = out.get("content")
    filled = dict(content) if isinstance(content, Mapping) else {}
    for name, schema in properties.items():
        if (
            isinstance(name, str)
            and isinstance(schema, Mapping)
            and "default" in schema
            and name not in filled
        ):
            filled[name] = copy.deepcopy(schema["default"])
    if filled or content is not None:
        out["content"] = filled
    return out
