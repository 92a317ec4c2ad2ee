"""The ``requestState`` keys of a node without keys of its own: the cluster's.

A node given no ``request_state_keys`` (no ``--state-key``) seals with the key set
its backend keeps for the whole cluster (:class:`~scaled_mcp.cluster.SharedKeySet`):
read once at start, before the node serves, and again every
``state_key_refresh`` seconds, so that a rotation reaches every node. Nodes on
one store therefore open each other's ``requestState``; nodes with keys of their
own never read the store's.

A store that loses the set (a Redis restarted without persistence) gets a new one
from the first node to ask; the nodes keep opening what the lost keys sealed for the
rotation's grace period.

If the store does not answer at start, the node serves anyway (as it does for
every other request needing the store), but until the keys are read it answers a
retry carrying a ``requestState`` with 503, and a handler's input-required result
with an error saying why: sealing with a key of its own would make round trips
fail on every other node, quietly. Plain calls are served.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Final

import trio

from ..cluster import DEFAULT_STATE_KEY_GRACE, STATE_KEYS_NAME, BackendUnavailable, SharedKeySet
from ..protocol.stateless import RequestStateSealer
from ._node import Node

__all__ = ["SharedStateKeys"]

_log = logging.getLogger("scaled_mcp.runtime")

#: What a node answers (503) while it has not read the cluster's keys.
PENDING: Final = (
    "this node has not read the cluster's requestState keys from the broker yet "
    "(it did not answer); retrying"
)


class SharedStateKeys:
    """Reads the cluster's key set into the node's sealer, at start and then periodically."""

    __slots__ = ("_installed", "_lost", "_lost_until", "_node", "_warned")

    def __init__(self, node: Node) -> None:
        self._node = node
        self._installed: list[tuple[str, bytes]] | None = None
        self._warned = False
        # Keys the store lost (a Redis restarted without persistence) that still
        # open tokens until ``_lost_until``.
        self._lost: list[tuple[str, bytes]] = []
        self._lost_until = 0.0

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys in use (the sealing one first); empty until read."""
        return tuple(key_id for key_id, _ in self._installed or ())

    async def start(self) -> None:
        """Read the keys before the node serves, within ``readiness_timeout``
        seconds; if the store does not answer, mark ``requestState`` pending."""
        if not await self.refresh():
            self._node.request_state_pending = PENDING

    async def keep_current(self) -> None:
        """Re-read the keys every ``state_key_refresh`` seconds (forever)."""
        while True:
            await trio.sleep(self._node.config.state_key_refresh)
            await self.refresh()

    def _with_lost(self, keys: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        """``keys``, plus the keys in use before the store lost them, for a grace period."""
        now = time.time()
        installed = self._installed
        if installed is not None and not {k for k, _ in keys} & {k for k, _ in installed}:
            # A set sharing no key with the one in use: the store lost it and the
            # first node to ask minted another. What was sealed before stays valid.
            _log.warning("the cluster's requestState keys were replaced by new ones")
            self._lost = [key for key in installed if key not in self._lost] + self._lost
            self._lost_until = now + DEFAULT_STATE_KEY_GRACE
        if now >= self._lost_until:
            self._lost = []
        ids = {k for k, _ in keys}
        return keys + [key for key in self._lost if key[0] not in ids]

    async def refresh(self) -> bool:
        """Read the key set (minting it if the store has none) and use the keys in
        force now; whether it was read."""
        node = self._node
        minted = SharedKeySet.minted(f"c{secrets.token_hex(4)}", secrets.token_bytes(32))
        stored = None
        reason = "no answer in time"
        with trio.move_on_after(node.config.readiness_timeout):
            try:
                stored = await node.backend.nodes.shared(STATE_KEYS_NAME, minted.encode())
            except BackendUnavailable as exc:
                reason = str(exc)
        if stored is None:
            if not self._warned:
                _log.warning("cannot read the cluster's requestState keys: %s", reason)
                self._warned = True
            return False
        try:
            keys = SharedKeySet.decode(stored).in_force(time.time())
        except ValueError as exc:  # never names a secret
            if not self._warned:
                _log.error("the cluster's requestState keys are unreadable: %s", exc)
                self._warned = True
            return False
        if self._warned:
            _log.warning("read the cluster's requestState keys")
            self._warned = False
        keys = self._with_lost(keys)
        if keys != self._installed:
            node.dispatcher.use_sealer(RequestStateSealer(keys))
            self._installed = keys
            _log.info("requestState keys in use: %s", ", ".join(self.key_ids))
        node.request_state_pending = None
        return True
