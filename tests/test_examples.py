"""The examples, driven by another process as a real client would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from scaled_mcp.cli import load_target

from .helpers import INITIALIZED, ctx, initialize_request
from .spec import validate

EXAMPLES = Path(__file__).parent.parent / "examples"
CUSTOM_TRANSPORT = EXAMPLES / "custom_transport.py"


class LineClient:
    """Writes one line to the child and reads its answer, one exchange at a time."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def send(self, message: Any) -> None:
        assert self.proc.stdin is not None
        data = message if isinstance(message, bytes) else orjson.dumps(message)
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def exchange(self, message: Any) -> Any:
        self.send(message)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the example closed its output"
        return orjson.loads(line)


@pytest.fixture
def client() -> Iterator[LineClient]:
    proc = subprocess.Popen(
        [sys.executable, str(CUSTOM_TRANSPORT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        yield LineClient(proc)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
        assert proc.stdout is not None
        assert proc.stdout.read() == b"", "no answer may follow the last request"
        proc.stdout.close()


def test_the_example_is_under_100_lines() -> None:
    assert len(CUSTOM_TRANSPORT.read_text().splitlines()) < 100


def test_custom_transport_session(client: LineClient) -> None:
    init = client.exchange(initialize_request("2025-06-18"))
    assert init["id"] == 1
    assert init["result"]["protocolVersion"] == "2025-06-18"
    assert "tools" in init["result"]["capabilities"]
    validate("2025-06-18", "JSONRPCResponse", init)
    validate("2025-06-18", "InitializeResult", init["result"])

    # A notification gets no answer: the next line read is the ping's.
    client.send(INITIALIZED)
    assert client.exchange({"jsonrpc": "2.0", "id": "p", "method": "ping"}) == {
        "jsonrpc": "2.0",
        "id": "p",
        "result": {},
    }

    tools = client.exchange({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert [tool["name"] for tool in tools["result"]["tools"]] == ["echo"]
    validate("2025-06-18", "ListToolsResult", tools["result"])

    call = client.exchange(
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "héllo"}},
        }
    )
    assert call["result"] == {"content": [{"type": "text", "text": "héllo"}]}
    validate("2025-06-18", "CallToolResult", call["result"])

    bad_args = client.exchange(
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": 5}},
        }
    )
    assert bad_args["result"]["isError"] is True

    unknown_tool = client.exchange(
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "nope"}}
    )
    assert unknown_tool["id"] == 5
    assert unknown_tool["error"]["code"] == -32602

    unknown_method = client.exchange({"jsonrpc": "2.0", "id": 6, "method": "no/such"})
    assert unknown_method["error"]["code"] == -32601

    parse_error = client.exchange(b"{not json")
    assert parse_error["error"]["code"] == -32700
    assert "id" not in parse_error

    invalid = client.exchange({"jsonrpc": "1.0", "id": 7, "method": "ping"})
    assert invalid["error"]["code"] == -32600
    assert invalid["id"] == 7


def test_custom_transport_refuses_work_before_initialize(client: LineClient) -> None:
    early = client.exchange({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert early["id"] == 1
    assert early["error"]["code"] in (-32600, -32602)
    # ping is allowed before initialization.
    assert client.exchange({"jsonrpc": "2.0", "id": 2, "method": "ping"})["result"] == {}


async def test_the_readme_server_example_works(tmp_path: Path) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    source = readme.split("```python\n# app.py\n", 1)[1].split("```", 1)[0]
    (tmp_path / "app.py").write_text(source)
    app = load_target(str(tmp_path / "app.py"))
    listed = await app.handle("tools/list", {}, ctx())
    assert [tool["name"] for tool in listed["tools"]] == ["forecast", "plan_trip"]
    result = await app.handle(
        "tools/call", {"name": "forecast", "arguments": {"city": "Oslo"}}, ctx()
    )
    assert result["structuredContent"] == {"city": "Oslo", "days": 1, "summary": "sunny"}
    refused = await app.handle(
        "tools/call", {"name": "forecast", "arguments": {"city": "Oslo", "days": 9}}, ctx()
    )
    assert refused["isError"] is True


def test_the_readme_embedding_example_works() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    source = readme.split("### Embedding it\n\n```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(compile(source, "README.md", "exec"), scope)
    on_bytes = scope["on_bytes"]
    [initialized] = on_bytes(orjson.dumps(initialize_request()), 0.0)
    assert orjson.loads(initialized)["result"]["protocolVersion"] == "2025-11-25"
    assert on_bytes(orjson.dumps(INITIALIZED), 0.1) == []
    [listed] = on_bytes(b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}', 0.2)
    assert orjson.loads(listed) == {"jsonrpc": "2.0", "id": 2, "result": {"tools": []}}
    [refused] = on_bytes(b'{"jsonrpc":"2.0","id":3}', 0.3)
    assert orjson.loads(refused)["error"]["code"] == -32600
