"""Which transport reaches a target: a URL, an :class:`MCPServer` or a command."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, TypeAlias

import httpx2

from ..server import MCPServer
from ._http import StreamableHttpTransport
from ._legacy_sse import LegacySseTransport
from ._lines import MemoryTransport, StdioTransport
from ._transport import Transport
from ._websocket import WebSocketTransport

__all__ = ["Target", "transport_for"]

#: A server: an ``http(s)://`` or ``ws(s)://`` URL, an :class:`MCPServer` (in memory)
#: or a command (argv).
Target: TypeAlias = str | MCPServer | Sequence[str]


@cache
def _default_tls() -> ssl.SSLContext:
    """One verifying TLS context for every client that asks for the defaults: loading the CA
    bundle costs ~850 KiB a context, which each ``httpx2.AsyncClient()`` would pay again."""
    return ssl.create_default_context()


def _tls(verify: Any, cert: Any) -> Any:
    """What ``httpx2`` gets as ``verify``: the shared default context, a context of ours
    holding the client certificate (``cert``: a path, or ``(certfile, keyfile)``), or the
    caller's own ``verify`` (``False``, a CA bundle path or an ``ssl.SSLContext``)."""
    if cert is None:
        return _default_tls() if verify is True else verify
    if isinstance(verify, ssl.SSLContext):
        context = verify
    elif verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        context = ssl.create_default_context(cafile=verify)
    else:
        context = ssl.create_default_context()
    certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
    context.load_cert_chain(certfile, keyfile)
    return context


def _tls_context(verify: Any, cert: Any) -> ssl.SSLContext:
    """The TLS context of a ``wss://`` connection, from the same ``verify`` and
    ``cert`` as HTTP takes (``True``, ``False``, a CA bundle path or a context)."""
    tls = _tls(verify, cert)
    if isinstance(tls, ssl.SSLContext):
        return tls
    if tls is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(tls, str):
        return ssl.create_default_context(cafile=tls)
    raise TypeError(f"verify must be a bool, a CA bundle path or an ssl.SSLContext, not {tls!r}")


def transport_for(
    target: Target,
    *,
    headers: Mapping[str, str] | None,
    bearer: str | None,
    auth: httpx2.Auth | None,
    verify: Any,
    cert: Any,
    http2: bool,
    timeout: float,
) -> Transport:
    """The transport for ``target``; the HTTP settings apply to URLs only (``auth``
    and ``http2`` to ``http(s)://`` ones)."""
    if isinstance(target, MCPServer):
        return MemoryTransport(target)
    if isinstance(target, str):
        all_headers = dict(headers or {})
        if bearer is not None:
            all_headers["Authorization"] = f"Bearer {bearer}"
        if target.startswith(("ws://", "wss://")):
            if auth is not None:
                raise ValueError("auth= applies to http(s) URLs; a ws(s) URL takes bearer=")
            secure = target.startswith("wss://")
            return WebSocketTransport(
                target,
                headers=all_headers,
                ssl_context=_tls_context(verify, cert) if secure else None,
            )
        if not target.startswith(("http://", "https://")):
            raise ValueError(
                f"not an http(s) or ws(s) URL: {target!r} (a command is a list of strings)"
            )
        http = httpx2.AsyncClient(
            headers=all_headers,
            auth=auth,
            verify=_tls(verify, cert),
            http2=http2,
            # A stream may stay quiet for long: reads wait as long as the call's deadline.
            timeout=httpx2.Timeout(timeout, read=None),
        )
        path = httpx2.URL(target).path
        if path.rstrip("/").endswith("/sse"):
            return LegacySseTransport(target, http)
        return StreamableHttpTransport(target, http)
    if isinstance(target, Sequence) and all(isinstance(part, str) for part in target):
        return StdioTransport(list(target))
    raise TypeError(f"cannot reach a server through {target!r}")
