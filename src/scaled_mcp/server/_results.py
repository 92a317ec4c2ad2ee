"""Result shaping: what a handler returns, turned into the MCP result object.

A tool, resource or prompt handler may return the full result type
(:class:`CallToolResult`, :class:`ReadResourceResult`, :class:`GetPromptResult`),
its wire form, or something simpler (a string, bytes, content blocks, a value
matching the tool's output schema); these functions build the result from it.
"""

from __future__ import annotations

import base64
from typing import Any, Final

import orjson

from ..protocol.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    GetPromptResult,
    ImageContent,
    PromptMessage,
    ReadResourceResult,
    ResourceLink,
    TextContent,
    TextResourceContents,
    to_wire,
)
from ._schema import OutputShape, to_json_value

__all__ = [
    "CONTENT_TYPES",
    "prompt_result",
    "resource_result",
    "tool_error",
    "tool_result",
]

#: The content block types a handler may return as they are.
CONTENT_TYPES: Final = (TextContent, ImageContent, AudioContent, ResourceLink, EmbeddedResource)


def tool_error(message: str) -> dict[str, Any]:
    """A ``tools/call`` result reporting a tool execution error (``isError``)."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


def _content(value: Any) -> dict[str, Any]:
    if isinstance(value, CONTENT_TYPES):
        return to_wire(value)
    if isinstance(value, str):
        return {"type": "text", "text": value}
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value
    raise TypeError(f"not a content block: {type(value).__name__}")


def tool_result(shape: OutputShape | None, value: Any) -> dict[str, Any]:
    """The ``tools/call`` result for what a tool returned; ``shape`` is the
    tool's output schema (``None`` when its result is unstructured)."""
    if isinstance(value, CallToolResult):
        return to_wire(value)
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


def resource_result(uri: str, mime_type: str | None, value: Any) -> dict[str, Any]:
    """The ``resources/read`` result for what the handler of ``uri`` returned."""
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


def prompt_result(value: Any, description: Any) -> dict[str, Any]:
    """The ``prompts/get`` result for what the prompt's handler returned."""
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
