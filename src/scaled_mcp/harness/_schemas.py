"""The official MCP JSON schemas (package data) and the validation the harness does with them.

Three questions, each answered with the list of what is wrong (empty: nothing):

* is a message the server sent valid against the official schema of its revision
  (:func:`message_errors`: the JSON-RPC envelope, then the specific type of the
  result, notification, request or error when the schema names one);
* is a schema a server publishes (a tool's ``inputSchema`` or ``outputSchema``) a
  valid JSON Schema of its declared dialect, 2020-12 when it declares none
  (:func:`json_schema_errors`);
* is a value valid against such a schema (:func:`instance_errors`: a tool's
  ``structuredContent`` against its ``outputSchema``, generated arguments against
  its ``inputSchema``).

Nothing is fetched: a ``$ref`` to another document is not followed (offline), and
formats are not asserted (the official schemas use ``format`` as an annotation).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import jsonschema_rs

from ..protocol.versions import SUPPORTED_VERSIONS

__all__ = [
    "KNOWN_DIALECTS",
    "MAX_ERRORS",
    "SCHEMAS_DIR",
    "UnknownDialect",
    "definition_names",
    "instance_errors",
    "json_schema_errors",
    "message_errors",
    "result_definition",
    "schema_document",
    "schema_errors",
]

#: Where the official schemas are: ``schema-<revision>.json``, copied unchanged from the spec.
SCHEMAS_DIR: Final = Path(__file__).parent / "schemas"
#: At most this many errors are reported for one value.
MAX_ERRORS: Final = 5

#: The JSON Schema dialects whose meta-schemas are known here (no fetching), by ``$schema``.
KNOWN_DIALECTS: Final = frozenset(
    f"{scheme}://json-schema.org/{path}{hash_}"
    for scheme in ("http", "https")
    for path in (
        "draft-04/schema",
        "draft-06/schema",
        "draft-07/schema",
        "draft/2019-09/schema",
        "draft/2020-12/schema",
    )
    for hash_ in ("", "#")
)


class UnknownDialect(ValueError):
    """A schema declares a ``$schema`` dialect the harness cannot check it against."""


@functools.cache
def schema_document(revision: str) -> dict[str, Any]:
    """The whole official JSON schema of ``revision`` (package data)."""
    if revision not in SUPPORTED_VERSIONS:
        raise KeyError(f"no official schema for revision {revision!r}")
    text = (SCHEMAS_DIR / f"schema-{revision}.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _definitions_key(revision: str) -> str:
    return "$defs" if "$defs" in schema_document(revision) else "definitions"


def _definitions(revision: str) -> dict[str, Any]:
    definitions: dict[str, Any] = schema_document(revision)[_definitions_key(revision)]
    return definitions


def definition_names(revision: str) -> frozenset[str]:
    """The names the official schema of ``revision`` defines."""
    return frozenset(_definitions(revision))


@functools.cache
def _validator(revision: str, name: str) -> jsonschema_rs.Validator:
    key = _definitions_key(revision)
    if name not in _definitions(revision):
        raise KeyError(f"{name} is not defined in the {revision} schema")
    wrapper = dict(schema_document(revision))
    wrapper.pop("$id", None)
    wrapper["$ref"] = f"#/{key}/{name}"
    return jsonschema_rs.validator_for(wrapper, validate_formats=False)


def _errors(validator: jsonschema_rs.Validator, instance: Any) -> list[str]:
    found: list[str] = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(part) for part in error.instance_path)
        found.append(f"{error.message} (at /{where})")
        if len(found) >= MAX_ERRORS:
            break
    return found


def schema_errors(revision: str, name: str, instance: Any) -> list[str]:
    """What makes ``instance`` not a valid ``name`` of ``revision`` (empty when valid)."""
    return [f"{name}: {error}" for error in _errors(_validator(revision, name), instance)]


@functools.cache
def _methods(revision: str, suffix: str) -> dict[str, str]:
    """The definitions named ``*<suffix>`` whose ``method`` is a constant, by that method."""
    found: dict[str, str] = {}
    for name, definition in _definitions(revision).items():
        if not name.endswith(suffix) or not isinstance(definition, dict):
            continue
        method = definition.get("properties", {}).get("method", {})
        if isinstance(method, dict) and isinstance(method.get("const"), str):
            found[method["const"]] = name
    return found


def result_definition(revision: str, method: str) -> str | None:
    """The name of the result type answering ``method`` in ``revision`` (``EmptyResult``
    for a request the schema gives no result type of), or ``None`` for a method
    the revision does not define."""
    request = _methods(revision, "Request").get(method)
    if request is None:
        return None
    name = request.removesuffix("Request") + "Result"
    return name if name in _definitions(revision) else "EmptyResult"


@functools.cache
def _error_definitions(revision: str) -> dict[int, str]:
    """The error responses the schema gives a fixed code (2026-07-28: -32020, -32021, -32022)."""
    found: dict[int, str] = {}
    for name, definition in _definitions(revision).items():
        if not isinstance(definition, dict):
            continue
        error = definition.get("properties", {}).get("error", {})
        for part in error.get("allOf", ()) if isinstance(error, dict) else ():
            code = part.get("properties", {}).get("code", {}).get("const")
            if isinstance(code, int):
                found[code] = name
    return found


def _first_defined(revision: str, *names: str) -> str:
    for name in names:
        if name in _definitions(revision):
            return name
    raise KeyError(f"none of {names} is defined in the {revision} schema")


def message_errors(revision: str, message: Any, method: str | None = None) -> list[str]:
    """What makes ``message``, sent by a server, invalid against the official schema
    of ``revision`` (empty when valid). ``method`` is the method of the request a
    response answers, when known: its result is then checked against its own type.

    An error response whose ``id`` is ``null`` or absent is taken as answering a
    request whose id could not be read, whatever the revision's schema says."""
    if not isinstance(message, Mapping):
        return [f"a JSON-RPC message is an object, not {type(message).__name__}"]
    if "method" in message:
        return _request_or_notification_errors(revision, message)
    if "error" in message:
        return _error_response_errors(revision, message)
    if "result" in message:
        return _result_response_errors(revision, message, method)
    return ["neither a request, a notification, a result nor an error"]


def _request_or_notification_errors(revision: str, message: Mapping[str, Any]) -> list[str]:
    method = message.get("method")
    if "id" in message:
        errors = schema_errors(revision, "JSONRPCRequest", message)
        specific = _methods(revision, "Request").get(method) if isinstance(method, str) else None
    else:
        errors = schema_errors(revision, "JSONRPCNotification", message)
        methods = _methods(revision, "Notification")
        specific = methods.get(method) if isinstance(method, str) else None
    if errors or specific is None:
        return errors
    return schema_errors(revision, specific, dict(message))


def _error_response_errors(revision: str, message: Mapping[str, Any]) -> list[str]:
    checked = dict(message)
    if checked.get("id") is None:
        # An error answering a request whose id could not be read: JSON-RPC 2.0 says its
        # id "MUST be Null", 2025-11-25 omits it ("except in error cases where the ID could
        # not be read due a malformed request"). Either is taken, in every revision: the
        # older schemas (an id required, a string or a number) cannot express the case.
        checked["id"] = 0
    envelope = _first_defined(revision, "JSONRPCErrorResponse", "JSONRPCError")
    errors = schema_errors(revision, envelope, checked)
    error = checked.get("error")
    code = error.get("code") if isinstance(error, Mapping) else None
    specific = _error_definitions(revision).get(code) if isinstance(code, int) else None
    if errors or specific is None:
        return errors
    return schema_errors(revision, specific, checked)


def _result_response_errors(
    revision: str, message: Mapping[str, Any], method: str | None
) -> list[str]:
    envelope = _first_defined(revision, "JSONRPCResultResponse", "JSONRPCResponse")
    errors = schema_errors(revision, envelope, message)
    if errors or method is None:
        return errors
    result_name = result_definition(revision, method)
    if result_name is None:
        return []  # a method this revision does not define: only the envelope is known
    if f"{result_name}Response" in _definitions(revision):
        # 2026-07-28 names each response, with the results it may carry (input_required too).
        return schema_errors(revision, f"{result_name}Response", message)
    return schema_errors(revision, result_name, message["result"])


def _dialect(schema: Mapping[str, Any]) -> str | None:
    declared = schema.get("$schema")
    if declared is None:
        return None
    if not isinstance(declared, str) or declared not in KNOWN_DIALECTS:
        raise UnknownDialect(f"unknown JSON Schema dialect {declared!r}")
    return declared


def json_schema_errors(schema: Any) -> list[str]:
    """What makes ``schema`` not a valid JSON Schema of its declared dialect, 2020-12
    when it declares none (empty when valid). Raises :class:`UnknownDialect` when
    its ``$schema`` is not a dialect known here."""
    if isinstance(schema, bool):
        return []  # a boolean is a JSON Schema (2019-09 and later)
    if not isinstance(schema, Mapping):
        return [f"a JSON Schema is an object, not {type(schema).__name__}"]
    _dialect(schema)
    try:
        jsonschema_rs.meta.validate(dict(schema))
    except jsonschema_rs.ValidationError as error:
        where = "/".join(str(part) for part in error.instance_path)
        return [f"{error.message} (at /{where})"]
    except jsonschema_rs.ReferencingError as error:
        return [f"unresolvable reference: {error}"]
    return []


def instance_errors(schema: Any, instance: Any) -> list[str]:
    """What makes ``instance`` invalid against ``schema``, a schema a server published
    (empty when valid). The schema must be valid (see :func:`json_schema_errors`);
    a ``$ref`` to another document is an error here, never a fetch."""
    if isinstance(schema, Mapping):
        _dialect(schema)
        document: Any = dict(schema)
    else:
        document = schema
    try:
        validator = jsonschema_rs.validator_for(document, validate_formats=False, offline=True)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as error:
        return [f"the schema cannot be used: {error}"]
    return _errors(validator, instance)
