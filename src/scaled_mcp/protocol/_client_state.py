"""A handshake-era client session's phases and the one table of their moves.

:class:`ClientPhase` is where the client side of a session is in its
lifecycle and :data:`CLIENT_TRANSITIONS` every legal move, ``{(phase,
input): next phase}``: the client session machine (:mod:`._client_session`)
moves only through it, and :func:`render_client_state_diagram` draws it.

Inputs are what the client sends (``initialize``, ``notifications/initialized``,
a ping, another request or notification) and what it receives (the answer to
``initialize``, a server ping, request or notification, a response). A
message received whose move is not in the table is refused on its own (a
request gets an error answer, anything else is dropped); a message to send
whose move is not in the table is a :class:`LocalProtocolError`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from ._state import mermaid_diagram

__all__ = [
    "CLIENT_TRANSITIONS",
    "ClientInput",
    "ClientPhase",
    "render_client_state_diagram",
]


class ClientPhase(enum.Enum):
    """Where the client side of a session is (lifecycle: initialization, operation, shutdown)."""

    #: Nothing sent yet but perhaps pings.
    NEW = "new"
    #: ``initialize`` was sent; its answer has not arrived.
    INITIALIZING = "initializing"
    #: The server's answer was accepted; ``notifications/initialized`` is not sent yet.
    INITIALIZED = "initialized"
    #: Normal operation.
    READY = "ready"
    #: Ended: closed by the client, the session gone, or the handshake failed.
    CLOSED = "closed"


class ClientInput(enum.Enum):
    """What moves the client session (the table's second key)."""

    SEND_INITIALIZE = "send initialize"
    INITIALIZE_RESULT = "initialize result"
    INITIALIZE_FAILED = "initialize failed"
    SEND_INITIALIZED = "send initialized"
    SEND_PING = "send ping"
    SEND_REQUEST = "send request"
    SEND_NOTIFICATION = "send notification"
    SERVER_PING = "server ping"
    SERVER_REQUEST = "server request"
    SERVER_NOTIFICATION = "server notification"
    RESPONSE = "response"
    CLOSE = "close"


_P = ClientPhase
_I = ClientInput

#: Every legal move: ``{(phase, input): next phase}``.
CLIENT_TRANSITIONS: Final[Mapping[tuple[ClientPhase, ClientInput], ClientPhase]] = {
    # "The initialization phase MUST be the first interaction between client and server."
    (_P.NEW, _I.SEND_INITIALIZE): _P.INITIALIZING,
    # "The client SHOULD NOT send requests other than pings before the server has
    # responded to the initialize request."
    (_P.NEW, _I.SEND_PING): _P.NEW,
    (_P.NEW, _I.CLOSE): _P.CLOSED,
    (_P.INITIALIZING, _I.INITIALIZE_RESULT): _P.INITIALIZED,
    (_P.INITIALIZING, _I.INITIALIZE_FAILED): _P.CLOSED,
    (_P.INITIALIZING, _I.SEND_PING): _P.INITIALIZING,
    # "The server SHOULD NOT send requests other than pings and logging before
    # receiving the initialized notification."
    (_P.INITIALIZING, _I.SERVER_PING): _P.INITIALIZING,
    (_P.INITIALIZING, _I.SERVER_NOTIFICATION): _P.INITIALIZING,
    (_P.INITIALIZING, _I.RESPONSE): _P.INITIALIZING,
    (_P.INITIALIZING, _I.CLOSE): _P.CLOSED,
    # "After successful initialization, the client MUST send an initialized
    # notification to indicate it is ready to begin normal operations."
    (_P.INITIALIZED, _I.SEND_INITIALIZED): _P.READY,
    (_P.INITIALIZED, _I.SEND_PING): _P.INITIALIZED,
    (_P.INITIALIZED, _I.SERVER_PING): _P.INITIALIZED,
    (_P.INITIALIZED, _I.SERVER_NOTIFICATION): _P.INITIALIZED,
    (_P.INITIALIZED, _I.RESPONSE): _P.INITIALIZED,
    (_P.INITIALIZED, _I.CLOSE): _P.CLOSED,
    (_P.READY, _I.SEND_PING): _P.READY,
    (_P.READY, _I.SEND_REQUEST): _P.READY,
    (_P.READY, _I.SEND_NOTIFICATION): _P.READY,
    (_P.READY, _I.SERVER_PING): _P.READY,
    (_P.READY, _I.SERVER_REQUEST): _P.READY,
    (_P.READY, _I.SERVER_NOTIFICATION): _P.READY,
    (_P.READY, _I.RESPONSE): _P.READY,
    (_P.READY, _I.CLOSE): _P.CLOSED,
}


def render_client_state_diagram() -> str:
    """The client session's phases as a Mermaid state diagram, from :data:`CLIENT_TRANSITIONS`."""
    return mermaid_diagram(CLIENT_TRANSITIONS.items())
