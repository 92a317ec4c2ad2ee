"""Authorization at the HTTP endpoints: who is calling, and whether they may.

With an :class:`Authorization` in the node's config, every HTTP request to the
MCP endpoint (both eras) and to the 2024-11-05 HTTP+SSE endpoints must carry a
valid bearer token: its verifier (a JWT checked against the issuer's keys,
introspection, or the application's own) turns it into a
:class:`~scaled_mcp.protocol.oauth.Principal`, or the request gets the core's
401. The principal is the request's for its whole life (:func:`current_principal`,
read by ``ctx.principal``); the scopes each request needs are checked before any
handler runs (403 ``insufficient_scope``). stdio has no authorization: the MCP
spec leaves it to the environment ("Implementations using an STDIO transport
SHOULD NOT follow this specification").

The token itself goes nowhere: it is not logged, not stored, not handed to
handlers (they see the principal).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, Protocol

import attrs

from ..cluster import BackendUnavailable
from ..protocol.http import HttpReply, HttpRequest, Reject, service_unavailable
from ..protocol.jsonrpc import Message, RemoteProtocolError, Request, request_id_of
from ..protocol.oauth import (
    Principal,
    ResourceServerConfig,
    bearer_token,
    insufficient_scope,
    metadata_reply,
    missing_scopes,
    unauthorized,
)

__all__ = [
    "Authorization",
    "ScopesOf",
    "TokenVerifier",
    "current_principal",
]

_principal: ContextVar[Principal | None] = ContextVar("scaled_mcp_principal", default=None)


def current_principal() -> Principal | None:
    """The principal of the request being served (``None`` without authorization)."""
    return _principal.get()


def principal_key() -> str | None:
    """The stored key of :func:`current_principal` (``None`` without authorization)."""
    principal = _principal.get()
    return None if principal is None else principal.key


class TokenVerifier(Protocol):
    """Turns an access token into the principal it speaks for.

    ``verify`` returns ``None`` for a token it does not accept (expired, for
    another audience, badly signed, revoked); it may raise
    :class:`~scaled_mcp.cluster.BackendUnavailable` when it cannot tell (the
    authorization server does not answer): the request then gets 503.
    """

    async def verify(self, token: str) -> Principal | None:
        """The principal of ``token``, or ``None``."""
        ...


ScopesOf = Callable[[str, Mapping[str, Any]], tuple[str, ...]]
"""``scopes_of(method, params)``: the scopes a request needs (the application's)."""


@attrs.frozen(slots=True)
class _FunctionVerifier:
    fn: Callable[[str], Awaitable[Principal | None]]

    async def verify(self, token: str) -> Principal | None:
        return await self.fn(token)


def _as_verifier(
    value: TokenVerifier | Callable[[str], Awaitable[Principal | None]],
) -> TokenVerifier:
    if hasattr(value, "verify"):
        return value
    if not inspect.iscoroutinefunction(value):
        raise TypeError("a verifier is an object with async verify(token) or an async function")
    return _FunctionVerifier(value)


@attrs.frozen(slots=True)
class Authorization:
    """The node's authorization: what it publishes (``resource``, a
    :class:`~scaled_mcp.protocol.oauth.ResourceServerConfig`) and how it checks
    tokens (``verifier``: a :class:`TokenVerifier` such as :class:`JWTVerifier`
    or :class:`IntrospectionVerifier`, or ``async def verify(token) -> Principal | None``).
    """

    resource: ResourceServerConfig
    verifier: TokenVerifier = attrs.field(converter=_as_verifier)

    def metadata_paths(self, endpoint_path: str) -> frozenset[str]:
        """Where the protected resource metadata is served."""
        return self.resource.metadata_paths(endpoint_path)

    def metadata_reply(self, method: str) -> HttpReply:
        """The answer at a metadata path: the document to ``GET`` and ``HEAD`` (whose
        answer the front sends without its body), else 405."""
        if method in ("GET", "HEAD"):
            return metadata_reply(self.resource)
        return 405, (("allow", "GET, HEAD"),), b""

    async def admit(self, request: HttpRequest) -> Principal | Reject:
        """The request's principal, or the 401 it earns (503 when the verifier
        cannot tell: the authorization server does not answer)."""
        token = bearer_token(request.headers)
        if token is None:
            return unauthorized(self.resource, invalid=False)
        try:
            principal = await self.verifier.verify(token) if token else None
        except BackendUnavailable as exc:
            return service_unavailable(str(exc), request_id_of(request.body))
        if principal is None:
            return unauthorized(self.resource, invalid=True)
        return principal

    def enter(self, principal: Principal) -> object:
        """Make ``principal`` the current one (for the request's task and its children)."""
        return _principal.set(principal)

    @staticmethod
    def leave(token: object) -> None:
        """Undo :meth:`enter`."""
        _principal.reset(token)  # type: ignore[arg-type]

    def refuse_scopes(
        self,
        principal: Principal,
        messages: tuple[Message | RemoteProtocolError, ...],
        scopes_of: ScopesOf | None,
    ) -> Reject | None:
        """The 403 a body's requests earn when the token lacks a scope one needs
        (the server's ``required_scopes`` and each request's own), or ``None``."""
        needed: list[tuple[str, ...]] = [self.resource.required_scopes]
        request_id = None
        for message in messages:
            if type(message) is Request:
                request_id = message.id
                if scopes_of is not None:
                    needed.append(scopes_of(message.method, message.params or {}))
        if not missing_scopes(principal.scopes, *needed):
            return None
        # The challenge names every scope the request needs, not only the
        # missing ones: a client may ask for exactly these in its step-up.
        return insufficient_scope(
            self.resource,
            [scope for group in needed for scope in group],
            request_id=request_id if len(messages) == 1 else None,
        )
