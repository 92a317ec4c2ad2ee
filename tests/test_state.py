"""A session's state round-trips through JSON, as a cluster store keeps it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.jsonrpc import LocalProtocolError
from scaled_mcp.protocol.notifications import LOG_LEVELS
from scaled_mcp.protocol.session import SessionPhase, SessionState

_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
_states = st.builds(
    SessionState,
    session_id=st.text(min_size=1, max_size=20),
    protocol_version=st.text(max_size=12),
    phase=st.sampled_from(list(SessionPhase)),
    client_info=st.dictionaries(st.text(max_size=6), _json, max_size=3),
    client_capabilities=st.dictionaries(st.text(max_size=6), _json, max_size=3),
    log_level=st.none() | st.sampled_from(LOG_LEVELS),
    subscriptions=st.frozensets(st.text(max_size=12), max_size=5),
    created_at=st.floats(0, 2e9),
    last_activity=st.floats(0, 2e9),
)


@given(_states)
def test_round_trip_through_json(state: SessionState) -> None:
    assert SessionState.from_json(orjson.loads(orjson.dumps(state.to_json()))) == state


@given(_states, st.sampled_from(["sessionId", "phase", "logLevel", "subscriptions", "clientInfo"]),
       _json)  # fmt: skip
def test_malformed_state_is_a_local_error(state: SessionState, key: str, value: Any) -> None:
    data = state.to_json()
    data[key] = value
    try:
        rebuilt = SessionState.from_json(data)
    except LocalProtocolError:
        return
    assert SessionState.from_json(rebuilt.to_json()) == rebuilt


@pytest.mark.parametrize("data", [None, [], {}, {"sessionId": 1}, "x"])
def test_garbage_is_a_local_error(data: Any) -> None:
    with pytest.raises(LocalProtocolError):
        SessionState.from_json(data)
