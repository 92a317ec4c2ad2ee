"""Our client under the official conformance harness in client mode.

    python examples/conformance_client.py URL

The harness sets ``MCP_CONFORMANCE_SCENARIO`` (what to do),
``MCP_CONFORMANCE_CONTEXT`` (JSON: credentials, tool calls to replay …) and
``MCP_CONFORMANCE_PROTOCOL_VERSION`` (the revision to speak: up to 2025-11-25
the ``initialize`` handshake, 2026-07-28 the stateless wire). Every scenario
is one :class:`~scaled_mcp.client.Client` doing what the scenario's mock
server expects a client to do. ``auth/*`` scenarios get their ``httpx2.Auth``
from ``conformance_auth.auth_for`` when that module is there; skills scenarios
(``sep-2640-client-*``) run ``conformance_skills.run_skills_scenario``.
Exits 0 when the client did its part; the harness judges the rest.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import trio

from scaled_mcp.client import Client, ClientError
from scaled_mcp.protocol.types import ElicitResult

_log = logging.getLogger("conformance_client")

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _optional(module: str, name: str) -> Any:
    """``module.name`` if that module can be imported, else ``None``."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _accept_with_defaults(params: dict[str, Any]) -> ElicitResult:
    """Accept an elicitation, filling each field with its schema's default (SEP-1034)."""
    schema = params.get("requestedSchema") or {}
    content = {
        name: prop["default"]
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, dict) and "default" in prop
    }
    return ElicitResult(action="accept", content=content)


def _sample(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": {"type": "text", "text": "a sampled answer"},
        "model": "conformance-model",
    }


#: The tool each scenario calls, and with what (the first listed tool otherwise).
_TOOL_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "tools_call": ("add_numbers", {"a": 5, "b": 3}),
    "sse-retry": ("test_reconnection", {}),
    "elicitation-sep1034-client-defaults": ("test_client_elicitation_defaults", {}),
}


async def _exercise(client: Client, scenario: str, context: dict[str, Any]) -> None:
    """What the scenario's server expects this client to do once connected."""
    if "tools" not in client.server_capabilities:
        return
    tools = await client.list_tools()
    names = [tool.name for tool in tools]
    if scenario in ("initialize", "json-schema-ref-no-deref"):
        return
    if scenario == "json-schema-2020-12-preservation":
        focal = next(tool for tool in tools if tool.name == "json_schema_2020_12_tool")
        await client.call_tool("json_schema_echo", {"schema": focal.input_schema})
        return
    if context.get("toolCalls"):
        for call in context["toolCalls"]:
            await client.call_tool(call["name"], call.get("arguments") or {})
        return
    if scenario == "http-standard-headers":
        for name in names:
            await client.call_tool(name, {})
        for resource in await client.list_resources():
            await client.read_resource(resource.uri)
        for prompt in await client.list_prompts():
            await client.get_prompt(prompt.name)
        return
    if scenario == "sep-2322-client-request-state":
        for name in ("test_mrtr_echo_state", "test_mrtr_no_state", "test_mrtr_no_result_type"):
            if name in names:
                await client.call_tool(name, {})
        return
    if scenario in ("http-invalid-tool-headers", "request-metadata"):
        for name in names:
            await client.call_tool(name, {})
        return
    name, arguments = _TOOL_CALLS.get(scenario, (names[0] if names else "", {}))
    if name:
        try:
            await client.call_tool(name, arguments)
        except ClientError as exc:
            if not scenario.startswith("auth/"):
                raise
            _log.info("%s: %s", name, exc)


async def run(url: str, scenario: str, context: dict[str, Any], version: str | None) -> None:
    """Run ``scenario`` against the server at ``url``."""
    auth = None
    if scenario.startswith("auth/"):
        auth_for = _optional("conformance_auth", "auth_for")
        if auth_for is not None:
            auth = auth_for(scenario, context, url)
    opened: list[Client] = []

    async def elicit(params: dict[str, Any]) -> ElicitResult:
        if scenario == "sep-2322-client-request-state" and opened:
            # Another call between the rounds of a multi round-trip call: it
            # must carry none of that call's inputResponses or requestState.
            await opened[0].call_tool("test_mrtr_unrelated", {})
        return _accept_with_defaults(params)

    async with Client(
        url,
        protocol_version=version,
        auth=auth,
        elicitation_handler=elicit,
        sampling_handler=_sample,
        roots=[{"uri": "file:///conformance", "name": "conformance"}],
        client_info={"name": "scaled-mcp-conformance", "version": "1.0.0"},
        timeout=30.0,
    ) as client:
        opened.append(client)
        if scenario.startswith("sep-2640-client-"):
            skills = _optional("conformance_skills", "run_skills_scenario")
            if skills is None:
                raise SystemExit(f"{scenario}: the skills scenarios need conformance_skills")
            await skills(client, scenario, context)
            return
        await _exercise(client, scenario, context)


def main() -> int:
    """Read the harness's environment and run the scenario; the exit status."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} URL", file=sys.stderr)
        return 2
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "initialize")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION") or None
    trio.run(run, sys.argv[-1], scenario, context, version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
