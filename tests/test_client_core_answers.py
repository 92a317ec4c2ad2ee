"""The client's answers to the server's questions: elicitation defaults filled in."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from scaled_mcp.protocol.client import apply_elicitation_defaults

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
        "note": {"type": "string"},
    },
    "required": [],
}


def test_an_empty_accept_gets_every_default() -> None:
    result = apply_elicitation_defaults(SCHEMA, {"action": "accept", "content": {}})
    assert result == {
        "action": "accept",
        "content": {
            "name": "John Doe",
            "age": 30,
            "score": 95.5,
            "status": "active",
            "verified": True,
        },
    }


def test_given_values_win_and_other_actions_are_untouched() -> None:
    result = apply_elicitation_defaults(SCHEMA, {"action": "accept", "content": {"age": 7}})
    assert result["content"]["age"] == 7
    assert result["content"]["name"] == "John Doe"
    assert apply_elicitation_defaults(SCHEMA, {"action": "decline"}) == {"action": "decline"}
    assert apply_elicitation_defaults(None, {"action": "accept"}) == {"action": "accept"}
    assert apply_elicitation_defaults({"properties": {}}, {"action": "accept"}) == {
        "action": "accept"
    }


@given(content=st.dictionaries(st.sampled_from(sorted(SCHEMA["properties"])), st.integers()))
def test_defaults_only_fill_gaps(content: dict[str, Any]) -> None:
    original = dict(content)
    result = apply_elicitation_defaults(SCHEMA, {"action": "accept", "content": content})
    assert content == original  # the application's dict is not changed
    for name, value in content.items():
        assert result["content"][name] == value
    for name, schema in SCHEMA["properties"].items():
        if name not in content and "default" in schema:
            assert result["content"][name] == schema["default"]
