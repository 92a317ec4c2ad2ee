"""The settings of MCP over WebSocket on a node (:class:`WebSocketConfig`)."""

from __future__ import annotations

import attrs

from ..protocol.websocket import DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE

__all__ = ["WebSocketConfig"]


@attrs.frozen(slots=True, kw_only=True)
class WebSocketConfig:
    """MCP over WebSocket (``ws://HOST/mcp``), each setting with its default.

    * ``enabled`` -- upgrades of the MCP endpoint are accepted (else answered as
      any GET of it);
    * ``max_message_size`` -- UTF-8 bytes of one incoming message at most (1009 past it);
    * ``ping_interval`` -- seconds without a frame from the client before the server
      pings it; ``pong_timeout`` -- seconds it then has to answer (else 1001); on
      fronts that can ping (h11);
    * ``send_queue`` -- messages waiting to be written at most; a handler with more
      to send waits (a slow reader does not grow memory), up to ``send_timeout``
      seconds, after which the connection is closed (1008);
    * ``close_timeout`` -- seconds the closing handshake may take.
    """

    enabled: bool = True
    max_message_size: int = DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE
    ping_interval: float = 20.0
    pong_timeout: float = 20.0
    send_queue: int = 64
    send_timeout: float = 30.0
    close_timeout: float = 5.0
