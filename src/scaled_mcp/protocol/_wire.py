"""The wire form of the MCP types: :func:`to_wire`, :func:`from_wire` and the converter.

:func:`to_wire` turns one of :mod:`._types`' classes into the spec's camelCase
JSON object (``meta`` becomes ``_meta``, unset optional fields are left out)
and :func:`from_wire` builds one from JSON, raising
:class:`RemoteProtocolError` (-32602) on anything invalid. Unknown keys on the
wire are tolerated. The converter functions are generated once per class, so
:func:`to_wire` stays cheap on the hot path of every ``tools/call`` and
``tools/list``.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._errors import ErrorCode, RemoteProtocolError
from ._types import (
    _MODEL_CLASSES,
    AudioContent,
    BlobResourceContents,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    SamplingContent,
    TextContent,
    TextResourceContents,
    ToolResultContent,
    ToolUseContent,
)

__all__ = ["converter", "from_wire", "to_wire"]

_CONTENT_BY_TYPE: Final[Mapping[str, type[Any]]] = {
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

T = TypeVar("T")


def to_wire(obj: Any) -> dict[str, Any]:
    """The spec's JSON object for ``obj`` (one of the MCP types of :mod:`._types`)."""
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
