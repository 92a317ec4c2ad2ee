"""Arguments generated from a tool's input schema: valid ones validate, invalid ones do not
(judged by the reference validator, ``jsonschema``), and one seed gives one draw."""

from __future__ import annotations

import random
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.harness._arguments import invalid_arguments, valid_arguments


def _valid(schema: dict[str, Any], value: Any) -> bool:
    return bool(jsonschema.Draft202012Validator(schema).is_valid(value))


_STRINGS = st.fixed_dictionaries(
    {"type": st.just("string")},
    optional={
        "minLength": st.integers(0, 4),
        "maxLength": st.integers(4, 10),
        "format": st.sampled_from(["date-time", "date", "email", "uri", "uuid"]),
        "pattern": st.sampled_from(["^[a-z]+$", "^[0-9]+$", "-"]),
    },
)
_INTEGERS = st.fixed_dictionaries(
    {"type": st.just("integer")},
    optional={
        "minimum": st.integers(-5, 5),
        "maximum": st.integers(5, 50),
        "exclusiveMinimum": st.integers(-10, -6),
        "multipleOf": st.integers(1, 5),
    },
)
_NUMBERS = st.fixed_dictionaries(
    {"type": st.just("number")},
    optional={"minimum": st.floats(-5, 5), "exclusiveMaximum": st.floats(6, 60)},
)
_LEAVES = st.one_of(
    _STRINGS,
    _INTEGERS,
    _NUMBERS,
    st.fixed_dictionaries({"type": st.sampled_from(["boolean", "null"])}),
    st.fixed_dictionaries({"enum": st.lists(st.integers() | st.text(max_size=4), min_size=1)}),
    st.fixed_dictionaries({"const": st.text(max_size=4)}),
    st.fixed_dictionaries({"type": st.just(["string", "null"])}),
)


def _objects(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, max_size=4).flatmap(
        lambda properties: st.fixed_dictionaries(
            {
                "type": st.just("object"),
                "properties": st.just(properties),
                "required": st.lists(
                    st.sampled_from(sorted(properties)) if properties else st.nothing(),
                    unique=True,
                ),
            },
            optional={"additionalProperties": st.just(False)},
        )
    )


_SCHEMAS = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        _objects(inner),
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": inner},
            optional={"minItems": st.integers(0, 2), "maxItems": st.integers(2, 4)},
        ),
        st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=3)}),
    ),
    max_leaves=8,
)
_INPUT_SCHEMAS = _objects(_SCHEMAS)


@settings(max_examples=120, deadline=None)
@given(schema=_INPUT_SCHEMAS, seed=st.integers(0, 2**32))
def test_valid_arguments_are_valid(schema: dict[str, Any], seed: int) -> None:
    arguments = valid_arguments(schema, random.Random(seed))
    if arguments is not None:
        assert _valid(schema, arguments), arguments


@settings(max_examples=120, deadline=None)
@given(schema=_INPUT_SCHEMAS, seed=st.integers(0, 2**32))
def test_invalid_arguments_are_invalid(schema: dict[str, Any], seed: int) -> None:
    for case in invalid_arguments(schema, random.Random(seed)):
        assert not _valid(schema, case.arguments), case


_PLAIN = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "boolean", "number"])}),
    st.fixed_dictionaries({"enum": st.lists(st.integers(), min_size=1)}),
)


@settings(max_examples=80, deadline=None)
@given(schema=_objects(_PLAIN), seed=st.integers(0, 2**32))
def test_plain_schemas_always_get_arguments(schema: dict[str, Any], seed: int) -> None:
    # Without patterns or bounds there is always something valid to send.
    assert valid_arguments(schema, random.Random(seed)) is not None


@settings(max_examples=40, deadline=None)
@given(schema=_INPUT_SCHEMAS, seed=st.integers(0, 2**32))
def test_one_seed_one_draw(schema: dict[str, Any], seed: int) -> None:
    first = valid_arguments(schema, random.Random(seed))
    assert valid_arguments(schema, random.Random(seed)) == first
    assert invalid_arguments(schema, random.Random(seed)) == invalid_arguments(
        schema, random.Random(seed)
    )


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "word": {"type": "string", "minLength": 2},
        "times": {"type": "integer", "minimum": 1, "maximum": 3},
        "style": {"enum": ["plain", "shout"]},
        "item": {"$ref": "#/$defs/Item"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "when": {"allOf": [{"type": "string"}, {"format": "date"}]},
    },
    "required": ["word", "item"],
    "additionalProperties": False,
    "$defs": {
        "Item": {
            "type": "object",
            "properties": {"id": {"type": "integer"}},
            "required": ["id"],
        }
    },
}


def test_a_realistic_schema() -> None:
    rng = random.Random(7)
    for _ in range(20):
        arguments = valid_arguments(SCHEMA, rng)
        assert arguments is not None
        assert _valid(SCHEMA, arguments)
        assert {"word", "item"} <= set(arguments)
    cases = invalid_arguments(SCHEMA, rng)
    hows = [case.how for case in cases]
    assert len(cases) == 3, hows
    assert any("left out" in how for how in hows)
    assert any("wrong type" in how for how in hows)
    assert any("unknown property" in how for how in hows)


def _one(prop: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"a": prop}, "required": ["a"]}


@pytest.mark.parametrize(
    "schema",
    [
        _one(False),
        _one({"$ref": "https://example.com/a"}),
        _one({"type": "string", "pattern": "^Z{9}$"}),
        _one({"type": "integer", "minimum": 5, "maximum": 4}),
    ],
)
def test_unsatisfiable_schemas_give_none(schema: dict[str, Any]) -> None:
    assert valid_arguments(schema, random.Random(0)) is None


def test_a_schema_that_accepts_anything_has_no_invalid_arguments() -> None:
    assert invalid_arguments({"type": "object"}, random.Random(0)) == []
    assert valid_arguments({"type": "object"}, random.Random(0)) == {}
