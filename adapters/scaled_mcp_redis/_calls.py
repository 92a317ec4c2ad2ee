"""How every call to Redis runs: with a deadline, and "Redis cannot be reached"
turned into :class:`~scaled_mcp.cluster.BackendUnavailable` (the runtime answers 503)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import coredis.exceptions
import trio

from scaled_mcp.cluster import BackendUnavailable

__all__ = ["DEFAULT_OPERATION_TIMEOUT"]

_T = TypeVar("_T")

#: Seconds any one Redis call may take before Redis counts as unavailable.
DEFAULT_OPERATION_TIMEOUT: Final = 5.0

# What means "Redis cannot be reached now" (a script or command error is a bug, and raises).
_REDIS_ERRORS = (
    coredis.exceptions.ConnectionError,
    coredis.exceptions.BusyLoadingError,
    coredis.exceptions.ReadOnlyError,
    OSError,
    TimeoutError,
    trio.TooSlowError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)


class _Calls:
    """Runs Redis calls with a deadline, turning failures into BackendUnavailable."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def __call__(self, call: Callable[[], Awaitable[_T]], *, extra: float = 0.0) -> _T:
        try:
            with trio.fail_after(self.timeout + extra):
                return await call()
        except _REDIS_ERRORS as exc:
            raise BackendUnavailable(f"Redis is unavailable: {type(exc).__name__}: {exc}") from None
