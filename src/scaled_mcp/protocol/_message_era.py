"""Which era a message declares by itself: the protocol version in its ``_meta``.

basic/index (2026-07-28): "Every request supplies this metadata in its
``_meta`` field", the protocol version among it; a handshake-era message
declares none (its session negotiated one). :func:`declared_version` reads the
declaration, the one place that does. Over HTTP the ``MCP-Protocol-Version``
header decides the era and the declaration is checked against it
(:func:`~scaled_mcp.protocol.decide`); where no header says (stdio), the
declaration alone decides: :func:`message_era`.
"""

from __future__ import annotations

from typing import Final

from ._errors import RemoteProtocolError
from ._jsonrpc import _ABSENT, Message, Notification, Request
from ._meta import META_PROTOCOL_VERSION
from ._versions import HANDSHAKE_VERSIONS, Era

__all__ = ["UNDECLARED", "declared_version", "message_era"]


#: What :func:`declared_version` returns for a message that declares no version
#: (the core's one "absent" sentinel).
UNDECLARED: Final = _ABSENT


def declared_version(message: Message | RemoteProtocolError | None) -> object:
    """The protocol version a request or notification declares in its ``_meta``:
    any JSON value, as sent (checking it is the caller's), or :data:`UNDECLARED`
    when it declares none (responses and invalid items never do)."""
    if not isinstance(message, Request | Notification) or message.params is None:
        return UNDECLARED
    meta = message.params.get("_meta")
    if type(meta) is not dict or META_PROTOCOL_VERSION not in meta:
        return UNDECLARED
    return meta[META_PROTOCOL_VERSION]


def message_era(message: Message) -> Era:
    """The era of a message that arrives with no transport header to tell (stdio).

    A request or notification declaring a version in its ``_meta`` is of the
    stateless era (2026-07-28 stdio clients send no ``initialize``; no
    handshake-era client sends that key), unless the version is a handshake
    one -- but not ``initialize``, which begins a session whatever it carries.
    A version the server does not know is thus answered as the stateless era
    answers it (-32022, naming the supported ones). Every other message is of
    the handshake era: it belongs to the session of the connection.
    """
    if isinstance(message, Request | Notification) and message.method != "initialize":
        version = declared_version(message)
        if version is not UNDECLARED and version not in HANDSHAKE_VERSIONS:
            return Era.STATELESS
    return Era.HANDSHAKE
