"""Discovery: the URL orders, the metadata documents and their resource and issuer checks."""

from __future__ import annotations

import contextlib
import json

import hypothesis.strategies as st
import pytest
from hypothesis import given

from scaled_mcp.protocol.oauth import (
    AuthorizationServerMetadata,
    OAuthError,
    ProtectedResourceMetadata,
    authorization_server_metadata_urls,
    canonical_resource,
    check_resource,
    default_metadata,
    legacy_authorization_server,
    protected_resource_metadata_urls,
)


def test_protected_resource_metadata_order() -> None:
    assert protected_resource_metadata_urls("http://h:8/mcp", None) == (
        "http://h:8/.well-known/oauth-protected-resource/mcp",
        "http://h:8/.well-known/oauth-protected-resource",
    )
    assert protected_resource_metadata_urls(
        "https://H.example/a/b/", "https://h.example/custom.json"
    ) == (
        "https://h.example/custom.json",
        "https://h.example/.well-known/oauth-protected-resource/a/b",
        "https://h.example/.well-known/oauth-protected-resource",
    )
    # A server at the root has only the root location.
    assert protected_resource_metadata_urls("http://h/", None) == (
        "http://h/.well-known/oauth-protected-resource",
    )


def test_authorization_server_metadata_order() -> None:
    assert authorization_server_metadata_urls("http://as:9") == (
        "http://as:9/.well-known/oauth-authorization-server",
        "http://as:9/.well-known/openid-configuration",
    )
    assert authorization_server_metadata_urls("https://as/tenant1/") == (
        "https://as/.well-known/oauth-authorization-server/tenant1",
        "https://as/.well-known/openid-configuration/tenant1",
        "https://as/tenant1/.well-known/openid-configuration",
    )


def test_legacy_fallbacks() -> None:
    assert legacy_authorization_server("http://h:3/deep/mcp?x=1") == "http://h:3"
    metadata = default_metadata("http://h:3")
    assert (
        metadata.authorization_endpoint,
        metadata.token_endpoint,
        metadata.registration_endpoint,
    ) == (
        "http://h:3/authorize",
        "http://h:3/token",
        "http://h:3/register",
    )


@pytest.mark.parametrize("url", ["ftp://h/mcp", "not a url", "http:///nohost", "http://h:99999/"])
def test_bad_urls_are_oauth_errors(url: str) -> None:
    with pytest.raises(OAuthError):
        protected_resource_metadata_urls(url, None)


def test_canonical_resource() -> None:
    assert canonical_resource("HTTPS://Example.COM/mcp#frag") == "https://example.com/mcp"
    assert canonical_resource("http://h/") == "http://h"


@pytest.mark.parametrize(
    ("resource", "ok"),
    [
        ("http://h:1/mcp", True),
        ("http://h:1", True),
        ("http://h:1/", True),
        ("HTTP://H:1/mcp", True),
        ("http://h:1/mcp/", True),
        ("http://h:1/other", False),
        ("http://h:1/mc", False),
        ("https://h:1/mcp", False),
        ("http://h:2/mcp", False),
        ("https://evil.example.com/mcp", False),
    ],
)
def test_resource_check(resource: str, ok: bool) -> None:
    if ok:
        check_resource(resource, "http://h:1/mcp")
    else:
        with pytest.raises(OAuthError) as raised:
            check_resource(resource, "http://h:1/mcp")
        assert raised.value.error == "resource_mismatch"


def test_protected_resource_metadata_document() -> None:
    body = json.dumps(
        {
            "resource": "http://h/mcp",
            "authorization_servers": ["http://as"],
            "scopes_supported": ["a"],
        }
    ).encode()
    prm = ProtectedResourceMetadata.from_json(body, "http://h/mcp")
    assert prm.authorization_servers == ("http://as",) and prm.scopes_supported == ("a",)
    with pytest.raises(OAuthError, match="resource_mismatch"):
        ProtectedResourceMetadata.from_json(body, "http://other/mcp")
    for bad in (b"[]", b"{", b'{"authorization_servers": []}', b'{"authorization_servers": [1]}'):
        with pytest.raises(OAuthError):
            ProtectedResourceMetadata.from_json(bad, "http://h/mcp")


def _metadata(issuer: str, **more: object) -> bytes:
    return json.dumps({"issuer": issuer, "token_endpoint": "http://as/token", **more}).encode()


@pytest.mark.parametrize(
    "served",
    [
        "http://as/",
        "HTTP://as",
        "http://AS",
        "http://as:80",
        "https://as",
        "http://as/x",
        "http://as%2F",
        None,
    ],
)
def test_issuer_is_compared_without_normalization(served: str | None) -> None:
    # RFC 8414 §3.3: identical, by simple string comparison.
    with pytest.raises(OAuthError) as raised:
        AuthorizationServerMetadata.from_json(_metadata(served), "http://as")  # type: ignore[arg-type]
    assert raised.value.error == "issuer_mismatch"


def test_authorization_server_metadata_fields() -> None:
    metadata = AuthorizationServerMetadata.from_json(
        _metadata(
            "http://as",
            authorization_endpoint="http://as/authorize",
            client_id_metadata_document_supported=True,
            authorization_response_iss_parameter_supported=True,
            code_challenge_methods_supported=["S256"],
            dpop_signing_alg_values_supported=["ES256"],
        ),
        "http://as",
    )
    assert metadata.client_id_metadata_document_supported
    assert metadata.authorization_response_iss_parameter_supported
    assert metadata.raw["dpop_signing_alg_values_supported"] == ["ES256"]
    with pytest.raises(OAuthError):
        AuthorizationServerMetadata.from_json(b'{"issuer": "http://as"}', "http://as")
    with pytest.raises(OAuthError):
        AuthorizationServerMetadata.from_json(
            _metadata("http://as", scopes_supported="a b"), "http://as"
        )


@given(st.binary(max_size=300))
def test_any_document_is_read_or_refused(body: bytes) -> None:
    for read in (
        lambda: ProtectedResourceMetadata.from_json(body, "http://h/mcp"),
        lambda: AuthorizationServerMetadata.from_json(body, "http://as"),
    ):
        with contextlib.suppress(OAuthError):
            read()
