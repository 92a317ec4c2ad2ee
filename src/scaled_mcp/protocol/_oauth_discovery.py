"""Where an MCP client finds its authorization server, and what it may trust there.

The ordered URLs to try (:func:`protected_resource_metadata_urls`, RFC 9728;
:func:`authorization_server_metadata_urls`, RFC 8414 and OpenID Connect
Discovery), the documents read back (:class:`ProtectedResourceMetadata`,
:class:`AuthorizationServerMetadata`) and their checks (:func:`check_resource`,
the ``issuer`` check in :meth:`AuthorizationServerMetadata.from_json`), and the
2025-03-26 fallbacks when a server publishes no protected resource metadata
(:func:`legacy_authorization_server`, :func:`default_metadata`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import attrs

from ._oauth_errors import OAuthError

__all__ = [
    "MAX_METADATA_SIZE",
    "AuthorizationServerMetadata",
    "ProtectedResourceMetadata",
    "authorization_server_metadata_urls",
    "canonical_resource",
    "check_resource",
    "default_metadata",
    "legacy_authorization_server",
    "protected_resource_metadata_urls",
    "read_json_object",
]

MAX_METADATA_SIZE: Final = 256 * 1024
"""The largest metadata, registration or token document read (bytes)."""

_PRM_WELL_KNOWN: Final = "/.well-known/oauth-protected-resource"
_OAUTH_WELL_KNOWN: Final = "/.well-known/oauth-authorization-server"
_OPENID_WELL_KNOWN: Final = "/.well-known/openid-configuration"


def read_json_object(body: bytes, what: str) -> dict[str, Any]:
    """``body`` as a JSON object, or :class:`OAuthError` naming ``what`` was malformed."""
    if len(body) > MAX_METADATA_SIZE:
        raise OAuthError("invalid_response", f"{what} larger than {MAX_METADATA_SIZE} bytes")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise OAuthError("invalid_response", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise OAuthError("invalid_response", f"{what} is not a JSON object")
    return value


def _http_url(url: str, what: str) -> tuple[str, str, str, str]:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise OAuthError("invalid_url", f"{what} is not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise OAuthError("invalid_url", f"{what} is not an http(s) URL")
    return parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query


def _origin(url: str, what: str) -> str:
    scheme, netloc, _path, _query = _http_url(url, what)
    return f"{scheme}://{netloc}"


def canonical_resource(server_url: str) -> str:
    """RFC 8707 / MCP "canonical server URI": scheme and host lower-cased, no fragment.

    2025-06-18 authorization: "Clients SHOULD provide the most specific URI that
    they can for the MCP server they intend to access" in the ``resource``
    parameter; the path is kept, a lone trailing slash on the root dropped.
    """
    scheme, netloc, path, query = _http_url(server_url, "server URL")
    if path == "/":
        path = ""
    return urlunsplit((scheme, netloc, path, query, ""))


def protected_resource_metadata_urls(server_url: str, header_url: str | None) -> tuple[str, ...]:
    """The URLs of the protected resource metadata to try, in order.

    2025-11-25 authorization: clients "MUST use the resource metadata URL from the
    parsed WWW-Authenticate headers when present; otherwise, they MUST fall back to
    constructing well-known URIs": first "at the path of the server's MCP endpoint"
    (RFC 9728 §3.1 path insertion), then "at the root".
    """
    origin = _origin(server_url, "server URL")
    path = urlsplit(server_url).path.rstrip("/")
    urls: list[str] = []
    if header_url:
        _http_url(header_url, "resource_metadata URL")
        urls.append(header_url)
    if path:
        urls.append(f"{origin}{_PRM_WELL_KNOWN}{path}")
    urls.append(f"{origin}{_PRM_WELL_KNOWN}")
    return tuple(dict.fromkeys(urls))


def authorization_server_metadata_urls(issuer: str) -> tuple[str, ...]:
    """The URLs of an authorization server's metadata to try, in order.

    2025-11-25 authorization, "Authorization Server Metadata Discovery": for an
    issuer with a path, OAuth 2.0 metadata with path insertion, OpenID Connect
    Discovery with path insertion, then OpenID Connect Discovery with the path
    appended; for one without, OAuth 2.0 metadata then OpenID Connect Discovery.
    """
    origin = _origin(issuer, "authorization server URL")
    path = urlsplit(issuer).path.rstrip("/")
    if not path:
        return (f"{origin}{_OAUTH_WELL_KNOWN}", f"{origin}{_OPENID_WELL_KNOWN}")
    return (
        f"{origin}{_OAUTH_WELL_KNOWN}{path}",
        f"{origin}{_OPENID_WELL_KNOWN}{path}",
        f"{origin}{path}{_OPENID_WELL_KNOWN}",
    )


def legacy_authorization_server(server_url: str) -> str:
    """2025-03-26 authorization: the authorization base URL is the MCP server's origin.

    "The authorization base URL MUST be determined from the MCP server URL by
    discarding any existing path component."
    """
    return _origin(server_url, "server URL")


def check_resource(resource: str, server_url: str) -> None:
    """Raise :class:`OAuthError` unless the metadata's ``resource`` covers ``server_url``.

    RFC 9728 §3.3: the ``resource`` value "MUST be identical to the protected
    resource's resource identifier"; a client "MUST NOT use" metadata that fails
    this. A resource at the server's origin, or at a parent path of the MCP
    endpoint, identifies the same server (the metadata at the root names it so).
    """
    scheme, netloc, path, _query = _http_url(resource, "resource")
    server_scheme, server_netloc, server_path, _ = _http_url(server_url, "server URL")
    if (scheme, netloc) != (server_scheme, server_netloc):
        raise OAuthError("resource_mismatch", f"protected resource {resource!r} is not this server")
    prefix = path.rstrip("/")
    target = server_path.rstrip("/")
    if prefix and target != prefix and not target.startswith(prefix + "/"):
        raise OAuthError("resource_mismatch", f"protected resource {resource!r} is not this server")


def _strings(document: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise OAuthError("invalid_metadata", f"{name} is not a list of strings")
    return tuple(value)


def _string(document: Mapping[str, Any], name: str, what: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise OAuthError("invalid_metadata", f"{what} {name} is not a string")
    return value


@attrs.frozen(slots=True)
class ProtectedResourceMetadata:
    """RFC 9728 §2: what the MCP server says about itself as a protected resource."""

    resource: str | None
    authorization_servers: tuple[str, ...]
    scopes_supported: tuple[str, ...] | None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_json(cls, body: bytes, server_url: str) -> ProtectedResourceMetadata:
        """Read and check a protected resource metadata document.

        Raises :class:`OAuthError` when it is malformed, names no authorization
        server, or its ``resource`` is not ``server_url`` (:func:`check_resource`).
        """
        document = read_json_object(body, "protected resource metadata")
        resource = _string(document, "resource", "protected resource metadata")
        if resource is not None:
            check_resource(resource, server_url)
        servers = _strings(document, "authorization_servers") or ()
        if not servers:
            raise OAuthError(
                "invalid_metadata", "protected resource metadata names no authorization server"
            )
        for server in servers:
            _http_url(server, "authorization server")
        return cls(resource, servers, _strings(document, "scopes_supported"), document)


@attrs.frozen(slots=True)
class AuthorizationServerMetadata:
    """RFC 8414 §2: an authorization server's endpoints and what it supports.

    ``raw`` keeps the whole document for fields the core does not name
    (``dpop_signing_alg_values_supported``, ...).
    """

    issuer: str
    authorization_endpoint: str | None
    token_endpoint: str
    registration_endpoint: str | None = None
    scopes_supported: tuple[str, ...] | None = None
    grant_types_supported: tuple[str, ...] | None = None
    code_challenge_methods_supported: tuple[str, ...] | None = None
    token_endpoint_auth_methods_supported: tuple[str, ...] | None = None
    client_id_metadata_document_supported: bool = False
    authorization_response_iss_parameter_supported: bool = False
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_json(cls, body: bytes, issuer: str) -> AuthorizationServerMetadata:
        """Read and check the metadata fetched for the issuer identifier ``issuer``.

        RFC 8414 §3.3: "The issuer value returned MUST be identical to the
        authorization server's issuer identifier value into which the well-known
        URI string was inserted ... If these values are not identical, the data
        contained in the response MUST NOT be used." Simple string comparison,
        no normalization. Raises :class:`OAuthError` (``issuer_mismatch`` for that).
        """
        document = read_json_object(body, "authorization server metadata")
        found = _string(document, "issuer", "authorization server metadata")
        if found != issuer:
            raise OAuthError(
                "issuer_mismatch",
                f"metadata issuer {found!r} is not the issuer {issuer!r} it was fetched for",
            )
        return cls.from_document(document, issuer)

    @classmethod
    def from_document(cls, document: Mapping[str, Any], issuer: str) -> AuthorizationServerMetadata:
        """Build from a decoded document whose issuer was already checked."""
        what = "authorization server metadata"
        token_endpoint = _string(document, "token_endpoint", what)
        if token_endpoint is None:
            raise OAuthError(
                "invalid_metadata", "authorization server metadata has no token_endpoint"
            )
        _http_url(token_endpoint, "token_endpoint")
        endpoints = {}
        for name in ("authorization_endpoint", "registration_endpoint"):
            endpoints[name] = _string(document, name, what)
            if endpoints[name] is not None:
                _http_url(endpoints[name] or "", name)
        return cls(
            issuer=issuer,
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=token_endpoint,
            registration_endpoint=endpoints["registration_endpoint"],
            scopes_supported=_strings(document, "scopes_supported"),
            grant_types_supported=_strings(document, "grant_types_supported"),
            code_challenge_methods_supported=_strings(document, "code_challenge_methods_supported"),
            token_endpoint_auth_methods_supported=_strings(
                document, "token_endpoint_auth_methods_supported"
            ),
            client_id_metadata_document_supported=document.get(
                "client_id_metadata_document_supported"
            )
            is True,
            authorization_response_iss_parameter_supported=(
                document.get("authorization_response_iss_parameter_supported") is True
            ),
            raw=dict(document),
        )


def default_metadata(base_url: str) -> AuthorizationServerMetadata:
    """2025-03-26 authorization, "Fallbacks for Servers without Metadata Discovery".

    "Clients MUST use the following default endpoint paths relative to the
    authorization base URL": ``/authorize``, ``/token``, ``/register``.
    """
    origin = _origin(base_url, "authorization base URL")
    return AuthorizationServerMetadata(
        issuer=origin,
        authorization_endpoint=f"{origin}/authorize",
        token_endpoint=f"{origin}/token",
        registration_endpoint=f"{origin}/register",
    )
