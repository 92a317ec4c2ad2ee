"""The JSON-RPC 2.0 codec as MCP narrows it."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.jsonrpc import (
    DecodedBody,
    ErrorCode,
    ErrorResponse,
    LocalProtocolError,
    Message,
    Notification,
    RemoteProtocolError,
    Request,
    Response,
    decode_body,
    decode_message,
    encode_batch,
    encode_message,
    error_response_for,
    message_from_json,
    message_to_json,
)
from tests.helpers import json_values, messages
from tests.spec import examples, validate


def code_of(data: bytes | str, *, allow_batch: bool = False) -> tuple[int, Any]:
    with pytest.raises(RemoteProtocolError) as info:
        decode_body(data, allow_batch=allow_batch)
    return info.value.code, info.value.request_id


@pytest.mark.parametrize(
    ("body", "code", "request_id"),
    [
        (b"{", ErrorCode.PARSE_ERROR, None),
        (b"\xff\xfe{}", ErrorCode.PARSE_ERROR, None),
        (b"", ErrorCode.PARSE_ERROR, None),
        (b'"x"', ErrorCode.INVALID_REQUEST, None),
        (b"[]", ErrorCode.INVALID_REQUEST, None),
        (b'{"jsonrpc":"1.0","id":4,"method":"ping"}', ErrorCode.INVALID_REQUEST, 4),
        (b'{"id":4,"method":"ping"}', ErrorCode.INVALID_REQUEST, 4),
        (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', ErrorCode.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', ErrorCode.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":null,"method":"ping"}', ErrorCode.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":{},"method":"ping"}', ErrorCode.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":"a","method":""}', ErrorCode.INVALID_REQUEST, "a"),
        (b'{"jsonrpc":"2.0","id":"a","method":5}', ErrorCode.INVALID_REQUEST, "a"),
        (b'{"jsonrpc":"2.0","id":"a","method":"x","params":3}', ErrorCode.INVALID_REQUEST, "a"),
        (b'{"jsonrpc":"2.0","id":"a","method":"x","params":[1]}', ErrorCode.INVALID_PARAMS, "a"),
        (b'{"jsonrpc":"2.0","id":"a","method":"x","result":{}}', ErrorCode.INVALID_REQUEST, "a"),
        (b'{"jsonrpc":"2.0","id":2,"result":{},"error":{}}', ErrorCode.INVALID_REQUEST, 2),
        (b'{"jsonrpc":"2.0","id":2}', ErrorCode.INVALID_REQUEST, 2),
        (b'{"jsonrpc":"2.0","id":2,"result":[]}', ErrorCode.INVALID_REQUEST, 2),
        (b'{"jsonrpc":"2.0","id":2,"error":{"code":"x","message":"m"}}', -32600, 2),
        (b'{"jsonrpc":"2.0","id":2,"error":{"code":1}}', ErrorCode.INVALID_REQUEST, 2),
        (b'{"jsonrpc":"2.0","id":2,"error":[]}', ErrorCode.INVALID_REQUEST, 2),
        (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', ErrorCode.INVALID_REQUEST, None),
    ],
)
def test_invalid_bodies(body: bytes, code: int, request_id: Any) -> None:
    assert code_of(body) == (code, request_id)
    error = error_response_for(decode_error(body))
    wire = message_to_json(error)
    assert ("id" in wire) == (request_id is not None)
    validate("2025-11-25", "JSONRPCErrorResponse", wire)
    validate("2026-07-28", "JSONRPCErrorResponse", wire)


def decode_error(body: bytes) -> RemoteProtocolError:
    try:
        decode_body(body, allow_batch=False)
    except RemoteProtocolError as exc:
        return exc
    raise AssertionError("no error")


def test_batches() -> None:
    body = b'[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"x"},5]'
    decoded = decode_body(body, allow_batch=True)
    assert decoded.batch
    first, second, third = decoded.items
    assert first == Request(id=1, method="ping")
    assert isinstance(second, RemoteProtocolError)
    assert second.request_id == "x"
    assert isinstance(third, RemoteProtocolError)
    assert code_of(b"[]", allow_batch=True)[0] == ErrorCode.INVALID_REQUEST
    with pytest.raises(RemoteProtocolError) as info:
        decode_body(b"[" + b",".join([b"{}"] * 3) + b"]", allow_batch=True, max_batch_size=2)
    assert info.value.http_status == 413
    assert decode_body(b'{"jsonrpc":"2.0","method":"x"}', allow_batch=True) == DecodedBody(
        items=(Notification(method="x"),), batch=False
    )
    assert orjson.loads(encode_batch([Response(id=1, result={})])) == [
        {"jsonrpc": "2.0", "id": 1, "result": {}}
    ]


def test_a_batch_is_not_a_message() -> None:
    with pytest.raises(RemoteProtocolError):
        decode_message(b"[]")


def test_users_cannot_build_invalid_messages() -> None:
    for build in (
        lambda: Request(id=True, method="x"),
        lambda: Request(id=1, method=""),
        lambda: Request(id=1, method="x", params=[]),  # type: ignore[arg-type]
        lambda: Notification(method="x", params="p"),  # type: ignore[arg-type]
        lambda: Response(id=None, result={}),  # type: ignore[arg-type]
        lambda: Response(id=1, result=[]),  # type: ignore[arg-type]
        lambda: ErrorResponse(id=1, code="x", message="m"),  # type: ignore[arg-type]
        lambda: ErrorResponse(id=1, code=1, message=None),  # type: ignore[arg-type]
    ):
        with pytest.raises(LocalProtocolError):
            build()
    with pytest.raises(LocalProtocolError):
        message_to_json("nope")  # type: ignore[arg-type]


def test_every_official_example_message_parses() -> None:
    classes = {
        "Request": Request,
        "Notification": Notification,
        "Response": Response,
        "Error": ErrorResponse,
    }
    parsed = 0
    for type_name, path in examples():
        data = path.read_bytes()
        obj = json.loads(data)
        if not (isinstance(obj, dict) and "jsonrpc" in obj):
            continue
        message = decode_message(data)
        suffix = next(s for s in classes if type_name.endswith((s, s + "Response")))
        assert isinstance(message, classes[suffix]), (type_name, message)
        assert message_to_json(message) == obj
        parsed += 1
    assert parsed >= 30


@settings(max_examples=300)
@given(messages)
def test_round_trips(message: Message) -> None:
    assert message_from_json(message_to_json(message)) == message
    assert decode_message(encode_message(message)) == message


@settings(max_examples=300)
@given(json_values)
def test_any_json_value_is_a_message_or_a_remote_error(value: Any) -> None:
    try:
        message_from_json(value)
    except RemoteProtocolError as exc:
        assert exc.code in (ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_PARAMS)


@settings(max_examples=300)
@given(st.binary(max_size=64), st.booleans())
def test_any_bytes_decode_or_raise_a_remote_error(data: bytes, allow_batch: bool) -> None:
    try:
        decode_body(data, allow_batch=allow_batch)
    except RemoteProtocolError as exc:
        assert exc.code in (ErrorCode.PARSE_ERROR, ErrorCode.INVALID_REQUEST)
