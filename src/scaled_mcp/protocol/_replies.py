"""How the server's replies go out, whatever carries them.

The HTTP answer to a POST once its replies are known (status, headers, body:
the same for every front), the answers with no JSON-RPC body (a DELETE, a CORS
preflight, a 2024-11-05 ``POST /messages``), the lines stdio writes, and the
error response the server makes of its own failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeAlias

from ._errors import ErrorCode
from ._http_config import ResponseMode
from ._http_decisions import Preflight
from ._http_request import Headers
from ._http_responses import response_start, status_for_error
from ._jsonrpc import ErrorResponse, Message, RequestId, encode_batch, encode_message
from ._versions import Era

__all__ = [
    "HttpReply",
    "internal_error",
    "legacy_post_reply",
    "post_reply",
    "preflight_reply",
    "reply_lines",
    "streams_replies",
    "terminated_reply",
]

HttpReply: TypeAlias = tuple[int, Headers, bytes]
"""A complete HTTP answer: status, headers and body."""

_JSON_HEADERS: Final[Headers] = (("content-type", "application/json"),)
# "If the input is a JSON-RPC response or notification: If the server accepts
# the input, the server MUST return HTTP status code 202 Accepted with no body."
_ACCEPTED: Final[HttpReply] = (202, (), b"")
# 2024-11-05: the answers go out on the session's GET /sse stream.
_LEGACY_ACCEPTED: Final[HttpReply] = (202, (), b"Accepted")
_TERMINATED: Final[HttpReply] = (200, (), b"")


def post_reply(
    replies: Sequence[Message], *, batch: bool, era: Era, session_id: str | None = None
) -> HttpReply:
    """The JSON answer to a POST whose messages got ``replies``.

    None (the POST held notifications and responses, or its requests were
    cancelled): ``202`` with no body. A batch: ``200`` and the replies as one
    array. Else the one reply, with the status :func:`status_for_error` gives
    an error (2026-07-28: 400 or 404 for the request errors it names).
    ``session_id`` is the id minted for an ``initialize``: it goes in the
    ``Mcp-Session-Id`` header (see :func:`response_start`).
    """
    if not replies:
        return _ACCEPTED
    if batch:
        return 200, _JSON_HEADERS, encode_batch(replies)
    reply = replies[0]
    status = status_for_error(era, reply.code) if type(reply) is ErrorResponse else 200
    if session_id is None:
        return status, _JSON_HEADERS, encode_message(reply)
    return status, response_start(ResponseMode.JSON, session_id)[1], encode_message(reply)


def streams_replies(replies: Sequence[Message], era: Era) -> bool:
    """Whether ``replies`` may end an SSE stream begun for them, when the
    server prefers streams: not when there are none (``202``), nor when the
    reply is an error whose HTTP status is not ``200`` (2026-07-28: -32021
    and others "MUST" be 400), which a begun stream could no longer carry."""
    if not replies:
        return False
    first = replies[0]
    return type(first) is not ErrorResponse or status_for_error(era, first.code) == 200


def legacy_post_reply() -> HttpReply:
    """The answer to a 2024-11-05 ``POST /messages``: ``202 Accepted``; the
    replies go out as ``message`` events on the session's ``GET /sse`` stream."""
    return _LEGACY_ACCEPTED


def terminated_reply() -> HttpReply:
    """The answer to a DELETE that ended its session: ``200`` with no body."""
    return _TERMINATED


def preflight_reply(decision: Preflight) -> HttpReply:
    """The answer to a CORS preflight from an allowed origin: ``204`` with its headers."""
    return 204, decision.headers, b""


def reply_lines(replies: Sequence[Message], *, batch: bool) -> list[bytes]:
    """What stdio writes for the replies to one line, each item one line
    (without its newline): a batch's replies as one array, else one reply
    a line ("Messages are delimited by newlines")."""
    if batch:
        return [encode_batch(replies)] if replies else []
    return [encode_message(reply) for reply in replies]


def internal_error(
    request_id: RequestId | None, message: str = "Internal error", data: Any = None
) -> ErrorResponse:
    """The answer to a request the server failed on (a handler raised, or the
    node running it stopped): JSON-RPC's internal error, -32603."""
    return ErrorResponse(request_id, int(ErrorCode.INTERNAL_ERROR), message, data)
