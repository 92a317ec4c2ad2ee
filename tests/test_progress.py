"""One request's progress order: "The progress value MUST increase with each notification"."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.jsonrpc import LocalProtocolError
from scaled_mcp.protocol.notifications import ProgressOrder


def test_each_value_must_exceed_the_last() -> None:
    order = ProgressOrder()
    order.advance(0)
    order.advance(0.5)
    with pytest.raises(LocalProtocolError):
        order.advance(0.5)
    with pytest.raises(LocalProtocolError):
        order.advance(0.1)
    order.advance(2)  # a refused value was not recorded


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=20))
def test_accepted_values_strictly_increase(values: list[float]) -> None:
    order = ProgressOrder()
    accepted: list[float] = []
    for value in values:
        try:
            order.advance(value)
        except LocalProtocolError:
            assert accepted and value <= accepted[-1]
        else:
            accepted.append(value)
    assert all(a < b for a, b in itertools.pairwise(accepted))
