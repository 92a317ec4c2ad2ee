"""What a Redis holds about the cluster it serves: live nodes, their streams and work, sessions.

Read for ``scaled-mcp cluster status``: the heartbeats (``n:<node>``, each holding its
node's status), the GET stream leases (``k:get:<session>``, naming their holder) and
the session keys (``s:{<session>}``), each found with ``SCAN`` (never ``KEYS``: a large
store is walked in steps, without blocking it).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs
import coredis
import orjson

from scaled_mcp.cluster import BackendUnavailable

from ._calls import _REDIS_ERRORS

if TYPE_CHECKING:
    from ._backend import RedisBackend

__all__ = ["ClusterStatus", "NodeStatus", "cluster_status"]

#: Keys asked of Redis per SCAN step.
_SCAN_COUNT = 1000


@attrs.frozen(slots=True)
class NodeStatus:
    """One live node, as its last heartbeat said: ``sessions`` live in its memory,
    ``streams`` open (GET and legacy ``/sse``), ``in_flight`` handlers running, and
    ``get_streams``: the sessions whose GET stream it holds (from the leases)."""

    node_id: str
    sessions: int
    streams: int
    in_flight: int
    get_streams: int


@attrs.frozen(slots=True)
class ClusterStatus:
    """The live nodes, the sessions in the store, and GET stream leases held by no
    live node (``orphaned``: their node died; a client's next GET takes them over)."""

    nodes: tuple[NodeStatus, ...]
    sessions: int
    orphaned: int


async def _keys(client: Any, pattern: str) -> list[str]:
    return [
        key.decode() if isinstance(key, bytes) else str(key)
        async for key in client.scan_iter(match=pattern, count=_SCAN_COUNT)
    ]


async def _values(client: Any, keys: list[str]) -> list[bytes | None]:
    if isinstance(client, coredis.RedisCluster):  # keys of many slots: one at a time
        return [await client.get(key) for key in keys]
    values: list[bytes | None] = []
    for start in range(0, len(keys), _SCAN_COUNT):
        values.extend(await client.mget(keys[start : start + _SCAN_COUNT]))
    return values


def _number(document: dict[str, Any], name: str) -> int:
    value = document.get(name)
    return value if type(value) is int and value >= 0 else 0


async def cluster_status(backend: RedisBackend) -> ClusterStatus:
    """The cluster as ``backend``'s Redis holds it (call inside ``backend.run()``, within
    a deadline of the caller's); raises :class:`~scaled_mcp.cluster.BackendUnavailable`
    when Redis cannot be reached."""
    client, prefix = backend.client, backend.prefix
    try:
        node_keys = await _keys(client, f"{prefix}n:*")
        beats = await _values(client, node_keys)
        lease_keys = await _keys(client, f"{prefix}k:get:*")
        holders = await _values(client, lease_keys)
        sessions = len(await _keys(client, f"{prefix}s:*"))
    except _REDIS_ERRORS as exc:
        raise BackendUnavailable(f"Redis is unavailable: {type(exc).__name__}: {exc}") from None
    held = Counter(
        (holder.decode() if isinstance(holder, bytes) else str(holder)).partition("/")[0]
        for holder in holders
        if holder is not None
    )
    nodes = []
    for key, beat in zip(node_keys, beats, strict=True):
        if beat is None:  # expired between the SCAN and the read
            continue
        node_id = key.removeprefix(f"{prefix}n:")
        try:
            document = orjson.loads(beat)
        except orjson.JSONDecodeError:
            document = {}
        if not isinstance(document, dict):
            document = {}
        nodes.append(
            NodeStatus(
                node_id=node_id,
                sessions=_number(document, "sessions"),
                streams=_number(document, "streams"),
                in_flight=_number(document, "in_flight"),
                get_streams=held.pop(node_id, 0),
            )
        )
    nodes.sort(key=lambda node: node.node_id)
    return ClusterStatus(nodes=tuple(nodes), sessions=sessions, orphaned=sum(held.values()))
