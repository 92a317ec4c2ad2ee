"""The user types: wire form valid per the official schemas, round trips, strict input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.jsonrpc import ErrorCode, RemoteProtocolError
from scaled_mcp.protocol.stateless import CacheHint, complete_result
from scaled_mcp.protocol.types import (
    Annotations,
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    CompleteResult,
    Completion,
    CreateMessageResult,
    ElicitResult,
    EmbeddedResource,
    GetPromptResult,
    Icon,
    ImageContent,
    Implementation,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListRootsResult,
    ListToolsResult,
    ModelHint,
    ModelPreferences,
    Prompt,
    PromptArgument,
    PromptMessage,
    ReadResourceResult,
    Resource,
    ResourceLink,
    ResourceTemplate,
    Root,
    SamplingMessage,
    TextContent,
    TextResourceContents,
    Tool,
    ToolAnnotations,
    ToolResultContent,
    ToolUseContent,
    from_wire,
    to_wire,
)
from tests.spec import EXAMPLES_DIR, definitions, validate

text = st.text(max_size=8)
opt_text = st.none() | text
uri = st.sampled_from(["test://a", "file:///x", "https://example.com/r"])
meta = st.none() | st.dictionaries(st.sampled_from(["k", "com.example/x"]), st.integers(0, 9))
icons = st.none() | st.lists(
    st.builds(
        Icon,
        src=uri,
        mime_type=st.none() | st.just("image/png"),
        sizes=st.none() | st.just(["48x48"]),
        theme=st.none() | st.sampled_from(["light", "dark"]),
    ),
    max_size=2,
)
hints = st.none() | st.builds(
    Annotations,
    audience=st.none() | st.lists(st.sampled_from(["user", "assistant"]), max_size=2),
    priority=st.none() | st.floats(0, 1),
    last_modified=st.none() | st.just("2025-01-12T15:00:58Z"),
)
b64 = st.sampled_from(["", "aGk=", "AAECAw=="])
text_content = st.builds(TextContent, text=text, annotations=hints, meta=meta)
image = st.builds(ImageContent, data=b64, mime_type=st.just("image/png"), annotations=hints)
audio = st.builds(AudioContent, data=b64, mime_type=st.just("audio/wav"), meta=meta)
text_contents = st.builds(TextResourceContents, uri=uri, text=text, mime_type=opt_text, meta=meta)
blob_contents = st.builds(BlobResourceContents, uri=uri, blob=b64, mime_type=opt_text)
link = st.builds(
    ResourceLink,
    uri=uri,
    name=text,
    title=opt_text,
    description=opt_text,
    mime_type=opt_text,
    size=st.none() | st.integers(0, 10**6),
    annotations=hints,
    icons=icons,
    meta=meta,
)
embedded = st.builds(
    EmbeddedResource, resource=text_contents | blob_contents, annotations=hints, meta=meta
)
content = text_content | image | audio | link | embedded
schema_obj = st.just({"type": "object", "properties": {"x": {"type": "string"}}})
tool = st.builds(
    Tool,
    name=text,
    input_schema=schema_obj,
    title=opt_text,
    description=opt_text,
    output_schema=st.none() | schema_obj,
    annotations=st.none()
    | st.builds(
        ToolAnnotations,
        title=opt_text,
        read_only_hint=st.none() | st.booleans(),
        destructive_hint=st.none() | st.booleans(),
        idempotent_hint=st.none() | st.booleans(),
        open_world_hint=st.none() | st.booleans(),
    ),
    icons=icons,
    meta=meta,
)
resource = st.builds(
    Resource,
    uri=uri,
    name=text,
    title=opt_text,
    description=opt_text,
    mime_type=opt_text,
    size=st.none() | st.integers(0, 99),
    annotations=hints,
    icons=icons,
    meta=meta,
)
template = st.builds(
    ResourceTemplate,
    uri_template=st.just("test://template/{id}/data"),
    name=text,
    title=opt_text,
    description=opt_text,
    mime_type=opt_text,
    icons=icons,
)
prompt = st.builds(
    Prompt,
    name=text,
    title=opt_text,
    description=opt_text,
    arguments=st.none()
    | st.lists(
        st.builds(
            PromptArgument, name=text, description=opt_text, required=st.none() | st.booleans()
        ),
        max_size=2,
    ),
    icons=icons,
)
role = st.sampled_from(["user", "assistant"])
tool_use = st.builds(ToolUseContent, id=text, name=text, input=st.just({"q": 1}), meta=meta)
tool_result = st.builds(
    ToolResultContent,
    tool_use_id=text,
    content=st.lists(text_content | image, max_size=2),
    is_error=st.none() | st.booleans(),
)
sampling_block = text_content | image | audio | tool_use | tool_result
sampling_content = sampling_block | st.lists(sampling_block, min_size=1, max_size=3)

ELICIT_ACTIONS = ["accept", "decline", "cancel"]
# (type name in the schema, strategy, is a result)
CASES: list[tuple[str, st.SearchStrategy[Any], bool]] = [
    ("Implementation", st.builds(Implementation, name=text, version=text, title=opt_text,
                                 website_url=st.none() | st.just("https://x.org"), icons=icons),
     False),
    ("TextContent", text_content, False),
    ("ToolUseContent", tool_use, False),
    ("ToolResultContent", tool_result, False),
    ("ImageContent", image, False),
    ("AudioContent", audio, False),
    ("ResourceLink", link, False),
    ("EmbeddedResource", embedded, False),
    ("TextResourceContents", text_contents, False),
    ("BlobResourceContents", blob_contents, False),
    ("Tool", tool, False),
    ("Resource", resource, False),
    ("ResourceTemplate", template, False),
    ("Prompt", prompt, False),
    ("Root", st.builds(Root, uri=st.just("file:///home"), name=opt_text, meta=meta), False),
    ("ModelPreferences", st.builds(ModelPreferences,
                                   hints=st.none() | st.lists(st.builds(ModelHint, name=opt_text),
                                                              max_size=2),
                                   cost_priority=st.none() | st.floats(0, 1)), False),
    ("SamplingMessage", st.builds(SamplingMessage, role=role, content=sampling_content), False),
    ("CallToolResult", st.builds(CallToolResult, content=st.lists(content, max_size=3),
                                 structured_content=st.none() | st.just({"a": 1}),
                                 is_error=st.none() | st.booleans(), meta=meta), True),
    ("ReadResourceResult", st.builds(ReadResourceResult,
                                     contents=st.lists(text_contents | blob_contents, max_size=2),
                                     meta=meta), True),
    ("GetPromptResult", st.builds(GetPromptResult, messages=st.lists(
        st.builds(PromptMessage, role=role, content=content), max_size=2),
        description=opt_text), True),
    ("CompleteResult", st.builds(CompleteResult, completion=st.builds(
        Completion, values=st.lists(text, max_size=3), total=st.none() | st.integers(0, 9),
        has_more=st.none() | st.booleans())), True),
    ("ListToolsResult", st.builds(ListToolsResult, tools=st.lists(tool, max_size=2),
                                  next_cursor=opt_text), True),
    ("ListResourcesResult", st.builds(ListResourcesResult, resources=st.lists(resource, max_size=2),
                                      next_cursor=opt_text), True),
    ("ListResourceTemplatesResult", st.builds(ListResourceTemplatesResult,
                                              resource_templates=st.lists(template, max_size=2)),
     True),
    ("ListPromptsResult", st.builds(ListPromptsResult, prompts=st.lists(prompt, max_size=2)), True),
    ("ListRootsResult", st.builds(ListRootsResult, roots=st.lists(
        st.builds(Root, uri=st.just("file:///r")), max_size=2)), False),
    ("CreateMessageResult", st.builds(CreateMessageResult, role=role, content=sampling_content,
                                      model=text, stop_reason=opt_text), False),
    ("ElicitResult", st.builds(ElicitResult, action=st.sampled_from(ELICIT_ACTIONS),
                               content=st.none() | st.just({"name": "x"})), False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "strategy", "is_result"), CASES, ids=[c[0] for c in CASES])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_wire_form_is_valid_and_round_trips(
    name: str, strategy: st.SearchStrategy[Any], is_result: bool, data: st.DataObject
) -> None:
    value = data.draw(strategy)
    wire = to_wire(value)
    validate("2025-11-25", name, wire)
    modern = wire
    if is_result:
        # The core completes a 2026-07-28 result: resultType, and cache hints where required.
        cacheable = "ttlMs" in definitions("2026-07-28")[name].get("required", ())
        modern = complete_result(
            wire, cache=CacheHint(ttl_ms=0, scope="private") if cacheable else None
        )
    if name != "ListRootsResult":  # roots/list is an input request in 2026-07-28
        validate("2026-07-28", name, modern)
    assert from_wire(type(value), wire) == value
    assert from_wire(type(value), json.loads(json.dumps(wire))) == value


def test_wire_names() -> None:
    tool = Tool(
        name="t",
        input_schema={"type": "object"},
        annotations=ToolAnnotations(read_only_hint=True),
        meta={"k": 1},
    )
    assert to_wire(tool) == {
        "name": "t",
        "inputSchema": {"type": "object"},
        "annotations": {"readOnlyHint": True},
        "_meta": {"k": 1},
    }
    assert to_wire(CallToolResult(content=[TextContent(text="hi")], is_error=True)) == {
        "content": [{"type": "text", "text": "hi"}],
        "isError": True,
    }
    assert to_wire(Tool(name="bare")) == {"name": "bare", "inputSchema": {"type": "object"}}


def test_unknown_keys_are_tolerated() -> None:
    assert from_wire(TextContent, {"type": "text", "text": "x", "future": 1}) == TextContent(
        text="x"
    )


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (TextContent, {"type": "text"}),
        (TextContent, {"type": "text", "text": 5}),
        (CallToolResult, {"content": [{"type": "video"}]}),
        (CallToolResult, {"content": "x"}),
        (CallToolResult, {"content": [], "isError": "yes"}),
        (EmbeddedResource, {"type": "resource", "resource": {"uri": "u"}}),
        (ElicitResult, {"action": "maybe"}),
        (Tool, {"name": "t", "inputSchema": []}),
        (Tool, []),
        (Resource, {"uri": "u", "name": "n", "size": "big"}),
    ],
)
def test_invalid_input_is_a_remote_error(cls: type[Any], data: Any) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        from_wire(cls, data)
    assert info.value.code == ErrorCode.INVALID_PARAMS


_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@settings(max_examples=200)
@given(st.sampled_from([CallToolResult, Tool, PromptMessage, EmbeddedResource]),
       st.dictionaries(st.sampled_from(["type", "text", "content", "name", "inputSchema",
                                        "role", "resource", "uri", "blob"]), _json))  # fmt: skip
def test_junk_is_built_or_refused_with_a_remote_error(cls: type[Any], data: dict[str, Any]) -> None:
    try:
        value: Any = from_wire(cls, data)
    except RemoteProtocolError:
        return
    assert from_wire(cls, to_wire(value)) == value


EXAMPLE_TYPES = {
    "TextContent": TextContent,
    "ImageContent": ImageContent,
    "AudioContent": AudioContent,
    "EmbeddedResource": EmbeddedResource,
    "ResourceLink": ResourceLink,
    "TextResourceContents": TextResourceContents,
    "BlobResourceContents": BlobResourceContents,
    "Tool": Tool,
    "Resource": Resource,
    "CallToolResult": CallToolResult,
    "ReadResourceResult": ReadResourceResult,
    "GetPromptResult": GetPromptResult,
    "CompleteResult": CompleteResult,
    "ListToolsResult": ListToolsResult,
    "ListResourcesResult": ListResourcesResult,
    "ListResourceTemplatesResult": ListResourceTemplatesResult,
    "ListPromptsResult": ListPromptsResult,
    "CreateMessageResult": CreateMessageResult,
    "ElicitResult": ElicitResult,
    "ModelPreferences": ModelPreferences,
    "Root": Root,
    "SamplingMessage": SamplingMessage,
    "ToolUseContent": ToolUseContent,
    "ToolResultContent": ToolResultContent,
}
# Members of 2026-07-28 results that are not part of the user type (the core adds them).
RESULT_ONLY_KEYS = {"resultType", "ttlMs", "cacheScope"}


def test_official_examples_parse_and_reserialise() -> None:
    checked = 0
    for name, cls in EXAMPLE_TYPES.items():
        folder = EXAMPLES_DIR / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text())
            expected = {k: v for k, v in data.items() if k not in RESULT_ONLY_KEYS}
            value: Any = from_wire(cls, data)
            assert to_wire(value) == expected, path.name
            checked += 1
    assert checked >= 20
