"""The stdio transport on memory streams: a line per message, both eras, requests
running side by side, cancellation, requests to the client, and the drain once
stdin ends.

Every test runs on the autojump clock: the node and its client share this
process, so whenever all of them wait, the clock moves to the next deadline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import orjson
import pytest
import trio
import trio.testing

from scaled_mcp import MCPServer
from scaled_mcp.runtime import Runtime, RuntimeConfig, serve_stdio

from .helpers import (
    INITIALIZED,
    Probe,
    initialize_request,
    lines,
    make_app,
    stateless_meta,
    text_of,
)
from .spec import validate

#: The longest line serve_stdio reads (4 MiB); a longer one is refused.
LINE_LIMIT: Final = 4 * 1024 * 1024
#: How long (on the autojump clock) a test waits for a line before failing.
ANSWER_WITHIN: Final = 60.0


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def app(probe: Probe) -> MCPServer:
    return make_app(probe)


class StdioClient:
    """The client's end of ``serve_stdio``: writes to its stdin, reads its stdout
    a line (one message) at a time."""

    def __init__(self, stdin: trio.abc.SendStream, stdout: trio.abc.ReceiveStream) -> None:
        self.stdin = stdin
        self._stdout = stdout
        self._buffer = bytearray()

    async def write(self, data: bytes) -> None:
        await self.stdin.send_all(data)

    async def send(self, *messages: object) -> None:
        """``messages``, a line each, in one write."""
        await self.write(lines(*messages))

    async def end_stdin(self) -> None:
        """End the node's stdin, as a client that exits does."""
        await self.stdin.aclose()

    async def _line(self) -> bytes | None:
        while (end := self._buffer.find(b"\n")) < 0:
            data = await self._stdout.receive_some()
            if not data:
                assert not self._buffer, f"stdout ended inside a line: {bytes(self._buffer)!r}"
                return None
            self._buffer += data
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    async def receive(self) -> Any:
        """The next message the node writes."""
        with trio.fail_after(ANSWER_WITHIN):
            line = await self._line()
        assert line is not None, "stdout ended"
        return orjson.loads(line)

    async def rest(self) -> list[Any]:
        """Every message until the node's stdout ends (stdin ended, the node drained)."""
        messages = []
        with trio.fail_after(ANSWER_WITHIN):
            while (line := await self._line()) is not None:
                messages.append(orjson.loads(line))
        return messages

    async def initialize(
        self, version: str = "2025-11-25", capabilities: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        await self.send(initialize_request(version, capabilities))
        reply = await self.receive()
        await self.send(INITIALIZED)
        result: dict[str, Any] = reply["result"]
        return result


@asynccontextmanager
async def stdio(app: MCPServer, config: RuntimeConfig | None = None) -> AsyncIterator[StdioClient]:
    """``serve_stdio`` on memory streams for the duration of the context.

    Leaving the context ends stdin; by then every message the node writes must
    have been read: nothing may follow.
    """
    stdin_send, stdin_receive = trio.testing.memory_stream_one_way_pair()
    stdout_send, stdout_receive = trio.testing.memory_stream_one_way_pair()
    runtime = Runtime(app, config=config)

    async def serve() -> None:
        await serve_stdio(runtime, stdin_receive, stdout_send)
        await stdout_send.aclose()  # the process exits: its stdout ends

    client = StdioClient(stdin_send, stdout_receive)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        yield client
        await client.end_stdin()
        unread = await client.rest()
    assert unread == [], "a message nobody read"


def call(request_id: int, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A handshake-era ``tools/call``."""
    params = {"name": name, "arguments": arguments or {}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def stateless_call(
    request_id: int, name: str, arguments: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A 2026-07-28 ``tools/call``: it carries its ``_meta`` envelope, no session."""
    message = call(request_id, name, arguments)
    message["params"]["_meta"] = stateless_meta()
    return message


def ping(request_id: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "ping"}


def cancelled(request_id: int) -> dict[str, Any]:
    params = {"requestId": request_id, "reason": "enough"}
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}


# -- the handshake ---------------------------------------------------------------------------


async def test_initialize_initialized_and_a_tool_call_are_answered_a_line_each(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.send(initialize_request())
        init = await client.receive()
        validate("2025-11-25", "JSONRPCResultResponse", init)
        validate("2025-11-25", "InitializeResult", init["result"])
        assert init["id"] == 1
        assert init["result"]["serverInfo"]["name"] == "runtime-tests"
        # The notification gets no answer: the next line is the call's.
        await client.send(INITIALIZED)
        await client.send(call(2, "echo", {"text": "héllo"}))
        answer = await client.receive()
        validate("2025-11-25", "JSONRPCResultResponse", answer)
        validate("2025-11-25", "CallToolResult", answer["result"])
        assert answer["id"] == 2
        assert text_of(answer["result"]) == "héllo"


async def test_work_before_initialize_is_refused_but_ping_is_answered(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.send(call(1, "echo", {"text": "early"}))
        early = await client.receive()
        assert early["id"] == 1
        assert early["error"]["code"] == -32600
        await client.send(ping(2))
        assert await client.receive() == {"jsonrpc": "2.0", "id": 2, "result": {}}


# -- batches ---------------------------------------------------------------------------------


async def test_a_2025_03_26_batch_is_answered_as_one_array_once_every_request_is_done(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.initialize("2025-03-26")
        start = trio.current_time()
        await client.send(
            [
                ping(2),
                call(3, "nap", {"seconds": 5}),
                {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
                call(4, "echo", {"text": "quick"}),
            ]
        )
        answers = await client.receive()
        # One line, once the slowest request is done; the notification has no answer.
        assert trio.current_time() - start == pytest.approx(5)
        assert isinstance(answers, list)
        by_id = {answer["id"]: answer for answer in answers}
        assert sorted(by_id) == [2, 3, 4]
        assert by_id[2]["result"] == {}
        assert text_of(by_id[3]["result"]) == "slept 5"
        assert text_of(by_id[4]["result"]) == "quick"
        # "The server MUST NOT return an empty Array": a batch of notifications
        # gets no line at all, so the next line answers the ping after it.
        await client.send([{"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}])
        await client.send(ping(5))
        assert await client.receive() == {"jsonrpc": "2.0", "id": 5, "result": {}}


@pytest.mark.parametrize("version", ["2024-11-05", "2025-06-18", "2025-11-25", None])
async def test_other_revisions_refuse_batches(
    autojump_clock: trio.testing.MockClock, app: MCPServer, version: str | None
) -> None:
    # 2025-03-26 added batches and 2025-06-18 removed them; before initialize
    # no revision is agreed on yet.
    async with stdio(app) as client:
        if version is not None:
            await client.initialize(version)
        await client.send([ping(2), ping(3)])
        refused = await client.receive()
        assert refused["error"]["code"] == -32600
        assert "id" not in refused
        await client.send(ping(4))
        assert await client.receive() == {"jsonrpc": "2.0", "id": 4, "result": {}}


# -- lines that are not messages -------------------------------------------------------------


async def test_a_line_that_is_not_json_is_a_parse_error_without_an_id(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.initialize()
        await client.write(b"{not json\n")
        error = await client.receive()
        # 2025-11-25: the id is left out when it "could not be read".
        validate("2025-11-25", "JSONRPCErrorResponse", error)
        assert error["error"]["code"] == -32700
        assert "id" not in error
        await client.send(ping(2))
        assert await client.receive() == {"jsonrpc": "2.0", "id": 2, "result": {}}


async def test_a_line_over_the_size_limit_is_refused_and_the_session_goes_on(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.initialize()
        await client.write(b"x" * (LINE_LIMIT + 1))
        refused = await client.receive()
        assert refused["error"]["code"] == -32600
        assert "too large" in refused["error"]["message"]
        assert "id" not in refused
        await client.write(b"\n" + lines(ping(2)))
        assert await client.receive() == {"jsonrpc": "2.0", "id": 2, "result": {}}


async def test_the_rest_of_a_line_over_the_limit_is_discarded_up_to_its_newline(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.write(b"x" * (LINE_LIMIT + 1))
        refused = await client.receive()
        assert refused["error"]["code"] == -32600
        # The refused line goes on in a later write: what follows is still its
        # rest, never a message, however valid it looks.
        await client.write(lines(stateless_call(1, "echo", {"text": "smuggled"})))
        await client.send(ping(2))
        assert await client.receive() == {"jsonrpc": "2.0", "id": 2, "result": {}}


async def test_the_limit_holds_when_the_newline_comes_in_the_read_that_crosses_it(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    padded = ping(1)
    padded["params"] = {"_meta": {"pad": ""}}
    short = len(lines(padded))
    padded["params"]["_meta"]["pad"] = "x" * (LINE_LIMIT + 80 - short)
    line = lines(padded)
    assert len(line) == LINE_LIMIT + 80
    async with stdio(app) as client:
        await client.write(line)
        refused = await client.receive()
        assert refused["error"]["code"] == -32600
        assert "too large" in refused["error"]["message"]
        await client.send(ping(2))
        assert await client.receive() == {"jsonrpc": "2.0", "id": 2, "result": {}}


async def test_a_line_at_the_limit_is_read(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    padded = ping(1)
    padded["params"] = {"_meta": {"pad": ""}}
    short = len(lines(padded))
    # The limit counts the bytes before the newline.
    padded["params"]["_meta"]["pad"] = "x" * (LINE_LIMIT + 1 - short)
    async with stdio(app) as client:
        await client.send(padded)
        assert await client.receive() == {"jsonrpc": "2.0", "id": 1, "result": {}}


async def test_blank_lines_are_skipped_and_crlf_is_accepted(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.write(b"\n  \n" + orjson.dumps(ping(1)) + b"\r\n")
        assert await client.receive() == {"jsonrpc": "2.0", "id": 1, "result": {}}


# -- framing ---------------------------------------------------------------------------------


async def test_a_message_split_across_writes_at_every_offset(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.initialize()
        length = len(lines(ping(100)))
        for cut in range(1, length):
            line = lines(ping(100 + cut))  # the same length for every cut
            await client.write(line[:cut])
            # The node reads the first piece alone before the rest comes.
            await trio.testing.wait_all_tasks_blocked()
            await client.write(line[cut:])
            assert await client.receive() == {"jsonrpc": "2.0", "id": 100 + cut, "result": {}}


async def test_a_message_written_byte_by_byte(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        for byte in lines(initialize_request()):
            await client.write(bytes([byte]))
            await trio.testing.wait_all_tasks_blocked()
        assert (await client.receive())["result"]["protocolVersion"] == "2025-11-25"


async def test_several_messages_in_one_write_are_each_answered(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.initialize()
        await client.send(ping(1), call(2, "echo", {"text": "two"}), ping(3))
        answers = {}
        for _ in range(3):
            answer = await client.receive()
            answers[answer["id"]] = answer
        assert answers[1]["result"] == answers[3]["result"] == {}
        assert text_of(answers[2]["result"]) == "two"


# -- requests side by side, and cancelled ----------------------------------------------------


@pytest.mark.parametrize("era", ["session", "stateless"])
async def test_an_id_already_in_flight_is_refused(
    autojump_clock: trio.testing.MockClock, app: MCPServer, probe: Probe, era: str
) -> None:
    request = call if era == "session" else stateless_call
    async with stdio(app) as client:
        if era == "session":
            await client.initialize()
        await client.send(request(5, "block"))
        await probe.started.wait()
        await client.send(request(5, "echo", {"text": "again"}))
        refused = await client.receive()
        assert refused["id"] == 5
        assert refused["error"]["code"] == -32600
        assert "in flight" in refused["error"]["message"]
        # Once the first is over, the id may be used again.
        await client.send(cancelled(5))
        await probe.cancelled.wait()
        await client.send(request(5, "echo", {"text": "again"}))
        answer = await client.receive()
        assert answer["id"] == 5
        assert text_of(answer["result"]) == "again"


@pytest.mark.parametrize("era", ["session", "stateless"])
async def test_cancelled_stops_a_running_tool_which_then_gets_no_response(
    autojump_clock: trio.testing.MockClock, app: MCPServer, probe: Probe, era: str
) -> None:
    request = call if era == "session" else stateless_call
    async with stdio(app) as client:
        if era == "session":
            await client.initialize()
        await client.send(request(9, "block"))
        await probe.started.wait()
        # A request runs beside the blocked one.
        await client.send(request(10, "echo", {"text": "beside"}))
        assert text_of((await client.receive())["result"]) == "beside"
        await client.send(cancelled(9))
        with trio.fail_after(ANSWER_WITHIN):
            await probe.cancelled.wait()
        # "Not send a response for the cancelled request": leaving the context
        # checks that nothing more is written.


# -- the node asks the client ----------------------------------------------------------------


async def test_a_tool_samples_and_elicits_through_the_client(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.initialize(capabilities={"sampling": {}, "elicitation": {}})
        await client.send(call(3, "ask_model", {"prompt": "hello"}))
        asked = await client.receive()
        validate("2025-11-25", "JSONRPCRequest", asked)
        assert asked["method"] == "sampling/createMessage"
        assert asked["params"]["messages"][0]["content"]["text"] == "hello"
        sampled = {"role": "assistant", "content": {"type": "text", "text": "hi"}, "model": "m"}
        await client.send({"jsonrpc": "2.0", "id": asked["id"], "result": sampled})
        answer = await client.receive()
        assert answer["id"] == 3
        assert text_of(answer["result"]) == "model said: hi"

        await client.send(call(4, "ask_user"))
        asked = await client.receive()
        assert asked["method"] == "elicitation/create"
        assert asked["params"]["message"] == "Name?"
        elicited = {"action": "accept", "content": {"name": "Ada"}}
        await client.send({"jsonrpc": "2.0", "id": asked["id"], "result": elicited})
        answer = await client.receive()
        assert answer["id"] == 4
        assert text_of(answer["result"]) == "accept: Ada"


async def test_a_request_the_client_leaves_unanswered_times_out_and_is_cancelled(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app, RuntimeConfig(ask_timeout=30)) as client:
        await client.initialize(capabilities={"sampling": {}})
        await client.send(call(3, "ask_model", {"prompt": "hello"}))
        asked = await client.receive()
        start = trio.current_time()
        withdrawn = await client.receive()
        assert trio.current_time() - start == pytest.approx(30)
        assert withdrawn["method"] == "notifications/cancelled"
        assert withdrawn["params"]["requestId"] == asked["id"]
        answer = await client.receive()
        assert answer["id"] == 3
        assert answer["error"]["code"] == -32001
        # A late answer to the withdrawn request is ignored.
        sampled = {"role": "assistant", "content": {"type": "text", "text": "late"}, "model": "m"}
        await client.send({"jsonrpc": "2.0", "id": asked["id"], "result": sampled})
        await client.send(ping(4))
        assert await client.receive() == {"jsonrpc": "2.0", "id": 4, "result": {}}


async def test_progress_and_log_messages_come_before_the_result(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.initialize()
        level = {"level": "debug"}
        await client.send(
            {"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": level}
        )
        assert (await client.receive())["result"] == {}
        request = call(7, "steps", {"count": 2})
        request["params"]["_meta"] = {"progressToken": "p"}
        await client.send(request)
        messages = [await client.receive() for _ in range(5)]
    assert [m.get("method") for m in messages] == [
        "notifications/progress",
        "notifications/message",
        "notifications/progress",
        "notifications/message",
        None,
    ]
    progress, logs, (answer,) = messages[0:4:2], messages[1:4:2], messages[4:]
    assert [(m["params"]["progressToken"], m["params"]["progress"]) for m in progress] == [
        ("p", 1),
        ("p", 2),
    ]
    assert [m["params"]["data"] for m in logs] == ["step 1", "step 2"]
    assert answer["id"] == 7
    assert text_of(answer["result"]) == "done"


# -- the 2026-07-28 wire beside the session --------------------------------------------------


async def test_a_stateless_request_needs_no_initialize(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.send(stateless_call(1, "echo", {"text": "now"}))
        answer = await client.receive()
        assert answer["id"] == 1
        assert answer["result"]["resultType"] == "complete"
        assert text_of(answer["result"]) == "now"


async def test_a_listen_delivers_list_changes_until_stdin_ends(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    listen = {
        "jsonrpc": "2.0",
        "id": 5,
        "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": True}, "_meta": stateless_meta()},
    }
    async with stdio(app) as client:
        await client.send(listen)
        ack = await client.receive()
        assert ack["method"] == "notifications/subscriptions/acknowledged"
        # The listen subscribes after its acknowledgement: once every task waits, it has.
        await trio.testing.wait_all_tasks_blocked()
        app.remove_tool("echo")
        changed = await client.receive()
        assert changed["method"] == "notifications/tools/list_changed"
        # The end of stdin ends the listen with its response.
        await client.end_stdin()
        (closing,) = await client.rest()
        assert closing["id"] == 5
        assert "result" in closing


# -- the end of stdin ------------------------------------------------------------------------


async def test_the_end_of_stdin_drains_running_calls_within_the_deadline(
    autojump_clock: trio.testing.MockClock, app: MCPServer, probe: Probe
) -> None:
    async with stdio(app, RuntimeConfig(shutdown_grace=10)) as client:
        await client.initialize()
        await client.send(call(1, "nap", {"seconds": 4}), call(2, "block"))
        await probe.started.wait()
        ended = trio.current_time()
        await client.end_stdin()
        # The nap ends within the deadline and is answered; the blocked call is
        # cancelled at the deadline, unanswered, and then stdout ends.
        rest = await client.rest()
        assert trio.current_time() - ended == pytest.approx(10)
        assert [(m["id"], text_of(m["result"])) for m in rest] == [(1, "slept 4")]
        assert probe.cancelled.is_set()


async def test_the_end_of_stdin_with_nothing_running_ends_at_once(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    async with stdio(app) as client:
        await client.initialize()
        await client.send(ping(2))
        assert (await client.receive())["id"] == 2
        ended = trio.current_time()
        await client.end_stdin()
        assert await client.rest() == []
        assert trio.current_time() == ended


async def test_a_client_that_stops_reading_ends_the_session_quietly(
    autojump_clock: trio.testing.MockClock, app: MCPServer
) -> None:
    """stdout broken (the client closed its end) is the client gone, as stdin ending
    is: the node stops serving without an error, whatever was still running."""
    stdin_send, stdin_receive = trio.testing.memory_stream_one_way_pair()
    stdout_send, stdout_receive = trio.testing.memory_stream_one_way_pair()
    runtime = Runtime(app, config=RuntimeConfig(shutdown_grace=1))
    client = StdioClient(stdin_send, stdout_receive)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve_stdio, runtime, stdin_receive, stdout_send)
            listen = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "subscriptions/listen",
                "params": {"_meta": stateless_meta(), "notifications": {"toolsListChanged": True}},
            }
            await client.send(listen)
            assert (await client.receive())["method"] == "notifications/subscriptions/acknowledged"
            await stdout_receive.aclose()  # the client stops reading; stdin stays open
            await client.send(ping(2))  # its answer finds stdout broken
        # serve_stdio returned without raising: the nursery would have re-raised.
