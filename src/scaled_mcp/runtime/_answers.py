"""Sending what the core decided through a front's :class:`Responder`.

Complete answers the core framed (:func:`respond`) and rejections
(:func:`reject`), each with the ``extra`` headers of the request (CORS); and
:func:`cancel_when`, which ends a stream's work when its client goes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

import trio

from ..protocol.http import Headers, HttpReply, Reject
from ._front import ClientGone, Responder

__all__ = ["cancel_when", "reject", "reject_quietly", "respond"]


async def respond(responder: Responder, reply: HttpReply, extra: Headers) -> None:
    """Send a complete answer the core framed, plus the ``extra`` headers (CORS)."""
    status, headers, body = reply
    await responder.respond(status, (*headers, *extra), body)


async def reject(responder: Responder, rejection: Reject, extra: Headers) -> None:
    """Answer with a rejection the core decided, plus the ``extra`` headers (CORS)."""
    await responder.respond(rejection.status, (*rejection.headers, *extra), rejection.body)


async def reject_quietly(responder: Responder, rejection: Reject, extra: Headers) -> None:
    """:func:`reject`, unless the response has begun (the stream then just
    ends) or the client has gone."""
    if responder.started:
        return  # too late for a status: the stream just ends
    with suppress(ClientGone):
        await reject(responder, rejection, extra)


async def cancel_when(wait: Callable[[], Any], scope: trio.CancelScope) -> None:
    """Cancel ``scope`` once ``wait()`` returns (the client went, the node closes)."""
    await wait()
    scope.cancel()
