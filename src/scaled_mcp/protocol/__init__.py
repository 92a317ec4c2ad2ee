"""The sans-IO MCP protocol core: synchronous, transport-free, no clock, no randomness.

Bytes and messages go in; events, decisions and bytes come out. A transport
embeds it: see ``examples/custom_transport.py``. The top level holds what an
embedding needs first (a session, the codec, the errors); the rest is in
namespaces, each documented where it is defined:

* :mod:`.jsonrpc` -- messages, their codec, error codes and protocol errors;
* :mod:`.types` -- the MCP types users build (tools, resources, prompts, results);
* :mod:`.session` -- the handshake-era session machine, its events and state;
* :mod:`.notifications` -- progress, log and change notifications of both eras;
* :mod:`.versions` -- protocol revisions, eras and what each allows;
* :mod:`.http` -- the HTTP transport rules as decisions, and the replies;
* :mod:`.http1` -- HTTP/1.1 framing of the plain request, on bytes;
* :mod:`.sse` -- the server-sent events codec;
* :mod:`.stateless` -- the 2026-07-28 wire: dispatch, ``_meta``, results, ``requestState``;
* :mod:`.nodes` -- what the nodes of a cluster send each other;
* :mod:`.client` -- the client side: its session machine, stateless calls, HTTP decisions.
* :mod:`.oauth` -- OAuth 2.1 for clients: discovery, registration, flows, tokens.
* :mod:`.websocket` -- MCP over WebSocket: subprotocols, frame decisions, close codes.
"""

from __future__ import annotations

from . import (
    client,
    http,
    http1,
    jsonrpc,
    nodes,
    notifications,
    oauth,
    session,
    sse,
    stateless,
    tasks,
    types,
    versions,
    websocket,
)
from .jsonrpc import (
    ErrorCode,
    LocalProtocolError,
    Message,
    RemoteProtocolError,
    decode_message,
    encode_message,
    error_response_for,
)
from .session import ReplyReady, RequestReceived, ServerConfig, ServerSession

__all__ = [
    # The embedding API: a session, the codec and the errors.
    "ErrorCode",
    "LocalProtocolError",
    "Message",
    "RemoteProtocolError",
    "ReplyReady",
    "RequestReceived",
    "ServerConfig",
    "ServerSession",
    "decode_message",
    "encode_message",
    "error_response_for",
    # The namespaces.
    "client",
    "http",
    "http1",
    "jsonrpc",
    "nodes",
    "notifications",
    "oauth",
    "session",
    "sse",
    "stateless",
    "tasks",
    "types",
    "versions",
    "websocket",
]
