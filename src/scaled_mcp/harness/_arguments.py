"""Tool arguments generated from a tool's ``inputSchema``: valid ones, and invalid ones.

The generator reads the common JSON Schema keywords (types, ``enum``/``const``,
bounds, lengths, ``format``, ``pattern`` among a few candidates, ``properties``,
``required``, ``additionalProperties``, ``items``/``prefixItems``, local ``$ref``,
``allOf``/``anyOf``/``oneOf``) and draws from a seeded :class:`random.Random`, so
one seed gives one run. Whatever it makes is checked against the schema itself
(:func:`._schemas.instance_errors`): valid arguments are only returned when they
validate, invalid ones only when they do not. A schema it cannot satisfy gives
``None``, never arguments it only believes valid.
"""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._schemas import UnknownDialect, instance_errors

__all__ = ["InvalidArguments", "invalid_arguments", "valid_arguments"]

#: How many draws :func:`valid_arguments` makes before giving up.
ATTEMPTS: Final = 8
#: How deep nested schemas (and ``$ref`` chains) are followed.
MAX_DEPTH: Final = 8
#: Longest string and array generated when the schema sets no bound.
SMALL: Final = 6

_FORMATS: Final[dict[str, tuple[str, ...]]] = {
    "date-time": ("2025-01-02T03:04:05Z", "2026-07-28T12:00:00+00:00"),
    "date": ("2025-01-02", "2026-07-28"),
    "time": ("03:04:05Z", "12:00:00+00:00"),
    "email": ("someone@example.com",),
    "uri": ("https://example.com/a", "file:///tmp/a.txt"),
    "uri-reference": ("/a/b", "https://example.com/"),
    "uuid": ("123e4567-e89b-42d3-a456-426614174000",),
    "ipv4": ("192.0.2.1",),
    "ipv6": ("2001:db8::1",),
    "hostname": ("example.com",),
}
#: Strings tried against a ``pattern`` the generator cannot invert.
_PATTERN_CANDIDATES: Final = (
    "a",
    "abc",
    "A",
    "0",
    "123",
    "a1",
    "abc-def",
    "abc_def",
    "2025-01-02",
    "someone@example.com",
    "https://example.com/a",
    "",
)


class _CannotGenerate(Exception):
    """The schema asks for something the generator does not make."""


@attrs.frozen
class InvalidArguments:
    """Arguments that break the input schema, and how."""

    how: str
    arguments: Any


def valid_arguments(schema: Mapping[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """Arguments valid against the tool's ``inputSchema`` (checked), or ``None`` when
    the generator cannot make any in :data:`ATTEMPTS` draws."""
    for _ in range(ATTEMPTS):
        try:
            value = _Generator(schema, rng).value(schema, 0)
        except _CannotGenerate:
            continue
        if isinstance(value, dict) and _valid(schema, value):
            return value
    return None


def invalid_arguments(schema: Mapping[str, Any], rng: random.Random) -> list[InvalidArguments]:
    """Arguments that break the tool's ``inputSchema``, each checked to be invalid:
    a required property left out, a property of the wrong type, an unknown property
    where ``additionalProperties`` is false. Empty when the schema accepts them all."""
    base = valid_arguments(schema, rng) or {}
    resolved = _Generator(schema, rng).resolve(schema, 0)
    properties = resolved.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = [name for name in resolved.get("required", ()) if isinstance(name, str)]
    found: list[InvalidArguments] = []
    if required:
        name = rng.choice(required)
        found.append(
            InvalidArguments(
                f"required property {name!r} left out",
                {key: value for key, value in base.items() if key != name},
            )
        )
    for name in sorted(properties, key=lambda n: (n not in required, n)):
        wrong = _wrong_type(properties[name])
        if wrong is not None:
            found.append(
                InvalidArguments(f"property {name!r} of the wrong type", {**base, name: wrong})
            )
            break
    if resolved.get("additionalProperties") is False:
        extra = "unexpected_" + "".join(rng.choices(string.ascii_lowercase, k=6))
        found.append(InvalidArguments(f"unknown property {extra!r}", {**base, extra: 1}))
    return [case for case in found if not _valid(schema, case.arguments)]


def _valid(schema: Mapping[str, Any], value: Any) -> bool:
    try:
        return not instance_errors(schema, value)
    except UnknownDialect:
        return False


def _wrong_type(schema: Any) -> Any:
    """A value whose JSON type the property schema does not allow, or ``None``."""
    if not isinstance(schema, Mapping):
        return None
    declared = schema.get("type")
    types = set(declared) if isinstance(declared, list) else {declared}
    if "string" in types:
        return 12345 if not types & {"integer", "number"} else [1]
    if types & {"integer", "number", "boolean", "object", "array"}:
        return "not the declared type"
    return None


class _Generator:
    """One draw of a value for a schema, with the root for local ``$ref``."""

    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def resolve(self, schema: Any, depth: int) -> Mapping[str, Any]:
        """``schema`` with a local ``$ref`` followed and ``allOf`` merged in."""
        if depth > MAX_DEPTH:
            raise _CannotGenerate("too deep")
        if schema is True or schema is None:
            return {}
        if not isinstance(schema, Mapping):
            raise _CannotGenerate("a false or non-object schema")
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = self._pointer(ref)
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            schema = _merge(self.resolve(target, depth + 1), rest)
        parts = schema.get("allOf")
        if isinstance(parts, list):
            merged: Mapping[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in parts:
                merged = _merge(merged, self.resolve(part, depth + 1))
            schema = merged
        resolved: Mapping[str, Any] = schema
        return resolved

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise _CannotGenerate(f"a reference to another document: {ref}")
        node: Any = self.root
        for raw in ref[1:].split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise _CannotGenerate(f"unresolvable reference {ref}")
        return node

    def value(self, schema: Any, depth: int) -> Any:
        """A value meant to be valid against ``schema``."""
        resolved = self.resolve(schema, depth)
        if "const" in resolved:
            return resolved["const"]
        if isinstance(resolved.get("enum"), list) and resolved["enum"]:
            return self.rng.choice(resolved["enum"])
        for key in ("anyOf", "oneOf"):
            branches = resolved.get(key)
            if isinstance(branches, list) and branches:
                rest = {k: v for k, v in resolved.items() if k != key}
                branch = self.resolve(self.rng.choice(branches), depth + 1)
                return self.value(_merge(rest, branch), depth + 1)
        kind = self._type(resolved)
        if kind == "object":
            return self._object(resolved, depth)
        if kind == "array":
            return self._array(resolved, depth)
        if kind == "string":
            return self._string(resolved)
        if kind in ("integer", "number"):
            return self._number(resolved, integer=kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        return None

    def _type(self, schema: Mapping[str, Any]) -> str:
        declared = schema.get("type")
        if isinstance(declared, str):
            return declared
        if isinstance(declared, list) and declared:
            choices = [kind for kind in declared if kind != "null"] or declared
            return str(self.rng.choice(choices))
        if "properties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        if any(key in schema for key in ("minimum", "maximum", "multipleOf")):
            return "number"
        return "string"

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = {name for name in schema.get("required", ()) if isinstance(name, str)}
        result: dict[str, Any] = {}
        for name in sorted(set(properties) | required):
            if name in required or self.rng.random() < 0.5:
                result[name] = self.value(properties.get(name, True), depth + 1)
        return result

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        low = _int(schema.get("minItems"), 0)
        high = _int(schema.get("maxItems"), max(low, 3))
        if high < low:
            raise _CannotGenerate("maxItems below minItems")
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items", True)
        count = self.rng.randint(max(low, len(prefix) if items is False else 0), high)
        values = [
            self.value(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(count)
        ]
        if schema.get("uniqueItems") is True and len({repr(v) for v in values}) < len(values):
            raise _CannotGenerate("duplicate items drawn")
        return values

    def _string(self, schema: Mapping[str, Any]) -> str:
        low = _int(schema.get("minLength"), 0)
        high = _int(schema.get("maxLength"), max(low, SMALL))
        if high < low:
            raise _CannotGenerate("maxLength below minLength")
        pattern = schema.get("pattern")
        fmt = schema.get("format")
        candidates: tuple[str, ...] = ()
        if isinstance(fmt, str) and fmt in _FORMATS:
            candidates = _FORMATS[fmt]
        elif isinstance(pattern, str):
            candidates = _PATTERN_CANDIDATES
        if candidates:
            fitting = [
                c
                for c in candidates
                if low <= len(c) <= high and (not isinstance(pattern, str) or _matches(pattern, c))
            ]
            if not fitting:
                raise _CannotGenerate("no candidate string fits")
            return self.rng.choice(fitting)
        length = self.rng.randint(max(low, min(1, high)), high)
        return "".join(self.rng.choices(string.ascii_letters + string.digits, k=length))

    def _number(self, schema: Mapping[str, Any], *, integer: bool) -> int | float:
        low = _num(schema.get("minimum"), -1000.0)
        high = _num(schema.get("maximum"), max(low, 0.0) + 1000.0)
        exclusive_low = schema.get("exclusiveMinimum")
        exclusive_high = schema.get("exclusiveMaximum")
        step = 1.0 if integer else 0.0
        if isinstance(exclusive_low, int | float) and not isinstance(exclusive_low, bool):
            low = max(low, exclusive_low + (step or 1e-6))
        if isinstance(exclusive_high, int | float) and not isinstance(exclusive_high, bool):
            high = min(high, exclusive_high - (step or 1e-6))
        multiple = schema.get("multipleOf")
        if isinstance(multiple, int | float) and not isinstance(multiple, bool) and multiple > 0:
            first, last = math.ceil(low / multiple), math.floor(high / multiple)
            if last < first:
                raise _CannotGenerate("no multiple in range")
            value = self.rng.randint(first, last) * multiple
            return int(value) if integer or isinstance(multiple, int) else value
        if integer:
            first, last = math.ceil(low), math.floor(high)
            if last < first:
                raise _CannotGenerate("no integer in range")
            return self.rng.randint(first, last)
        if high < low:
            raise _CannotGenerate("empty range")
        return self.rng.uniform(low, high)


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Two schemas' keywords together: ``properties`` and ``required`` combined."""
    merged = {**base, **extra}
    base_props, extra_props = base.get("properties"), extra.get("properties")
    if isinstance(base_props, Mapping) and isinstance(extra_props, Mapping):
        merged["properties"] = {**base_props, **extra_props}
    base_req, extra_req = base.get("required"), extra.get("required")
    if isinstance(base_req, list) and isinstance(extra_req, list):
        merged["required"] = list(dict.fromkeys([*base_req, *extra_req]))
    return merged


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _num(value: Any, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def _matches(pattern: str, candidate: str) -> bool:
    try:
        return re.search(pattern, candidate) is not None
    except re.error:
        return False
