"""The operator's endpoints beside MCP's, as pure decisions: liveness, readiness, metrics.

An orchestrator asks a node whether it lives (``/healthz``) and whether it
should be sent traffic (``/readyz``); a monitoring system scrapes its figures
(``/metrics``). These paths are not MCP: they answer any ``Host`` (a
Kubernetes probe sends the pod's address), take ``GET`` and ``HEAD`` (whose
answer the front sends without its body), and carry plain text. Their paths
are settings of :class:`~scaled_mcp.protocol.http.HttpConfig` (``None`` turns
one off, and the path then answers 404 like any other).

What the node answers -- whether it is ready, its figures -- is the caller's
to find out (that is I/O); here are only the route and the shape of the answers.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from ._http_request import Headers

__all__ = ["ProbeKind", "ServeProbe", "liveness_reply", "metrics_reply", "readiness_reply"]

_TEXT: Final[Headers] = (
    ("content-type", "text/plain; charset=utf-8"),
    # A probe's answer is about now: no cache may keep it.
    ("cache-control", "no-store"),
)


class ProbeKind(enum.Enum):
    """Which operator endpoint a request addresses."""

    #: The process is alive and serves HTTP: always 200 while it does.
    HEALTH = "health"
    #: The node should get traffic: its broker answers and it is not draining.
    READY = "ready"
    #: The node's figures in the Prometheus text format.
    METRICS = "metrics"


@attrs.frozen(slots=True)
class ServeProbe:
    """A ``GET`` (or ``HEAD``) of an operator endpoint: answer it with :func:`liveness_reply`,
    :func:`readiness_reply` or :func:`metrics_reply` as ``kind`` says."""

    kind: ProbeKind


def liveness_reply() -> tuple[int, Headers, bytes]:
    """The answer of ``/healthz``: 200, the process serves."""
    return 200, _TEXT, b"ok\n"


def readiness_reply(problem: str | None) -> tuple[int, Headers, bytes]:
    """The answer of ``/readyz``: 200 when ``problem`` is ``None``, else 503 naming it
    (one line, e.g. ``"draining"`` or ``"the broker does not answer"``)."""
    if problem is None:
        return 200, _TEXT, b"ready\n"
    line = " ".join(problem.split())
    return 503, _TEXT, f"not ready: {line}\n".encode()


def metrics_reply(body: bytes, content_type: str) -> tuple[int, Headers, bytes]:
    """The answer of ``/metrics``: the exposition ``body`` the caller rendered, in
    its ``content_type``."""
    return 200, (("content-type", content_type), ("cache-control", "no-store")), body
