"""Content a revision knows: the blocks of a result or a sampling request, downgraded
for a session that negotiated a revision older than the block's type.

Each revision's schema lists the content a message may carry, and the lists grew:

* a tool result's ``content`` and a prompt message's ``content``: text, image and
  embedded resource in 2024-11-05; audio from 2025-03-26 ("AudioContent": "Audio
  provided to or from an LLM"); resource links from 2025-06-18 ("A tool MAY return
  links to Resources");
* a sampling message's ``content``: one block, text or image in 2024-11-05, audio
  from 2025-03-26; from 2025-11-25 also ``tool_use`` and ``tool_result`` blocks, or
  a list of blocks.

An application writes content once, in today's terms; a session on an older revision
gets it in the terms of its own. The choice here: a block the revision does not
define becomes a text block saying what it was -- a resource link keeps its name,
URI and description (a client can still read the resource), audio and other blocks
are named and dropped ("[audio content (audio/wav) omitted: ...]"), so the reader
(often a model) knows something was there. Nothing is dropped silently, and no
block a revision knows is touched: results that need nothing are returned as they
are, unchanged and uncopied.

Pure functions on JSON values: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ._versions import V2025_03_26, V2025_06_18, V2025_11_25

__all__ = [
    "content_types",
    "downgrade_content",
    "downgrade_result",
    "downgrade_sampling_params",
    "sampling_content_types",
]

_BASE: Final = frozenset({"text", "image", "resource"})
_WITH_AUDIO: Final = _BASE | {"audio"}
_WITH_LINKS: Final = _WITH_AUDIO | {"resource_link"}

_SAMPLING_BASE: Final = frozenset({"text", "image"})
_SAMPLING_AUDIO: Final = _SAMPLING_BASE | {"audio"}
_SAMPLING_TOOLS: Final = _SAMPLING_AUDIO | {"tool_use", "tool_result"}


def content_types(version: str) -> frozenset[str]:
    """The ``type``\\ s of the content blocks a tool result or a prompt message may
    carry in ``version`` (2024-11-05 ``CallToolResult.content``: "TextContent |
    ImageContent | EmbeddedResource"; 2025-06-18 ``ContentBlock``)."""
    if version < V2025_03_26:
        return _BASE
    if version < V2025_06_18:
        return _WITH_AUDIO
    return _WITH_LINKS


def sampling_content_types(version: str) -> frozenset[str]:
    """The ``type``\\ s a sampling message's content may have in ``version``
    (2024-11-05 ``SamplingMessage.content``: "TextContent | ImageContent")."""
    if version < V2025_03_26:
        return _SAMPLING_BASE
    if version < V2025_11_25:
        return _SAMPLING_AUDIO
    return _SAMPLING_TOOLS


def _as_text(given: object, version: str, why: str = "does not define it") -> dict[str, Any]:
    """A text block standing for ``given``, which ``version`` does not define."""
    # Not a block at all: said to be content, omitted.
    block: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    kind = block.get("type")
    if kind == "resource_link":
        uri = str(block.get("uri", ""))
        name = block.get("title") or block.get("name") or uri
        text = f"Resource link: {name} <{uri}>"
        if block.get("mimeType"):
            text += f" ({block['mimeType']})"
        if block.get("description"):
            text += f": {block['description']}"
    elif kind == "tool_result":
        parts = [str(b.get("text", "")) for b in block.get("content") or () if _is_text(b)]
        text = f"[tool result {block.get('toolUseId', '')}] " + " ".join(parts)
    else:
        what = f"{kind} content" if isinstance(kind, str) else "content"
        if block.get("mimeType"):
            what += f" ({block['mimeType']})"
        text = f"[{what} omitted: protocol revision {version} {why}]"
    out: dict[str, Any] = {"type": "text", "text": text}
    if isinstance(block.get("annotations"), dict):
        out["annotations"] = block["annotations"]
    return out


def _is_text(block: object) -> bool:
    return isinstance(block, Mapping) and block.get("type") == "text"


def downgrade_content(
    blocks: Sequence[Any], version: str, known: frozenset[str] | None = None
) -> list[Any] | None:
    """``blocks`` in ``version``'s terms (``known``: the types it defines there,
    default :func:`content_types`), or ``None`` when every block is known already."""
    allowed = content_types(version) if known is None else known
    if all(isinstance(b, Mapping) and b.get("type") in allowed for b in blocks):
        return None
    return [
        b if isinstance(b, Mapping) and b.get("type") in allowed else _as_text(b, version)
        for b in blocks
    ]


def downgrade_result(result: dict[str, Any], version: str) -> dict[str, Any]:
    """A ``tools/call`` or ``prompts/get`` result in ``version``'s terms: ``result``
    itself when it needs nothing, else a copy with its unknown blocks replaced.

    Read by shape (a ``content`` list: a tool result; ``messages`` with
    contents: a prompt), so it applies to any result a session sends."""
    if version >= V2025_06_18:
        return result
    out = result
    content = result.get("content")
    if isinstance(content, list):
        changed = downgrade_content(content, version)
        if changed is not None:
            out = {**result, "content": changed}
    messages = result.get("messages")
    if isinstance(messages, list):
        known = content_types(version)
        new_messages: list[Any] = []
        touched = False
        for message in messages:
            block = message.get("content") if isinstance(message, dict) else None
            if isinstance(block, Mapping) and block.get("type") not in known:
                new_messages.append({**message, "content": _as_text(block, version)})
                touched = True
            else:
                new_messages.append(message)
        if touched:
            out = {**out, "messages": new_messages}
    return out


def _one_block(content: Any, version: str, known: frozenset[str]) -> Any:
    """A sampling message's content as the single block ``version`` allows."""
    if isinstance(content, list):
        blocks = downgrade_content(content, version, known) or content
        if len(blocks) == 1:
            return blocks[0]
        # Before 2025-11-25 a message holds one block: the texts, joined, and a
        # note for each other block.
        why = "allows one content block per sampling message"
        texts = [
            str(b.get("text", "")) if _is_text(b) else _as_text(b, version, why)["text"]
            for b in blocks
        ]
        return {"type": "text", "text": "\n".join(texts)}
    if isinstance(content, Mapping) and content.get("type") not in known:
        return _as_text(content, version)
    return content


def downgrade_sampling_params(params: dict[str, Any], version: str) -> dict[str, Any]:
    """``sampling/createMessage`` params in ``version``'s terms: ``params`` itself
    when every message's content is known there, else a copy."""
    if version >= V2025_11_25:
        return params
    messages = params.get("messages")
    if not isinstance(messages, list):
        return params
    known = sampling_content_types(version)
    changed: list[Any] = []
    touched = False
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        fixed = _one_block(content, version, known)
        if fixed is not content:
            changed.append({**message, "content": fixed})
            touched = True
        else:
            changed.append(message)
    return {**params, "messages": changed} if touched else params
