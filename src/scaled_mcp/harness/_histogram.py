"""A latency histogram in the manner of HdrHistogram: fixed relative precision, constant
memory, cheap to record into and to merge.

Values are non-negative integers (the load tool records microseconds). Values below
``2**bits`` each have a bucket of their own (exact); above, a value falls in a bucket
``2**shift`` wide among ``2**(bits-1)`` buckets per power of two, so the bucket's highest
value exceeds any value in it by less than ``1 / 2**(bits-1)`` of it (bits=11: 0.1%).
A percentile is reported as the highest value of the bucket holding the exact
nearest-rank percentile (capped at the largest value recorded), so it is never below
the exact figure and never above it by more than that precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, Final

__all__ = ["DEFAULT_BITS", "Histogram"]

#: Sub-bucket bits by default: 1,024 buckets per power of two, 0.1% relative precision.
DEFAULT_BITS: Final = 11


class Histogram:
    """Counts of non-negative integer values in log-linear buckets (see the module)."""

    __slots__ = ("_counts", "_half", "_size", "bits", "count", "max", "min", "total")

    def __init__(self, bits: int = DEFAULT_BITS) -> None:
        if not 2 <= bits <= 24:
            raise ValueError("bits must be from 2 to 24")
        self.bits = bits
        self._size = 1 << bits
        self._half = self._size >> 1
        self._counts: list[int] = [0] * self._size
        #: How many values were recorded, their sum, the smallest and the largest.
        self.count = 0
        self.total = 0
        self.min = 0
        self.max = 0

    @property
    def precision(self) -> float:
        """The largest relative excess of a reported value over the exact one."""
        return 1.0 / self._half

    def _index(self, value: int) -> int:
        if value < self._size:
            return value
        shift = value.bit_length() - self.bits
        return self._size + (shift - 1) * self._half + (value >> shift) - self._half

    def _highest_in(self, index: int) -> int:
        """The largest value that falls in bucket ``index``."""
        if index < self._size:
            return index
        shift, offset = divmod(index - self._size, self._half)
        shift += 1
        return ((offset + self._half + 1) << shift) - 1

    def record(self, value: int, times: int = 1) -> None:
        """Count ``value`` (an integer, 0 or more) ``times`` times."""
        if value < 0:
            raise ValueError("a histogram records values from 0")
        index = self._index(value)
        counts = self._counts
        if index >= len(counts):
            counts.extend([0] * (index + 1 - len(counts)))
        counts[index] += times
        if self.count == 0 or value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self.count += times
        self.total += value * times

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s counts to this one's (same ``bits``)."""
        if other.bits != self.bits:
            raise ValueError("histograms of different precision do not merge")
        if other.count == 0:
            return
        counts = self._counts
        if len(other._counts) > len(counts):
            counts.extend([0] * (len(other._counts) - len(counts)))
        for index, n in enumerate(other._counts):
            if n:
                counts[index] += n
        self.min = other.min if self.count == 0 else min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.count += other.count
        self.total += other.total

    @property
    def mean(self) -> float:
        """The exact mean of the values recorded (0 when none were)."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, percent: float) -> int:
        """The value at ``percent`` (0 to 100, nearest rank), within :attr:`precision`.

        0 when nothing was recorded; ``percentile(100)`` is :attr:`max`.
        """
        if not 0.0 <= percent <= 100.0:
            raise ValueError("a percentile is from 0 to 100")
        if self.count == 0:
            return 0
        rank = max(1, math.ceil(percent / 100.0 * self.count))
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank:
                return min(self._highest_in(index), self.max)
        return self.max  # pragma: no cover - the counts sum to ``count``

    def buckets(self) -> Iterator[tuple[int, int]]:
        """Each non-empty bucket as (highest value in it, count), lowest first."""
        for index, n in enumerate(self._counts):
            if n:
                yield min(self._highest_in(index), self.max), n

    def to_json(self) -> dict[str, Any]:
        """Plain data (sparse counts) that :meth:`from_json` reads back."""
        return {
            "bits": self.bits,
            "count": self.count,
            "total": self.total,
            "min": self.min,
            "max": self.max,
            "counts": {str(i): n for i, n in enumerate(self._counts) if n},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Histogram:
        """The histogram :meth:`to_json` wrote."""
        histogram = cls(int(data["bits"]))
        counts = histogram._counts
        for key, n in dict(data["counts"]).items():
            index = int(key)
            if index < 0 or int(n) < 0 or index > histogram._index(1 << 62):
                raise ValueError("bad histogram counts")
            if index >= len(counts):
                counts.extend([0] * (index + 1 - len(counts)))
            counts[index] += int(n)
        histogram.count = sum(counts)
        if histogram.count != int(data["count"]):
            raise ValueError("histogram counts do not add up")
        histogram.total = int(data["total"])
        histogram.min = int(data["min"])
        histogram.max = int(data["max"])
        return histogram
