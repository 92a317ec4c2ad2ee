"""JSON Schemas for tools, derived from Python type hints, and compiled validators.

A tool's ``inputSchema`` comes from its function's parameters and its
``outputSchema`` from its return annotation; arguments are validated with a
JSON Schema 2020-12 validator compiled once per schema (jsonschema-rs).

basic/index, JSON Schema usage: "When a schema does not include a ``$schema``
field, it defaults to JSON Schema 2020-12"; implementations "MUST handle
unsupported dialects gracefully by returning an appropriate error";
"Implementations MUST NOT automatically dereference ``$ref`` values that
resolve to a network URI".
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import functools
import inspect
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import jsonschema_rs
import orjson

__all__ = [
    "MAX_SCHEMA_DEPTH",
    "MAX_SCHEMA_SIZE",
    "MAX_VALIDATION_MESSAGES",
    "ArgumentBinder",
    "ArgumentValidator",
    "OutputShape",
    "Param",
    "bind_arguments",
    "compile_validator",
    "from_json_value",
    "input_schema_for",
    "output_schema_for",
    "schema_for_annotation",
    "to_json_value",
]

#: The largest schema (bytes of its JSON) a validator is compiled for.
MAX_SCHEMA_SIZE: Final = 256 * 1024
#: The deepest nesting of objects and arrays a schema may have.
MAX_SCHEMA_DEPTH: Final = 64
#: How many validation messages an error report carries at most.
MAX_VALIDATION_MESSAGES: Final = 10

_DIALECTS: Final[Mapping[str, type[Any]]] = {
    "https://json-schema.org/draft/2020-12/schema": jsonschema_rs.Draft202012Validator,
    "https://json-schema.org/draft/2019-09/schema": jsonschema_rs.Draft201909Validator,
    "http://json-schema.org/draft-07/schema": jsonschema_rs.Draft7Validator,
}


@attrs.frozen(slots=True, kw_only=True)
class Param:
    """What a type hint cannot say about a parameter: ``Annotated[int, Param(ge=0)]``."""

    description: str | None = None
    title: str | None = None
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    lt: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    examples: list[Any] | None = None
    #: Mirror the argument in an ``Mcp-Param-<header>`` HTTP header (2026-07-28,
    #: ``x-mcp-header``), so that gateways can route on it without the body.
    header: str | None = None

    def apply(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with these keywords added."""
        out = dict(schema)
        keywords = {
            "description": self.description,
            "title": self.title,
            "minimum": self.ge,
            "maximum": self.le,
            "exclusiveMinimum": self.gt,
            "exclusiveMaximum": self.lt,
            "pattern": self.pattern,
            "examples": self.examples,
            "x-mcp-header": self.header,
        }
        is_array = out.get("type") == "array"
        keywords["minItems" if is_array else "minLength"] = self.min_length
        keywords["maxItems" if is_array else "maxLength"] = self.max_length
        out.update({k: v for k, v in keywords.items() if v is not None})
        return out


_SCALARS: Final[Mapping[Any, dict[str, Any]]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    bytes: {"type": "string", "contentEncoding": "base64"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    uuid.UUID: {"type": "string", "format": "uuid"},
}


def _json_default(value: Any) -> tuple[bool, Any]:
    """Whether a Python default can be written in a schema, and its JSON form."""
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        return True, orjson.loads(orjson.dumps(value))
    except TypeError:
        return False, None


def _object_schema(cls: type[Any], seen: frozenset[type[Any]]) -> dict[str, Any]:
    if cls in seen:
        raise TypeError(f"{cls.__name__} refers to itself: recursive types are not supported")
    seen = seen | {cls}
    hints = typing.get_type_hints(cls, include_extras=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    if typing.is_typeddict(cls):
        # Read Required/NotRequired from the resolved hints: with postponed
        # annotations, __required_keys__ cannot see them.
        total = getattr(cls, "__total__", True)
        for name, hint in hints.items():
            properties[name] = _schema(hint, seen)
            marker = typing.get_origin(hint)
            if marker is typing.Required or (total and marker is not typing.NotRequired):
                required.append(name)
    else:
        fields: list[tuple[str, Any]] = []
        if attrs.has(cls):
            fields = [(f.name, f.default) for f in attrs.fields(cls)]
        else:
            fields = [
                (
                    f.name,
                    f.default
                    if f.default is not dataclasses.MISSING
                    else (attrs.NOTHING if f.default_factory is dataclasses.MISSING else None),
                )
                for f in dataclasses.fields(cls)
            ]
        for name, default in fields:
            schema = _schema(hints[name], seen)
            if default is attrs.NOTHING:
                required.append(name)
            elif not isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                ok, value = _json_default(default)
                if ok:
                    schema = {**schema, "default": value}
            properties[name] = schema
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def _schema(annotation: Any, seen: frozenset[type[Any]]) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Required, typing.NotRequired):
        return _schema(args[0], seen)
    if origin is typing.Annotated:
        schema = _schema(args[0], seen)
        for extra in args[1:]:
            if isinstance(extra, Param):
                schema = extra.apply(schema)
        return schema
    if annotation is Any or annotation is object:
        return {}
    if annotation in _SCALARS:
        return dict(_SCALARS[annotation])
    if origin is Literal:
        values = list(args)
        return {"const": values[0]} if len(values) == 1 else {"enum": values}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [member.value for member in annotation]}
    if origin in (typing.Union, types.UnionType):
        options = [_schema(arg, seen) for arg in args]
        simple = [o.get("type") for o in options]
        if all(len(o) == 1 and isinstance(t, str) for o, t in zip(options, simple, strict=True)):
            return {"type": simple}
        return {"anyOf": options}
    if origin in (list, Sequence, typing.Sequence) or annotation in (list, Sequence):
        items = _schema(args[0], seen) if args else {}
        return {"type": "array", "items": items}
    if origin in (set, frozenset):
        return {
            "type": "array",
            "items": _schema(args[0], seen) if args else {},
            "uniqueItems": True,
        }
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _schema(args[0], seen)}
        return {
            "type": "array",
            "prefixItems": [_schema(arg, seen) for arg in args],
            "items": False,
            "minItems": len(args),
        }
    if origin in (dict, Mapping, typing.Mapping) or annotation in (dict, Mapping):
        if args and args[0] is not str:
            raise TypeError(f"JSON object keys are strings: {annotation!r} cannot be one")
        return {"type": "object", "additionalProperties": _schema(args[1], seen) if args else {}}
    if isinstance(annotation, type) and (
        typing.is_typeddict(annotation)
        or attrs.has(annotation)
        or dataclasses.is_dataclass(annotation)
    ):
        return _object_schema(annotation, seen)
    raise TypeError(f"no JSON Schema for the type {annotation!r}")


def schema_for_annotation(annotation: Any) -> dict[str, Any]:
    """The JSON Schema (2020-12) of values of ``annotation``; TypeError if it has none."""
    return _schema(annotation, frozenset())


def input_schema_for(
    fn: Callable[..., Any], *, skip: Callable[[Any], bool] = lambda annotation: False
) -> dict[str, Any]:
    """A tool's ``inputSchema`` from ``fn``'s parameters.

    Parameters without a default are required; JSON-able defaults are written
    as ``default``. Parameters whose annotation ``skip`` accepts (the request
    context) are left out. Unsupported annotations raise TypeError now, when
    the tool is declared, never when it is called.
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, parameter in inspect.signature(fn).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"{fn.__name__}: *args and **kwargs cannot be tool arguments")
        annotation = hints.get(name, Any)
        if skip(annotation):
            continue
        schema = schema_for_annotation(annotation)
        if parameter.default is parameter.empty:
            required.append(name)
        else:
            ok, value = _json_default(parameter.default)
            if ok:
                schema = {**schema, "default": value}
        properties[name] = schema
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


@attrs.frozen(slots=True)
class OutputShape:
    """A tool's ``outputSchema``; ``wrapped`` means the value goes under ``result``.

    tools: "If an output schema is provided ... servers MUST provide structured
    results that conform to this schema." A non-object return is wrapped as
    ``{"result": value}`` so that the schema stays an object schema.
    """

    schema: dict[str, Any]
    wrapped: bool


def output_schema_for(
    fn: Callable[..., Any], *, unstructured: Callable[[Any], bool] = lambda annotation: False
) -> OutputShape | None:
    """The ``outputSchema`` of ``fn`` from its return annotation, or ``None``.

    No annotation, ``None``, ``Any`` and annotations ``unstructured`` accepts
    (content blocks, a whole result) give no output schema.
    """
    annotation = typing.get_type_hints(fn, include_extras=True).get("return", Any)
    if annotation in (Any, None, type(None)) or unstructured(annotation):
        return None
    schema = schema_for_annotation(annotation)
    if schema.get("type") == "object":
        return OutputShape(schema, wrapped=False)
    return OutputShape(
        {"type": "object", "properties": {"result": schema}, "required": ["result"]}, wrapped=True
    )


def _depth(value: Any, limit: int) -> int:
    depth = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return level
        depth = max(depth, level)
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
    return depth


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"external $ref {uri!r} is not fetched")


class ArgumentValidator:
    """A compiled validator for one schema."""

    __slots__ = ("_validator", "schema")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        dialect = schema.get("$schema", "https://json-schema.org/draft/2020-12/schema")
        cls = _DIALECTS.get(str(dialect).rstrip("#"))
        if cls is None:
            raise ValueError(f"unsupported JSON Schema dialect {dialect!r}")
        if len(orjson.dumps(schema)) > MAX_SCHEMA_SIZE:
            raise ValueError(f"the schema is larger than {MAX_SCHEMA_SIZE} bytes")
        if _depth(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
            raise ValueError(f"the schema nests deeper than {MAX_SCHEMA_DEPTH} levels")
        if not jsonschema_rs.meta.is_valid(schema):
            raise ValueError("not a valid JSON Schema")
        try:
            self._validator = cls(schema, retriever=_refuse_retrieval)
        except (jsonschema_rs.ReferencingError, jsonschema_rs.ValidationError, ValueError) as exc:
            raise ValueError(f"the schema cannot be compiled: {exc}") from None

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` conforms."""
        return bool(self._validator.is_valid(instance))

    def errors(self, instance: Any) -> list[str]:
        """Readable messages (``path: message``), at most :data:`MAX_VALIDATION_MESSAGES`."""
        out = []
        for error in self._validator.iter_errors(instance):
            path = "/".join(str(part) for part in error.instance_path) or "(root)"
            out.append(f"{path}: {error.message}")
            if len(out) == MAX_VALIDATION_MESSAGES:
                break
        return out


@functools.lru_cache(maxsize=1024)
def _compile(schema_json: bytes) -> ArgumentValidator:
    return ArgumentValidator(orjson.loads(schema_json))


def compile_validator(schema: dict[str, Any]) -> ArgumentValidator:
    """The validator of ``schema``, compiled once and cached; ValueError if unusable."""
    return _compile(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))


# -- values: validated JSON to the Python values a tool expects, and back ----------


def from_json_value(annotation: Any, value: Any) -> Any:
    """Turn ``value`` (JSON that passed ``schema_for_annotation(annotation)``) into
    the Python value the annotation names: enum members, dataclass, attrs and
    TypedDict instances, tuples, sets, datetimes, UUIDs, bytes.

    Raises ValueError or TypeError when the value does not fit after all.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Annotated, typing.Required, typing.NotRequired):
        return from_json_value(args[0], value)
    if annotation in (Any, object, str, int, bool, type(None)) or origin is Literal:
        return value
    if annotation is float:
        return float(value)
    if annotation is datetime.datetime:
        return datetime.datetime.fromisoformat(value)
    if annotation is datetime.date:
        return datetime.date.fromisoformat(value)
    if annotation is uuid.UUID:
        return uuid.UUID(value)
    if annotation is bytes:
        return base64.b64decode(value, validate=True)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(value)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        failures = []
        for arm in args:
            if arm is type(None):
                continue
            try:
                return from_json_value(arm, value)
            except (TypeError, ValueError, KeyError) as exc:
                failures.append(str(exc))
        raise ValueError(f"{value!r} fits none of {annotation!r}: {'; '.join(failures)}")
    if origin in (list, Sequence, typing.Sequence):
        return [from_json_value(args[0], item) for item in value] if args else list(value)
    if origin in (set, frozenset):
        items = (from_json_value(args[0], item) for item in value) if args else value
        return origin(items)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json_value(args[0], item) for item in value)
        if len(value) != len(args):
            raise ValueError(f"expected {len(args)} items, got {len(value)}")
        return tuple(from_json_value(arm, item) for arm, item in zip(args, value, strict=True))
    if origin in (dict, Mapping, typing.Mapping):
        inner = args[1] if args else Any
        return {key: from_json_value(inner, item) for key, item in value.items()}
    if annotation in (list, dict):
        return value
    if isinstance(annotation, type) and typing.is_typeddict(annotation):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return {
            key: from_json_value(hints[key], item) for key, item in value.items() if key in hints
        }
    if isinstance(annotation, type) and (
        attrs.has(annotation) or dataclasses.is_dataclass(annotation)
    ):
        hints = typing.get_type_hints(annotation, include_extras=True)
        cls: Any = annotation
        names = (
            [f.name for f in attrs.fields(cls)]
            if attrs.has(cls)
            else [f.name for f in dataclasses.fields(cls)]
        )
        return annotation(
            **{name: from_json_value(hints[name], value[name]) for name in names if name in value}
        )
    raise TypeError(f"no conversion for the type {annotation!r}")


def to_json_value(value: Any) -> Any:
    """The JSON form of a tool's Python result (the reverse of :func:`from_json_value`)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, enum.Enum):
        return to_json_value(value.value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if attrs.has(type(value)):
        return {f.name: to_json_value(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_value(item) for item in value]
    raise TypeError(f"{type(value).__name__} has no JSON form")


#: Annotations whose validated JSON value is already the Python value.
_AS_IS: Final = frozenset({Any, object, str, int, bool, type(None), list, dict})


def _as_is(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Annotated, typing.Required, typing.NotRequired):
        return _as_is(typing.get_args(annotation)[0])
    if origin is Literal:
        return True
    if origin in (list, dict):
        return all(_as_is(arg) for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return all(_as_is(arg) for arg in typing.get_args(annotation))
    return annotation in _AS_IS


class ArgumentBinder:
    """Turns a tool's validated JSON arguments into the keyword arguments of its
    function. Type hints are read once, when the tool is declared; parameters
    whose JSON value is already the Python value are passed as they are."""

    __slots__ = ("_converted", "_plain")

    def __init__(
        self, fn: Callable[..., Any], *, skip: Callable[[Any], bool] = lambda annotation: False
    ) -> None:
        hints = typing.get_type_hints(fn, include_extras=True)
        plain: list[str] = []
        converted: list[tuple[str, Any]] = []
        for name in inspect.signature(fn).parameters:
            annotation = hints.get(name, Any)
            if skip(annotation):
                continue
            if _as_is(annotation):
                plain.append(name)
            else:
                converted.append((name, annotation))
        self._plain = tuple(plain)
        self._converted = tuple(converted)

    def __call__(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments (absent ones keep their defaults; unknown keys
        are dropped). Raises ValueError or TypeError if a value does not fit."""
        bound = {name: arguments[name] for name in self._plain if name in arguments}
        for name, annotation in self._converted:
            if name in arguments:
                bound[name] = from_json_value(annotation, arguments[name])
        return bound


def bind_arguments(
    fn: Callable[..., Any],
    arguments: Mapping[str, Any],
    *,
    skip: Callable[[Any], bool] = lambda annotation: False,
) -> dict[str, Any]:
    """The keyword arguments to call ``fn`` with, from validated JSON ``arguments``
    (see :class:`ArgumentBinder`, which does the same without reading the
    type hints on every call)."""
    return ArgumentBinder(fn, skip=skip)(arguments)
