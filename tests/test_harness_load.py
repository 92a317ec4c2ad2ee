"""The load tool (``scaled-mcp bench``): its request templates and response framing,
its verdicts, and runs against real servers on real sockets (ours, JSON and SSE
answers; a server that never answers; one that goes away)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import orjson
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.cli import main
from scaled_mcp.harness import LoadConfig, LoadError, run_load
from scaled_mcp.harness._load_wire import (
    Answer,
    RequestTemplate,
    ResponseReader,
    Target,
    WireError,
    verdict,
)
from scaled_mcp.protocol.client import StatelessClient
from scaled_mcp.protocol.jsonrpc import ErrorCode, Notification, Request

from .cluster import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")
TARGET = Target.parse("http://127.0.0.1:8000/mcp")


# -- the wire ------------------------------------------------------------------------------


def split_request(data: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /mcp HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert int(headers["content-length"]) == len(body)
    return headers, body


@settings(max_examples=200, deadline=None)
@given(
    request_id=st.integers(0, 2**53),
    text=st.text(max_size=50),
    session=st.one_of(st.none(), st.text("abcdef0123456789", min_size=1, max_size=32)),
)
def test_a_template_renders_the_request_with_each_id(
    request_id: int, text: str, session: str | None
) -> None:
    request = Request(id=0, method="tools/call", params={"name": "echo", "arguments": {"t": text}})
    template = RequestTemplate.build(
        TARGET, request, protocol_version="2025-11-25", session_id=session
    )
    headers, body = split_request(template.render(request_id))
    assert orjson.loads(body) == {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"t": text}},
    }
    assert headers["host"] == "127.0.0.1:8000"
    assert headers["mcp-protocol-version"] == "2025-11-25"
    assert headers.get("mcp-session-id") == session
    assert (headers["mcp-method"], headers["mcp-name"]) == ("tools/call", "echo")


def test_a_stateless_template_carries_the_envelope_and_extra_headers() -> None:
    client = StatelessClient(client_info={"name": "t", "version": "1"})
    request = client.request("tools/list")
    template = RequestTemplate.build(
        TARGET,
        request,
        protocol_version="2026-07-28",
        extra_headers=[("authorization", "Bearer x")],
    )
    headers, body = split_request(template.render(5))
    meta = orjson.loads(body)["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    assert headers["authorization"] == "Bearer x"
    assert headers["mcp-protocol-version"] == "2026-07-28"
    notification = RequestTemplate.build(
        TARGET, Notification(method="notifications/initialized"), protocol_version="2025-11-25"
    )
    assert notification.render(1) == notification.render(2)


def http_response(status: int, body: bytes, framing: str, chunks: list[int]) -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
    if framing == "length":
        return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body
    out = bytearray(f"{head}transfer-encoding: chunked\r\n\r\n".encode())
    at = 0
    for size in [*chunks, len(body)]:
        piece = body[at : at + max(1, size)]
        if piece:
            out += b"%x\r\n%b\r\n" % (len(piece), piece)
            at += len(piece)
    return bytes(out + b"0\r\n\r\n")


responses = st.lists(
    st.tuples(
        st.sampled_from([200, 202, 400, 404, 500]),
        st.binary(max_size=300),
        st.sampled_from(["length", "chunked"]),
        st.lists(st.integers(1, 50), max_size=5),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(answers=responses, cuts=st.lists(st.integers(1, 64), max_size=40))
def test_responses_are_framed_however_the_bytes_arrive(
    answers: list[tuple[int, bytes, str, list[int]]], cuts: list[int]
) -> None:
    stream = b"".join(http_response(*answer) for answer in answers)
    reader = ResponseReader()
    got: list[tuple[int, bytes]] = []
    at = 0
    for cut in [*cuts, len(stream)]:
        piece, at = stream[at : at + cut], at + cut
        answer = reader.feed(piece) if piece else None
        while answer is not None:
            got.append((answer.status, answer.body))
            answer = reader.feed(b"")
    assert got == [(status, body) for status, body, _, _ in answers]
    assert not reader.pending and reader.end() is None


def test_a_response_to_the_end_of_the_connection_and_bad_ones() -> None:
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{}") is None
    answer = reader.end()
    assert answer is not None and answer.body == b"{}" and reader.closes
    with pytest.raises(WireError):
        ResponseReader().feed(b"SSH-2.0-OpenSSH\r\n\r\n")
    half = ResponseReader()
    half.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}")
    with pytest.raises(WireError):
        half.end()
    with pytest.raises(WireError):
        ResponseReader().feed(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n")
    with pytest.raises(WireError):
        ResponseReader().feed(b"x" * (70 * 1024))


def json_answer(message: object, status: int = 200) -> Answer:
    return Answer(status, b"HTTP/1.1 200 OK\r\n", orjson.dumps(message))


def sse_answer(*messages: object) -> Answer:
    body = b"".join(b"id: 1\ndata: %b\n\n" % orjson.dumps(m) for m in messages)
    return Answer(200, b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n", body)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (json_answer({"jsonrpc": "2.0", "id": 1, "result": {"content": []}}), None),
        (json_answer({"jsonrpc": "2.0", "id": 1, "result": {"isError": True}}), "tool error"),
        (
            json_answer({"jsonrpc": "2.0", "id": 1, "error": {"code": ErrorCode.INVALID_PARAMS}}),
            f"jsonrpc {int(ErrorCode.INVALID_PARAMS)}",
        ),
        (json_answer({"jsonrpc": "2.0", "id": 1}), "no answer"),
        (json_answer([1]), "no answer"),
        (Answer(503, b"HTTP/1.1 503 X\r\n", b"busy"), "http 503"),
        (Answer(202, b"HTTP/1.1 202 X\r\n", b""), None),
        (Answer(200, b"HTTP/1.1 200 X\r\n", b""), "no answer"),
        (Answer(200, b"HTTP/1.1 200 X\r\n", b"{nope"), "bad body"),
        (
            sse_answer(
                {"jsonrpc": "2.0", "method": "notifications/progress", "params": {}},
                {"jsonrpc": "2.0", "id": 1, "result": {}},
            ),
            None,
        ),
        (sse_answer({"jsonrpc": "2.0", "id": 1, "error": {"code": 7}}), "jsonrpc 7"),
        (sse_answer({"jsonrpc": "2.0", "method": "x"}), "no answer"),
        (
            Answer(200, b"HTTP/1.1 200 X\r\ncontent-type: text/event-stream\r\n", b"data: {\n\n"),
            "bad body",
        ),
    ],
)
def test_verdicts(answer: Answer, kind: str | None) -> None:
    assert verdict(answer) == kind


def test_bad_configurations_are_refused() -> None:
    url = "http://127.0.0.1:1/mcp"
    for bad, why in (
        ({"url": "https://example.com/mcp", "tool": "x"}, "http:// only"),
        ({"url": url}, "needs a tool name"),
        ({"url": url, "tool": "x", "revision": "1999-01-01"}, "unknown revision"),
        ({"url": url, "tool": "x", "connections": 0}, "at least 1"),
        ({"url": url, "tool": "x", "duration": None}, "either a duration"),
        ({"url": url, "tool": "x", "requests": 5}, "either a duration"),
        ({"url": url, "tool": "x", "rate": 0}, "rate is positive"),
        ({"url": url, "tool": "x", "processes": 2}, "processes <= connections"),
    ):
        with pytest.raises(ValueError, match=re.escape(why)):
            LoadConfig(**bad)


# -- against real servers ------------------------------------------------------------------


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Wait until ``port`` accepts (a minute: imports are slow on a busy machine)."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not listen on {port} within 60 s") from None
            time.sleep(0.05)


def serve(*options: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "scaled_mcp.cli", "serve", EVERYTHING]
    process = subprocess.Popen(
        [*command, "--http", "h11", "--bind", f"127.0.0.1:{port}", *options],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "the server")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    yield from serve()


@pytest.fixture(scope="module")
def sse_url() -> Iterator[str]:
    yield from serve("--response", "sse")


@pytest.mark.parametrize("revision", ["2024-11-05", "2025-11-25", "2026-07-28"])
def test_a_closed_loop_sends_each_request_once(url: str, revision: str) -> None:
    config = LoadConfig(
        url,
        tool="test_simple_text",
        connections=4,
        sessions=3,
        duration=None,
        requests=120,
        revision=revision,
    )
    result = run_load(config)
    assert (result.sent, result.completed, result.ok) == (120, 120, 120), result.errors
    assert result.histogram.count == 120 and result.histogram.max > 0
    assert result.requests_per_second > 0 and result.cpu > 0
    data = result.to_json()
    assert data["ok"] == 120 and data["latency_ms"]["p50"] <= data["latency_ms"]["max"]


def test_answers_on_sse_streams_are_read(sse_url: str) -> None:
    result = run_load(
        LoadConfig(sse_url, tool="test_simple_text", connections=2, duration=None, requests=50)
    )
    assert result.ok == 50, result.errors


def test_errors_are_counted_by_kind(url: str) -> None:
    errors = run_load(
        LoadConfig(url, tool="test_error_handling", connections=2, duration=None, requests=20)
    )
    assert errors.ok == 0 and errors.errors == {"tool error": 20}
    missing = run_load(
        LoadConfig(url, method="resources/read", params={"uri": "test://nowhere"}, duration=0.3)
    )
    assert missing.ok == 0 and list(missing.errors) == [
        f"jsonrpc {int(ErrorCode.RESOURCE_NOT_FOUND)}"
    ]
    listing = run_load(LoadConfig(url, method="tools/list", duration=None, requests=10))
    assert listing.ok == 10


def test_an_open_loop_keeps_its_rate(url: str) -> None:
    result = run_load(
        LoadConfig(url, tool="test_simple_text", connections=4, duration=1.0, rate=100)
    )
    assert 80 <= result.sent <= 101 and result.ok == result.completed == result.sent
    assert result.unsent == 0


def test_an_open_loop_charges_the_queue_to_the_server(url: str) -> None:
    # One connection, a tool that takes ~0.1 s, 40 arrivals a second: the server falls
    # behind, and latency counts from each request's intended time (no coordinated
    # omission), so it grows far past the tool's own time.
    result = run_load(
        LoadConfig(
            url, tool="test_tool_with_progress", connections=1, duration=1.0, rate=40, timeout=5
        )
    )
    assert result.ok == result.completed >= 3
    assert result.unsent >= 20 and result.sent + result.unsent >= 38
    assert result.histogram.max >= 2 * result.histogram.min
    assert result.histogram.max >= 200_000  # µs: queued behind earlier requests


def test_progress_is_reported_each_second(url: str) -> None:
    seen: list[tuple[float, int, int, float]] = []
    result = run_load(
        LoadConfig(url, tool="test_simple_text", duration=2.3),
        lambda *figures: seen.append(figures),
    )
    assert len(seen) == 2 and seen[0][0] < seen[1][0] < 2.3
    assert 0 < seen[0][1] <= seen[1][1] <= result.completed and seen[1][2] == 0
    assert all(rate > 0 for *_, rate in seen)


def test_processes_split_the_connections(url: str) -> None:
    result = run_load(
        LoadConfig(
            url, tool="test_simple_text", connections=2, processes=2, duration=None, requests=40
        )
    )
    assert (result.sent, result.ok) == (40, 40) and result.histogram.count == 40


def test_a_server_that_does_not_answer_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        held: list[socket.socket] = []
        stop_event = threading.Event()

        def accept() -> None:
            listener.settimeout(0.1)
            while not stop_event.is_set():
                try:
                    held.append(listener.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept)
        thread.start()
        try:
            url = f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
            started = time.monotonic()
            config = LoadConfig(
                url, tool="x", revision="2026-07-28", connections=2, duration=0.5, timeout=0.3
            )
            result = run_load(config)
            assert time.monotonic() - started < 5
            assert result.ok == 0 and result.errors["timeout"] >= 2
            with pytest.raises(LoadError, match=r"initialize|timed out"):
                run_load(attrs.evolve(config, revision="2025-11-25"))
        finally:
            stop_event.set()
            thread.join()
            for sock in held:
                sock.close()


def test_nothing_listening_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(LoadError, match=re.escape("127.0.0.1")):
        run_load(LoadConfig(url, tool="x", revision="2026-07-28", duration=0.2))


def test_a_server_that_goes_away_ends_the_run_with_errors() -> None:
    port = free_port()
    command = [sys.executable, "-m", "scaled_mcp.cli", "serve", EVERYTHING]
    process = subprocess.Popen(
        [*command, "--http", "h11", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "the server")
        timer = threading.Timer(0.7, process.kill)
        timer.start()
        started = time.monotonic()
        result = run_load(
            LoadConfig(
                f"http://127.0.0.1:{port}/mcp",
                tool="test_simple_text",
                revision="2026-07-28",
                connections=4,
                duration=None,
                requests=10**9,  # ends when no connection can be made again
                timeout=1.0,
            )
        )
        timer.join()
        assert time.monotonic() - started < 8
        assert result.ok > 0 and result.errors.get("connect") == 4
        assert set(result.errors) <= {"connect", "connection closed", "send", "timeout"}
    finally:
        stop(process)


def bench_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``scaled-mcp bench ARGS`` in this process: exit status, stdout, stderr."""
    try:
        status = main(["bench", *args])
    except SystemExit as exc:  # argparse refusing the arguments
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_prints_figures_and_json(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = bench_cli(capsys, url, "--tool", "test_simple_text", "-n", "30", "-c", "2")
    assert status == 0, err
    assert "30 ok, 0 errors" in out and "p99.9" in out
    status, out, _ = bench_cli(capsys, url, "--tool", "test_simple_text", "-n", "30", "--json")
    data = json.loads(out)
    assert status == 0 and data["ok"] == 30 and data["histogram_us"]["count"] == 30
    status, out, _ = bench_cli(capsys, url, "--tool", "test_error_handling", "-n", "5", "-q")
    assert status == 1 and "error tool error: 5" in out


@pytest.mark.parametrize(
    "args",
    [
        ("http://127.0.0.1:1/mcp",),  # tools/call without --tool
        ("http://127.0.0.1:1/mcp", "--tool", "x", "--args", "[1]"),
        ("http://127.0.0.1:1/mcp", "--tool", "x", "-n", "5", "-d", "1"),
        ("http://127.0.0.1:1/mcp", "--tool", "x", "--header", "nocolon"),
        ("http://127.0.0.1:1/mcp", "--tool", "x", "-c", "0"),
        ("ftp://127.0.0.1:1/mcp", "--tool", "x"),
    ],
)
def test_bad_arguments_exit_with_status_2(
    args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = bench_cli(capsys, *args)
    assert status == 2 and out == "" and err.strip()


def test_an_unreachable_server_exits_with_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    status, _, err = bench_cli(capsys, url, "--tool", "x", "-d", "0.2")
    assert status == 1 and err.startswith("scaled-mcp bench: ")
