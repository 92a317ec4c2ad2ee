"""The bounded cache a config keeps of results that are pure functions of it.

A config lives as long as the server, so what it remembers must be bounded:
each cache has a limit and says what happens when it is full. Nothing is
cached at module level (a module global is read-only).
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__: list[str] = []

_K = TypeVar("_K")
_V = TypeVar("_V")


class _BoundedCache(Generic[_K, _V]):
    """Results of a pure function of the config that owns them, at most ``limit``.

    ``entries`` is a plain dict: a look-up is one ``entries.get``. When full, the
    cache either starts afresh (``clear_when_full``: what recurs now is what is
    worth keeping) or keeps what it has and remembers nothing more (the values
    seen first are the common ones, and a flood of new ones must not push them
    out).
    """

    __slots__ = ("clear_when_full", "entries", "limit")

    def __init__(self, limit: int, *, clear_when_full: bool) -> None:
        self.entries: dict[_K, _V] = {}
        self.limit = limit
        self.clear_when_full = clear_when_full

    def remember(self, key: _K, value: _V) -> None:
        """Keep ``value`` for ``key``, within the limit."""
        entries = self.entries
        if len(entries) >= self.limit:
            if not self.clear_when_full:
                return
            entries.clear()
        entries[key] = value
