"""The order of one request's progress notifications, the same rule in both eras.

progress: "The progress value MUST increase with each notification, even if
the total is unknown." A handshake session keeps one :class:`ProgressOrder`
per request in flight; a stateless request keeps its own.
"""

from __future__ import annotations

from ._errors import LocalProtocolError

__all__ = ["ProgressOrder"]


class ProgressOrder:
    """The progress values sent for one request so far: each must exceed the last."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: float | None = None

    def advance(self, progress: float) -> None:
        """Record that ``progress`` is sent; :class:`LocalProtocolError` (and
        nothing recorded) unless it is greater than the last value sent."""
        last = self._last
        if last is not None and not progress > last:
            raise LocalProtocolError("progress must increase with each notification")
        self._last = progress
