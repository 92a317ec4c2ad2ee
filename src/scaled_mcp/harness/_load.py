"""The load generator behind ``scaled-mcp bench URL``: one MCP request repeated over N
keep-alive connections, closed loop at full speed or open loop at a fixed arrival rate.

The set-up opens the sessions (handshake revisions: ``initialize`` then
``notifications/initialized``, built and read by the core's :class:`ClientSession`)
and builds one :class:`RequestTemplate` per session (2026-07-28: no session, the
``_meta`` envelope from the core's :class:`StatelessClient`). The load itself runs on
non-blocking sockets under one ``epoll`` loop in this thread: the tool measures the
server, so it spends as little CPU per request as it can (the template is rendered
with a fresh id, the answer framed and judged by :mod:`._load_wire`). Several
processes (``processes``) split the connections when one core is not enough.

Latency is recorded in microseconds in an HDR-style :class:`Histogram`. Closed loop:
from the send to the answer. Open loop (``rate``): from the request's *intended*
send time, so a server that falls behind is charged for the queue it causes (no
coordinated omission). Every wait has a deadline: a request unanswered after
``timeout`` is a ``timeout`` error and its connection is replaced; after the run,
in-flight requests get ``timeout`` to finish.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import select
import socket
import time
from collections.abc import Sequence
from typing import Any, Final

import attrs

from scaled_mcp.protocol.client import ClientSession, HandshakeCompleted, StatelessClient
from scaled_mcp.protocol.jsonrpc import Request, message_from_json

from ._load_model import LoadConfig, LoadError, LoadResult, Progress
from ._load_wire import (
    Answer,
    RequestTemplate,
    ResponseReader,
    Target,
    WireError,
    messages_of,
    verdict,
)

__all__ = ["LoadConfig", "LoadError", "LoadResult", "Progress", "run_load"]

_CLIENT_INFO: Final = {"name": "scaled-mcp-bench", "version": "1"}
#: The ids of process ``k`` start at ``k * _ID_SPACE + 1``: they never repeat within a session.
_ID_SPACE: Final = 10**12
_NS: Final = 1_000_000_000
#: How often timeouts are looked for and the progress is reported (ns).
_TICK_NS: Final = 100_000_000


# -- set-up ------------------------------------------------------------------------------


def _exchange(target: Target, data: bytes, timeout: float) -> Answer:
    """One request on a fresh blocking connection, its answer read to the end."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout) as sock:
            sock.sendall(data)
            reader = ResponseReader()
            while True:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                answer = reader.feed(chunk) if chunk else reader.end()
                if answer is not None:
                    return answer
                if not chunk:
                    raise LoadError(f"{target.authority} closed the connection without answering")
    except (OSError, WireError) as exc:
        raise LoadError(f"{target.authority}: {exc}") from None


def open_session(config: LoadConfig) -> tuple[str, str | None]:
    """One initialized session: (negotiated revision, ``Mcp-Session-Id`` or ``None``)."""
    target = Target.parse(config.url)
    session = ClientSession(client_info=dict(_CLIENT_INFO), protocol_version=config.revision)
    request = session.initialize()
    template = RequestTemplate.build(
        target, request, protocol_version=None, extra_headers=config.headers
    )
    answer = _exchange(target, template.render(int(request.id)), config.timeout)
    if answer.status != 200:
        raise LoadError(f"initialize answered HTTP {answer.status}: {answer.body[:200]!r}")
    completed = None
    try:
        messages = [message_from_json(value) for value in messages_of(answer)]
    except Exception as exc:  # the body is the server's: any error is a refusal
        raise LoadError(f"initialize answered an unreadable body: {exc}") from None
    for message in messages:
        for event in session.receive(message):
            if isinstance(event, HandshakeCompleted):
                completed = event
    if completed is None:
        raise LoadError(f"initialize failed: {answer.body[:200]!r}")
    session_id = answer.header("mcp-session-id")
    notification = session.initialized()
    template = RequestTemplate.build(
        target,
        notification,
        protocol_version=completed.protocol_version,
        session_id=session_id,
        extra_headers=config.headers,
    )
    answer = _exchange(target, template.render(0), config.timeout)
    if not 200 <= answer.status < 300:
        raise LoadError(f"notifications/initialized answered HTTP {answer.status}")
    return completed.protocol_version, session_id


def templates(config: LoadConfig) -> list[RequestTemplate]:
    """The request of the load, once per session (one for the stateless wire)."""
    target = Target.parse(config.url)
    params = config.message_params()
    if config.stateless:
        client = StatelessClient(client_info=dict(_CLIENT_INFO), protocol_version=config.revision)
        request = client.request(config.method, params)
        return [
            RequestTemplate.build(
                target, request, protocol_version=config.revision, extra_headers=config.headers
            )
        ]
    found = []
    for _ in range(config.sessions):
        version, session_id = open_session(config)
        request = Request(id=0, method=config.method, params=params)
        found.append(
            RequestTemplate.build(
                target,
                request,
                protocol_version=version,
                session_id=session_id,
                extra_headers=config.headers,
            )
        )
    return found


# -- the load ------------------------------------------------------------------------------


class _Connection:
    __slots__ = ("busy", "pending", "reader", "sent_ns", "sock", "template")

    def __init__(self, sock: socket.socket, template: RequestTemplate) -> None:
        self.sock = sock
        self.template = template
        self.reader = ResponseReader()
        self.busy = False
        self.sent_ns = 0
        self.pending = b""  # what a send could not write yet


def _connect(target: Target, timeout: float) -> socket.socket:
    sock = socket.create_connection((target.host, target.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def _drive(
    config: LoadConfig,
    plans: Sequence[RequestTemplate],
    connections: int,
    first_id: int,
    progress: Progress | None = None,
) -> LoadResult:
    """The load itself, on ``connections`` connections of this process."""
    target = Target.parse(config.url)
    result = LoadResult(config)
    histogram = result.histogram
    record = histogram.record
    errors = result.errors
    timeout_ns = int(config.timeout * _NS)
    poller = select.epoll()
    by_fd: dict[int, _Connection] = {}
    readable = select.EPOLLIN | select.EPOLLRDHUP
    next_id = first_id
    limit = config.requests
    interval_ns = int(_NS / config.rate) if config.rate else 0

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    def attach(template: RequestTemplate) -> _Connection:
        connection = _Connection(_connect(target, config.timeout), template)
        by_fd[connection.sock.fileno()] = connection
        poller.register(connection.sock.fileno(), readable)
        return connection

    def replace(connection: _Connection) -> _Connection | None:
        fd = connection.sock.fileno()
        del by_fd[fd]
        poller.unregister(fd)
        connection.sock.close()
        try:
            return attach(connection.template)
        except OSError:
            error("connect")
            return None

    def send(connection: _Connection, intended_ns: int) -> None:
        nonlocal next_id
        data = connection.template.render(next_id)
        next_id += 1
        connection.busy = True
        connection.sent_ns = intended_ns
        result.sent += 1
        try:
            written = connection.sock.send(data)
        except BlockingIOError:
            written = 0
        except OSError:
            connection.busy = False
            error("send")
            fresh = replace(connection)
            if fresh is not None:
                spare.append(fresh)  # put to work at the next tick
            return
        if written < len(data):
            connection.pending = data[written:]
            poller.modify(connection.sock.fileno(), readable | select.EPOLLOUT)

    try:
        pool = [attach(plans[i % len(plans)]) for i in range(connections)]
    except OSError as exc:
        poller.close()
        for connection in by_fd.values():
            connection.sock.close()
        raise LoadError(f"cannot connect to {target.authority}: {exc}") from None
    del pool
    cpu_start = time.process_time()
    start = time.perf_counter_ns()
    end = start + int(config.duration * _NS) if config.duration is not None else None
    due = 0  # open loop: requests whose intended time has come, in order
    idle: list[_Connection] = []
    spare: list[_Connection] = []  # fresh connections that replaced one a send broke
    last_answer = start
    next_tick = start + _TICK_NS
    next_report = start + _NS
    reported = 0
    stopping = False
    stopped = drain_end = start

    def more(now: int) -> bool:
        if end is not None:
            return now < end
        return limit is not None and result.sent < limit

    now = start
    if interval_ns:
        idle = list(by_fd.values())
    else:
        for connection in list(by_fd.values()):
            if more(now):
                send(connection, time.perf_counter_ns())
    try:
        while by_fd:  # every connection lost and none could be made again: the end
            now = time.perf_counter_ns()
            if not stopping and not more(now):
                stopping = True
                stopped = now
                drain_end = now + timeout_ns
            if stopping and (not any(c.busy for c in by_fd.values()) or now >= drain_end):
                break
            if interval_ns and not stopping:
                # Every request whose intended time has come goes on an idle connection;
                # the others wait, and their latency counts from their intended time.
                intended = start + due * interval_ns
                while intended <= now and (limit is None or due < limit):
                    if not idle:
                        break
                    connection = idle.pop()
                    if connection.sock.fileno() not in by_fd:
                        continue
                    send(connection, intended)
                    due += 1
                    intended = start + due * interval_ns
                wait_ns = max(0, intended - now) if idle else _TICK_NS
                wait = min(wait_ns, _TICK_NS) / _NS
            else:
                wait = _TICK_NS / _NS
            for fd, flags in poller.poll(wait):
                found = by_fd.get(fd)
                if found is None:
                    continue
                connection = found
                if flags & select.EPOLLOUT and connection.pending:
                    try:
                        written = connection.sock.send(connection.pending)
                    except BlockingIOError:
                        written = 0
                    except OSError:
                        written = -1
                    if written < 0:
                        connection.busy = False
                        error("send")
                        replace(connection)
                        continue
                    connection.pending = connection.pending[written:]
                    if not connection.pending:
                        poller.modify(fd, readable)
                try:
                    data = connection.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                try:
                    answer = connection.reader.feed(data) if data else connection.reader.end()
                except WireError:
                    answer = None
                    error("bad response")
                    data = b""
                if answer is None:
                    if data:
                        continue
                    # The server closed the connection.
                    if connection.busy:
                        connection.busy = False
                        error("connection closed")
                    fresh = replace(connection)
                    if fresh is not None and not stopping:
                        if interval_ns:
                            idle.append(fresh)
                        elif more(time.perf_counter_ns()):
                            send(fresh, time.perf_counter_ns())
                    continue
                done = time.perf_counter_ns()
                connection.busy = False
                last_answer = done
                result.completed += 1
                record((done - connection.sent_ns) // 1000)
                kind = verdict(answer)
                if kind is None:
                    result.ok += 1
                else:
                    error(kind)
                if connection.reader.closes:
                    fresh = replace(connection)
                    if fresh is None:
                        continue
                    connection = fresh
                if stopping:
                    continue
                if interval_ns:
                    idle.append(connection)
                elif more(done):
                    send(connection, time.perf_counter_ns())
            now = time.perf_counter_ns()
            if now >= next_tick:
                next_tick = now + _TICK_NS
                for connection in list(by_fd.values()):
                    if connection.busy and now - connection.sent_ns > timeout_ns:
                        connection.busy = False
                        error("timeout")
                        fresh = replace(connection)
                        if fresh is not None and not stopping:
                            if interval_ns:
                                idle.append(fresh)
                            elif more(now):
                                send(fresh, now)
                while spare and not stopping:
                    connection = spare.pop()
                    if connection.sock.fileno() not in by_fd:
                        continue
                    if interval_ns:
                        idle.append(connection)
                    elif more(now):
                        send(connection, time.perf_counter_ns())
                if progress is not None and now >= next_report:
                    answers = result.completed
                    elapsed = (now - start) / _NS
                    progress(
                        elapsed,
                        answers,
                        result.error_count,
                        (answers - reported) / ((now - next_report + _NS) / _NS),
                    )
                    reported = answers
                    next_report = now + _NS
        for connection in by_fd.values():
            if connection.busy:
                error("timeout")
    finally:
        for connection in by_fd.values():
            connection.sock.close()
        poller.close()
    if interval_ns and end is not None:
        # The requests whose intended time came before the end (limit or not).
        fell_due = -(-(min(stopped, end) - start) // interval_ns)
        if limit is not None:
            fell_due = min(fell_due, limit)
        result.unsent = max(0, fell_due - due)
    result.elapsed = max(last_answer - start, 1) / _NS
    result.cpu = time.process_time() - cpu_start
    return result


def _part(
    config: LoadConfig, plans: list[RequestTemplate], connections: int, index: int
) -> dict[str, Any]:
    """One worker process's share of the run (its figures as plain data)."""
    return _drive(config, plans, connections, index * _ID_SPACE + 1).to_json()


def run_load(config: LoadConfig, progress: Progress | None = None) -> LoadResult:
    """Set up the sessions, run the load, and return what it measured.

    Raises :class:`LoadError` when the target cannot be reached or refuses the set-up.
    """
    plans = templates(config)
    if config.processes == 1:
        return _drive(config, plans, config.connections, 1, progress)
    shares = [config.connections // config.processes] * config.processes
    for i in range(config.connections % config.processes):
        shares[i] += 1
    parts = []
    for index, share in enumerate(shares):
        part = attrs.evolve(
            config,
            requests=None
            if config.requests is None
            else max(1, config.requests * share // config.connections),
            rate=None if config.rate is None else config.rate * share / config.connections,
            connections=share,
            processes=1,
        )
        parts.append((part, index))
    # Forked workers start at once (the templates are already built; nothing here
    # runs a thread); elsewhere they are spawned.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with concurrent.futures.ProcessPoolExecutor(len(parts), mp_context=context) as pool:
        futures = [
            pool.submit(
                _part,
                part,
                [plans[(index + i) % len(plans)] for i in range(len(plans))],
                part.connections,
                index,
            )
            for part, index in parts
        ]
        total = LoadResult(config)
        wait = (config.duration or 0) + config.timeout * 2 + 60
        for future in futures:
            total.merge(LoadResult.from_json(config, future.result(timeout=wait)))
    return total
