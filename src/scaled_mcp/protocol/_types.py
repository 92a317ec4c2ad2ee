"""The MCP types users build: content blocks, tools, resources, prompts, results.

Frozen, slotted attrs classes with snake_case attributes; :func:`to_wire`
turns one into the spec's camelCase JSON object (``meta`` becomes ``_meta``,
unset optional fields are left out) and :func:`from_wire` builds one from
JSON, raising :class:`RemoteProtocolError` (-32602) on anything invalid.
Unknown keys on the wire are tolerated. The converter functions are generated
once per class, so :func:`to_wire` stays cheap on the hot path of every
``tools/call`` and ``tools/list``.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._errors import ErrorCode, RemoteProtocolError
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
    "converter",
    "from_wire",
    "to_wire",
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

_CONTENT_BY_TYPE: dict[str, type[Any]] = {
    "text": TextContent,
    "image": ImageContent,
    "audio": AudioContent,
    "resource_link": ResourceLink,
    "resource": EmbeddedResource,
    "tool_use": ToolUseContent,
    "tool_result": ToolResultContent,
}


def _wire_name(name: str) -> str:
    if name == "meta":
        return "_meta"
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _strict(kind: type[Any], *accepted: type[Any]) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if type(value) not in accepted:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return structure


def _make_converter() -> cattrs.Converter:
    """Structuring (wire to classes) through cattrs; unstructuring is generated below."""
    conv = cattrs.Converter()
    # No coercion: the wire's JSON types must already be right (cattrs would str() a number).
    conv.register_structure_hook(str, _strict(str, str))
    conv.register_structure_hook(int, _strict(int, int))
    conv.register_structure_hook(float, _strict(float, int, float))
    conv.register_structure_hook(bool, _strict(bool, bool))

    def structure_content(data: Any, _: Any) -> Any:
        if not isinstance(data, dict):
            raise TypeError("a content block must be an object")
        cls = _CONTENT_BY_TYPE.get(data.get("type"))  # type: ignore[arg-type]
        if cls is None:
            raise ValueError(f"unknown content type {data.get('type')!r}")
        return conv.structure(data, cls)

    def structure_resource_contents(data: Any, _: Any) -> Any:
        if not isinstance(data, dict):
            raise TypeError("resource contents must be an object")
        if "text" in data:
            return conv.structure(data, TextResourceContents)
        if "blob" in data:
            return conv.structure(data, BlobResourceContents)
        raise ValueError('resource contents need "text" or "blob"')

    def structure_sampling_content(data: Any, _: Any) -> Any:
        if isinstance(data, list):
            return [structure_content(item, None) for item in data]
        return structure_content(data, None)

    # The unions first: the class hooks generated below look them up.
    conv.register_structure_hook(ContentBlock, structure_content)
    conv.register_structure_hook(SamplingContent, structure_content)
    conv.register_structure_hook(
        SamplingContent | list[SamplingContent], structure_sampling_content
    )
    conv.register_structure_hook(
        TextResourceContents | BlobResourceContents, structure_resource_contents
    )
    for cls in _MODEL_CLASSES:
        renames = {a.name: _wire_name(a.name) for a in attrs.fields(cls)}
        conv.register_structure_hook(
            cls,
            make_dict_structure_fn(
                cls,
                conv,
                **{n: override(rename=w) for n, w in renames.items()},  # type: ignore[arg-type]
            ),
        )
    return conv


converter: cattrs.Converter = _make_converter()
"""The cattrs converter between these classes and their wire form."""

# -- the hot path: unstructuring with one generated function per class ----------

_UNSTRUCTURE: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}


def _model_members(annotation: Any) -> list[type[Any]]:
    """The model classes an annotation names (directly or in a union)."""
    if attrs.has(annotation):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [arg for arg in typing.get_args(annotation) if attrs.has(arg)]
    return []


def _value_code(annotation: Any, value: str) -> str:
    """Python source that turns ``value`` (of ``annotation``) into its wire form."""
    members = _model_members(annotation)
    if members and any(typing.get_origin(arg) is list for arg in typing.get_args(annotation)):
        # One block or a list of blocks (sampling content).
        return (
            f"([_UNSTRUCTURE[type(x)](x) for x in {value}] if type({value}) is list "
            f"else _UNSTRUCTURE[type({value})]({value}))"
        )
    if members:
        return f"_UNSTRUCTURE[type({value})]({value})"
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return _value_code(inner[0], value)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if _model_members(item) or _model_members_in_optional(item):
            return f"[_UNSTRUCTURE[type(x)](x) for x in {value}]"
    return value  # JSON values, strings, numbers, literals: already wire form


def _model_members_in_optional(annotation: Any) -> bool:
    return any(_model_members(a) for a in typing.get_args(annotation))


def _generate_unstructure(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    required: list[str] = []
    optional: list[str] = []
    for field in attrs.fields(cls):
        wire = _wire_name(field.name)
        code = _value_code(hints[field.name], "v")
        if field.default is None:
            optional.append(
                f"    v = o.{field.name}\n    if v is not None:\n        d[{wire!r}] = {code}"
            )
        else:
            required.append(f"{wire!r}: {_value_code(hints[field.name], 'o.' + field.name)}")
    source = (
        f"def unstructure(o):\n    d = {{{', '.join(required)}}}\n"
        + "\n".join(optional)
        + "\n    return d\n"
    )
    namespace: dict[str, Any] = {"_UNSTRUCTURE": _UNSTRUCTURE}
    exec(compile(source, f"<unstructure {cls.__name__}>", "exec"), namespace)
    function: Callable[[Any], dict[str, Any]] = namespace["unstructure"]
    return function


for _cls in _MODEL_CLASSES:
    _UNSTRUCTURE[_cls] = _generate_unstructure(_cls)
    converter.register_unstructure_hook(_cls, _UNSTRUCTURE[_cls])
    # Users build results on every tool call, and these classes check nothing.
    trusted_init(_cls)

T = TypeVar("T")


def to_wire(obj: Any) -> dict[str, Any]:
    """The spec's JSON object for ``obj`` (one of this module's classes)."""
    try:
        unstructure = _UNSTRUCTURE[type(obj)]
    except KeyError:
        raise TypeError(f"not an MCP type: {obj!r}") from None
    return unstructure(obj)


def from_wire(cls: type[T], data: Any) -> T:
    """Build a ``cls`` from its wire form; invalid data raises RemoteProtocolError (-32602)."""
    if not isinstance(data, dict):
        raise RemoteProtocolError(
            f"Invalid params: a {cls.__name__} must be a JSON object",
            code=ErrorCode.INVALID_PARAMS,
        )
    try:
        return converter.structure(data, cls)
    except Exception as exc:  # cattrs gathers many error types; the peer is to blame
        raise RemoteProtocolError(
            f"Invalid params: not a valid {cls.__name__}: {_describe(exc)}",
            code=ErrorCode.INVALID_PARAMS,
        ) from None


@functools.singledispatch
def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@_describe.register
def _(exc: cattrs.BaseValidationError) -> str:
    messages = cattrs.transform_error(exc)
    return "; ".join(messages[:5])
