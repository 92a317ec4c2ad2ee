"""Admission: the application's look at the messages the core handles itself.

An application that wants to see every message (its middleware) sets
:attr:`Application.admit <scaled_mcp.runtime.Application.admit>`; the runtime
then hands it each request and notification before the core handles it
(``initialize``, ``ping``, ``logging/setLevel``, ``server/discover``, the
client's notifications …). The application may only refuse: raising
:class:`~scaled_mcp.runtime.McpError` answers a request with that error
instead of the core's answer, and drops a notification. With no ``admit``
the runtime skips all of this.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from ..protocol.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    RemoteProtocolError,
    Request,
    internal_error,
)
from ..protocol.versions import Era
from ._application import Arrival, McpError

__all__ = ["CLIENT_INFO_META", "admit_messages", "refusal"]

_log = logging.getLogger("scaled_mcp.runtime")

#: Where a 2026-07-28 request carries the client's ``Implementation``.
CLIENT_INFO_META: Final = "io.modelcontextprotocol/clientInfo"

Admit = Callable[[Arrival], Awaitable[None]]


def stateless_client_info(params: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The ``clientInfo`` of a 2026-07-28 message's ``_meta`` envelope (``{}`` if none)."""
    meta = params.get("_meta") if params else None
    found = meta.get(CLIENT_INFO_META) if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else {}


async def refusal(
    admit: Admit,
    message: Request | Notification,
    *,
    era: Era,
    session_id: str | None,
    client_info: Mapping[str, Any],
) -> ErrorResponse | None:
    """``None`` if the application admits ``message``; else the error answering
    it (for a notification: a marker that it is dropped, never sent)."""
    request_id = message.id if type(message) is Request else None
    params = message.params if message.params is not None else {}
    arrival = Arrival(
        method=message.method,
        params=params,
        era=era,
        session_id=session_id,
        request_id=request_id,
        client_info=client_info,
    )
    try:
        await admit(arrival)
    except McpError as exc:
        return ErrorResponse(request_id, exc.code, exc.message, exc.data)
    except Exception:
        _log.exception("admitting %s failed", message.method)
        return internal_error(request_id)
    return None


async def admit_messages(
    admit: Admit,
    messages: tuple[Message | RemoteProtocolError, ...],
    *,
    session_id: str | None,
    client_info: Mapping[str, Any],
) -> tuple[tuple[Message | RemoteProtocolError, ...], list[Message]]:
    """A handshake-era body's messages the application admits, and the errors
    answering the requests it refused."""
    kept: list[Message | RemoteProtocolError] = []
    refused: list[Message] = []
    for item in messages:
        kind = type(item)
        if kind is Request or kind is Notification:
            assert isinstance(item, Request | Notification)
            info = client_info
            if kind is Request and item.method == "initialize" and item.params is not None:
                given = item.params.get("clientInfo")
                info = given if isinstance(given, dict) else client_info
            error = await refusal(
                admit, item, era=Era.HANDSHAKE, session_id=session_id, client_info=info
            )
            if error is not None:
                if kind is Request:
                    refused.append(error)
                continue
        kept.append(item)
    return tuple(kept), refused
