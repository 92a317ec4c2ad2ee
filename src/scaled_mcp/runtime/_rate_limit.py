"""A rate limit per principal, on each node: token buckets, bounded in number.

Each caller -- the principal a valid token speaks for, or, without authorization,
all callers together -- gets ``rate`` requests a second on average and ``burst`` at
once; past that a request is answered 429 with ``Retry-After`` before anything else
is done for it (:func:`~scaled_mcp.protocol.http.too_many_requests`).

The limit is **per node**: the buckets live in the node's memory, so behind a
balancer spreading a principal's requests over N nodes it gets up to N times the
rate. Holding it cluster-wide would cost a broker round trip on every request;
a per-node limit costs a dictionary look-up.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Final

import attrs

from ..protocol.http import HttpDecision, NeedSession, ProcessMessages, too_many_requests
from ..protocol.jsonrpc import Request

__all__ = ["RateLimit", "RateLimiter"]

#: Callers whose buckets are kept at most; the one unseen longest is forgotten first
#: (it comes back with a full bucket).
DEFAULT_MAX_CALLERS: Final = 100_000


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a positive number, not {value!r}")


@attrs.frozen(slots=True, kw_only=True)
class RateLimit:
    """Requests a second each caller may make to one node (``rate``), and how many
    it may make at once after a pause (``burst``; default: one second's worth)."""

    rate: float = attrs.field(validator=_positive)
    burst: int = attrs.field(default=0)
    max_callers: int = DEFAULT_MAX_CALLERS

    def __attrs_post_init__(self) -> None:
        if self.burst < 0 or self.max_callers < 1:
            raise ValueError("burst must be at least 0 and max_callers at least 1")

    @property
    def capacity(self) -> float:
        """Tokens a full bucket holds."""
        return float(self.burst or max(1, math.ceil(self.rate)))


class RateLimiter:
    """The buckets of one node, by caller key."""

    __slots__ = ("_buckets", "_capacity", "_limit")

    def __init__(self, limit: RateLimit) -> None:
        self._limit = limit
        self._capacity = limit.capacity
        # key -> (tokens, when they were counted); most recently seen last.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def admit(self, decision: HttpDecision, key: str, now: float) -> HttpDecision:
        """``decision``, or the 429 its caller ``key`` earns past its limit (echoing
        the request's id when the body holds one request)."""
        wait = self.take(key, now)
        if not wait:
            return decision
        messages: tuple[object, ...] = ()
        if type(decision) is ProcessMessages:
            messages = decision.messages
        elif type(decision) is NeedSession and decision.body is not None:
            messages = decision.body.items
        first = messages[0] if len(messages) == 1 else None
        return too_many_requests(wait, first.id if type(first) is Request else None)

    def take(self, key: str, now: float) -> float:
        """Take a token for ``key`` at ``now`` (a monotonic clock): 0 if it had one,
        else the seconds until it will (the request is refused; nothing is taken)."""
        buckets = self._buckets
        found = buckets.pop(key, None)
        if found is None:
            tokens = self._capacity
            if len(buckets) >= self._limit.max_callers:
                buckets.popitem(last=False)
        else:
            tokens, then = found
            tokens = min(self._capacity, tokens + (now - then) * self._limit.rate)
        if tokens >= 1.0:
            buckets[key] = (tokens - 1.0, now)
            return 0.0
        buckets[key] = (tokens, now)
        return (1.0 - tokens) / self._limit.rate
