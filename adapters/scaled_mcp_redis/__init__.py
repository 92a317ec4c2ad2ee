"""The Redis backend: the cluster ports on Redis, through coredis, natively on trio.

What lives in Redis (every key under a prefix, ``mcp:`` by default):

* ``s:<session>`` -- a handshake-era session's plain data (JSON), expiring after the
  idle timeout; rewritten (and so renewed) as the session is used;
* ``a:<session>`` -- the application's document of a session (``ctx.session_state``),
  only once written: ``<version>:<JSON>``, written by compare-and-set, renewed and
  removed with its session;
* ``e:<session>:<stream>`` -- the SSE events of one stream, a Redis Stream whose entry
  ids are ``0-<seq>`` (so an event id ``<stream>:<seq>`` names its entry), trimmed to
  about ``max_stream_events`` and expiring ``stream_ttl`` after the last append;
  ``m:<session>:<stream>`` holds its counter, ``l:<session>`` the session's streams;
* ``n:<node>`` -- a node's heartbeat, expiring when the node stops renewing it; its
  value is the node's status (JSON: sessions live there, streams open, handlers running);
* ``k:<lease>`` -- a lease and its holder: ``k:get:<session>`` names the node (and
  stream) holding that session's GET stream;
* ``v:<name>`` -- a cluster-wide value, without expiry: ``v:request-state-keys`` holds
  the ``requestState`` keys of the nodes started without ``--state-key`` (JSON, the
  secrets base64url-encoded), minted by the first node, replaced by
  ``scaled-mcp cluster rotate-state-key``;
* pub/sub channels ``<prefix>broadcast`` and ``<prefix>node:<node>`` -- messages between
  nodes (at most once: a node that is not listening misses them).

The session read every request makes goes over a small pool of plain RESP2
connections parsed by hiredis (``_direct``: coredis's per-command machinery costs
several times the round trip); everything else goes through coredis.

One pub/sub connection per node carries every subscription, fanned out in memory;
no thread per subscription. Every call has a deadline; a Redis that cannot be
reached raises :class:`~scaled_mcp.cluster.BackendUnavailable` (the runtime
answers 503), and the subscriber reconnects with backoff.

Redis Cluster: the keys of one session share the hash tag ``{<session>}`` so that
a stream's scripts touch one slot; pass a ``redis://`` URL of any cluster node with
``cluster=True``. Sentinel deployments use ``coredis.sentinel`` to find the master
and hand its URL here.

Modules: ``_backend`` (:class:`RedisBackend`, the URL), ``_sessions``, ``_events``,
``_broker`` and ``_nodes`` (one port each), ``_status`` (the cluster as the store
holds it, for ``scaled-mcp cluster status``), ``_scripts`` (their Lua), ``_direct`` (the
direct session read), ``_calls`` (deadlines and errors of every call).
"""

from __future__ import annotations

from ._backend import RedisBackend as RedisBackend
from ._broker import RedisBroker as RedisBroker
from ._calls import DEFAULT_OPERATION_TIMEOUT as DEFAULT_OPERATION_TIMEOUT
from ._direct import MAX_INCOMPLETE_REPLY_SIZE as MAX_INCOMPLETE_REPLY_SIZE
from ._events import RedisEventLog as RedisEventLog
from ._nodes import RedisNodeRegistry as RedisNodeRegistry
from ._sessions import RedisSessionStore as RedisSessionStore
from ._status import (
    ClusterStatus as ClusterStatus,
    NodeStatus as NodeStatus,
    cluster_status as cluster_status,
)
from ._tasks import RedisTaskStore as RedisTaskStore

__all__ = [
    "DEFAULT_OPERATION_TIMEOUT",
    "ClusterStatus",
    "MAX_INCOMPLETE_REPLY_SIZE",
    "NodeStatus",
    "RedisBackend",
    "RedisBroker",
    "RedisEventLog",
    "RedisNodeRegistry",
    "RedisSessionStore",
    "RedisTaskStore",
    "cluster_status",
]
