"""``WWW-Authenticate`` parsing: examples from RFC 6750 and MCP, round trips, any input handled."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given

from scaled_mcp.protocol.oauth import (
    MAX_CHALLENGE_LENGTH,
    BearerChallenge,
    OAuthError,
    bearer_challenge,
    parse_www_authenticate,
)


def test_rfc6750_example() -> None:
    (challenge,) = parse_www_authenticate(
        'Bearer realm="example", error="invalid_token", '
        'error_description="The access token expired"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.params["realm"] == "example"
    assert challenge.error == "invalid_token"
    assert challenge.error_description == "The access token expired"


def test_mcp_step_up_challenge() -> None:
    challenge = bearer_challenge(
        [
            'Bearer error="insufficient_scope", scope="mcp:admin mcp:read", '
            'resource_metadata="http://h:1/.well-known/oauth-protected-resource/mcp", '
            'error_description="Scope upgrade will never succeed"'
        ]
    )
    assert challenge is not None
    assert challenge.error == "insufficient_scope"
    assert challenge.scope == ("mcp:admin", "mcp:read")
    assert challenge.resource_metadata == "http://h:1/.well-known/oauth-protected-resource/mcp"


def test_bare_scheme_and_no_scope() -> None:
    (challenge,) = parse_www_authenticate("Bearer")
    assert challenge == BearerChallenge("bearer", {})
    assert challenge.scope is None and challenge.resource_metadata is None
    assert parse_www_authenticate('Bearer scope=""')[0].scope is None


def test_several_challenges_and_token68() -> None:
    found = parse_www_authenticate('Negotiate abc==, Basic realm="r", DPoP algs="ES256"')
    assert [c.scheme for c in found] == ["negotiate", "basic", "dpop"]
    assert found[0].token68 == "abc=="
    # "realm=" alone is a token68 (RFC 9110 §11.3), not a parameter without a value.
    assert parse_www_authenticate("Bearer realm=")[0].token68 == "realm="
    assert bearer_challenge(['Basic realm="r"']) is None
    chosen = bearer_challenge(['DPoP algs="ES256"', 'Bearer scope="a"'])
    assert chosen is not None and chosen.scheme == "bearer"


def test_quoted_pairs_and_case() -> None:
    (challenge,) = parse_www_authenticate(r'BEARER Realm="a \"b\" \\ c",ERROR=invalid_token')
    assert challenge.scheme == "bearer"
    assert challenge.params == {"realm": 'a "b" \\ c', "error": "invalid_token"}


@pytest.mark.parametrize(
    "value",
    [
        'Bearer realm="unterminated',
        'Bearer realm="a" junk="',
        "=x",
        "Bearer a=b c",
    ],
)
def test_malformed_values_are_oauth_errors(value: str) -> None:
    with pytest.raises(OAuthError):
        parse_www_authenticate(value)


def test_overlong_value_is_refused() -> None:
    with pytest.raises(OAuthError):
        parse_www_authenticate("Bearer realm=" + "a" * MAX_CHALLENGE_LENGTH)


@given(st.text(max_size=200))
def test_any_text_is_parsed_or_refused(value: str) -> None:
    try:
        challenges = parse_www_authenticate(value)
    except OAuthError:
        return
    for challenge in challenges:
        assert challenge.scheme == challenge.scheme.lower()
        assert all(name == name.lower() for name in challenge.params)


_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
    min_size=1,
    max_size=12,
)
_VALUE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(
    st.lists(
        st.tuples(_TOKEN, st.dictionaries(_TOKEN.map(str.lower), _VALUE, max_size=4)),
        min_size=1,
        max_size=3,
    )
)
def test_round_trip(challenges: list[tuple[str, dict[str, str]]]) -> None:
    text = ", ".join(
        scheme
        + (
            " " + ", ".join(f"{name}={_quote(value)}" for name, value in params.items())
            if params
            else ""
        )
        for scheme, params in challenges
    )
    parsed = parse_www_authenticate(text)
    assert [(c.scheme, dict(c.params)) for c in parsed] == [(s.lower(), p) for s, p in challenges]
