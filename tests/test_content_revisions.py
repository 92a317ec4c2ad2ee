"""Content a revision does not define, downgraded for sessions on it: tool results,
prompt messages and sampling requests validate against each revision's schema
(properties over any mix of blocks), known blocks pass untouched, and a 2024-11-05
session served over HTTP gets what its schema allows."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from scaled_mcp import MCPServer
from scaled_mcp.protocol.jsonrpc import Request, Response
from scaled_mcp.protocol.types import AudioContent, ResourceLink, TextContent
from scaled_mcp.protocol.versions import (
    HANDSHAKE_VERSIONS,
    content_types,
    downgrade_result,
    downgrade_sampling_params,
    sampling_content_types,
)
from scaled_mcp.runtime import RuntimeConfig

from .helpers import FRONTS, serving
from .http_client import HttpClient, McpHttp
from .spec import validate
from .test_session import operating

B64 = "AAEC"
texts = st.text(max_size=20)
notes: st.SearchStrategy[dict[str, Any] | None] = st.none() | st.just(
    {"audience": ["user"], "priority": 0.5}
)


def _annotated(block: dict[str, Any], note: dict[str, Any] | None) -> dict[str, Any]:
    return block if note is None else {**block, "annotations": note}


text_blocks = st.builds(lambda t, a: _annotated({"type": "text", "text": t}, a), texts, notes)
image_blocks = st.builds(
    lambda a: _annotated({"type": "image", "data": B64, "mimeType": "image/png"}, a), notes
)
audio_blocks = st.builds(
    lambda a: _annotated({"type": "audio", "data": B64, "mimeType": "audio/wav"}, a), notes
)
link_blocks = st.builds(
    lambda name, description: {
        "type": "resource_link",
        "uri": f"file:///{name or 'x'}.txt",
        "name": name or "x",
        **({"description": description} if description else {}),
    },
    st.text(alphabet="abcdef", max_size=8),
    texts,
)
resource_blocks = st.just(
    {
        "type": "resource",
        "resource": {"uri": "memo://a", "text": "inside", "mimeType": "text/plain"},
    }
)
content_blocks = text_blocks | image_blocks | audio_blocks | link_blocks | resource_blocks
tool_use_blocks = st.just({"type": "tool_use", "id": "u1", "name": "lookup", "input": {"q": 1}})
tool_result_blocks = st.just(
    {"type": "tool_result", "toolUseId": "u1", "content": [{"type": "text", "text": "found"}]}
)
sampling_blocks = text_blocks | image_blocks | audio_blocks | tool_use_blocks | tool_result_blocks
versions = st.sampled_from(HANDSHAKE_VERSIONS)


@given(blocks=st.lists(content_blocks, max_size=6), version=versions)
def test_a_tool_result_validates_in_every_revision(
    blocks: list[dict[str, Any]], version: str
) -> None:
    result = {"content": blocks, "isError": False}
    downgraded = downgrade_result(result, version)
    validate(version, "CallToolResult", downgraded)
    known = content_types(version)
    assert len(downgraded["content"]) == len(blocks)  # one block for one block
    for before, after in zip(blocks, downgraded["content"], strict=True):
        if before["type"] in known:
            assert after is before  # what the revision knows passes untouched
        else:
            assert after["type"] == "text"
            if before["type"] == "resource_link":
                assert f"<{before['uri']}>" in after["text"]  # the link survives as text
            else:
                assert "audio content (audio/wav) omitted" in after["text"]
    if all(b["type"] in known for b in blocks):
        assert downgraded is result  # nothing to do: not even a copy


@given(blocks=st.lists(content_blocks, min_size=1, max_size=4), version=versions)
def test_prompt_messages_validate_in_every_revision(
    blocks: list[dict[str, Any]], version: str
) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": block} for block in blocks]
    result: dict[str, Any] = {"description": "d", "messages": messages}
    downgraded = downgrade_result(result, version)
    validate(version, "GetPromptResult", downgraded)
    known = content_types(version)
    for before, after in zip(messages, downgraded["messages"], strict=True):
        assert (after is before) == (before["content"]["type"] in known)


@given(
    contents=st.lists(sampling_blocks | st.lists(sampling_blocks, max_size=3), max_size=4),
    version=versions,
)
def test_sampling_requests_validate_in_every_revision(contents: list[Any], version: str) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": c} for c in contents]
    params: dict[str, Any] = {"messages": messages, "maxTokens": 100}
    downgraded = downgrade_sampling_params(params, version)
    validate(
        version,
        "CreateMessageRequest",
        {"jsonrpc": "2.0", "id": 1, "method": "sampling/createMessage", "params": downgraded},
    )
    known = sampling_content_types(version)
    for before, after in zip(messages, downgraded["messages"], strict=True):
        content = before["content"]
        if isinstance(content, dict) and content["type"] in known:
            assert after is before
        if isinstance(content, list) and version < "2025-11-25":
            assert isinstance(after["content"], dict)  # one block per message then


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_a_session_downgrades_what_it_sends(version: str) -> None:
    session = operating(version)
    session.receive(Request(id=5, method="tools/call", params={"name": "t"}), now=3.0)
    audio = {"type": "audio", "data": B64, "mimeType": "audio/wav"}
    answer = session.send_response(5, {"content": [audio]})
    assert isinstance(answer, Response)
    validate(version, "CallToolResult", answer.result)
    assert (answer.result["content"][0]["type"] == "audio") == (version >= "2025-03-26")
    asked = session.send_request(
        "sampling/createMessage",
        {"messages": [{"role": "user", "content": audio}], "maxTokens": 10},
    )
    validate(
        version,
        "CreateMessageRequest",
        {"jsonrpc": "2.0", "id": asked.id, "method": asked.method, "params": asked.params},
    )


# -- over HTTP ----------------------------------------------------------------------------

app = MCPServer("content-revisions")


@app.tool()
async def listen() -> list[Any]:
    """Audio, a resource link and text."""
    return [
        TextContent(text="here"),
        AudioContent(data=B64, mime_type="audio/wav"),
        ResourceLink(uri="file:///notes.txt", name="notes", description="the notes"),
    ]


@app.prompt()
async def with_audio() -> list[Any]:
    return [{"role": "user", "content": {"type": "audio", "data": B64, "mimeType": "audio/wav"}}]


@pytest.mark.parametrize("front", FRONTS)
async def test_each_revision_gets_the_content_it_defines(front: str) -> None:
    async with serving(app, front, RuntimeConfig(shutdown_grace=1)) as port:
        for version in HANDSHAKE_VERSIONS:
            session = McpHttp(HttpClient("127.0.0.1", port))
            await session.initialize(version)
            called = (await session.call(1, "tools/call", {"name": "listen"})).json()["result"]
            validate(version, "CallToolResult", called)
            kinds = [block["type"] for block in called["content"]]
            assert kinds == [
                "text",
                "audio" if version >= "2025-03-26" else "text",
                "resource_link" if version >= "2025-06-18" else "text",
            ]
            if version < "2025-06-18":
                assert called["content"][2]["text"] == (
                    "Resource link: notes <file:///notes.txt>: the notes"
                )
            got = (await session.call(2, "prompts/get", {"name": "with_audio"})).json()["result"]
            validate(version, "GetPromptResult", got)


def test_what_is_not_a_block_is_said_to_be_omitted() -> None:
    downgraded = downgrade_result({"content": ["junk", {"type": "video"}]}, "2024-11-05")
    validate("2024-11-05", "CallToolResult", downgraded)
    assert [block["text"] for block in downgraded["content"]] == [
        "[content omitted: protocol revision 2024-11-05 does not define it]",
        "[video content omitted: protocol revision 2024-11-05 does not define it]",
    ]
