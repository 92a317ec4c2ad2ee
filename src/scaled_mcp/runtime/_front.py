"""What an HTTP front (the direct h11 server, the ASGI adapter) gives the runtime.

A front reads one HTTP request (head and body, within the body limit), hands
it to :meth:`Runtime.handle_http` with a :class:`Responder` for the answer,
and ends the response when that call returns.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol

from ..protocol.http import Headers

__all__ = ["ClientGone", "Responder", "mounted_at"]

#: The path the application is mounted at inside another one (ASGI's
#: ``root_path``), set by the front for the request it hands over; empty when it
#: is served at the root. URLs the server tells the client (the 2024-11-05
#: ``endpoint`` event) are under it.
mounted_at: ContextVar[str] = ContextVar("mounted_at", default="")


class ClientGone(Exception):
    """The client closed the connection: nothing more can be sent on it."""


class Responder(Protocol):
    """The answer to one HTTP request, sent by the runtime through the front.

    Either :meth:`respond` once, or :meth:`start` once followed by any number
    of :meth:`send`. Sending after the client went away raises
    :class:`ClientGone`. :attr:`started` tells whether the head was sent.
    """

    started: bool

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        """Send a complete response."""
        ...

    async def start(self, status: int, headers: Headers) -> None:
        """Send the head of a streamed response."""
        ...

    async def send(self, data: bytes) -> None:
        """Send a piece of the streamed body (written out before returning)."""
        ...

    async def end(self) -> None:
        """Finish a streamed response now (idempotent); later sends raise :class:`ClientGone`."""
        ...

    async def wait_disconnected(self) -> None:
        """Return once the client has closed the connection."""
        ...
