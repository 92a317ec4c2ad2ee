"""The core's resource-server decisions: metadata, challenges, bearer tokens, scopes, principals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.oauth import (
    PROTECTED_RESOURCE_WELL_KNOWN,
    Principal,
    ResourceServerConfig,
    bearer_challenge,
    bearer_token,
    check_resource,
    insufficient_scope,
    metadata_reply,
    missing_scopes,
    principal_from_claims,
    principal_from_introspection,
    protected_resource_metadata_urls,
    unauthorized,
)
from scaled_mcp.protocol.session import SessionPhase, SessionState

SCOPE = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters='"\\'),
    min_size=1,
    max_size=12,
)
SCOPES = st.lists(SCOPE, max_size=6, unique=True)


def config(**more: Any) -> ResourceServerConfig:
    return ResourceServerConfig(
        resource="https://MCP.example.com/tenant/mcp",
        authorization_servers=("https://auth.example.com/realms/r",),
        **more,
    )


def test_the_metadata_document_and_where_it_is_served() -> None:
    settings = config(required_scopes="mcp:read", scopes_supported=["mcp:read", "mcp:write"])
    assert settings.resource == "https://mcp.example.com/tenant/mcp"
    assert settings.metadata_url == (
        "https://mcp.example.com/.well-known/oauth-protected-resource/tenant/mcp"
    )
    # The client's discovery looks exactly there first (RFC 9728 §3.1, path inserted).
    assert protected_resource_metadata_urls(settings.resource, None)[0] == settings.metadata_url
    assert settings.metadata_paths("/mcp") == {
        PROTECTED_RESOURCE_WELL_KNOWN,
        PROTECTED_RESOURCE_WELL_KNOWN + "/tenant/mcp",
        PROTECTED_RESOURCE_WELL_KNOWN + "/mcp",
    }
    status, headers, body = metadata_reply(settings)
    assert status == 200 and ("content-type", "application/json") in headers
    document = json.loads(body)
    assert document == {
        "resource": "https://mcp.example.com/tenant/mcp",
        "authorization_servers": ["https://auth.example.com/realms/r"],
        "scopes_supported": ["mcp:read", "mcp:write"],
        "bearer_methods_supported": ["header"],
    }
    check_resource(document["resource"], "https://mcp.example.com/tenant/mcp")


@pytest.mark.parametrize(
    "bad",
    [
        {"resource": "ftp://x/mcp"},
        {"resource": "https://x/mcp?q=1"},
        {"authorization_servers": ()},
        {"authorization_servers": ("not a url",)},
        {"required_scopes": ['a"b']},
    ],
)
def test_settings_that_make_no_sense(bad: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "resource": "https://x/mcp",
        "authorization_servers": ("https://a",),
        **bad,
    }
    with pytest.raises(ValueError):  # noqa: PT011
        ResourceServerConfig(**fields)


@given(SCOPES, st.booleans(), st.text(max_size=40))
def test_a_401_challenge_reads_back(required: list[str], invalid: bool, description: str) -> None:
    settings = config(required_scopes=required)
    reject = unauthorized(settings, invalid=invalid, description=description or None)
    assert reject.status == 401
    challenge = bearer_challenge([dict(reject.headers)["www-authenticate"]])
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.resource_metadata == settings.metadata_url
    assert challenge.scope == (tuple(required) or None)
    assert challenge.error == ("invalid_token" if invalid else None)
    if invalid and description:
        shown = "".join(c for c in description if " " <= c <= "~" and c not in '"\\')
        assert challenge.params.get("error_description", "") == shown
    assert json.loads(reject.body)["error"]["message"].startswith("Unauthorized")


@given(st.lists(SCOPE, min_size=1, max_size=6))
def test_a_403_names_the_scopes(scopes: list[str]) -> None:
    reject = insufficient_scope(config(), scopes, request_id=9)
    assert reject.status == 403
    challenge = bearer_challenge([dict(reject.headers)["www-authenticate"]])
    assert challenge is not None and challenge.error == "insufficient_scope"
    assert challenge.scope == tuple(dict.fromkeys(scopes))
    body = json.loads(reject.body)
    assert body["id"] == 9 and body["error"]["data"]["requiredScopes"] == list(
        dict.fromkeys(scopes)
    )


@given(st.frozensets(SCOPE, max_size=6), st.lists(SCOPES, max_size=3))
def test_missing_scopes(granted: frozenset[str], required: list[list[str]]) -> None:
    missing = missing_scopes(granted, *required)
    wanted = {s for group in required for s in group}
    assert set(missing) == wanted - granted
    assert len(missing) == len(set(missing))


@given(st.text(max_size=60))
def test_reading_the_authorization_header_never_raises(value: str) -> None:
    token = bearer_token((("authorization", value),))
    assert token is None or isinstance(token, str)
    if token:
        assert value.strip().lower().startswith("bearer ")
        assert token in value


def test_bearer_tokens() -> None:
    assert bearer_token(()) is None
    assert bearer_token((("authorization", "Bearer abc.DEF-_~+/=="),)) == "abc.DEF-_~+/=="
    assert bearer_token((("authorization", "bearer  tok "),)) == "tok"
    assert bearer_token((("authorization", "Basic eDp5"),)) == ""
    assert bearer_token((("authorization", "Bearer"),)) == ""
    assert bearer_token((("authorization", "Bearer a b"),)) == ""
    assert bearer_token((("authorization", "Bearer a"), ("authorization", "Bearer b"))) == ""


@given(st.text(min_size=1, max_size=20), st.text(max_size=20) | st.none())
def test_a_principal_key_is_a_short_digest(subject: str, issuer: str | None) -> None:
    one = Principal(subject=subject, issuer=issuer, scopes=frozenset({"a"}))
    two = Principal(subject=subject, issuer=issuer, claims={"other": 1})
    assert one.key == two.key and one.key.startswith("p1.") and len(one.key) == 27
    assert subject not in one.key[3:] or len(subject) < 4
    assert Principal(subject=subject + "x", issuer=issuer).key != one.key


def test_principals_from_claims() -> None:
    principal = principal_from_claims(
        {"sub": "alice", "iss": "https://a", "scope": "read write", "exp": 10, "client_id": "app"}
    )
    assert principal is not None
    assert (principal.subject, principal.scopes, principal.client_id, principal.expires_at) == (
        "alice",
        frozenset({"read", "write"}),
        "app",
        10.0,
    )
    listed = principal_from_claims({"client_id": "svc", "scp": ["a", "b", 3]})
    assert listed is not None and listed.subject == "svc" and listed.scopes == {"a", "b"}
    assert principal_from_claims({"scope": "read"}) is None


@pytest.mark.parametrize(
    ("answer", "accepted"),
    [
        ({"active": True, "sub": "a", "aud": "https://r/mcp"}, True),
        ({"active": True, "sub": "a", "aud": ["x", "https://r/mcp"]}, True),
        ({"active": True, "sub": "a"}, True),
        ({"active": True, "sub": "a", "aud": "https://other/mcp"}, False),
        ({"active": False, "sub": "a"}, False),
        ({"active": "true", "sub": "a"}, False),
        ({"active": True, "sub": "a", "exp": 900}, False),
        ({"active": True, "sub": "a", "exp": 980}, True),
        ({"active": True, "sub": "a", "nbf": 1100}, False),
        ({"active": True}, False),
    ],
)
def test_introspection_answers(answer: dict[str, Any], accepted: bool) -> None:
    principal = principal_from_introspection(answer, audience="https://r/mcp", now=1000, leeway=30)
    assert (principal is not None) is accepted


@given(st.none() | st.text(min_size=1, max_size=30))
def test_the_owner_travels_with_the_session_state(owner: str | None) -> None:
    state = SessionState("s1", "2025-11-25", SessionPhase.OPERATING, owner=owner)
    data = json.loads(json.dumps(state.to_json()))
    assert ("owner" in data) is (owner is not None)
    assert SessionState.from_json(data) == state
