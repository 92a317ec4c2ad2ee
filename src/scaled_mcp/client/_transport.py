"""What every transport offers the client: send a message, deliver what arrives.

A transport is opened in a nursery the client owns and delivers every message
from the server, in order, into a bounded channel the client reads; a request
whose answer can no longer come is delivered as a :class:`Lost` item, so that
no call waits forever. Protocol decisions (headers, when to resume a stream)
are the core's; a transport only moves bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeAlias

import attrs
import trio

from ..protocol.jsonrpc import Message, RequestId

__all__ = ["INBOUND_BUFFER", "Inbound", "Lost", "ParamHeaders", "Transport"]

#: Messages a transport may deliver before the client has read them; past it
#: the transport waits (backpressure on the server's stream), never buffers more.
INBOUND_BUFFER = 256

#: ``Mcp-Param-*`` headers of a ``tools/call``: header name to the path of the argument.
ParamHeaders: TypeAlias = Mapping[str, tuple[str, ...]]


@attrs.frozen(slots=True)
class Lost:
    """The answers to ``request_ids`` will not come (``None``: to every request in flight)."""

    request_ids: tuple[RequestId, ...] | None
    reason: str


#: What a transport delivers: a message from the server, or answers it lost.
Inbound: TypeAlias = Message | Lost


class Transport(Protocol):
    """A way to reach one MCP server."""

    #: The revision to announce in transport headers (HTTP); set by the client.
    protocol_version: str | None

    async def start(self, nursery: trio.Nursery, inbound: trio.MemorySendChannel[Inbound]) -> None:
        """Connect, and deliver from now on what the server sends into ``inbound``;
        background work runs in ``nursery``. Raises if the server cannot be reached."""
        ...

    async def send(self, message: Message, *, param_headers: ParamHeaders | None = None) -> None:
        """Send ``message``; raises :class:`~scaled_mcp.client.ClientError` if the
        server refused it at the transport level. Answers arrive through ``inbound``."""
        ...

    def forget(self, request_id: RequestId) -> None:
        """Stop reading the answer to ``request_id`` (given up); closes its stream if it has one."""
        ...

    async def open_server_stream(self) -> None:
        """Start listening for messages the server sends on its own (HTTP: the GET stream)."""
        ...

    async def aclose(self) -> None:
        """End the connection (HTTP: DELETE the session); bounded in time."""
        ...
