"""The direct session read's connection: replies split anywhere, error replies, the bound.

The connection talks to a scripted peer over a socket pair: the peer reads the request
and answers with the bytes a test gives, in the pieces it gives, each piece read by the
connection before the next is sent.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
import trio.testing

from scaled_mcp.cluster import BackendUnavailable
from scaled_mcp_redis._calls import _Calls
from scaled_mcp_redis._direct import MAX_INCOMPLETE_REPLY_SIZE, _DirectConnection, _ReplyError

GET = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"


async def exchange(
    replies: Sequence[Sequence[bytes]], *, max_incomplete: int = MAX_INCOMPLETE_REPLY_SIZE
) -> list[bytes | None]:
    """Send ``GET k`` once per reply on one connection; the peer answers the command
    number i with ``replies[i]``, a list of pieces sent one after the other. The first
    error of a command is raised (after the peer is done)."""
    client, peer = trio.socket.socketpair()
    connection = _DirectConnection(trio.SocketStream(client), max_incomplete=max_incomplete)
    values: list[bytes | None] = []
    failure: list[Exception] = []
    try:
        async with trio.open_nursery() as nursery:

            async def answer() -> None:
                for pieces in replies:
                    request = b""
                    while len(request) < len(GET):
                        request += await peer.recv(1024)
                    assert request == GET
                    for piece in pieces:
                        view = memoryview(piece)
                        while view:
                            view = view[await peer.send(view) :]
                        await trio.testing.wait_all_tasks_blocked()

            nursery.start_soon(answer)
            try:
                for _ in replies:
                    values.append(await connection.command(b"GET", b"k"))
            except _ReplyError as exc:
                failure.append(exc)
                nursery.cancel_scope.cancel()  # the peer stops
    finally:
        connection.close()
        peer.close()
    if failure:
        raise failure[0]
    return values


REPLIES = [
    (b"$5\r\nhello\r\n", b"hello"),
    (b"$0\r\n\r\n", b""),
    (b"$-1\r\n", None),
    (b"+OK\r\n", b"OK"),
    (b'$12\r\n{"a":"\r\n"}  \r\n', b'{"a":"\r\n"}  '),  # CRLF inside the value
    (b"$300\r\n" + bytes(range(256)) + b"x" * 44 + b"\r\n", bytes(range(256)) + b"x" * 44),
]


@pytest.mark.parametrize(("reply", "value"), REPLIES)
async def test_a_reply_split_at_every_offset_reads_the_same(
    reply: bytes, value: bytes | None
) -> None:
    whole: list[list[bytes]] = [[reply]]
    split = [[reply[:cut], reply[cut:]] for cut in range(1, len(reply))]
    by_byte = [[reply[i : i + 1] for i in range(len(reply))]]
    # One connection for them all: each reply leaves nothing behind for the next command.
    values = await exchange([*whole, *split, *by_byte])
    assert values == [value] * (2 + len(split))


async def test_an_error_reply_is_redis_being_away() -> None:
    reply = b"-LOADING Redis is loading the dataset in memory\r\n"
    for cut in range(1, len(reply)):
        with pytest.raises(_ReplyError, match=r"^LOADING Redis is loading"):
            await exchange([[reply[:cut], reply[cut:]]])
    calls = _Calls(None, 1.0)
    with pytest.raises(BackendUnavailable, match="LOADING Redis is loading"):
        await calls(lambda: exchange([[reply]]))


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"?what\r\n", "Protocol error"),
        (b":1\r\n", "not a string reply: 1"),
        (b"*1\r\n$1\r\na\r\n", r"not a string reply: \[b'a'\]"),
        (b"$1\r\na\r\n$1\r\nb\r\n", "more bytes than one reply"),
    ],
)
async def test_what_is_not_one_string_reply_is_refused(reply: bytes, message: str) -> None:
    with pytest.raises(_ReplyError, match=message):
        await exchange([[reply]])


async def test_a_connection_closed_mid_reply_is_refused() -> None:
    client, peer = trio.socket.socketpair()
    connection = _DirectConnection(trio.SocketStream(client))
    failure: _ReplyError | None = None
    async with trio.open_nursery() as nursery:

        async def answer() -> None:
            await peer.recv(1024)
            await peer.send(b"$10\r\nhel")
            peer.close()

        nursery.start_soon(answer)
        try:
            await connection.command(b"GET", b"k")
        except _ReplyError as exc:
            failure = exc
    connection.close()
    assert "closed the connection" in str(failure)


async def test_a_reply_over_the_bound_is_refused() -> None:
    limit = 4096
    value = b"v" * (limit - 20)
    fits = b"$%d\r\n%s\r\n" % (len(value), value)
    # In pieces, so the bound is met while the reply is incomplete.
    assert await exchange([[fits[:100], fits[100:]]], max_incomplete=limit) == [value]
    big = b"$%d\r\n" % (limit * 4) + b"v" * (limit * 4) + b"\r\n"
    pieces = [big[i : i + 1000] for i in range(0, len(big), 1000)]
    with pytest.raises(_ReplyError, match=f"a reply over {limit} bytes"):
        await exchange([pieces], max_incomplete=limit)
    endless_line = [b"+" + b"x" * 999] * 8  # no CRLF ever
    with pytest.raises(_ReplyError, match=f"a reply over {limit} bytes"):
        await exchange([endless_line], max_incomplete=limit)
