"""The official MCP JSON schemas, for validating what the core emits.

The schemas are the harness's package data (``scaled_mcp/harness/schemas/``, one copy
for the package and the tests); the 2026-07-28 examples live beside this file."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

import scaled_mcp

SCHEMAS_DIR = Path(scaled_mcp.__file__).parent / "harness" / "schemas"
SPEC_DIR = Path(__file__).parent / "data" / "spec"
REVISIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
EXAMPLES_DIR = SPEC_DIR / "examples-2026-07-28"


@functools.cache
def schema(revision: str) -> dict[str, Any]:
    """The whole JSON schema document of ``revision``."""
    with open(SCHEMAS_DIR / f"schema-{revision}.json", encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]


def definitions(revision: str) -> dict[str, Any]:
    """The named definitions of ``revision`` (``$defs`` or ``definitions``)."""
    doc = schema(revision)
    return doc.get("$defs") or doc["definitions"]  # type: ignore[no-any-return]


@functools.cache
def _validator(revision: str, name: str) -> Any:
    doc = schema(revision)
    key = "$defs" if "$defs" in doc else "definitions"
    if name not in doc[key]:
        raise KeyError(f"{name} is not defined in the {revision} schema")
    wrapper = dict(doc)
    wrapper.pop("$id", None)
    wrapper["$ref"] = f"#/{key}/{name}"
    cls = jsonschema.validators.validator_for(doc)
    return cls(wrapper)


def validate(revision: str, name: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` is a valid ``name``."""
    _validator(revision, name).validate(instance)


def is_valid(revision: str, name: str, instance: Any) -> bool:
    """Whether ``instance`` is a valid ``name`` of ``revision``."""
    return bool(_validator(revision, name).is_valid(instance))


def examples() -> list[tuple[str, Path]]:
    """Every official 2026-07-28 example file, with the type it exemplifies."""
    return sorted(
        (folder.name, path)
        for folder in EXAMPLES_DIR.iterdir()
        if folder.is_dir()
        for path in folder.glob("*.json")
    )
