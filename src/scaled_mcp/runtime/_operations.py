"""The operator's view of a node: its readiness, and the answers of its probes and figures.

The node is ready when its broker answers and it is not draining. The broker is
asked every ``readiness_interval`` seconds, each time within
``readiness_timeout`` seconds, so ``/readyz`` turns 503 within about the sum of
the two after the broker goes away, and 200 again at its first answer. A
probe's answer never waits on the broker: it reads what the watcher last saw.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ..cluster import BackendUnavailable
from ..protocol.http import (
    ProbeKind,
    ServeProbe,
    liveness_reply,
    metrics_reply,
    readiness_reply,
)
from ._front import Responder
from ._metrics import Metrics
from ._node import Node

if TYPE_CHECKING:
    from ._runtime_config import RuntimeConfig

__all__ = ["Operations"]

_log = logging.getLogger("scaled_mcp.runtime")

#: The answer of ``/metrics`` when the runtime keeps no figures.
_NO_METRICS = (
    404,
    (("content-type", "text/plain; charset=utf-8"),),
    b"Not Found: this node keeps no metrics\n",
)


class Operations:
    """Readiness and the operator's endpoints of one node."""

    def __init__(self, node: Node, config: RuntimeConfig, metrics: Metrics | None) -> None:
        self._node = node
        self._config = config
        self.metrics = metrics
        #: Set by :meth:`stop_ready`: the node is about to stop accepting.
        self.draining = False
        #: Why the broker is not usable, as last seen; not checked yet at first.
        self.broker_problem: str | None = "the broker has not answered yet"

    def problem(self) -> str | None:
        """Why the node is not ready, or ``None`` when it is."""
        if self.draining or self._node.closing.is_set():
            return "draining"
        return self.broker_problem

    def stop_ready(self) -> None:
        """Report not ready from now on (a drain begins: traffic goes elsewhere)."""
        self.draining = True

    async def watch_broker(self) -> None:
        """Ask the broker, every ``readiness_interval`` seconds, whether it answers."""
        interval = self._config.readiness_interval
        timeout = self._config.readiness_timeout
        nodes = self._node.backend.nodes
        node_id = self._node.node_id
        while True:
            problem: str | None = f"the broker does not answer within {timeout:g} s"
            with trio.move_on_after(timeout):
                try:
                    await nodes.alive(node_id)
                except BackendUnavailable as exc:
                    problem = f"the broker does not answer ({exc})"
                else:
                    problem = None
            if problem != self.broker_problem:
                if problem is None:
                    _log.info("ready: the broker answers")
                else:
                    _log.warning("not ready: %s", problem)
                self.broker_problem = problem
            await trio.sleep(interval)

    async def share_metrics(self) -> None:
        """With ``--workers N``: write this node's figures every second for the others."""
        metrics = self.metrics
        if metrics is None or metrics.share_dir is None:
            return
        try:
            while True:
                try:
                    metrics.share()
                except OSError as exc:
                    _log.warning("cannot share the metrics: %s", exc)
                await trio.sleep(1.0)
        finally:
            metrics.unshare()

    async def answer(self, probe: ServeProbe, responder: Responder) -> None:
        """Answer ``/healthz``, ``/readyz`` or ``/metrics``."""
        if probe.kind is ProbeKind.HEALTH:
            reply = liveness_reply()
        elif probe.kind is ProbeKind.READY:
            reply = readiness_reply(self.problem())
        elif self.metrics is None:
            reply = _NO_METRICS
        else:
            reply = metrics_reply(*self.metrics.exposition())
        await responder.respond(*reply)
