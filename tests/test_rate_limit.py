"""The rate limit per principal: token buckets (properties), and 429 with Retry-After on
both fronts, each principal counted apart."""

from __future__ import annotations

import math

import orjson
import pytest
import trio
from hypothesis import given, settings, strategies as st

from scaled_mcp import MCPServer
from scaled_mcp.protocol.oauth import Principal, ResourceServerConfig
from scaled_mcp.runtime import Authorization, RateLimit, RuntimeConfig
from scaled_mcp.runtime._rate_limit import RateLimiter

from .helpers import FRONTS, initialize_request, serving
from .http_client import HttpClient, McpHttp

rates = st.floats(min_value=0.1, max_value=1000, allow_nan=False)
bursts = st.integers(min_value=0, max_value=50)
gaps = st.lists(st.floats(min_value=0, max_value=2, allow_nan=False), min_size=1, max_size=200)


@given(rate=rates, burst=bursts, gaps=gaps)
def test_a_caller_never_gets_more_than_its_burst_and_rate(
    rate: float, burst: int, gaps: list[float]
) -> None:
    limit = RateLimit(rate=rate, burst=burst)
    limiter = RateLimiter(limit)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        if limiter.take("caller", now) == 0:
            allowed += 1
    # From a full bucket, at most the burst plus what refills over the whole span.
    assert allowed <= limit.capacity + rate * now + 1e-6


@given(rate=rates, burst=bursts, gaps=gaps)
def test_a_refused_caller_is_told_exactly_when_to_come_back(
    rate: float, burst: int, gaps: list[float]
) -> None:
    limiter = RateLimiter(RateLimit(rate=rate, burst=burst))
    now = 0.0
    for gap in gaps:
        now += gap
        wait = limiter.take("caller", now)
        if wait:
            assert wait > 0
            # Retry-After is honest: a token is there when it says, and not long before.
            probe = RateLimiter(RateLimit(rate=rate, burst=burst))
            probe._buckets.update(limiter._buckets)
            assert probe.take("caller", now + wait * (1 + 1e-9) + 1e-9) == 0
            return


@settings(max_examples=50)
@given(callers=st.lists(st.text(max_size=4), min_size=1, max_size=100))
def test_callers_are_counted_apart_and_their_number_is_bounded(callers: list[str]) -> None:
    limiter = RateLimiter(RateLimit(rate=1, burst=1, max_callers=10))
    for caller in callers:
        limiter.take(caller, 0.0)
    assert len(limiter) <= 10
    fresh = RateLimiter(RateLimit(rate=1, burst=1))
    assert fresh.take("a", 0.0) == 0 and fresh.take("b", 0.0) == 0  # one bucket each
    assert fresh.take("a", 0.0) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [{"rate": 0}, {"rate": math.inf}, {"rate": 1, "burst": -1}])
def test_a_bad_limit_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimit(**bad)  # type: ignore[arg-type]


app = MCPServer("limited")


@app.tool()
async def echo(text: str) -> str:
    return text


async def _verify(token: str) -> Principal | None:
    return Principal(subject=token, scopes=frozenset({"mcp"})) if token in ("ann", "bob") else None


@pytest.mark.parametrize("front", FRONTS)
async def test_past_its_limit_a_principal_gets_429_with_retry_after(front: str) -> None:
    resource = ResourceServerConfig(
        resource="http://127.0.0.1/mcp", authorization_servers=("http://issuer.example",)
    )
    config = RuntimeConfig(
        shutdown_grace=1,
        rate_limit=RateLimit(rate=0.5, burst=3),
        auth=Authorization(resource, _verify),
    )
    async with serving(app, front, config) as port:

        def as_(who: str) -> McpHttp:
            mcp = McpHttp(HttpClient("127.0.0.1", port))
            mcp.headers = lambda _h=mcp.headers, **extra: {  # type: ignore[method-assign]
                **_h(**extra),
                "authorization": f"Bearer {who}",
            }
            return mcp

        ann, bob = as_("ann"), as_("bob")
        for n in range(3):  # the burst
            reply = await ann.post(initialize_request(request_id=n))
            assert reply.status == 200, reply
        refused = await ann.post(initialize_request(request_id=7))
        assert refused.status == 429
        assert int(refused.headers["retry-after"]) == 2  # a token every 2 s
        body = orjson.loads(refused.body)
        assert body["id"] == 7 and "Too many requests" in body["error"]["message"]
        assert (await bob.post(initialize_request(request_id=1))).status == 200  # its own bucket
        await trio.sleep(2.1)
        assert (await ann.post(initialize_request(request_id=8))).status == 200
