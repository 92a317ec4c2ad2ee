"""The suite's running order (the slowest modules first), and the fixtures every
module may use: a module's redis-server and 3-node cluster (``tests/cluster.py``).

``scripts/test`` runs the suite on pytest-xdist workers, each taking whole modules
(``--dist loadfile``) in collection order (``--no-loadscope-reorder``). Started first,
the modules that wait longest (real clusters, the official harness, many CLI
processes) overlap the many short ones instead of one of them being left alone at
the end. The order changes no outcome; a module missing below only runs in its
alphabetical place. ``--durations`` in the test command's output shows what to add.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .cluster import cluster, folder, redis

__all__ = ["cluster", "folder", "redis"]

#: The slowest modules, slowest first (measured on two cores).
SLOW_FIRST: tuple[str, ...] = (
    "test_conformance.py",
    "test_cluster.py",
    "test_skills_client.py",
    "test_client_e2e_cluster.py",
    "test_gateway_conformance.py",
    "test_cli_errors.py",
    "test_tasks_cluster.py",
    "test_http1.py",  # CPU: one property test against h11 takes ~1 min
    "test_types.py",
    "test_harness_peers.py",
    "test_harness_check_ours.py",
    "test_websocket_client_cluster.py",
    "test_websocket_cluster.py",
    "test_gateway_cluster.py",
    "test_session_state_cluster.py",
    "test_auth_cluster.py",
    "test_cli_cluster.py",
    "test_cli_options.py",
    "test_cli_broker.py",
    "test_cli_workers.py",
    "test_harness_load.py",
    "test_cli.py",
)
#: Modules run last, when little else runs beside them: the client leg of the official
#: harness starts a Python client for each of its ~48 scenarios at once, each with a
#: deadline.
LAST: tuple[str, ...] = ("test_conformance_client.py",)
_RANK = {
    **{name: rank for rank, name in enumerate(SLOW_FIRST)},
    **{name: len(SLOW_FIRST) + 1 + rank for rank, name in enumerate(LAST)},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the slow modules first, in :data:`SLOW_FIRST` order, and :data:`LAST` last
    (a stable sort: the tests of a module and the other modules keep their order)."""
    items.sort(key=lambda item: _RANK.get(Path(str(item.path)).name, len(SLOW_FIRST)))
