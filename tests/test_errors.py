"""Error codes: the ones that depend on the revision spoken."""

from __future__ import annotations

import pytest

from scaled_mcp.protocol.jsonrpc import ErrorCode, resource_not_found_code
from scaled_mcp.protocol.versions import HANDSHAKE_VERSIONS, STATELESS_VERSIONS, era_of
from tests.spec import validate


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_a_missing_resource_is_32002_on_a_handshake_revision(version: str) -> None:
    era = era_of(version)
    assert era is not None
    code = resource_not_found_code(era)
    assert code is ErrorCode.RESOURCE_NOT_FOUND
    assert int(code) == -32002


@pytest.mark.parametrize("version", STATELESS_VERSIONS)
def test_a_missing_resource_is_invalid_params_on_the_stateless_wire(version: str) -> None:
    era = era_of(version)
    assert era is not None
    code = resource_not_found_code(era)
    assert code is ErrorCode.INVALID_PARAMS
    error = {"code": int(code), "message": "Resource not found", "data": {"uri": "file:///x"}}
    validate(version, "InvalidParamsError", error)
