"""JSON-RPC 2.0 as MCP narrows it: messages, their codec, error codes and protocol errors.

:func:`decode_message` / :func:`decode_body` turn bytes into :class:`Request`,
:class:`Notification`, :class:`Response` or :class:`ErrorResponse` (raising
:class:`RemoteProtocolError` with the code to answer), :func:`encode_message`
turns them back into bytes (:func:`reply_lines` as the lines stdio writes, and
:class:`LineReader` frames the lines stdio reads), and
:func:`error_response_for` answers an error (:func:`internal_error` a failure of
the server's own).
"""

from __future__ import annotations

from ._errors import (
    ErrorCode,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    resource_not_found_code,
)
from ._jsonrpc import (
    DecodedBody,
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    decode_body,
    decode_message,
    encode_batch,
    encode_message,
    error_response_for,
    message_from_json,
    message_to_json,
    request_id_of,
)
from ._lines import DEFAULT_MAX_MESSAGE_LINE_SIZE, LineReader
from ._replies import internal_error, reply_lines

__all__ = [
    "DEFAULT_MAX_MESSAGE_LINE_SIZE",
    "LineReader",
    "DecodedBody",
    "ErrorCode",
    "ErrorResponse",
    "LocalProtocolError",
    "Message",
    "Notification",
    "ProtocolError",
    "RemoteProtocolError",
    "Request",
    "RequestId",
    "Response",
    "decode_body",
    "decode_message",
    "encode_batch",
    "encode_message",
    "error_response_for",
    "internal_error",
    "message_from_json",
    "message_to_json",
    "reply_lines",
    "request_id_of",
    "resource_not_found_code",
]
