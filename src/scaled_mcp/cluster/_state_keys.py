"""The cluster's ``requestState`` keys, as the store keeps them.

Nodes started without keys of their own (``--state-key``) share one set, kept in
the store as the value :data:`STATE_KEYS_NAME` (see
:meth:`~scaled_mcp.cluster.NodeRegistry.shared`): the first node to start mints
it, the others read it, every node re-reads it now and then. A rotation
(:meth:`SharedKeySet.rotated`) adds a key that starts sealing a little later --
once every node had time to read it and can open what it seals -- and keeps the
previous keys opening tokens for a grace period, so that a round trip begun
before the rotation still completes.

The set is stored as JSON; the secrets are in it, base64url-encoded: whoever can
read the store can read them (the store is already trusted with every session).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

import attrs
import orjson

from ..protocol.stateless import MIN_REQUEST_STATE_SECRET_SIZE

__all__ = [
    "DEFAULT_STATE_KEY_ACTIVATION",
    "DEFAULT_STATE_KEY_GRACE",
    "DEFAULT_STATE_KEY_REFRESH",
    "STATE_KEYS_NAME",
    "SharedKey",
    "SharedKeySet",
]

#: The name of the key set among the cluster's shared values.
STATE_KEYS_NAME: Final = "request-state-keys"
#: Seconds between a node's reads of the key set.
DEFAULT_STATE_KEY_REFRESH: Final = 5.0
#: Seconds after a rotation before the new key seals: several refreshes, so that
#: every node can open its tokens before any node makes one.
DEFAULT_STATE_KEY_ACTIVATION: Final = 30.0
#: Seconds the keys a rotation replaced keep opening tokens once the new key
#: seals: longer than a ``requestState`` lives (600 seconds by default).
DEFAULT_STATE_KEY_GRACE: Final = 900.0
#: Keys a set may hold (a rotation drops the expired ones; many rotations within a
#: grace period keep them all).
_MAX_KEYS: Final = 16
_KEY_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _number(value: Any, what: str) -> float:
    if type(value) not in (int, float):
        raise ValueError(f"{what} is not a number")
    return float(value)


@attrs.frozen(slots=True)
class SharedKey:
    """One key of the set: it seals from ``active_from`` (seconds since the epoch)
    and opens tokens until ``retire_at`` (``None``: until a rotation replaces it)."""

    key_id: str
    secret: bytes = attrs.field(repr=False)
    active_from: float = 0.0
    retire_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Its JSON form (the secret base64url-encoded)."""
        return {
            "id": self.key_id,
            "secret": base64.urlsafe_b64encode(self.secret).decode("ascii"),
            "from": self.active_from,
            "until": self.retire_at,
        }

    @classmethod
    def from_json(cls, value: Any) -> SharedKey:
        """Read its JSON form; :class:`ValueError` if it is not one."""
        if not isinstance(value, dict):
            raise ValueError("a key is not an object")
        key_id = value.get("id")
        if type(key_id) is not str or _KEY_ID.fullmatch(key_id) is None:
            raise ValueError("a key has no valid id")
        encoded = value.get("secret")
        if type(encoded) is not str:
            raise ValueError(f"key {key_id} has no secret")
        try:
            secret = base64.urlsafe_b64decode(encoded.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError(f"key {key_id} has a secret that is not base64url") from None
        if len(secret) < MIN_REQUEST_STATE_SECRET_SIZE:
            raise ValueError(f"key {key_id} has a secret shorter than 32 bytes")
        until = value.get("until")
        return cls(
            key_id,
            secret,
            _number(value.get("from", 0.0), f"key {key_id}'s start"),
            None if until is None else _number(until, f"key {key_id}'s end"),
        )


@attrs.frozen(slots=True)
class SharedKeySet:
    """The cluster's ``requestState`` keys, newest first."""

    keys: tuple[SharedKey, ...]

    @classmethod
    def minted(cls, key_id: str, secret: bytes) -> SharedKeySet:
        """A first set: one key, sealing from the start."""
        return cls((SharedKey(key_id, secret),))

    def encode(self) -> bytes:
        """The set as stored."""
        return orjson.dumps({"keys": [key.to_json() for key in self.keys]})

    @classmethod
    def decode(cls, data: bytes) -> SharedKeySet:
        """Read a stored set; :class:`ValueError` (never naming a secret) if it is not one."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ValueError("the stored requestState keys are not JSON") from None
        keys = value.get("keys") if isinstance(value, dict) else None
        if not isinstance(keys, list) or not keys or len(keys) > _MAX_KEYS:
            raise ValueError(f"the stored requestState keys are not a list of 1 to {_MAX_KEYS}")
        read = tuple(SharedKey.from_json(key) for key in keys)
        if len({key.key_id for key in read}) != len(read):
            raise ValueError("the stored requestState keys repeat an id")
        return cls(read)

    def in_force(self, now: float) -> list[tuple[str, bytes]]:
        """The ``(key_id, secret)`` pairs a node uses at ``now``: the key that seals
        first (the newest already active), then the others still opening tokens
        (the sealer of :mod:`scaled_mcp.protocol.stateless` takes them so)."""
        opening = [k for k in self.keys if k.retire_at is None or k.retire_at > now]
        if not opening:  # every key retired: a set no rotation would write; keep the newest
            opening = [self.keys[0]]
        sealing = next((k for k in opening if k.active_from <= now), opening[-1])
        return [(sealing.key_id, sealing.secret)] + [
            (k.key_id, k.secret) for k in opening if k is not sealing
        ]

    def rotated(
        self,
        key_id: str,
        secret: bytes,
        *,
        now: float,
        activation: float = DEFAULT_STATE_KEY_ACTIVATION,
        grace: float = DEFAULT_STATE_KEY_GRACE,
    ) -> SharedKeySet:
        """The set with ``(key_id, secret)`` added: it seals ``activation`` seconds
        after ``now``; the keys it replaces open tokens ``grace`` seconds more.
        Keys already retired at ``now`` are dropped. :class:`ValueError` if the id
        is taken or invalid, the secret too short, or the set would grow past 16."""
        if _KEY_ID.fullmatch(key_id) is None:
            raise ValueError("a key id is 1-64 characters of [A-Za-z0-9_-]")
        if len(secret) < MIN_REQUEST_STATE_SECRET_SIZE:
            raise ValueError("a requestState secret is at least 32 bytes")
        if activation < 0 or grace < 0:
            raise ValueError("activation and grace are not negative")
        starts = now + activation
        ends = starts + grace
        kept = []
        for key in self.keys:
            if key.retire_at is not None and key.retire_at <= now:
                continue
            if key.key_id == key_id:
                raise ValueError(f"key id {key_id} is in the set already")
            until = ends if key.retire_at is None else min(key.retire_at, ends)
            kept.append(attrs.evolve(key, retire_at=until))
        if len(kept) + 1 > _MAX_KEYS:
            raise ValueError(f"more than {_MAX_KEYS} keys within a grace period")
        return SharedKeySet((SharedKey(key_id, secret, starts), *kept))
