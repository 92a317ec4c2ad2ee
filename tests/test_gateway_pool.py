"""The gateway's pool of upstream sessions, without an upstream: whatever the
calls, losses and idle times, its bounds hold (a property test on a mock clock).
The pool with a real upstream is in ``test_gateway.py``."""

from __future__ import annotations

import trio
import trio.lowlevel
import trio.testing
from hypothesis import given, settings, strategies as st

from scaled_mcp.client._gateway_pool import UpstreamPool


class _FakeUpstream:
    """What the pool opens, without an upstream: an async context manager."""

    opened = 0
    #: Whether it stands for a 2026-07-28 upstream (sessions are then shared at once).
    stateless = False

    async def __aenter__(self) -> _FakeUpstream:
        await trio.sleep(0.01)
        _FakeUpstream.opened += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        _FakeUpstream.opened -= 1


#: One step of the pool's life: start a call, end the oldest, lose a session, let time pass.
_steps = st.lists(
    st.sampled_from(["lease", "end", "lose", "wait"]) | st.floats(0.1, 3.0), max_size=25
)


@settings(max_examples=40, deadline=None)
@given(_steps, st.integers(1, 4), st.booleans())
def test_the_pool_keeps_its_bounds(steps: list[str | float], cap: int, stateless: bool) -> None:
    """Whatever the calls, losses and idle times: never more sessions than the cap,
    each open session's client open once, an idle session reused before a new one is
    opened, a primary again within a supervisor round, idle ones closed after the
    timeout, and all closed at the end."""
    _FakeUpstream.stateless = stateless

    async def run() -> None:
        pool = UpstreamPool(lambda s: _FakeUpstream(), max_sessions=cap, idle_timeout=2.0)  # type: ignore[arg-type,return-value]
        ends: list[trio.Event] = []
        async with pool.running(start_within=1), trio.open_nursery() as nursery:

            async def call(done: trio.Event, *, task_status: trio.TaskStatus[None]) -> None:
                idle_before = [s for s in pool.sessions if not s.calls and not s.lost]
                async with pool.lease(object()) as (session, _):  # type: ignore[arg-type]
                    if idle_before:
                        assert session in idle_before
                    task_status.started()
                    await done.wait()

            for step in steps:
                if step == "lease":
                    ends.append(trio.Event())
                    await nursery.start(call, ends[-1])
                elif step == "end" and ends:
                    ends.pop(0).set()
                elif step == "lose" and pool.sessions:
                    pool.lost(pool.sessions[-1])
                elif isinstance(step, float):
                    await trio.sleep(step)
                await trio.lowlevel.checkpoint()
                live = [s for s in pool.sessions if not s.lost]
                assert len(pool.sessions) <= cap
                assert _FakeUpstream.opened >= len(live)
            await trio.sleep(1.5)  # one supervisor round
            assert pool.primary is not None
            for end in ends:
                end.set()
            await trio.sleep(4)  # past the idle timeout
            assert [s.primary for s in pool.sessions] == [True]
            nursery.cancel_scope.cancel()
        assert pool.sessions == [] and _FakeUpstream.opened == 0

    trio.run(run, clock=trio.testing.MockClock(autojump_threshold=0))
