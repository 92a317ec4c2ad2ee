"""Input-required rounds re-run the handler from the start; what it reported in an
earlier round is not reported again.

The README's ``plan_trip`` asks twice (an elicitation, then a sampling request): on
the 2026-07-28 wire that is three rounds, each running the handler from its first
line. The client must see each progress update and the log line once, as on a
handshake-era session where the handler runs once. The sealed ``requestState``
carries how many reports the earlier rounds made (:class:`EarlierRounds`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given, strategies as st

from scaled_mcp.cli import load_target
from scaled_mcp.client import Client
from scaled_mcp.protocol.stateless import EarlierRounds, RequestBinding, RequestStateSealer
from scaled_mcp.server import MCPServer

from .helpers import serving

README = Path(__file__).parent.parent / "README.md"
HANG = 20.0

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
answers = st.dictionaries(
    st.text(min_size=1, max_size=16),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    max_size=4,
)


@given(answers, st.integers(min_value=0, max_value=10_000))
def test_earlier_rounds_survive_sealing(got: dict[str, Any], reported: int) -> None:
    sealer = RequestStateSealer([("k", b"s" * 32)])
    rounds = EarlierRounds(got, reported)
    binding = RequestBinding("tools/call", "plan_trip")
    token = sealer.seal(rounds.to_state(), binding=binding, now=0.0, ttl=60.0)
    assert EarlierRounds.from_state(sealer.open(token, binding=binding, now=1.0)) == rounds


@given(answers, st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=50))
def test_a_report_is_sent_once_over_all_rounds(
    got: dict[str, Any], earlier: int, this_round: int
) -> None:
    rounds = EarlierRounds(got, earlier)
    sent_now = [n for n in range(1, this_round + 1) if not rounds.already_reported(n)]
    assert sent_now == list(range(earlier + 1, this_round + 1))
    following = rounds.next_round({"k": {}}, this_round)
    assert following.reported == max(earlier, this_round)
    assert following.answers == {"k": {}}


def test_states_sealed_without_the_count_hold_answers_only() -> None:
    bare = {"elicitation-1": {"action": "accept"}}
    assert EarlierRounds.from_state(bare) == EarlierRounds(bare, 0)
    assert EarlierRounds.from_state(["not", "an", "object"]) == EarlierRounds()
    assert EarlierRounds.from_state({"answers": {}, "reported": -1}).reported == 0


def readme_app(tmp_path: Path) -> MCPServer:
    source = README.read_text().split("```python\n# app.py\n", 1)[1].split("```", 1)[0]
    (tmp_path / "app.py").write_text(source)
    app = load_target(str(tmp_path / "app.py"))
    assert isinstance(app, MCPServer)
    return app


def sample(params: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": {"type": "text", "text": "a museum"}, "model": "m"}


@pytest.mark.parametrize("mode", ["stateless", "handshake"])
async def test_plan_trip_reports_each_update_once(tmp_path: Path, mode: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []
    logs: list[tuple[str, Any]] = []

    def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    def on_log(level: str, data: Any, logger: str | None) -> None:
        logs.append((level, data))

    with trio.fail_after(HANG):
        async with (
            serving(readme_app(tmp_path), "h11") as port,
            Client(
                f"http://127.0.0.1:{port}/mcp",
                mode=mode,  # type: ignore[arg-type]
                sampling_handler=sample,
                elicitation_handler=lambda p: {"action": "accept", "content": {"date": "May 2"}},
                log_handler=on_log,
                progress_handler=on_progress,
            ) as client,
        ):
            await client.set_logging_level("info")
            result = await client.call_tool("plan_trip", {"city": "Porto"})
            assert not result.is_error
            # Notifications of a call are delivered before its result.
            assert progress == [(0, 2, "asking the traveller"), (2, 2, None)]
            assert logs == [("info", "leaving {'date': 'May 2'}")]
