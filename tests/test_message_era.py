"""The era a message declares in its ``_meta``: read in one place for HTTP and stdio."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol._errors import RemoteProtocolError
from scaled_mcp.protocol._http_config import HttpConfig
from scaled_mcp.protocol._http_decisions import ProcessMessages, Reject
from scaled_mcp.protocol._http_request import HttpRequest
from scaled_mcp.protocol._http_routing import decide
from scaled_mcp.protocol._jsonrpc import ErrorResponse, Message, Notification, Request, Response
from scaled_mcp.protocol._message_era import UNDECLARED, declared_version, message_era
from scaled_mcp.protocol._meta import META_PROTOCOL_VERSION
from scaled_mcp.protocol._versions import HANDSHAKE_VERSIONS, STATELESS_VERSIONS, Era

from .helpers import stateless_meta
from .stateless import json_values

STATELESS = STATELESS_VERSIONS[0]


def declaring(version: object, method: str = "tools/list", request_id: int | None = 1) -> Message:
    """A request (a notification if ``request_id`` is None) whose ``_meta`` declares ``version``."""
    params = {"_meta": {META_PROTOCOL_VERSION: version}}
    if request_id is None:
        return Notification(method, params)
    return Request(request_id, method, params)


@pytest.mark.parametrize(
    "message",
    [
        Request(1, "tools/list"),
        Request(1, "tools/list", {}),
        Request(1, "tools/list", {"_meta": None}),
        Request(1, "tools/list", {"_meta": [META_PROTOCOL_VERSION]}),
        Request(1, "tools/list", {"_meta": {"progressToken": 1}}),
        Notification("notifications/initialized"),
        Response(1, {"_meta": {META_PROTOCOL_VERSION: STATELESS}}),
        ErrorResponse(1, -32600, "no"),
        RemoteProtocolError("Invalid request: not an object"),
        None,
    ],
)
def test_a_message_without_a_version_in_its_meta_declares_none(message: Any) -> None:
    assert declared_version(message) is UNDECLARED
    if isinstance(message, Request | Notification | Response | ErrorResponse):
        assert message_era(message) is Era.HANDSHAKE


@given(json_values)
def test_any_declared_value_is_returned_as_sent(version: object) -> None:
    # Checking the value is the caller's: HTTP compares it with its header.
    assert declared_version(declaring(version)) == version
    assert declared_version(declaring(version, request_id=None)) == version


@given(
    st.one_of(st.sampled_from([*STATELESS_VERSIONS, *HANDSHAKE_VERSIONS]), json_values),
    st.sampled_from(["tools/call", "ping", "initialize", "subscriptions/listen"]),
    st.booleans(),
)
def test_a_message_is_of_the_stateless_era_when_it_declares_no_handshake_version(
    version: object, method: str, notification: bool
) -> None:
    # A version the server does not know is answered as the stateless era does
    # (-32022): no handshake-era client declares a version in ``_meta``.
    message = declaring(version, method, request_id=None if notification else 3)
    stateless = version not in HANDSHAKE_VERSIONS and method != "initialize"
    assert message_era(message) is (Era.STATELESS if stateless else Era.HANDSHAKE)


def test_initialize_begins_a_session_whatever_it_declares() -> None:
    assert message_era(declaring(STATELESS, "initialize")) is Era.HANDSHAKE


# -- HTTP and stdio read the same declaration ---------------------------------------------

_HEADERS = (
    ("host", "localhost"),
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
)


def _post(body: dict[str, Any], version: str | None) -> object:
    headers: tuple[tuple[str, str], ...] = _HEADERS
    if version is not None:
        headers = (*headers, ("mcp-protocol-version", version), ("mcp-method", body["method"]))
    return decide(HttpRequest("POST", "/mcp", "", headers, orjson.dumps(body)), HttpConfig())


@pytest.mark.parametrize("version", [*STATELESS_VERSIONS, *HANDSHAKE_VERSIONS])
def test_http_serves_statelessly_what_stdio_does(version: str) -> None:
    params = {"_meta": {**stateless_meta(), META_PROTOCOL_VERSION: version}}
    body = {"jsonrpc": "2.0", "id": 4, "method": "ping", "params": params}
    stdio = message_era(Request(4, "ping", params))
    # With the header its version names, HTTP serves the request in the same era.
    decision = _post(body, version)
    if stdio is Era.STATELESS:
        assert isinstance(decision, ProcessMessages) and decision.era is Era.STATELESS
    else:
        assert not isinstance(decision, ProcessMessages) or decision.era is Era.HANDSHAKE
    # Without the header, a stateless declaration is refused for lack of it (400).
    bare = _post(body, None)
    if stdio is Era.STATELESS:
        assert isinstance(bare, Reject) and bare.status == 400
        assert b"MCP-Protocol-Version header is required" in bare.body
