"""The "everything" server: every fixture the official MCP conformance suite exercises.

Run it with ``scaled-mcp serve examples/everything.py`` and point the suite (or
any MCP client) at ``http://localhost:8000/mcp``. The same handlers serve the
handshake-era wire (2024-11-05 … 2025-11-25) and the stateless 2026-07-28
wire: on a session, sampling and elicitation are live requests to the client;
on the stateless wire they become input-required round trips.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import trio

from scaled_mcp import (
    AudioContent,
    BlobResourceContents,
    Context,
    EmbeddedResource,
    ImageContent,
    InputRequest,
    McpError,
    MCPServer,
    Param,
    PromptMessage,
    TextContent,
    TextResourceContents,
    ToolError,
)
from scaled_mcp.protocol.jsonrpc import ErrorCode

app = MCPServer(
    "scaled-mcp-everything",
    "1.0.0",
    instructions="A server that exercises every MCP feature, for conformance testing.",
)

#: A 1x1 red PNG pixel.
TEST_IMAGE_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Dw"
    "HwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
#: A minimal WAV file.
TEST_AUDIO_BASE64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

# -- tools: content ------------------------------------------------------------------


@app.tool(description="Tests simple text content response")
async def test_simple_text() -> str:
    return "This is a simple text response for testing."


@app.tool(description="Tests image content response")
async def test_image_content() -> ImageContent:
    return ImageContent(data=TEST_IMAGE_BASE64, mime_type="image/png")


@app.tool(description="Tests audio content response")
async def test_audio_content() -> AudioContent:
    return AudioContent(data=TEST_AUDIO_BASE64, mime_type="audio/wav")


@app.tool(description="Tests embedded resource content response")
async def test_embedded_resource() -> EmbeddedResource:
    return EmbeddedResource(
        resource=TextResourceContents(
            uri="test://embedded-resource",
            mime_type="text/plain",
            text="This is an embedded resource content.",
        )
    )


@app.tool(description="Tests response with multiple content types (text, image, resource)")
async def test_multiple_content_types() -> list[TextContent | ImageContent | EmbeddedResource]:
    return [
        TextContent(text="Multiple content types test:"),
        ImageContent(data=TEST_IMAGE_BASE64, mime_type="image/png"),
        EmbeddedResource(
            resource=TextResourceContents(
                uri="test://mixed-content-resource",
                mime_type="application/json",
                text=json.dumps({"test": "data", "value": 123}),
            )
        ),
    ]


# -- tools: notifications --------------------------------------------------------------


@app.tool(description="Tests tool that emits log messages during execution")
async def test_tool_with_logging(ctx: Context) -> str:
    await ctx.info("Tool execution started")
    await trio.sleep(0.05)
    await ctx.info("Tool processing data")
    await trio.sleep(0.05)
    await ctx.info("Tool execution completed")
    return "Tool with logging executed successfully"


@app.tool(description="Tests tool that reports progress notifications")
async def test_tool_with_progress(ctx: Context) -> str:
    for step in (0, 50, 100):
        await ctx.report_progress(step, 100, f"Completed step {step} of 100")
        if step < 100:
            await trio.sleep(0.05)
    return str(ctx.progress_token if ctx.progress_token is not None else 0)


@app.tool(description="Tests error response handling")
async def test_error_handling() -> str:
    raise ToolError("This tool intentionally returns an error for testing")


@app.tool(
    description=(
        "Tests SSE stream disconnection and client reconnection (SEP-1699). The server "
        "closes the stream mid-call and sends the result after the client reconnects."
    )
)
async def test_reconnection(ctx: Context) -> str:
    await ctx.close_sse_stream()
    await trio.sleep(0.1)
    return (
        "Reconnection test completed successfully. If you received this, the client "
        "properly reconnected after stream closure."
    )


# -- tools: questions to the client --------------------------------------------------------


@app.tool(description="Tests server-initiated sampling (LLM completion request)")
async def test_sampling(
    ctx: Context, prompt: Annotated[str, Param(description="The prompt to send to the LLM")]
) -> str:
    result = await ctx.sample([prompt], max_tokens=100)
    content = result.content
    text = getattr(content, "text", None) if not isinstance(content, list) else None
    return f"LLM response: {text if text is not None else 'No response'}"


@app.tool(description="Tests server-initiated elicitation (user input request)")
async def test_elicitation(
    ctx: Context, message: Annotated[str, Param(description="The message to show the user")]
) -> str:
    result = await ctx.elicit(
        message,
        {
            "type": "object",
            "properties": {"response": {"type": "string", "description": "User's response"}},
            "required": ["response"],
        },
    )
    content = json.dumps(result.content or {}, separators=(",", ":"))
    return f"User response: action={result.action}, content={content}"


@app.tool(description="Tests elicitation with default values per SEP-1034")
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    result = await ctx.elicit(
        "Please review and update the form fields with defaults",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {
                    "type": "string",
                    "description": "User status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active",
                },
                "verified": {
                    "type": "boolean",
                    "description": "Verification status",
                    "default": True,
                },
            },
            "required": [],
        },
    )
    content = json.dumps(result.content or {}, separators=(",", ":"))
    return f"Elicitation completed: action={result.action}, content={content}"


@app.tool(description="Tests elicitation with enum schema improvements per SEP-1330")
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    choices = [("value1", "First"), ("value2", "Second"), ("value3", "Third")]
    result = await ctx.elicit(
        "Please select options from the enum fields",
        {
            "type": "object",
            "properties": {
                "untitledSingle": {
                    "type": "string",
                    "description": "Select one option",
                    "enum": ["option1", "option2", "option3"],
                },
                "titledSingle": {
                    "type": "string",
                    "description": "Select one option with titles",
                    "oneOf": [{"const": v, "title": f"{t} Option"} for v, t in choices],
                },
                "legacyEnum": {
                    "type": "string",
                    "description": "Select one option (legacy)",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "description": "Select multiple options",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                },
                "titledMulti": {
                    "type": "array",
                    "description": "Select multiple options with titles",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {"anyOf": [{"const": v, "title": f"{t} Choice"} for v, t in choices]},
                },
            },
            "required": [],
        },
    )
    content = json.dumps(result.content or {}, separators=(",", ":"))
    return f"Elicitation completed: action={result.action}, content={content}"


#: SEP-1613 / SEP-2106: an input schema using the 2020-12 vocabulary, kept as written.
JSON_SCHEMA_2020_12_INPUT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@app.tool(
    description="Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
    input_schema=JSON_SCHEMA_2020_12_INPUT_SCHEMA,
)
async def json_schema_2020_12_tool(**arguments: Any) -> str:
    return f"JSON Schema 2020-12 tool called with: {json.dumps(arguments, separators=(',', ':'))}"


# -- tools: the 2026-07-28 diagnostics and input-required flows ----------------------------


@app.tool(description="Echoes a region that is also sent as the Mcp-Param-Region header")
async def test_custom_header(
    region: Annotated[str, Param(description="Where to run", header="Region")],
) -> str:
    return f"Region: {region}"


def _text_answer(answer: dict[str, Any], field: str) -> str:
    content = answer.get("content") or {}
    value = content.get(field) if isinstance(content, dict) else None
    return str(value) if value is not None else "unknown"


def _form(message: str, field: str, kind: str = "string") -> InputRequest:
    return InputRequest.elicit(
        message,
        {"type": "object", "properties": {field: {"type": kind}}, "required": [field]},
    )


@app.tool(description="Test tool requiring sampling")
async def test_missing_capability(ctx: Context) -> str:
    await ctx.sample(["Say something"], max_tokens=10)
    return "Success"


@app.tool(description="Input required: asks the user's name through elicitation")
async def test_input_required_result_elicitation(ctx: Context) -> str:
    answers = await ctx.ask_many({"user_name": _form("What is your name?", "name")})
    return f"Hello, {_text_answer(answers['user_name'], 'name')}!"


@app.tool(description="Input required: asks the client's model through sampling")
async def test_input_required_result_sampling(ctx: Context) -> str:
    result = await ctx.sample(
        ["What is the capital of France?"], max_tokens=100, key="sample_request"
    )
    text = getattr(result.content, "text", None)
    return f"Sampling result: {text if isinstance(text, str) else 'no response'}"


@app.tool(description="Input required: asks the client's roots")
async def test_input_required_result_list_roots(ctx: Context) -> str:
    roots = await ctx.list_roots(key="roots_request")
    return f"Found {len(roots)} root(s)"


@app.tool(description="Input required: confirms through a round trip carrying requestState")
async def test_input_required_result_request_state(ctx: Context) -> str:
    answers = await ctx.ask_many({"confirm": _form("Please confirm", "ok", "boolean")})
    content = answers["confirm"].get("content") or {}
    if content.get("ok") is True:
        return "state-ok: requestState validated"
    return "state-declined: the confirmation was not given"


@app.tool(description="Input required: several questions in one round")
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    answers = await ctx.ask_many(
        {
            "user_name": _form("What is your name?", "name"),
            "greeting": InputRequest.create_message(
                [{"role": "user", "content": {"type": "text", "text": "Generate a greeting"}}],
                50,
            ),
            "client_roots": InputRequest.list_roots(),
        }
    )
    greeting = (answers["greeting"].get("content") or {}).get("text", "Hello there!")
    roots = answers["client_roots"].get("roots") or []
    name = _text_answer(answers["user_name"], "name")
    return f"Name: {name}; Greeting: {greeting}; Roots: {len(roots)}"


@app.tool(description="Input required: a question per round, over two rounds")
async def test_input_required_result_multi_round(ctx: Context) -> str:
    first = await ctx.ask_many({"step1": _form("Step 1: What is your name?", "name")})
    second = await ctx.ask_many({"step2": _form("Step 2: What is your favorite color?", "color")})
    name = _text_answer(first["step1"], "name")
    return f"Multi-round complete for {name} who likes {_text_answer(second['step2'], 'color')}"


@app.tool(description="Input required: the sealed requestState is checked for tampering")
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    await ctx.ask_many({"confirm": _form("Please confirm", "ok", "boolean")})
    return "integrity-ok: state verified"


@app.tool(description="Input required: asks only what the client's capabilities allow")
async def test_input_required_result_capabilities(ctx: Context) -> str:
    questions: dict[str, InputRequest] = {}
    if "elicitation" in ctx.client_capabilities:
        questions["elicit_input"] = _form("Elicitation input", "value")
    if "sampling" in ctx.client_capabilities:
        questions["sample_input"] = InputRequest.create_message(
            [{"role": "user", "content": {"type": "text", "text": "Sample request"}}], 50
        )
    if not questions:
        return "No supported capabilities declared"
    answers = await ctx.ask_many(questions)
    return f"capabilities-ok: received {','.join(answers)}"


@app.tool(description="Diagnostic tool validating response progress streams")
async def test_streaming_elicitation(ctx: Context) -> str:
    await ctx.report_progress(50, 100)
    return "Streaming complete"


@app.tool(description="Diagnostic logging validator tool")
async def test_logging_tool(ctx: Context) -> str:
    await ctx.info("Diagnostic trace logging activated")
    return "Logging evaluated"


@app.tool(description="Sends tools/list_changed to every client")
async def test_trigger_tool_change() -> str:
    # The registry itself is left alone: every node of a cluster must list the same tools.
    app.notify_list_changed("tools")
    return "Mutation triggered"


@app.tool(description="Sends prompts/list_changed to every client")
async def test_trigger_prompt_change() -> str:
    app.notify_list_changed("prompts")
    return "Mutation triggered"


# -- resources -----------------------------------------------------------------------------


@app.resource(
    "test://static-text",
    name="static-text",
    title="Static Text Resource",
    description="A static text resource for testing",
    mime_type="text/plain",
)
async def static_text() -> str:
    return "This is the content of the static text resource."


@app.resource(
    "test://static-binary",
    name="static-binary",
    title="Static Binary Resource",
    description="A static binary resource (image) for testing",
    mime_type="image/png",
)
async def static_binary() -> BlobResourceContents:
    return BlobResourceContents(
        uri="test://static-binary", blob=TEST_IMAGE_BASE64, mime_type="image/png"
    )


@app.resource(
    "test://template/{id}/data",
    name="template",
    title="Resource Template",
    description="A resource template with parameter substitution",
    mime_type="application/json",
)
async def template(id: str) -> str:
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


watched_content = "Watched resource content"


@app.resource(
    "test://watched-resource",
    name="watched-resource",
    title="Watched Resource",
    description="A resource that reports its updates to subscribers",
    mime_type="text/plain",
)
async def watched_resource() -> str:
    return watched_content


# -- prompts -------------------------------------------------------------------------------


@app.prompt(title="Simple Test Prompt", description="A simple prompt without arguments")
async def test_simple_prompt() -> str:
    return "This is a simple prompt for testing."


@app.prompt(
    title="Prompt With Arguments",
    description="A prompt with required arguments",
    argument_descriptions={"arg1": "First test argument", "arg2": "Second test argument"},
)
async def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@app.prompt(
    title="Prompt With Embedded Resource",
    description="A prompt that includes an embedded resource",
    argument_descriptions={"resourceUri": "URI of the resource to embed"},
)
async def test_prompt_with_embedded_resource(resourceUri: str) -> list[Any]:
    return [
        PromptMessage(
            role="user",
            content=EmbeddedResource(
                resource=TextResourceContents(
                    uri=resourceUri,
                    mime_type="text/plain",
                    text="Embedded resource content for testing.",
                )
            ),
        ),
        "Please process the embedded resource above.",
    ]


@app.prompt(title="Prompt With Image", description="A prompt that includes image content")
async def test_prompt_with_image() -> list[Any]:
    return [
        ImageContent(data=TEST_IMAGE_BASE64, mime_type="image/png"),
        "Please analyze the image above.",
    ]


@app.prompt(description="Input required: a prompt that needs context from the user")
async def test_input_required_result_prompt(ctx: Context) -> str:
    answers = await ctx.ask_many(
        {"user_context": _form("What context should the prompt use?", "context")}
    )
    return f"Prompt with context: {_text_answer(answers['user_context'], 'context')}"


@app.completion(prompt="test_prompt_with_arguments")
async def complete_prompt_arguments(
    argument: str, value: str, context_arguments: dict[str, str]
) -> list[str]:
    options = {"arg1": ["alpha", "apple", "avocado"], "arg2": ["beta", "banana", "blueberry"]}
    return [option for option in options.get(argument, []) if option.startswith(value)]


# -- skills (io.modelcontextprotocol/skills) -----------------------------------------------
# The Agent Skills in examples/skills/, each file a skill:// resource, with skills/list,
# skills/get and resources/directory/read: the sep-2640-* scenarios of the suite.

app.add_skills(Path(__file__).parent / "skills")


# -- the tasks extension (io.modelcontextprotocol/tasks) --------------------------
# A client declaring the extension gets a task (CreateTaskResult) for the tools
# below registered with ``task=``; ctx.elicit() inside a task makes it
# input_required until the client answers with tasks/update.


def _answered(answer: Any, *fields: str) -> str:
    content = getattr(answer, "content", None) or {}
    for name in fields:
        if isinstance(content.get(name), str | bool | int):
            return str(content[name])
    values = [str(v) for v in content.values()]
    return values[0] if values else ""


@app.tool(description="Tasks: greets at once (a plain tool, never a task)")
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@app.tool(description="Tasks: sleeps `seconds` seconds, then answers", task="optional")
async def slow_compute(seconds: float = 1.0, label: str = "") -> str:
    await trio.sleep(max(0.0, min(seconds, 3600.0)))
    return f"Computed {label or 'result'} after {seconds} s"


@app.tool(description="Tasks: always ends with a tool error", task="required")
async def failing_job() -> str:
    await trio.sleep(0.5)
    raise ToolError("the job failed (as it always does)")


@app.tool(description="Tasks: always ends with a protocol (JSON-RPC) error", task="optional")
async def protocol_error_job() -> str:
    await trio.sleep(0.1)
    raise McpError(ErrorCode.INTERNAL_ERROR, "the job hit an internal error")


@app.tool(description="Tasks: asks for confirmation before deleting a file", task="optional")
async def confirm_delete(ctx: Context, filename: str) -> str:
    answer = await ctx.elicit(
        f"Delete {filename}?",
        {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]},
    )
    if answer.action != "accept":
        return f"Kept {filename}"
    return f"Deleted {filename}" if _answered(answer, "confirm") == "True" else f"Kept {filename}"


@app.tool(description="Tasks: asks two questions at once", task="optional")
async def multi_input(ctx: Context) -> str:
    answers = await ctx.ask_many(
        {"name": _form("What is your name?", "name"), "confirm": _form("Go on?", "confirm")}
    )
    return f"Got {len(answers)} answers"


@app.tool(
    description="Tasks: asks the user's name in the request, then goes on as a task",
    task="required",
    defer_task=True,
)
async def test_tool_with_task(ctx: Context) -> str:
    answer = await ctx.elicit(
        "What is your name?",
        {"type": "object", "properties": {"user_name": {"type": "string"}}},
        key="user_name",
    )
    await ctx.become_task()
    await trio.sleep(0.2)
    return f"Hello, {_answered(answer, 'user_name', 'name')}!"
