"""Tool schemas from type hints, and compiled validators."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import attrs
import jsonschema
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.server._schema import (
    MAX_VALIDATION_MESSAGES,
    OutputShape,
    Param,
    bind_arguments,
    compile_validator,
    from_json_value,
    input_schema_for,
    output_schema_for,
    schema_for_annotation,
    to_json_value,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(TypedDict):
    x: int
    y: int
    label: NotRequired[str]


@dataclasses.dataclass
class Box:
    width: float
    tags: list[str] = dataclasses.field(default_factory=list)
    color: Color = Color.RED


@attrs.define
class User:
    name: str
    age: int | None = None


@dataclasses.dataclass
class Node:
    child: Node | None = None


class Context:
    """Stands for the request context a tool may ask for."""


def tool(
    ctx: Context,
    text: str,
    count: Annotated[int, Param(ge=1, le=10, description="How many")] = 1,
    mode: Literal["fast", "slow"] = "fast",
    color: Color | None = None,
    point: Point | None = None,
    boxes: list[Box] | None = None,
    user: User | None = None,
    scores: dict[str, float] | None = None,
    pair: tuple[int, str] | None = None,
    when: datetime.datetime | None = None,
) -> Point:
    raise NotImplementedError


def test_input_schema_from_a_signature() -> None:
    schema = input_schema_for(tool, skip=lambda annotation: annotation is Context)
    assert schema["required"] == ["text"]
    props = schema["properties"]
    assert "ctx" not in props
    assert props["text"] == {"type": "string"}
    assert props["count"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "description": "How many",
        "default": 1,
    }
    assert props["mode"] == {"enum": ["fast", "slow"], "default": "fast"}
    assert props["color"] == {
        "anyOf": [{"enum": ["red", "blue"]}, {"type": "null"}],
        "default": None,
    }
    assert props["point"]["anyOf"][0] == {
        "type": "object",
        "properties": {
            "x": {"type": "integer"},
            "y": {"type": "integer"},
            "label": {"type": "string"},
        },
        "required": ["x", "y"],
    }
    box = props["boxes"]["anyOf"][0]["items"]
    assert box["required"] == ["width"]
    assert box["properties"]["color"] == {"enum": ["red", "blue"], "default": "red"}
    assert props["user"]["anyOf"][0]["properties"]["age"] == {
        "type": ["integer", "null"],
        "default": None,
    }
    assert props["scores"]["anyOf"][0] == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    assert props["pair"]["anyOf"][0]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert props["when"]["anyOf"][0] == {"type": "string", "format": "date-time"}
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = compile_validator(schema)
    assert validator.is_valid({"text": "hi", "count": 3, "point": {"x": 1, "y": 2}})
    errors = validator.errors({"text": 5, "count": 11, "mode": "medium"})
    assert len(errors) == 3
    assert any(e.startswith("count:") for e in errors)


def test_output_schema() -> None:
    shape = output_schema_for(tool)
    assert shape == OutputShape(schema_for_annotation(Point), wrapped=False)

    def number() -> int:
        return 1

    assert output_schema_for(number) == OutputShape(
        {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]},
        wrapped=True,
    )

    def nothing() -> None:
        return None

    assert output_schema_for(nothing) is None
    assert output_schema_for(number, unstructured=lambda annotation: annotation is int) is None


def test_unsupported_annotations_fail_at_declaration() -> None:
    def bad(x: complex) -> None: ...

    def star(*args: int) -> None: ...

    def keys(x: dict[int, int]) -> None: ...

    for fn in (bad, star, keys):
        with pytest.raises(TypeError):
            input_schema_for(fn)

    with pytest.raises(TypeError, match="recursive"):
        schema_for_annotation(Node)


def test_dialects_and_remote_refs() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "integer"}
    assert compile_validator(draft7).is_valid(3)
    with pytest.raises(ValueError, match="dialect"):
        compile_validator({"$schema": "https://example.com/my-dialect", "type": "integer"})
    with pytest.raises(ValueError, match="compiled"):
        compile_validator({"$ref": "https://example.com/schema.json"})
    with pytest.raises(ValueError, match="valid"):
        compile_validator({"type": 5})
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["items"] = {}
        node = node["items"]
    with pytest.raises(ValueError, match="deeper"):
        compile_validator(deep)
    assert compile_validator({"type": "string"}) is compile_validator({"type": "string"})


def test_error_reports_are_bounded() -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    assert len(compile_validator(schema).errors(list(range(100)))) == MAX_VALIDATION_MESSAGES


def test_the_conformance_2020_12_tool_schema() -> None:
    # The schema the official conformance harness expects a tool to declare and
    # keep as it is (json-schema-2020-12 scenario): $defs, $ref, anyOf, prefixItems.
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"address": {"type": "object", "properties": {"city": {"type": "string"}}}},
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "value": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    validator = compile_validator(schema)
    assert validator.is_valid({"name": "a", "address": {"city": "x"}, "value": 1, "pair": ["a", 1]})
    assert not validator.is_valid({"name": "a", "address": {"city": 5}})
    assert not validator.is_valid({"name": "a", "extra": 1})


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        dict,
        text=st.text(max_size=10),
        count=st.integers(1, 10),
        mode=st.sampled_from(["fast", "slow"]),
        point=st.fixed_dictionaries({"x": st.integers(), "y": st.integers()}),
        scores=st.dictionaries(
            st.text(max_size=3), st.floats(allow_nan=False, allow_infinity=False)
        ),
    ),
    _json,
)
def test_values_of_the_hinted_types_validate_and_junk_gets_messages(
    good: dict[str, Any], junk: Any
) -> None:
    schema = input_schema_for(tool, skip=lambda annotation: annotation is Context)
    validator = compile_validator(schema)
    assert validator.errors(json.loads(json.dumps(good))) == []
    assert validator.is_valid(junk) == (validator.errors(junk) == [])
    reference = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(junk) == reference.is_valid(junk)


def test_schema_files_are_not_read_from_disk() -> None:
    # A relative $ref resolves against nothing local either.
    assert Path("schema.json").exists() is False
    with pytest.raises(ValueError, match="compiled"):
        compile_validator({"$ref": "schema.json"})


def test_bind_arguments_builds_the_python_values() -> None:
    arguments = {
        "text": "hi",
        "color": "blue",
        "point": {"x": 1, "y": 2},
        "boxes": [{"width": 2, "tags": ["a"], "color": "red"}],
        "user": {"name": "ada"},
        "scores": {"a": 1},
        "pair": [1, "b"],
        "when": "2026-11-24T00:00:00+00:00",
        "unknown": 1,
    }
    skip = lambda annotation: annotation is Context  # noqa: E731
    assert compile_validator(input_schema_for(tool, skip=skip)).errors(arguments) == []
    bound = bind_arguments(tool, arguments, skip=skip)
    assert bound == {
        "text": "hi",
        "color": Color.BLUE,
        "point": {"x": 1, "y": 2},
        "boxes": [Box(width=2.0, tags=["a"], color=Color.RED)],
        "user": User(name="ada"),
        "scores": {"a": 1.0},
        "pair": (1, "b"),
        "when": datetime.datetime(2026, 11, 24, tzinfo=datetime.UTC),
    }
    assert isinstance(bound["boxes"][0].width, float)
    with pytest.raises(ValueError, match="fits none"):
        from_json_value(Color | None, "green")


def test_to_json_value_is_the_reverse() -> None:
    box = Box(width=1.5, tags=["t"], color=Color.BLUE)
    assert to_json_value(box) == {"width": 1.5, "tags": ["t"], "color": "blue"}
    assert to_json_value(User(name="a")) == {"name": "a", "age": None}
    assert to_json_value({"when": datetime.date(2026, 1, 2), "raw": b"hi", "s": {3}}) == {
        "when": "2026-01-02",
        "raw": "aGk=",
        "s": [3],
    }
    assert from_json_value(Box, to_json_value(box)) == box
    assert from_json_value(bytes, to_json_value(b"\x00\xff")) == b"\x00\xff"
    with pytest.raises(TypeError):
        to_json_value(object())


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        Box,
        width=st.floats(allow_nan=False, allow_infinity=False),
        tags=st.lists(st.text(max_size=4), max_size=3),
        color=st.sampled_from(Color),
    ),
    st.builds(User, name=st.text(max_size=5), age=st.none() | st.integers()),
)
def test_values_round_trip_through_their_schema(box: Box, user: User) -> None:
    for annotation, value in ((Box, box), (User, user), (list[Box], [box, box])):
        wire = json.loads(json.dumps(to_json_value(value)))
        assert compile_validator(schema_for_annotation(annotation)).errors(wire) == []
        assert from_json_value(annotation, wire) == value
