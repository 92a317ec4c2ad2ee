"""The ``tools/call`` params check, shared by the session machine and the stateless dispatcher."""

from __future__ import annotations

from typing import Any

import pytest

from scaled_mcp.protocol.jsonrpc import Notification, RemoteProtocolError, Request
from scaled_mcp.protocol.session import ServerConfig, ServerSession
from scaled_mcp.protocol.stateless import (
    META_CLIENT_CAPABILITIES,
    META_PROTOCOL_VERSION,
    StatelessDispatcher,
    StatelessServerConfig,
)
from scaled_mcp.protocol.types import check_tool_call_params

SERVER_INFO = {"name": "s", "version": "1"}
STATELESS_META = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}}
BAD_PARAMS = [
    ({}, 'tools/call needs a string "name"'),
    ({"name": 3}, 'tools/call needs a string "name"'),
    ({"name": None, "arguments": []}, 'tools/call needs a string "name"'),
    ({"name": "x", "arguments": []}, '"arguments" must be an object'),
    ({"name": "x", "arguments": "{}"}, '"arguments" must be an object'),
]


def test_good_params_give_the_tool_name() -> None:
    assert check_tool_call_params({"name": "echo"}) == "echo"
    assert check_tool_call_params({"name": "echo", "arguments": None}) == "echo"
    assert check_tool_call_params({"name": "echo", "arguments": {"a": [1]}}, 7) == "echo"


@pytest.mark.parametrize(("params", "message"), BAD_PARAMS)
def test_bad_params_are_invalid_params(params: dict[str, Any], message: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        check_tool_call_params(params, "r1")
    exc = info.value
    assert (exc.code, exc.http_status, exc.request_id) == (-32602, 400, "r1")
    assert exc.message == f"Invalid params: {message}"


@pytest.mark.parametrize(("params", "message"), BAD_PARAMS)
def test_both_eras_refuse_with_the_same_error(params: dict[str, Any], message: str) -> None:
    session = ServerSession(
        ServerConfig(server_info=SERVER_INFO, capabilities={"tools": {}}),
        session_id="s1",
        node_id="n",
    )
    session.receive(
        Request(
            0,
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "c", "version": "1"},
            },
        ),
        now=0,
    )
    session.receive(Notification("notifications/initialized"), now=0)
    dispatcher = StatelessDispatcher(
        StatelessServerConfig(server_info=SERVER_INFO, capabilities={"tools": {}})
    )
    errors = []
    for handle, request_params in (
        (lambda r: session.receive(r, now=0), params),
        (dispatcher.handle_request, {**params, "_meta": STATELESS_META}),
    ):
        with pytest.raises(RemoteProtocolError) as info:
            handle(Request(5, "tools/call", request_params))
        errors.append(info.value)
    for exc in errors:
        assert (exc.code, exc.http_status, exc.request_id) == (-32602, 400, 5)
        assert exc.message == f"Invalid params: {message}"
