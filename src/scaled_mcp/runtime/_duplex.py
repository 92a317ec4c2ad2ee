"""Serving the messages of a duplex connection: stdio's lines, a WebSocket's frames.

Both transports carry one message (or batch) at a time in each direction on one
connection, with no HTTP exchange to answer on: requests run concurrently (so
that a handler awaiting the client's answer to ``sampling/createMessage`` does
not stop that answer from being read), each reply is written when its handler
ends, a batch is answered as one array once every request is done, and a
2026-07-28 request (its ``_meta`` envelope) is served statelessly next to the
session, ``notifications/cancelled`` stopping it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from ..protocol.jsonrpc import (
    Message,
    Notification,
    RemoteProtocolError,
    Request,
    RequestId,
    error_response_for,
)
from ..protocol.versions import Era, message_era
from ._outlets import Outlet
from ._runtime import Runtime
from ._sessions import LiveSession

__all__ = ["StatelessCalls", "serve_session_messages", "stateless_request"]

#: The 2026-07-28 requests a connection runs now, by id, with their cancel scopes.
StatelessCalls = dict[RequestId, trio.CancelScope]


def stateless_request(
    runtime: Runtime,
    items: tuple[Message | RemoteProtocolError, ...],
    batch: bool,
    outlet: Outlet,
    handlers: trio.Nursery,
    running: StatelessCalls,
) -> Awaitable[None] | None:
    """What to do with a body that is a 2026-07-28 message, or ``None`` when it
    is for the session: a request starts in ``handlers`` (its id may not be in
    flight already), a ``notifications/cancelled`` of such a request stops it.
    The returned awaitable writes a refusal, or nothing."""
    single = None if batch else items[0]
    if type(single) is Request and message_era(single) is Era.STATELESS:
        if single.id in running:
            in_flight = RemoteProtocolError(
                f"Invalid request: id {single.id!r} is in flight", request_id=single.id
            )
            return outlet.emit(error_response_for(in_flight))
        handlers.start_soon(_run_stateless, runtime, single, outlet, running)
        return _nothing()
    if type(single) is Notification and single.method == "notifications/cancelled":
        cancel = runtime.dispatcher.handle_notification(single)
        if cancel is not None and cancel.request_id in running:
            # 2026-07-28: on a connection, notifications/cancelled stops a request.
            running[cancel.request_id].cancel()
            return _nothing()
    return None


async def _nothing() -> None:
    return


async def serve_session_messages(
    runtime: Runtime,
    live: LiveSession,
    items: tuple[Message | RemoteProtocolError, ...],
    batch: bool,
    outlet: Outlet,
    handlers: trio.Nursery,
    *,
    saved: Callable[[LiveSession, tuple[object, ...]], Awaitable[None]] | None = None,
) -> None:
    """Feed a body's messages to the handshake-era session ``live``: write the
    replies the core made, start the handlers in ``handlers``. ``saved`` is
    called with the session's shared fields of before, once they are fed (a
    session kept in the cluster's store is written then)."""
    before = live.session.shared_fields()
    refused: list[Message] = []
    if runtime.app.admit is not None:
        items, refused = await runtime.admit(live, items)
    replies, calls = runtime.receive_messages(live, items)
    if refused:
        replies = refused + replies
    if saved is not None:
        await saved(live, before)
    if batch and calls:
        # A batch is answered as one array once every request is done.
        handlers.start_soon(_run_batch, runtime, live, calls, replies, outlet)
        return
    await outlet.finish(replies, batch=batch, era=Era.HANDSHAKE)
    if len(calls) == 1:
        request = calls[0]
        params = request.params if request.params is not None else {}
        if runtime.app.never_waits(request.method, params):
            # A handler that cannot yield cannot hold up the reading either: it
            # runs here, sparing a task and a trip through the scheduler.
            await _run_one(runtime, live, request, outlet)
            return
    for request in calls:
        handlers.start_soon(_run_one, runtime, live, request, outlet)


async def _run_stateless(
    runtime: Runtime, request: Request, outlet: Outlet, running: StatelessCalls
) -> None:
    with trio.CancelScope() as scope:
        running[request.id] = scope
        try:
            reply = await runtime.stateless_message(request, outlet)
        finally:
            del running[request.id]
        if reply is not None:
            await outlet.emit(reply)


async def _run_one(runtime: Runtime, live: LiveSession, request: Request, outlet: Outlet) -> None:
    reply = await runtime.call(live, request, outlet)
    if reply is not None:
        await outlet.emit(reply)


async def _run_batch(
    runtime: Runtime,
    live: LiveSession,
    calls: list[Request],
    replies: list[Message],
    outlet: Outlet,
) -> None:
    replies = replies + await runtime.call_all(live, calls, outlet)
    await outlet.finish(replies, batch=True, era=Era.HANDSHAKE)
