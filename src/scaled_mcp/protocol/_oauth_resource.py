"""The server as an OAuth 2.1 resource server, sans-IO: what it publishes and how it refuses.

MCP's "Authorization" section (2025-06-18 onwards, and the 2026-07-28 wire):
"MCP servers MUST implement the OAuth 2.0 Protected Resource Metadata (RFC 9728)
specification to indicate the locations of authorization servers", "MCP servers
MUST use the HTTP header WWW-Authenticate when returning a 401 Unauthorized to
indicate the location of the resource server metadata URL", and a token without
the scopes an operation needs gets "HTTP 403 Forbidden with WWW-Authenticate
header containing error="insufficient_scope"" (step-up).

:class:`ResourceServerConfig` is what the server says about itself (its public
resource URL, the authorization servers, the scopes); it builds the RFC 9728
document and knows the paths it is served at. :func:`bearer_token` reads the
``Authorization`` header (RFC 6750 §2.1), :func:`unauthorized` and
:func:`insufficient_scope` build the refusals, :func:`missing_scopes` decides
step-up, :class:`Principal` is who a valid token speaks for, and
:func:`principal_from_introspection` reads an RFC 7662 answer. Verifying a JWT's
signature is I/O and a JOSE library's work: it lives outside the core.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from ._errors import RemoteProtocolError
from ._http_decisions import Reject, reject_for
from ._http_request import _DUPLICATE, Headers, _HeaderView
from ._jsonrpc import RequestId
from ._oauth_discovery import canonical_resource
from ._oauth_errors import OAuthError

__all__ = [
    "PROTECTED_RESOURCE_WELL_KNOWN",
    "SCOPES_META_KEY",
    "Principal",
    "ResourceServerConfig",
    "bearer_token",
    "insufficient_scope",
    "metadata_reply",
    "missing_scopes",
    "principal_from_claims",
    "principal_from_introspection",
    "unauthorized",
]

#: RFC 9728 §3: the well-known URI suffix of protected resource metadata.
PROTECTED_RESOURCE_WELL_KNOWN: Final = "/.well-known/oauth-protected-resource"
#: The ``_meta`` key under which a tool, resource or prompt in a list names the
#: scopes a token needs to call, read or get it (MCP has no field of its own for them).
SCOPES_META_KEY: Final = "io.github.scaled-mcp/scopes"
#: A principal key's prefix: the version of how it is derived.
_KEY_PREFIX: Final = "p1."
#: RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: The longest access token read (longer ones are refused unread).
_MAX_TOKEN_LENGTH: Final = 16_384
#: The longest scope value and the most scopes read from a token.
_MAX_SCOPE_LENGTH: Final = 4096
_MAX_SCOPES: Final = 256


def _scope_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split()
    return tuple(dict.fromkeys(value))


def _optional_scope_tuple(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else _scope_tuple(value)


def _issuer_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_scope_token(scope: str) -> None:
    # RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if not scope or any(c in ' "\\' or not (0x21 <= ord(c) <= 0x7E) for c in scope):
        raise ValueError(f"not a scope token: {scope!r}")


@attrs.frozen(slots=True, kw_only=True)
class ResourceServerConfig:
    """What the MCP server publishes about itself as an OAuth protected resource.

    * ``resource`` -- the public URL of the MCP endpoint (``https://mcp.example.com/mcp``):
      the ``resource`` of the metadata, the audience tokens must name (RFC 8707),
      and where the metadata URL points. Behind a proxy it is the URL clients use.
    * ``authorization_servers`` -- issuer identifiers of the authorization servers
      whose tokens are accepted (at least one).
    * ``scopes_supported`` -- the scopes the metadata lists (default: ``required_scopes``).
    * ``required_scopes`` -- scopes every request needs; a 401 names them in ``scope=``.
    * ``resource_name``, ``resource_documentation`` -- optional RFC 9728 fields.

    A setting that makes no sense raises ``ValueError``.
    """

    resource: str
    authorization_servers: tuple[str, ...] = attrs.field(converter=_issuer_tuple)
    scopes_supported: tuple[str, ...] | None = attrs.field(
        default=None, converter=_optional_scope_tuple
    )
    required_scopes: tuple[str, ...] = attrs.field(default=(), converter=_scope_tuple)
    resource_name: str | None = None
    resource_documentation: str | None = None
    _metadata_body: bytes = attrs.field(init=False, default=b"", repr=False, eq=False)
    _challenge_401: str = attrs.field(init=False, default="", repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        try:
            canonical = canonical_resource(self.resource)
        except OAuthError as exc:
            raise ValueError(f"resource: {exc.description}") from None
        if "?" in canonical:
            raise ValueError("resource: a resource URL has no query")
        object.__setattr__(self, "resource", canonical)
        if not self.authorization_servers:
            raise ValueError("at least one authorization server is required")
        for issuer in self.authorization_servers:
            parts = urlsplit(issuer)
            if parts.scheme not in ("https", "http") or not parts.netloc or parts.query:
                raise ValueError(f"not an issuer URL: {issuer!r}")
        for scope in (*self.required_scopes, *(self.scopes_supported or ())):
            _check_scope_token(scope)
        object.__setattr__(self, "_metadata_body", json.dumps(self.metadata()).encode())
        params = [f'resource_metadata="{self.metadata_url}"']
        if self.required_scopes:
            params.append(f'scope="{" ".join(self.required_scopes)}"')
        object.__setattr__(self, "_challenge_401", ", ".join(params))

    @property
    def metadata_url(self) -> str:
        """RFC 9728 §3.1: the well-known URL, inserted between host and path."""
        parts = urlsplit(self.resource)
        return f"{parts.scheme}://{parts.netloc}{PROTECTED_RESOURCE_WELL_KNOWN}{parts.path}"

    def metadata_paths(self, endpoint_path: str) -> frozenset[str]:
        """The request paths the metadata is served at: the root form, the
        path-based form of the public resource URL, and that of the endpoint as
        this server sees it (a proxy may strip a prefix)."""
        public = urlsplit(self.resource).path
        return frozenset(
            {
                PROTECTED_RESOURCE_WELL_KNOWN,
                PROTECTED_RESOURCE_WELL_KNOWN + public,
                PROTECTED_RESOURCE_WELL_KNOWN + endpoint_path,
            }
        )

    def metadata(self) -> dict[str, Any]:
        """The RFC 9728 §2 document."""
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": list(self.authorization_servers),
            "scopes_supported": list(
                self.scopes_supported if self.scopes_supported is not None else self.required_scopes
            ),
            "bearer_methods_supported": ["header"],
        }
        if self.resource_name is not None:
            document["resource_name"] = self.resource_name
        if self.resource_documentation is not None:
            document["resource_documentation"] = self.resource_documentation
        return document


def metadata_reply(config: ResourceServerConfig) -> tuple[int, Headers, bytes]:
    """The answer to ``GET`` at one of :meth:`ResourceServerConfig.metadata_paths`."""
    return (
        200,
        (("content-type", "application/json"), ("cache-control", "max-age=300")),
        config._metadata_body,
    )


def bearer_token(headers: Headers) -> str | None:
    """The access token of the request's ``Authorization: Bearer`` header (RFC 6750 §2.1).

    ``None`` when there is no ``Authorization`` header; ``""`` (a token no
    verifier accepts) when it is repeated, of another scheme, or malformed.
    """
    value = _HeaderView(headers).one("authorization")
    if value is None:
        return None
    if value is _DUPLICATE:
        return ""
    assert isinstance(value, str)
    scheme, _, token = value.strip().partition(" ")
    token = token.strip(" \t")
    if scheme.lower() != "bearer" or len(token) > _MAX_TOKEN_LENGTH:
        return ""
    return token if _B64TOKEN.fullmatch(token) else ""


def _quoted(value: str) -> str:
    # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E; nothing else
    # may reach the header (no quote, no backslash, no control character).
    return "".join(c for c in value if " " <= c <= "~" and c not in '"\\')


def unauthorized(
    config: ResourceServerConfig,
    *,
    invalid: bool,
    description: str | None = None,
    request_id: RequestId | None = None,
) -> Reject:
    """401 with ``WWW-Authenticate: Bearer resource_metadata="…"`` (and ``scope=``).

    RFC 6750 §3.1: a request with no token gets no ``error``; a token that is
    expired, revoked, malformed or for another resource (``invalid``) gets
    ``error="invalid_token"``.
    """
    challenge = "Bearer " + config._challenge_401
    if invalid:
        challenge += ', error="invalid_token"'
        if description:
            challenge += f', error_description="{_quoted(description)}"'
    message = "Unauthorized: " + (
        (description or "the access token is not valid")
        if invalid
        else "an access token is required"
    )
    error = RemoteProtocolError(message, http_status=401, request_id=request_id)
    return reject_for(error, (("www-authenticate", challenge),))


def insufficient_scope(
    config: ResourceServerConfig,
    scopes: Iterable[str],
    *,
    request_id: RequestId | None = None,
) -> Reject:
    """403 ``error="insufficient_scope"`` naming the scopes the operation needs.

    MCP "Scope Challenge Handling": the server "SHOULD respond with HTTP 403
    Forbidden with WWW-Authenticate header containing error="insufficient_scope""
    and the ``scope`` needed; the client may then ask for it (step-up).
    """
    needed = " ".join(_scope_tuple(scopes))
    challenge = (
        f'Bearer error="insufficient_scope", scope="{needed}", '
        f'resource_metadata="{config.metadata_url}", '
        f'error_description="{_quoted("this request needs the scope " + needed)}"'
    )
    error = RemoteProtocolError(
        f"Forbidden: insufficient scope, this request needs {needed}",
        http_status=403,
        request_id=request_id,
        data={"requiredScopes": needed.split()},
    )
    return reject_for(error, (("www-authenticate", challenge),))


def missing_scopes(granted: frozenset[str], *required: Iterable[str]) -> tuple[str, ...]:
    """The scopes of ``required`` (every iterable of it) not in ``granted``, in order."""
    missing: dict[str, None] = {}
    for scopes in required:
        for scope in scopes:
            if scope not in granted:
                missing[scope] = None
    return tuple(missing)


def _principal_key(issuer: str | None, subject: str) -> str:
    digest = hashlib.sha256(f"{issuer or ''}\x00{subject}".encode()).digest()
    return _KEY_PREFIX + base64.urlsafe_b64encode(digest[:18]).decode()


@attrs.frozen(slots=True, kw_only=True)
class Principal:
    """Who a valid access token speaks for: ``subject`` (the ``sub`` claim, or
    the client for a client-credentials token), ``scopes``, ``claims`` (the
    token's claims or introspection answer), ``issuer`` and ``client_id``.

    :attr:`key` names the principal in what the server stores (the owner of a
    session, a ``requestState`` binding): a digest of issuer and subject, so
    stores hold neither, and two tokens of one user share it.
    """

    subject: str
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    issuer: str | None = None
    client_id: str | None = None
    expires_at: float | None = None
    key: str = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "key", _principal_key(self.issuer, self.subject))


def _scopes_claim(claims: Mapping[str, Any]) -> frozenset[str]:
    # RFC 9068 §2.2.3 / RFC 7662 §2.2: "scope", space-separated; some providers
    # send "scp" as a list (Azure AD, Okta).
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str) and len(value) <= _MAX_SCOPE_LENGTH:
        return frozenset(value.split()[:_MAX_SCOPES])
    if isinstance(value, list):
        return frozenset(s for s in value[:_MAX_SCOPES] if isinstance(s, str))
    return frozenset()


def principal_from_claims(claims: Mapping[str, Any]) -> Principal | None:
    """The principal of a verified token's claims, or ``None`` without a subject.

    The subject is ``sub``, else the ``client_id`` (a client-credentials token of
    some providers has no ``sub``).
    """
    client_id = claims.get("client_id", claims.get("azp"))
    subject = claims.get("sub", client_id)
    if not isinstance(subject, str) or not subject:
        return None
    issuer = claims.get("iss")
    expires = claims.get("exp")
    return Principal(
        subject=subject,
        scopes=_scopes_claim(claims),
        claims=dict(claims),
        issuer=issuer if isinstance(issuer, str) else None,
        client_id=client_id if isinstance(client_id, str) else None,
        expires_at=float(expires) if isinstance(expires, int | float) else None,
    )


def _audiences(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def principal_from_introspection(
    answer: Mapping[str, Any], *, audience: str | None, now: float, leeway: float = 30.0
) -> Principal | None:
    """The principal of an RFC 7662 introspection answer, or ``None`` when the token
    is not to be accepted: ``"active": false`` (or missing), expired or not yet
    valid at ``now`` (with ``leeway`` seconds), or an ``aud`` that does not name
    ``audience`` (RFC 8707: a token "MUST" be meant for this resource; an answer
    without ``aud`` is taken as the authorization server's word)."""
    if answer.get("active") is not True:
        return None
    expires = answer.get("exp")
    if isinstance(expires, int | float) and expires + leeway < now:
        return None
    not_before = answer.get("nbf")
    if isinstance(not_before, int | float) and not_before - leeway > now:
        return None
    if audience is not None and "aud" in answer and audience not in _audiences(answer["aud"]):
        return None
    return principal_from_claims(answer)
