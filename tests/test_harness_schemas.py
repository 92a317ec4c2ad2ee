"""The official schemas as the harness's package data, and what it validates with them."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.harness._schemas import (
    SCHEMAS_DIR,
    UnknownDialect,
    definition_names,
    instance_errors,
    json_schema_errors,
    message_errors,
    result_definition,
    schema_document,
)
from scaled_mcp.protocol.versions import SUPPORTED_VERSIONS
from tests.spec import examples

ROOT = Path(__file__).parent.parent


def test_one_copy_of_each_schema() -> None:
    # The package holds the schemas; the tests hold none of their own.
    assert sorted(p.name for p in SCHEMAS_DIR.glob("schema-*.json")) == sorted(
        [f"schema-{revision}.json" for revision in SUPPORTED_VERSIONS] + ["schema-ext-tasks.json"]
    )
    assert not list((ROOT / "tests" / "data" / "spec").glob("schema-*.json"))
    for revision in SUPPORTED_VERSIONS:
        assert "JSONRPCMessage" in definition_names(revision)


def test_unknown_revision() -> None:
    with pytest.raises(KeyError):
        schema_document("1999-01-01")


def test_the_wheel_carries_the_schemas(tmp_path: Path) -> None:
    uv = subprocess.run(["uv", "--version"], capture_output=True, check=False)
    if uv.returncode != 0:
        pytest.fail("uv is needed to build the wheel")
    subprocess.run(
        ["uv", "build", "--wheel", "-q", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for revision in SUPPORTED_VERSIONS:
        assert f"scaled_mcp/harness/schemas/schema-{revision}.json" in names


def _response(result: Any, request_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


TOOL = {"name": "echo", "inputSchema": {"type": "object"}}


@pytest.mark.parametrize("revision", SUPPORTED_VERSIONS)
def test_a_tools_list_response(revision: str) -> None:
    result: dict[str, Any] = {"tools": [TOOL]}
    if revision == "2026-07-28":
        result |= {"resultType": "complete", "ttlMs": 0, "cacheScope": "public"}
    assert message_errors(revision, _response(result), "tools/list") == []
    broken = {**result, "tools": [{"name": "echo"}]}
    errors = message_errors(revision, _response(broken), "tools/list")
    assert errors and "inputSchema" in errors[0]


def test_the_envelope_is_checked_without_the_method() -> None:
    assert message_errors("2025-06-18", _response({"anything": 1})) == []
    assert message_errors("2025-06-18", {"jsonrpc": "1.0", "id": 1, "result": {}})
    assert message_errors("2025-06-18", [1, 2]) == ["a JSON-RPC message is an object, not list"]
    assert message_errors("2025-06-18", {"jsonrpc": "2.0"})


def test_2026_results_need_their_result_type() -> None:
    errors = message_errors("2026-07-28", _response({"tools": [TOOL]}), "tools/list")
    assert errors and "resultType" in errors[0]


def test_an_error_with_a_null_or_no_id_answers_an_unreadable_request() -> None:
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    no_id = {key: value for key, value in error.items() if key != "id"}
    for revision in SUPPORTED_VERSIONS:
        assert message_errors(revision, error) == []
        assert message_errors(revision, no_id) == []
    assert message_errors("2025-06-18", {**error, "error": {"code": "x", "message": "m"}})


def test_the_2026_errors_with_a_code_of_their_own() -> None:
    unsupported: dict[str, Any] = {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": -32022, "message": "Unsupported protocol version", "data": {}},
    }
    errors = message_errors("2026-07-28", unsupported)
    assert errors and errors[0].startswith("UnsupportedProtocolVersionError")
    unsupported["error"]["data"] = {"supported": ["2026-07-28"], "requested": "1999-01-01"}
    assert message_errors("2026-07-28", unsupported) == []


def test_notifications_and_requests_against_their_types() -> None:
    log = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info"}}
    assert message_errors("2025-06-18", {**log, "params": {"level": "info", "data": 1}}) == []
    errors = message_errors("2025-06-18", {**log, "params": {"level": "loud", "data": 1}})
    assert errors and errors[0].startswith("LoggingMessageNotification")
    ping = {"jsonrpc": "2.0", "id": 7, "method": "ping"}
    assert message_errors("2025-06-18", ping) == []
    assert message_errors("2025-06-18", {**ping, "id": None})
    vendor = {"jsonrpc": "2.0", "method": "com.example/custom", "params": {"x": 1}}
    assert message_errors("2025-06-18", vendor) == []


def test_result_definitions() -> None:
    assert result_definition("2025-06-18", "tools/call") == "CallToolResult"
    assert result_definition("2025-06-18", "ping") == "EmptyResult"
    assert result_definition("2026-07-28", "server/discover") == "DiscoverResult"
    assert result_definition("2025-06-18", "server/discover") is None
    assert result_definition("2024-11-05", "no/such/method") is None


@pytest.mark.parametrize(("name", "path"), examples())
def test_every_official_example_of_a_server_message_is_valid(name: str, path: Path) -> None:
    message = json.loads(path.read_text())
    if not (isinstance(message, dict) and message.get("jsonrpc") == "2.0"):
        return  # a fragment (a type inside a message), not a whole message
    method = None
    if name.endswith("ResultResponse"):
        result = name.removesuffix("Response")
        method = next(
            (m for m in _methods("2026-07-28") if result_definition("2026-07-28", m) == result),
            None,
        )
    assert message_errors("2026-07-28", message, method) == [], path


def _methods(revision: str) -> list[str]:
    defs = schema_document(revision)["$defs"]
    return [
        d["properties"]["method"]["const"]
        for n, d in defs.items()
        if n.endswith("Request") and "const" in d.get("properties", {}).get("method", {})
    ]


def test_json_schemas() -> None:
    assert json_schema_errors({"type": "object", "properties": {"a": {"type": "string"}}}) == []
    assert json_schema_errors(True) == []
    assert json_schema_errors({"type": "objekt"})
    assert json_schema_errors({"type": "object", "required": "a"})
    assert json_schema_errors(None) == ["a JSON Schema is an object, not NoneType"]
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
    assert json_schema_errors(draft7) == []
    with pytest.raises(UnknownDialect):
        json_schema_errors({"$schema": "https://example.com/my-dialect", "type": "object"})


def test_instances_never_fetch() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    assert instance_errors(schema, {"a": 1}) == []
    assert instance_errors(schema, {"a": "1"})
    assert instance_errors(schema, {})
    remote = instance_errors({"$ref": "https://example.com/schema.json"}, {})
    assert remote and remote[0].startswith("the schema cannot be used")


_SCHEMAS = st.recursive(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "boolean", "null"])}),
    lambda inner: st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": inner}, optional={"maxItems": st.integers(0, 3)}
        ),
        st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.dictionaries(st.text(max_size=3), inner)}
        ),
    ),
    max_leaves=5,
)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(schema=_SCHEMAS, value=_VALUES)
def test_instance_errors_agree_with_the_reference_validator(
    schema: dict[str, Any], value: Any
) -> None:
    reference = jsonschema.Draft202012Validator(schema).is_valid(value)
    assert (instance_errors(schema, value) == []) == reference


def test_the_tests_schema_helper_reads_the_package_copy() -> None:
    from tests import spec

    assert spec.SCHEMAS_DIR == SCHEMAS_DIR
    assert spec.schema("2025-06-18") == schema_document("2025-06-18")
