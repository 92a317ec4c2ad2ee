"""The h11 front's hold on its connections: its limits (:class:`H11Config`), the
watchdog of its two timeouts, the shedding of connections waiting for a request when
all slots are taken, and the lingering close of a connection whose request was
refused unread. The socket reads they share are here too."""

from __future__ import annotations

import enum
import socket
from typing import Final

import attrs
import trio

__all__ = [
    "GONE",
    "IDLE",
    "READING",
    "RUNNING",
    "Clock",
    "H11Config",
    "Phase",
    "lingering_close",
    "receive",
    "shed_one",
    "watchdog",
]

_READ_SIZE: Final = 65536


# The front reads and writes the trio socket itself: SocketStream's error
# translation and conflict detection cost about a tenth of a request here. A
# reset or closed connection surfaces as OSError (or ClosedResourceError once
# the socket is closed locally).
GONE: Final = (OSError, trio.ClosedResourceError)


async def receive(sock: trio.socket.SocketType) -> bytes:
    """Up to ``_READ_SIZE`` bytes; ``b""`` once the client has closed (or reset) its side."""
    try:
        return await sock.recv(_READ_SIZE)
    except GONE:
        return b""


@attrs.frozen(slots=True, kw_only=True)
class H11Config:
    """Connection limits of the h11 front.

    * ``keep_alive_timeout`` -- seconds an idle keep-alive connection is kept;
    * ``read_timeout`` -- seconds to receive a whole request once it began;
    * ``max_header_size`` -- bytes of request line and headers at most (431 past it);
    * ``max_connections`` -- connections served at once; more wait in the backlog;
    * ``timeout_granularity`` -- seconds between checks of the two timeouts above;
    * ``shed_after`` -- with ``max_connections`` served and more waiting, the
      connection that has waited longest for a request, if more than this many
      seconds, is closed to make room (one being answered never is);
    * ``linger_timeout`` and ``linger_max_bytes`` -- how long, and how many bytes at
      most, a connection closed on a request whose body was not read (413, 408, a
      malformed request) goes on reading and discarding what the client still sends,
      so that the client reads the answer rather than a reset (RFC 9112, 9.6).
    """

    keep_alive_timeout: float = 75.0
    read_timeout: float = 30.0
    max_header_size: int = 64 * 1024
    max_connections: int = 10_000
    timeout_granularity: float = 1.0
    shed_after: float = 1.0
    linger_timeout: float = 2.0
    linger_max_bytes: int = 16 * 1024 * 1024


class Phase(enum.Enum):
    """Where a connection is, for the watchdog's two timeouts."""

    IDLE = "idle"  # between requests: keep_alive_timeout
    READING = "reading"  # a request began and is not read whole: read_timeout
    RUNNING = "running"  # the runtime answers: no limit of the front's


IDLE: Final = Phase.IDLE
READING: Final = Phase.READING
RUNNING: Final = Phase.RUNNING


class Clock:
    """Where one connection is and since when, for the watchdog."""

    __slots__ = ("phase", "scope", "shed", "since")

    def __init__(self, scope: trio.CancelScope) -> None:
        self.scope = scope
        self.phase = IDLE
        self.since = trio.current_time()
        #: Closed to make room for a new connection (see :func:`shed_one`).
        self.shed = False


def shed_one(clocks: set[Clock], config: H11Config) -> bool:
    """Close the connection that has waited longest for a request (idle, or
    sending one), to make room for one waiting to be accepted; false if every
    connection is being answered or began waiting less than ``shed_after`` ago
    (a connection just accepted gets the time to send its request).

    Without this, ``max_connections`` slow or idle connections (a slowloris
    crowd) would keep every new client in the backlog until their timeouts.
    A connection being answered is never shed; an idle keep-alive one costs its
    client a reconnect.
    """
    cutoff = trio.current_time() - config.shed_after
    waiting = [
        clock
        for clock in clocks
        if clock.phase is not RUNNING and not clock.shed and clock.since <= cutoff
    ]
    if not waiting:
        return False
    oldest = min(waiting, key=lambda clock: clock.since)
    oldest.shed = True
    oldest.scope.cancel()
    return True


async def watchdog(clocks: set[Clock], config: H11Config) -> None:
    """Close connections idle past ``keep_alive_timeout`` or slower than
    ``read_timeout`` to send a request. One task for every connection: a
    request then costs two attribute writes instead of cancel-scope deadlines."""
    limits: dict[Phase, float] = {IDLE: config.keep_alive_timeout, READING: config.read_timeout}
    while True:
        await trio.sleep(config.timeout_granularity)
        now = trio.current_time()
        for clock in tuple(clocks):
            limit = limits.get(clock.phase)
            if limit is not None and now - clock.since > limit:
                clock.scope.cancel()


async def lingering_close(sock: trio.socket.SocketType, config: H11Config) -> None:
    """RFC 9112, 9.6: "A server that receives a request it will not read whole
    ... SHOULD initiate a lingering close": half-close, then read and discard what
    the client still sends, for a bounded time and number of bytes, so the answer
    already sent is not destroyed by a reset."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return  # already gone
    drained = 0
    with trio.move_on_after(config.linger_timeout):
        while drained < config.linger_max_bytes:
            data = await receive(sock)
            if not data:
                return
            drained += len(data)
