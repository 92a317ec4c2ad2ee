"""The pytest plugin (``scaled_mcp.testing``): its fixtures used here as a user would,
and in a separate pytest run (the entry point loads it; markers, errors, teardown)."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scaled_mcp import MCPServer, ToolError
from scaled_mcp.client import Client, ClientError
from scaled_mcp.harness import LoadConfig, run_load
from scaled_mcp.testing import serve_in_thread

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


def make_app() -> MCPServer:
    app = MCPServer("plugin-tests", "1.0.0")

    @app.tool(description="Add two numbers")
    async def add(a: int, b: int) -> int:
        return a + b

    @app.tool()
    async def refuse() -> str:
        raise ToolError("no")

    return app


# A factory is a callable: ``with_args`` passes it as the argument (a bare
# ``mcp_app(make_app)`` would decorate it instead); an app instance needs no such care.
pytestmark = pytest.mark.mcp_app.with_args(make_app)


async def test_the_client_fixture_is_connected_in_memory(mcp_client: Client) -> None:
    result = await mcp_client.call_tool("add", {"a": 2, "b": 3})
    assert result.structured_content == {"result": 5}
    assert mcp_client.server_info["name"] == "plugin-tests"


@pytest.mark.mcp_client(mode="stateless")
async def test_the_client_marker_passes_options(mcp_client: Client) -> None:
    assert mcp_client.protocol_version == "2026-07-28"
    with pytest.raises(ClientError):
        await mcp_client.call_tool("no-such-tool", {})


def test_the_url_fixture_serves_on_a_real_socket(mcp_server_url: str) -> None:
    result = run_load(
        LoadConfig(
            mcp_server_url, tool="add", arguments={"a": 1, "b": 1}, duration=None, requests=20
        )
    )
    assert result.ok == 20, result.errors


async def test_a_client_reaches_the_served_node_over_http(mcp_server_url: str) -> None:
    async with Client(mcp_server_url) as client:
        result = await client.call_tool("refuse", {})
        assert result.is_error


def test_the_node_stops_with_its_context() -> None:
    with serve_in_thread(make_app()) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()


def test_the_plugin_in_a_pytest_run_of_its_own(pytester: pytest.Pytester) -> None:
    everything = ROOT / "examples" / "everything.py"
    pytester.makeini("[pytest]\ntrio_mode = true\naddopts = --strict-markers\n")
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            import pytest
            from scaled_mcp.testing import assert_conformant

            pytestmark = pytest.mark.mcp_app({str(everything)!r})

            async def test_target(mcp_client):
                tools = await mcp_client.list_tools()
                assert any(tool.name == "test_simple_text" for tool in tools)

            def test_url(mcp_server_url):
                assert mcp_server_url.startswith("http://127.0.0.1:")

            @pytest.mark.mcp_app("no/such/app.py")
            def test_bad_target(mcp_app):
                pass

            @pytest.mark.mcp_app(42)
            def test_not_an_app(mcp_app):
                pass
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(["*no such file: no/such/app.py*", "*needs an MCPServer, got int*"])
