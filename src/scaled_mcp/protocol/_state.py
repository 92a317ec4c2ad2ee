"""A handshake-era session's phases, the one table of their moves, and its state as plain data.

:class:`SessionPhase` is where a session is in its lifecycle and
:data:`TRANSITIONS` every legal move, ``{(phase, input): next phase}``: the
session machine (:mod:`._session`) moves only through it, and the state
diagram in the docs is generated from it (:func:`render_state_diagram`).

Whatever a node needs to serve a session lives in :class:`SessionState`, and
round-trips through JSON-able values (``to_json`` / ``from_json``) so that a
cluster store can keep it without pickling objects. Work in flight (requests
being handled, requests the server is waiting on) is node-local and
deliberately not part of it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ._errors import LocalProtocolError
from ._notifications import LOG_LEVELS

__all__ = [
    "TRANSITIONS",
    "SessionInput",
    "SessionPhase",
    "SessionState",
    "render_state_diagram",
]


class SessionPhase(enum.Enum):
    """Where a session is in its lifecycle (lifecycle: initialization, operation, shutdown)."""

    #: Nothing but ``ping`` has been received yet ("The initialization phase MUST be the
    #: first interaction between client and server").
    NEW = "new"
    #: ``initialize`` was answered; the client has not yet sent ``notifications/initialized``.
    INITIALIZING = "initializing"
    #: Normal operation.
    OPERATING = "operating"
    #: Terminated (HTTP DELETE, expiry, or the server ended it).
    CLOSED = "closed"


class SessionInput(enum.Enum):
    """What kind of message moves the session (the table's second key)."""

    INITIALIZE = "initialize request"
    INITIALIZED = "initialized notification"
    PING = "ping request"
    REQUEST = "other request"
    NOTIFICATION = "other notification"
    RESPONSE = "response"
    CLOSE = "close"


_P = SessionPhase
_I = SessionInput

#: Every legal move: ``{(phase, input): next phase}``. Anything else is a protocol error.
TRANSITIONS: Final[Mapping[tuple[SessionPhase, SessionInput], SessionPhase]] = {
    # "The initialization phase MUST be the first interaction between client and server."
    (_P.NEW, _I.INITIALIZE): _P.INITIALIZING,
    # "The client SHOULD NOT send requests other than pings before the server has
    # responded to the initialize request."
    (_P.NEW, _I.PING): _P.NEW,
    (_P.NEW, _I.CLOSE): _P.CLOSED,
    (_P.INITIALIZING, _I.INITIALIZED): _P.OPERATING,
    (_P.INITIALIZING, _I.PING): _P.INITIALIZING,
    # Over HTTP a request may overtake the initialized notification: it can only
    # have been sent after the client received the initialize result.
    (_P.INITIALIZING, _I.REQUEST): _P.OPERATING,
    (_P.INITIALIZING, _I.NOTIFICATION): _P.INITIALIZING,
    (_P.INITIALIZING, _I.RESPONSE): _P.INITIALIZING,
    (_P.INITIALIZING, _I.CLOSE): _P.CLOSED,
    (_P.OPERATING, _I.INITIALIZED): _P.OPERATING,
    (_P.OPERATING, _I.PING): _P.OPERATING,
    (_P.OPERATING, _I.REQUEST): _P.OPERATING,
    (_P.OPERATING, _I.NOTIFICATION): _P.OPERATING,
    (_P.OPERATING, _I.RESPONSE): _P.OPERATING,
    (_P.OPERATING, _I.CLOSE): _P.CLOSED,
}


def mermaid_diagram(transitions: Iterable[tuple[tuple[enum.Enum, enum.Enum], enum.Enum]]) -> str:
    """A transition table's items (``(phase, input), next phase``, from ``new`` to ``closed``)
    as a Mermaid state diagram: the server's and the client's session machines."""
    lines = ["stateDiagram-v2", "    [*] --> new"]
    for (phase, kind), target in transitions:
        lines.append(f"    {phase.value} --> {target.value}: {kind.value}")
    lines.append("    closed --> [*]")
    return "\n".join(lines) + "\n"


def render_state_diagram() -> str:
    """The session's phases as a Mermaid state diagram, from :data:`TRANSITIONS`."""
    return mermaid_diagram(TRANSITIONS.items())


@attrs.frozen(slots=True)
class SessionState:
    """Everything a node must know to serve one handshake-era session.

    ``log_level`` is ``None`` until the client sends ``logging/setLevel``.
    ``owner`` is the key of the principal that created the session when the
    server requires authorization (:attr:`~scaled_mcp.protocol.oauth.Principal.key`):
    the session answers no other.
    ``created_at`` and ``last_activity`` are seconds on a clock the caller
    chooses (the core never reads a clock).
    """

    session_id: str
    protocol_version: str
    phase: SessionPhase
    client_info: dict[str, Any] = attrs.field(factory=dict)
    client_capabilities: dict[str, Any] = attrs.field(factory=dict)
    log_level: str | None = None
    subscriptions: frozenset[str] = frozenset()
    created_at: float = 0.0
    last_activity: float = 0.0
    owner: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict with every field (``owner`` only when there is one)."""
        data: dict[str, Any] = {
            "sessionId": self.session_id,
            "protocolVersion": self.protocol_version,
            "phase": self.phase.value,
            "clientInfo": self.client_info,
            "clientCapabilities": self.client_capabilities,
            "logLevel": self.log_level,
            "subscriptions": sorted(self.subscriptions),
            "createdAt": self.created_at,
            "lastActivity": self.last_activity,
        }
        if self.owner is not None:
            data["owner"] = self.owner
        return data

    @classmethod
    def from_json(cls, data: Any) -> SessionState:
        """Rebuild a state written by :meth:`to_json`; malformed data raises
        :class:`LocalProtocolError` (the store, not the peer, is to blame)."""
        try:
            subscriptions = data["subscriptions"]
            log_level = data["logLevel"]
            fields: dict[str, Any] = {
                "session_id": data["sessionId"],
                "protocol_version": data["protocolVersion"],
                "phase": SessionPhase(data["phase"]),
                "client_info": data["clientInfo"],
                "client_capabilities": data["clientCapabilities"],
                "log_level": log_level,
                "subscriptions": frozenset(subscriptions),
                "created_at": float(data["createdAt"]),
                "last_activity": float(data["lastActivity"]),
                "owner": data.get("owner"),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise LocalProtocolError(f"malformed session state: {exc!r}") from None
        if not isinstance(fields["session_id"], str) or not isinstance(
            fields["protocol_version"], str
        ):
            raise LocalProtocolError("malformed session state: ids must be strings")
        if not isinstance(fields["client_info"], dict) or not isinstance(
            fields["client_capabilities"], dict
        ):
            raise LocalProtocolError("malformed session state: client data must be objects")
        if fields["owner"] is not None and not isinstance(fields["owner"], str):
            raise LocalProtocolError("malformed session state: the owner must be a string")
        if log_level is not None and log_level not in LOG_LEVELS:
            raise LocalProtocolError(f"malformed session state: log level {log_level!r}")
        if not isinstance(subscriptions, list) or not all(
            isinstance(uri, str) for uri in subscriptions
        ):
            raise LocalProtocolError("malformed session state: subscriptions must be strings")
        return cls(**fields)
