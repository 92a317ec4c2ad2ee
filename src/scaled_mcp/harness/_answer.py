"""What a server answered a probe: :class:`HttpAnswer` (status, headers, body, SSE events,
the JSON-RPC messages they carry), and reading JSON-RPC bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs
import orjson

from ..protocol.jsonrpc import RequestId
from ..protocol.sse import ServerSentEvent

__all__ = ["MAX_BODY", "HttpAnswer", "decode_json", "ids_in"]

#: The most bytes of one answer (a body, a stream, a line) read.
MAX_BODY: Final = 16 * 1024 * 1024


@attrs.frozen
class HttpAnswer:
    """What the server answered an HTTP request: status, headers (lower-case names),
    the body (a JSON body, or the SSE stream as far as it was read), the SSE
    ``events`` and ``comments``, the JSON-RPC ``messages`` they carry (parsed JSON
    values; ``undecodable`` counts bodies or events that were not JSON), and
    whether a stream was ``ended`` by the server (rather than cut by the probe)."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    events: tuple[ServerSentEvent, ...] = ()
    comments: int = 0
    messages: tuple[Any, ...] = ()
    undecodable: int = 0
    ended: bool = True
    last_event_id: str = ""

    @property
    def content_type(self) -> str:
        """The media type, lower-case and without parameters (``""`` if none)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_sse(self) -> bool:
        """Whether the answer is an SSE stream."""
        return self.content_type == "text/event-stream"

    def response_to(self, request_id: RequestId | None) -> dict[str, Any] | None:
        """The JSON-RPC response (result or error) with ``request_id``, if one came."""
        for message in self.messages:
            if (
                isinstance(message, dict)
                and "method" not in message
                and message.get("id", ...) == request_id
                and type(message.get("id")) is type(request_id)
            ):
                return message
        return None

    def error_code(self, request_id: RequestId | None) -> int | None:
        """The JSON-RPC error code answering ``request_id``, ``None`` without one."""
        response = self.response_to(request_id)
        error = response.get("error") if response is not None else None
        code = error.get("code") if isinstance(error, dict) else None
        return code if type(code) is int else None

    def describe(self) -> str:
        """A short account, for a failure's reason."""
        text = self.body[:200].decode("utf-8", "replace").replace("\n", " ")
        return f"HTTP {self.status} {self.content_type or '(no content type)'} {text!r}"


def decode_json(body: bytes) -> tuple[list[Any], int]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [], 1
    return (list(value) if isinstance(value, list) else [value]), 0


def ids_in(body: object) -> set[Any]:
    """The ids of the requests in a JSON-RPC body (a message or a batch)."""
    items = body if isinstance(body, list) else [body]
    return {
        orjson.dumps(item["id"])
        for item in items
        if isinstance(item, dict) and "method" in item and "id" in item
    }
