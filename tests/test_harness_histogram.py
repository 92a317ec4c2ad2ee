"""The load tool's latency histogram: percentiles within its precision of the exact ones."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.harness._histogram import Histogram

values = st.lists(
    st.one_of(st.integers(0, 5000), st.integers(0, 10**6), st.integers(0, 10**12)),
    min_size=1,
    max_size=300,
)
percents = st.one_of(st.sampled_from([0.0, 50.0, 90.0, 99.0, 99.9, 100.0]), st.floats(0.0, 100.0))


def exact(sorted_values: list[int], percent: float) -> int:
    rank = max(1, math.ceil(percent / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


@settings(max_examples=300, deadline=None)
@given(recorded=values, percent=percents, bits=st.integers(2, 14))
def test_a_percentile_is_the_exact_one_within_the_precision(
    recorded: list[int], percent: float, bits: int
) -> None:
    histogram = Histogram(bits)
    for value in recorded:
        histogram.record(value)
    truth = exact(sorted(recorded), percent)
    reported = histogram.percentile(percent)
    assert truth <= reported <= truth + truth * histogram.precision
    assert histogram.count == len(recorded)
    assert (histogram.min, histogram.max) == (min(recorded), max(recorded))
    assert histogram.mean == pytest.approx(sum(recorded) / len(recorded))
    assert histogram.percentile(100) == max(recorded)


@settings(max_examples=200, deadline=None)
@given(left=values, right=values, percent=percents)
def test_merged_histograms_are_one_histogram_of_both(
    left: list[int], right: list[int], percent: float
) -> None:
    a, b, both = Histogram(), Histogram(), Histogram()
    for value in left:
        a.record(value)
        both.record(value)
    for value in right:
        b.record(value)
        both.record(value)
    a.merge(b)
    assert a.percentile(percent) == both.percentile(percent)
    assert (a.count, a.min, a.max, a.total) == (both.count, both.min, both.max, both.total)
    assert list(a.buckets()) == list(both.buckets())


@settings(max_examples=100, deadline=None)
@given(recorded=values)
def test_json_round_trips(recorded: list[int]) -> None:
    histogram = Histogram()
    for value in recorded:
        histogram.record(value, 2)
    again = Histogram.from_json(histogram.to_json())
    assert list(again.buckets()) == list(histogram.buckets())
    assert again.to_json() == histogram.to_json()
    assert sum(n for _, n in again.buckets()) == 2 * len(recorded)


def test_small_values_are_exact_and_an_empty_histogram_reports_zero() -> None:
    histogram = Histogram(bits=4)
    assert histogram.percentile(50) == 0 and histogram.mean == 0.0
    for value in range(1, 16):
        histogram.record(value)
    assert [histogram.percentile(p) for p in (0, 50, 100)] == [1, 8, 15]


def test_bad_input_is_refused() -> None:
    histogram = Histogram()
    with pytest.raises(ValueError, match="from 0"):
        histogram.record(-1)
    with pytest.raises(ValueError, match="from 0 to 100"):
        histogram.percentile(100.5)
    with pytest.raises(ValueError, match="different precision"):
        histogram.merge(Histogram(bits=5))
    with pytest.raises(ValueError, match="bits must be"):
        Histogram(bits=1)
    with pytest.raises(ValueError, match="do not add up"):
        Histogram.from_json({**Histogram().to_json(), "count": 3})
