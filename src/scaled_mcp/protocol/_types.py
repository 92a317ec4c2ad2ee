"""The MCP types users build: content blocks, tools, resources, prompts, results.

Frozen, slotted attrs classes with snake_case attributes; their wire form
(camelCase JSON, ``meta`` as ``_meta``) is :mod:`._wire`'s. They check
nothing when built, so their ``__init__`` is the trusted fast path's
(:func:`._trusted.trusted_init`): results are built on every ``tools/call``.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from ._trusted import trusted_init

__all__ = [
    "Annotations",
    "AudioContent",
    "BlobResourceContents",
    "CallToolResult",
    "CompleteResult",
    "Completion",
    "ContentBlock",
    "CreateMessageResult",
    "ElicitResult",
    "EmbeddedResource",
    "GetPromptResult",
    "Icon",
    "ImageContent",
    "Implementation",
    "ListPromptsResult",
    "ListResourceTemplatesResult",
    "ListResourcesResult",
    "ListRootsResult",
    "ListToolsResult",
    "ModelHint",
    "ModelPreferences",
    "Prompt",
    "PromptArgument",
    "PromptMessage",
    "ReadResourceResult",
    "Resource",
    "ResourceContents",
    "ResourceLink",
    "ResourceTemplate",
    "Root",
    "SamplingMessage",
    "TextContent",
    "SamplingContent",
    "TextResourceContents",
    "Tool",
    "ToolAnnotations",
    "ToolResultContent",
    "ToolUseContent",
]

Role = Literal["user", "assistant"]


@attrs.frozen(slots=True, kw_only=True)
class Icon:
    """An icon a client may show (``src`` is an http(s) or ``data:`` URI)."""

    src: str
    mime_type: str | None = None
    sizes: list[str] | None = None
    theme: Literal["light", "dark"] | None = None


@attrs.frozen(slots=True, kw_only=True)
class Implementation:
    """The name and version of an MCP implementation (``serverInfo`` / ``clientInfo``)."""

    name: str
    version: str
    title: str | None = None
    description: str | None = None
    website_url: str | None = None
    icons: list[Icon] | None = None


@attrs.frozen(slots=True, kw_only=True)
class Annotations:
    """Hints for the client on how to use or show an object."""

    audience: list[Role] | None = None
    priority: float | None = None
    last_modified: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class TextContent:
    """Text given to or by the model."""

    text: str
    annotations: Annotations | None = None
    meta: dict[str, Any] | None = None
    type: Literal["text"] = "text"


@attrs.frozen(slots=True, kw_only=True)
class ImageContent:
    """An image, base64 ``data`` of ``mime_type``."""

    data: str
    mime_type: str
    annotations: Annotations | None = None
    meta: dict[str, Any] | None = None
    type: Literal["image"] = "image"


@attrs.frozen(slots=True, kw_only=True)
class AudioContent:
    """Audio, base64 ``data`` of ``mime_type`` (from 2025-03-26)."""

    data: str
    mime_type: str
    annotations: Annotations | None = None
    meta: dict[str, Any] | None = None
    type: Literal["audio"] = "audio"


@attrs.frozen(slots=True, kw_only=True)
class TextResourceContents:
    """The text contents of a resource."""

    uri: str
    text: str
    mime_type: str | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class BlobResourceContents:
    """The binary contents of a resource, base64 in ``blob``."""

    uri: str
    blob: str
    mime_type: str | None = None
    meta: dict[str, Any] | None = None


ResourceContents = TextResourceContents | BlobResourceContents
"""Text or binary resource contents."""


@attrs.frozen(slots=True, kw_only=True)
class ResourceLink:
    """A link to a resource the client may read (from 2025-06-18)."""

    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: Annotations | None = None
    icons: list[Icon] | None = None
    meta: dict[str, Any] | None = None
    type: Literal["resource_link"] = "resource_link"


@attrs.frozen(slots=True, kw_only=True)
class EmbeddedResource:
    """A resource's contents embedded in a prompt or a tool result."""

    resource: TextResourceContents | BlobResourceContents
    annotations: Annotations | None = None
    meta: dict[str, Any] | None = None
    type: Literal["resource"] = "resource"


ContentBlock = TextContent | ImageContent | AudioContent | ResourceLink | EmbeddedResource
"""Any content block, told apart on the wire by ``type``."""


@attrs.frozen(slots=True, kw_only=True)
class ToolUseContent:
    """The model asks to call a tool, in a sampling conversation (from 2025-11-25)."""

    id: str
    name: str
    input: dict[str, Any]
    meta: dict[str, Any] | None = None
    type: Literal["tool_use"] = "tool_use"


@attrs.frozen(slots=True, kw_only=True)
class ToolResultContent:
    """The result of a tool use, given back to the model (from 2025-11-25)."""

    tool_use_id: str
    content: list[ContentBlock] = attrs.field(factory=list)
    structured_content: Any = None
    is_error: bool | None = None
    meta: dict[str, Any] | None = None
    type: Literal["tool_result"] = "tool_result"


SamplingContent = TextContent | ImageContent | AudioContent | ToolUseContent | ToolResultContent
"""A content block of a sampling message."""


@attrs.frozen(slots=True, kw_only=True)
class ToolAnnotations:
    """Hints about a tool's behaviour; untrusted unless the server is."""

    title: str | None = None
    read_only_hint: bool | None = None
    destructive_hint: bool | None = None
    idempotent_hint: bool | None = None
    open_world_hint: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class Tool:
    """A tool the client may call; ``input_schema`` is a JSON Schema object."""

    name: str
    input_schema: dict[str, Any] = attrs.field(factory=lambda: {"type": "object"})
    title: str | None = None
    description: str | None = None
    output_schema: dict[str, Any] | None = None
    annotations: ToolAnnotations | None = None
    icons: list[Icon] | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class CallToolResult:
    """A tool's result; ``is_error`` marks a failure the model should see.

    ``structured_content`` is a JSON object up to 2025-11-25; 2026-07-28 allows
    any JSON value.
    """

    content: list[ContentBlock] = attrs.field(factory=list)
    structured_content: Any = None
    is_error: bool | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class Resource:
    """A resource the server can read."""

    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: Annotations | None = None
    icons: list[Icon] | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ResourceTemplate:
    """A family of resources named by an RFC 6570 URI template."""

    uri_template: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    annotations: Annotations | None = None
    icons: list[Icon] | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ReadResourceResult:
    """The answer to ``resources/read``."""

    contents: list[TextResourceContents | BlobResourceContents]
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class PromptArgument:
    """An argument a prompt template takes."""

    name: str
    title: str | None = None
    description: str | None = None
    required: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class Prompt:
    """A prompt template the server offers."""

    name: str
    title: str | None = None
    description: str | None = None
    arguments: list[PromptArgument] | None = None
    icons: list[Icon] | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class PromptMessage:
    """One message of a prompt."""

    role: Role
    content: ContentBlock


@attrs.frozen(slots=True, kw_only=True)
class GetPromptResult:
    """The answer to ``prompts/get``."""

    messages: list[PromptMessage]
    description: str | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class Completion:
    """Completion values for an argument (at most 100)."""

    values: list[str]
    total: int | None = None
    has_more: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class CompleteResult:
    """The answer to ``completion/complete``."""

    completion: Completion
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ListToolsResult:
    """A page of ``tools/list``."""

    tools: list[Tool]
    next_cursor: str | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ListResourcesResult:
    """A page of ``resources/list``."""

    resources: list[Resource]
    next_cursor: str | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ListResourceTemplatesResult:
    """A page of ``resources/templates/list``."""

    resource_templates: list[ResourceTemplate]
    next_cursor: str | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ListPromptsResult:
    """A page of ``prompts/list``."""

    prompts: list[Prompt]
    next_cursor: str | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class Root:
    """A root the client exposes (a ``file://`` URI)."""

    uri: str
    name: str | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ListRootsResult:
    """The client's answer to ``roots/list``."""

    roots: list[Root]
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ModelHint:
    """A hint naming a model or model family."""

    name: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class ModelPreferences:
    """The server's preferences for the model the client samples with."""

    hints: list[ModelHint] | None = None
    cost_priority: float | None = None
    speed_priority: float | None = None
    intelligence_priority: float | None = None


@attrs.frozen(slots=True, kw_only=True)
class SamplingMessage:
    """A message of a sampling conversation: one content block or several."""

    role: Role
    content: SamplingContent | list[SamplingContent]
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class CreateMessageResult:
    """The client's answer to ``sampling/createMessage``."""

    role: Role
    content: SamplingContent | list[SamplingContent]
    model: str
    stop_reason: str | None = None
    meta: dict[str, Any] | None = None


@attrs.frozen(slots=True, kw_only=True)
class ElicitResult:
    """The client's answer to ``elicitation/create``."""

    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


_MODEL_CLASSES: tuple[type[Any], ...] = (
    Icon,
    Implementation,
    Annotations,
    TextContent,
    ImageContent,
    AudioContent,
    TextResourceContents,
    BlobResourceContents,
    ResourceLink,
    EmbeddedResource,
    ToolUseContent,
    ToolResultContent,
    ToolAnnotations,
    Tool,
    CallToolResult,
    Resource,
    ResourceTemplate,
    ReadResourceResult,
    PromptArgument,
    Prompt,
    PromptMessage,
    GetPromptResult,
    Completion,
    CompleteResult,
    ListToolsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListPromptsResult,
    Root,
    ListRootsResult,
    ModelHint,
    ModelPreferences,
    SamplingMessage,
    CreateMessageResult,
    ElicitResult,
)

for _cls in _MODEL_CLASSES:
    trusted_init(_cls)
