"""The JSON-RPC 2.0 codec: bytes to MCP messages and back, on orjson.

MCP narrows JSON-RPC 2.0 (basic/index): "Requests MUST include a string or
integer ID. Unlike base JSON-RPC, the ID MUST NOT be null." Params and results
are JSON objects. Batches exist only in 2025-03-26 ("Implementations MAY
support sending JSON-RPC batches, but MUST support receiving JSON-RPC
batches"); the caller says whether a body may be one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

import attrs
import orjson

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._trusted import trusted_constructor

__all__ = [
    "DecodedBody",
    "ErrorResponse",
    "Message",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "decode_body",
    "decode_message",
    "encode_batch",
    "encode_message",
    "error_response_for",
    "message_from_json",
    "message_to_json",
    "request_id_of",
]

RequestId: TypeAlias = str | int
"""A JSON-RPC request id as MCP allows it: a string or an integer, never null."""


class _Absent(enum.Enum):
    """The value of a JSON object member that is not there (a JSON ``null`` is ``None``)."""

    ABSENT = "absent"


#: What ``dict.get(key, _ABSENT)`` returns for a member the object does not have.
_ABSENT: Final = _Absent.ABSENT


def _check_request_id(value: object) -> None:
    if type(value) is not int and type(value) is not str:
        raise LocalProtocolError(f"a request id must be a string or an integer, not {value!r}")


def _check_method(value: object) -> None:
    if type(value) is not str or not value:
        raise LocalProtocolError(f"a method must be a non-empty string, not {value!r}")


def _check_params(value: object) -> None:
    if value is not None and type(value) is not dict:
        raise LocalProtocolError(f"params must be a JSON object or absent, not {value!r}")


@attrs.frozen(slots=True)
class Request:
    """A JSON-RPC request: it expects exactly one response with the same ``id``."""

    id: RequestId
    method: str
    params: dict[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        _check_request_id(self.id)
        _check_method(self.method)
        _check_params(self.params)


@attrs.frozen(slots=True)
class Notification:
    """A JSON-RPC notification: one-way, "The receiver MUST NOT send a response"."""

    method: str
    params: dict[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        _check_method(self.method)
        _check_params(self.params)


@attrs.frozen(slots=True)
class Response:
    """A successful JSON-RPC response; MCP results are JSON objects."""

    id: RequestId
    result: dict[str, Any]

    def __attrs_post_init__(self) -> None:
        _check_request_id(self.id)
        if type(self.result) is not dict:
            raise LocalProtocolError(f"a result must be a JSON object, not {self.result!r}")


@attrs.frozen(slots=True)
class ErrorResponse:
    """A JSON-RPC error response.

    ``id`` is ``None`` only when the request's id could not be read ("except in
    error cases where the ID could not be read due a malformed request").
    ``data`` ``None`` means the member is absent.
    """

    id: RequestId | None
    code: int
    message: str
    data: Any = None

    def __attrs_post_init__(self) -> None:
        if self.id is not None:
            _check_request_id(self.id)
        if type(self.code) is not int:
            raise LocalProtocolError(f"an error code must be an integer, not {self.code!r}")
        if type(self.message) is not str:
            raise LocalProtocolError(f"an error message must be a string, not {self.message!r}")


Message: TypeAlias = Request | Notification | Response | ErrorResponse
"""Any single JSON-RPC message."""

# The trusted fast path: every field is checked by the caller (message_from_json,
# the session's send_response, the stateless dispatcher's complete).
_request: Callable[[RequestId, str, dict[str, Any] | None], Request] = trusted_constructor(Request)
_notification: Callable[[str, dict[str, Any] | None], Notification] = trusted_constructor(
    Notification
)
_response: Callable[[RequestId, dict[str, Any]], Response] = trusted_constructor(Response)
_error_response: Callable[[RequestId | None, int, str, Any], ErrorResponse] = trusted_constructor(
    ErrorResponse
)


@attrs.frozen(slots=True)
class DecodedBody:
    """What a request body held.

    ``items`` keeps the order of the body; an item that was not a valid message
    is the :class:`RemoteProtocolError` to answer it with (its ``request_id`` is
    set when the id could be read). ``batch`` says whether the body was a JSON
    array, so that the answer can be one too.
    """

    items: tuple[Message | RemoteProtocolError, ...]
    batch: bool


def _invalid(reason: str, request_id: RequestId | None = None) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"Invalid request: {reason}", code=ErrorCode.INVALID_REQUEST, request_id=request_id
    )


def _readable_id(obj: dict[str, Any]) -> RequestId | None:
    value = obj.get("id")
    if type(value) is int or type(value) is str:
        return value
    return None


def request_id_of(data: bytes | bytearray | memoryview | str) -> RequestId | None:
    """The id of the one request ``data`` carries, when it can be read (``None`` for
    a batch, a notification, a body that is not JSON, or an id of the wrong type).

    An error answered before the body is processed (a 503 when the session store is
    unreachable) still echoes it: "the id MUST be the same as the value of the id
    member in the Request Object" (JSON-RPC 2.0, 5).
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict or "method" not in obj:
        return None
    return _readable_id(obj)


def message_from_json(obj: Any) -> Message:
    """Build a message from one parsed JSON value, or raise :class:`RemoteProtocolError`."""
    if type(obj) is not dict:
        raise _invalid("a message must be a JSON object")
    get = obj.get
    method = get("method", _ABSENT)
    request_id = get("id", _ABSENT)
    params = get("params")
    # The common case first: a well-formed request with object params.
    if (
        type(method) is str
        and (type(request_id) is int or type(request_id) is str)
        and (params is None or type(params) is dict)
        and method
        and get("jsonrpc") == "2.0"
        and "result" not in obj
        and "error" not in obj
    ):
        return _request(request_id, method, params)
    if get("jsonrpc") != "2.0":
        raise _invalid('"jsonrpc" must be exactly "2.0"', _readable_id(obj))
    if method is not _ABSENT:
        if type(method) is not str or not method:
            raise _invalid('"method" must be a non-empty string', _readable_id(obj))
        if "result" in obj or "error" in obj:
            raise _invalid("a request cannot carry a result or an error", _readable_id(obj))
        if params is not None and type(params) is not dict:
            if type(params) is list:
                # JSON-RPC allows positional params; MCP defines only named ones.
                raise RemoteProtocolError(
                    "Invalid params: MCP params must be a JSON object",
                    code=ErrorCode.INVALID_PARAMS,
                    request_id=_readable_id(obj),
                )
            raise _invalid('"params" must be a JSON object', _readable_id(obj))
        if request_id is _ABSENT:
            return _notification(method, params)
        if type(request_id) is not int and type(request_id) is not str:
            # "Requests MUST include a string or integer ID ... MUST NOT be null."
            raise _invalid('"id" must be a string or an integer')
        return _request(request_id, method, params)
    has_result = "result" in obj
    has_error = "error" in obj
    if has_result == has_error:
        raise _invalid('a response carries exactly one of "result" and "error"', _readable_id(obj))
    if has_result:
        if type(request_id) is not int and type(request_id) is not str:
            raise _invalid('a response "id" must be a string or an integer')
        result = obj["result"]
        if type(result) is not dict:
            raise _invalid('"result" must be a JSON object', request_id)
        return _response(request_id, result)
    if request_id is _ABSENT or request_id is None:
        request_id = None
    elif type(request_id) is not int and type(request_id) is not str:
        raise _invalid('an error response "id" must be a string, an integer or null')
    error = obj["error"]
    if type(error) is not dict:
        raise _invalid('"error" must be a JSON object', request_id)
    code = error.get("code")
    message = error.get("message")
    if type(code) is not int:
        raise _invalid('"error.code" must be an integer', request_id)
    if type(message) is not str:
        raise _invalid('"error.message" must be a string', request_id)
    return _error_response(request_id, code, message, error.get("data"))


def _parse_json(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RemoteProtocolError(
            f"Parse error: {exc}", code=ErrorCode.PARSE_ERROR, request_id=None
        ) from None


def decode_message(data: bytes | bytearray | memoryview | str) -> Message:
    """Decode exactly one JSON-RPC message (no batch) from ``data``."""
    obj = _parse_json(data)
    if type(obj) is list:
        raise _invalid("a batch is not allowed here")
    return message_from_json(obj)


def decode_body(
    data: bytes | bytearray | memoryview | str,
    *,
    allow_batch: bool,
    max_batch_size: int = 256,
) -> DecodedBody:
    """Decode a body that holds one message, or a batch when ``allow_batch``.

    A body that is not JSON, an empty batch, a batch where none is allowed and a
    batch longer than ``max_batch_size`` raise :class:`RemoteProtocolError`; an
    invalid item inside a batch becomes that item's error.
    """
    obj = _parse_json(data)
    if type(obj) is not list:
        return DecodedBody(items=(message_from_json(obj),), batch=False)
    if not allow_batch:
        raise _invalid("JSON-RPC batches are not supported by this protocol revision")
    if not obj:
        raise _invalid("an empty batch")
    if len(obj) > max_batch_size:
        raise RemoteProtocolError(
            f"Invalid request: a batch of {len(obj)} messages exceeds the limit "
            f"of {max_batch_size}",
            code=ErrorCode.INVALID_REQUEST,
            http_status=413,
        )
    items: list[Message | RemoteProtocolError] = []
    for element in obj:
        try:
            items.append(message_from_json(element))
        except RemoteProtocolError as exc:
            items.append(exc)
    return DecodedBody(items=tuple(items), batch=True)


def message_to_json(message: Message) -> dict[str, Any]:
    """The JSON object of ``message``."""
    if type(message) is Response:  # the most frequent message a server sends
        return {"jsonrpc": "2.0", "id": message.id, "result": message.result}
    if type(message) is Request:
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": message.id, "method": message.method}
        if message.params is not None:
            out["params"] = message.params
        return out
    if type(message) is Notification:
        out = {"jsonrpc": "2.0", "method": message.method}
        if message.params is not None:
            out["params"] = message.params
        return out
    if type(message) is ErrorResponse:
        error: dict[str, Any] = {"code": message.code, "message": message.message}
        if message.data is not None:
            error["data"] = message.data
        out = {"jsonrpc": "2.0", "error": error}
        if message.id is not None:
            out["id"] = message.id
        return out
    raise LocalProtocolError(f"not a JSON-RPC message: {message!r}")


def encode_message(message: Message) -> bytes:
    """Serialise one message to compact JSON bytes."""
    if type(message) is Response:  # the hot path: no intermediate call
        return orjson.dumps({"jsonrpc": "2.0", "id": message.id, "result": message.result})
    return orjson.dumps(message_to_json(message))


def encode_batch(messages: Sequence[Message]) -> bytes:
    """Serialise messages as one JSON array (the answer to a batch)."""
    return orjson.dumps([message_to_json(m) for m in messages])


def error_response_for(error: RemoteProtocolError) -> ErrorResponse:
    """The error response that answers ``error``."""
    return ErrorResponse(
        id=error.request_id, code=error.code, message=error.message, data=error.data
    )
