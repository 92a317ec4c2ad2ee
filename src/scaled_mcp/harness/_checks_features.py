"""Feature checks: every list followed to its end, an invalid cursor, the tools' schemas,
resources read, prompts got, completion, and every message of the run against the
official schema of its revision.

They speak through the run's :class:`~scaled_mcp.client.Client`, so they apply on
every transport; what the client returns is recorded in the tap with the method
it answers (:func:`call`), so that ``features.messages-valid`` checks each result
against its own type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..client import ClientError, ConnectionLost
from ..protocol.jsonrpc import ErrorCode
from ..protocol.versions import STATELESS_VERSIONS, SUPPORTED_VERSIONS
from ._model import Failed, Level, Skipped, SpecRef
from ._probe import Probe
from ._registry import check
from ._schemas import UnknownDialect, json_schema_errors, message_errors, result_definition

__all__ = ["RESULT_KIND", "call", "list_all", "prompt_arguments"]

#: The tap ``kind`` of a result a client call returned: ``"result:<method>"``.
RESULT_KIND: Final = "result:"
#: The most pages one list is followed for.
MAX_PAGES: Final = 100
#: The most resources read and prompts got in one check.
MAX_ITEMS: Final = 20
#: A cursor no server gave.
INVALID_CURSOR: Final = "scaled-mcp-check:not-a-cursor"
#: A resource no server has.
MISSING_URI: Final = "scaled-mcp-check://no/such/resource"
#: Revisions where ``inputSchema`` follows JSON Schema 2020-12 unless it says otherwise.
_DIALECT_FROM: Final = "2025-11-25"

#: Each list: its method, the capability that offers it, the key of its items.
LISTS: Final[dict[str, tuple[str, str]]] = {
    "tools/list": ("tools", "tools"),
    "resources/list": ("resources", "resources"),
    "resources/templates/list": ("resources", "resourceTemplates"),
    "prompts/list": ("prompts", "prompts"),
}


async def call(probe: Probe, method: str, params: Mapping[str, Any] | None = None) -> Any:
    """The result of ``method`` through the run's client, recorded in the tap (kind
    ``result:<method>``). :class:`ClientError` when the server answers an error."""
    client = await probe.client()
    result = await client.request(method, dict(params) if params is not None else None)
    probe.tap.record(probe.revision, "client", result, kind=RESULT_KIND + method)
    return result


async def _declared(probe: Probe, capability: str) -> bool:
    client = await probe.client()
    return isinstance(client.server_capabilities.get(capability), dict)


async def list_all(probe: Probe, method: str) -> list[Any]:
    """Every item of list ``method``, each page's ``nextCursor`` followed to the end.
    :class:`Failed` on a page that is not a result with an array of items, a cursor
    the server does not accept back, or a cursor that comes round again."""
    _, key = LISTS[method]
    items: list[Any] = []
    seen: set[str] = set()
    cursor: str | None = None
    for page in range(1, MAX_PAGES + 1):
        params = {"cursor": cursor} if cursor is not None else None
        try:
            result = await call(probe, method, params)
        except ClientError as exc:
            where = f"with the cursor it gave ({cursor!r})" if cursor is not None else "first page"
            raise Failed(f"{method} {where}: error {exc.code} {exc.message}") from None
        page_items = result.get(key) if isinstance(result, dict) else None
        if not isinstance(page_items, list):
            raise Failed(f"{method} page {page}: no {key!r} array in {result!r}"[:300])
        items += page_items
        next_cursor = result.get("nextCursor")
        if next_cursor is None:
            return items
        if not isinstance(next_cursor, str):
            raise Failed(f"{method} page {page}: nextCursor is not a string: {next_cursor!r}")
        if next_cursor in seen:
            raise Failed(f"{method} page {page}: the cursor {next_cursor!r} came round again")
        seen.add(next_cursor)
        cursor = next_cursor
    raise Failed(f"{method}: more than {MAX_PAGES} pages")


def _list_check(method: str) -> None:
    capability, key = LISTS[method]
    name = method.replace("/", "-").replace("resources-templates", "resource-templates")

    @check(
        f"features.{name}",
        area="features",
        title=f"{method} answers every page, each nextCursor followed to the end",
        spec=SpecRef(
            "2026-07-28",
            "Server Features, Pagination",
            "Pagination starts when the server sends a response that includes: The current "
            "page of results; An optional nextCursor field if more results exist. After "
            "receiving a cursor, the client can continue paginating by issuing a request "
            "including that cursor",
        ),
    )
    async def follow(probe: Probe) -> None:
        if not await _declared(probe, capability):
            raise Skipped(f"the server does not declare the {capability} capability")
        await list_all(probe, method)

    follow.__name__ = f"follow_{key}"


for _method in LISTS:
    _list_check(_method)


@check(
    "features.invalid-cursor",
    area="features",
    title="a list request with a cursor the server never gave gets -32602",
    spec=SpecRef(
        "2026-07-28",
        "Server Features, Pagination, Error Handling",
        "Invalid cursors SHOULD result in an error with code -32602 (Invalid params).",
    ),
    level=Level.SHOULD,
)
async def invalid_cursor(probe: Probe) -> None:
    methods = [m for m, (cap, _) in LISTS.items() if await _declared(probe, cap)]
    if not methods:
        raise Skipped("the server declares no list capability (tools, resources, prompts)")
    wrong: list[str] = []
    for method in methods:
        try:
            await call(probe, method, {"cursor": INVALID_CURSOR})
        except ClientError as exc:
            if exc.code != ErrorCode.INVALID_PARAMS:
                wrong.append(f"{method}: error {exc.code} {exc.message}")
            continue
        wrong.append(f"{method}: a result")
    if wrong:
        raise Failed("an invalid cursor was not answered with -32602: " + "; ".join(wrong))


@check(
    "features.tool-schemas",
    area="features",
    title="every tool's inputSchema and outputSchema is a valid JSON Schema of type object",
    spec=SpecRef(
        "2025-11-25",
        "Server Features, Tools, Tool",
        "inputSchema: JSON Schema defining expected parameters [...] Defaults to 2020-12 if "
        "no $schema field is present; MUST be a valid JSON Schema object (not null)",
    ),
)
async def tool_schemas(probe: Probe) -> None:
    if not await _declared(probe, "tools"):
        raise Skipped("the server does not declare the tools capability")
    tools = await list_all(probe, "tools/list")
    if not tools:
        raise Skipped("the server lists no tools")
    structure: list[str] = []  # what every revision's schema of Tool requires
    invalid: list[str] = []  # JSON Schemas invalid in their dialect
    checked = 0
    for tool in tools:
        name = tool.get("name") if isinstance(tool, dict) else None
        if not isinstance(name, str):
            structure.append(f"a tool without a name: {tool!r}"[:200])
            continue
        for field in ("inputSchema", "outputSchema"):
            if tool.get(field) is None:
                if field == "inputSchema":
                    structure.append(f"{name}: no inputSchema")
                continue
            schema = tool[field]
            # Every revision's schema: inputSchema (and outputSchema) is an object whose
            # "type" is "object".
            if not isinstance(schema, dict) or schema.get("type") != "object":
                structure.append(f"{name}: {field} is not a schema of type object")
                continue
            try:
                errors = json_schema_errors(schema)
            except UnknownDialect:
                continue  # a dialect this checker cannot judge
            checked += 1
            invalid += [f"{name}.{field}: {error}" for error in errors]
    if structure:
        raise Failed("; ".join(structure[:5]))
    if invalid:
        # Before 2025-11-25 the revisions name no dialect: an invalid schema is a defect
        # they do not spell out as a MUST.
        level = None if probe.revision >= _DIALECT_FROM else Level.SHOULD
        raise Failed("; ".join(invalid[:5]), level=level)
    if not checked:
        raise Skipped("every tool's schemas declare a dialect this checker does not know")


@check(
    "features.resources-read",
    area="features",
    title="every listed resource can be read, with its contents",
    spec=SpecRef(
        "2026-07-28",
        "Server Features, Resources, Reading Resources",
        "To retrieve resource contents, clients send a resources/read request",
    ),
    level=Level.SHOULD,
)
async def resources_read(probe: Probe) -> None:
    if not await _declared(probe, "resources"):
        raise Skipped("the server does not declare the resources capability")
    resources = await list_all(probe, "resources/list")
    uris = [r["uri"] for r in resources if isinstance(r, dict) and isinstance(r.get("uri"), str)]
    if not uris:
        raise Skipped("the server lists no resources")
    problems: list[str] = []
    for uri in uris[:MAX_ITEMS]:
        try:
            result = await call(probe, "resources/read", {"uri": uri})
        except ClientError as exc:
            if exc.code != ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY:
                problems.append(f"{uri}: error {exc.code} {exc.message}")
            continue  # -32021: it needs a capability this checker does not declare
        contents = result.get("contents") if isinstance(result, dict) else None
        if not isinstance(contents, list) or not contents:
            problems.append(f"{uri}: no contents")
    if problems:
        raise Failed("listed but not readable: " + "; ".join(problems[:5]))


@check(
    "features.resource-not-found",
    area="features",
    title="reading a resource that does not exist gets the revision's error code",
    spec=SpecRef(
        "2026-07-28",
        "Server Features, Resources, Error Handling",
        "If the requested resource does not exist, servers MUST return a JSON-RPC error with "
        "code -32602 (Invalid Params). (2025-11-25 and earlier: Servers SHOULD return standard "
        "JSON-RPC errors for common failure cases: Resource not found: -32002)",
    ),
)
async def resource_not_found(probe: Probe) -> None:
    if not await _declared(probe, "resources"):
        raise Skipped("the server does not declare the resources capability")
    stateless = probe.revision in STATELESS_VERSIONS
    expected = ErrorCode.INVALID_PARAMS if stateless else ErrorCode.RESOURCE_NOT_FOUND
    level = None if stateless else Level.SHOULD
    try:
        result = await call(probe, "resources/read", {"uri": MISSING_URI})
    except ClientError as exc:
        if exc.code != expected:
            reason = f"error {exc.code} ({exc.message}), not {int(expected)}"
            raise Failed(reason, level=level) from None
        return
    contents = result.get("contents") if isinstance(result, dict) else None
    if contents == []:
        raise Failed("an empty contents array for a resource that does not exist")
    raise Failed(f"a result for a resource that does not exist: {result!r}"[:300], level=level)


def prompt_arguments(prompt: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Values for a prompt's required arguments, and the names of those."""
    arguments = prompt.get("arguments")
    required = [
        a["name"]
        for a in (arguments if isinstance(arguments, list) else [])
        if isinstance(a, dict) and a.get("required") is True and isinstance(a.get("name"), str)
    ]
    return {name: f"example {name}" for name in required}, required


@check(
    "features.prompts-get",
    area="features",
    title="listed prompts got with their required arguments answer; at least one is got",
    spec=SpecRef(
        "2026-07-28",
        "Server Features, Prompts, Getting a Prompt",
        "To retrieve a specific prompt, clients send a prompts/get request. [...] Servers "
        "that declare the prompts capability MUST respond to prompts/list requests with the "
        "set of prompts currently available to the requesting client.",
    ),
    level=Level.SHOULD,
)
async def prompts_get(probe: Probe) -> None:
    if not await _declared(probe, "prompts"):
        raise Skipped("the server does not declare the prompts capability")
    prompts = [p for p in await list_all(probe, "prompts/list") if isinstance(p, dict)]
    if not prompts:
        raise Skipped("the server lists no prompts")
    # The checker invents the arguments' values and declares no client capability: a
    # prompt may rightly refuse them (an error answer). A result must have messages, a
    # request must be answered, and at least one listed prompt must be got.
    problems: list[str] = []
    refused: list[str] = []
    for prompt in prompts[:MAX_ITEMS]:
        name = prompt.get("name")
        arguments, _ = prompt_arguments(prompt)
        try:
            result = await call(probe, "prompts/get", {"name": name, "arguments": arguments})
        except ConnectionLost as exc:
            problems.append(f"{name}: no answer ({exc.message})")
            continue
        except ClientError as exc:
            if exc.code == ErrorCode.REQUEST_TIMEOUT:
                problems.append(f"{name}: no answer ({exc.message})")
                continue
            refused.append(f"{name}: error {exc.code} {exc.message}")
            continue
        if not isinstance(result, dict) or not isinstance(result.get("messages"), list):
            problems.append(f"{name}: no messages array")
    if problems:
        raise Failed("; ".join(problems[:5]), level=Level.MUST)
    if len(refused) == len(prompts[:MAX_ITEMS]):
        raise Failed("no listed prompt could be got: " + "; ".join(refused[:5]))


@check(
    "features.prompts-missing-argument",
    area="features",
    title="a prompt got without a required argument gets -32602",
    spec=SpecRef(
        "2026-07-28",
        "Server Features, Prompts, Error Handling",
        "Servers SHOULD return standard JSON-RPC errors for common failure cases: [...] "
        "Missing required arguments: -32602 (Invalid params)",
    ),
    level=Level.SHOULD,
)
async def prompts_missing_argument(probe: Probe) -> None:
    if not await _declared(probe, "prompts"):
        raise Skipped("the server does not declare the prompts capability")
    prompts = [p for p in await list_all(probe, "prompts/list") if isinstance(p, dict)]
    for prompt in prompts:
        arguments, required = prompt_arguments(prompt)
        if not required:
            continue
        del arguments[required[0]]
        name = prompt.get("name")
        try:
            await call(probe, "prompts/get", {"name": name, "arguments": arguments})
        except ClientError as exc:
            if exc.code == ErrorCode.INTERNAL_ERROR:
                raise Failed(f"{name} without {required[0]!r}: an internal error") from None
            if exc.code != ErrorCode.INVALID_PARAMS:
                raise Failed(f"{name} without {required[0]!r}: error {exc.code}") from None
            return
        raise Failed(f"{name} without its required argument {required[0]!r}: a result")
    raise Skipped("no listed prompt has a required argument")


async def _completion_reference(probe: Probe) -> tuple[dict[str, Any], str] | None:
    """Something to complete: a prompt's argument, or a resource template's variable."""
    client = await probe.client()
    caps = client.server_capabilities
    if isinstance(caps.get("prompts"), dict):
        for prompt in await list_all(probe, "prompts/list"):
            arguments = prompt.get("arguments") if isinstance(prompt, dict) else None
            for argument in arguments if isinstance(arguments, list) else []:
                if isinstance(argument, dict) and isinstance(argument.get("name"), str):
                    return {"type": "ref/prompt", "name": prompt["name"]}, argument["name"]
    if isinstance(caps.get("resources"), dict):
        for template in await list_all(probe, "resources/templates/list"):
            uri = template.get("uriTemplate") if isinstance(template, dict) else None
            if isinstance(uri, str) and "{" in uri:
                variable = uri.split("{", 1)[1].split("}", 1)[0].lstrip("+#./;?&")
                variable = variable.split(",")[0].rstrip("*").split(":")[0]
                return {"type": "ref/resource", "uri": uri}, variable
    return None


@check(
    "features.completion",
    area="features",
    title="completion/complete answers exactly when the completions capability is declared",
    spec=SpecRef(
        "2026-07-28",
        "Server Features, Utilities, Completion",
        "Servers that support completions MUST declare the completions capability [...] "
        "Servers SHOULD return standard JSON-RPC errors for common failure cases: Method not "
        "found: -32601 (Capability not supported)",
    ),
    revisions=[v for v in SUPPORTED_VERSIONS if v >= "2025-03-26"],
)
async def completion(probe: Probe) -> None:
    declared = await _declared(probe, "completions")
    found = await _completion_reference(probe)
    if found is None:
        if declared:
            raise Skipped("completions declared, but no prompt argument or template to complete")
        found = ({"type": "ref/prompt", "name": "scaled-mcp-check"}, "argument")
    ref, argument = found
    params = {"ref": ref, "argument": {"name": argument, "value": ""}}
    if not declared:
        await _undeclared_completion(probe, params)
        return
    try:
        result = await call(probe, "completion/complete", params)
    except ClientError as exc:
        reason = f"declared, but completion/complete answers {exc.code} {exc.message}"
        raise Failed(reason) from None
    values = result.get("completion", {}).get("values") if isinstance(result, dict) else None
    if not isinstance(values, list) or len(values) > 100:
        raise Failed(f"completion.values is not an array of at most 100: {result!r}"[:300])


async def _undeclared_completion(probe: Probe, params: Mapping[str, Any]) -> None:
    """Completion not declared: the request must not be served (the client refuses to
    send it, so it goes raw, over HTTP)."""
    if probe.transport != "http":
        raise Skipped("completions not declared; asking anyway needs raw HTTP")
    session = await probe.session()
    body = session.message("completion/complete", params)
    answer = await session.send(body)
    await session.close()
    response = answer.response_to(body["id"])
    if response is not None and "result" in response:
        raise Failed("completion/complete answers, but the completions capability is not declared")
    code = answer.error_code(body["id"])
    if code != ErrorCode.METHOD_NOT_FOUND:
        reason = f"not declared, and answered {answer.describe()} rather than -32601"
        raise Failed(reason, level=Level.SHOULD)


def _validation_errors(revision: str, kind: str, message: Any) -> list[str]:
    if not kind.startswith(RESULT_KIND):
        return message_errors(revision, message)
    method = kind.removeprefix(RESULT_KIND)
    if result_definition(revision, method) is None:
        return []  # a method this revision does not define: nothing to check it against
    return message_errors(revision, {"jsonrpc": "2.0", "id": 0, "result": message}, method)


@check(
    "features.messages-valid",
    area="features",
    title="every message the server sent is valid against the revision's official schema",
    spec=SpecRef(
        "2026-07-28",
        "Base Protocol, Messages",
        "All messages between MCP clients and servers MUST follow the JSON-RPC 2.0 "
        "specification. [...] the JSON Schema [...] is automatically generated from the "
        "TypeScript source of truth",
    ),
    runs_last=True,
)
async def messages_valid(probe: Probe) -> None:
    tapped = [m for m in probe.tap.messages if m.revision == probe.revision]
    if not tapped:
        raise Skipped("the server sent no message at this revision")
    problems: dict[str, str] = {}
    for item in tapped:
        for error in _validation_errors(probe.revision, item.kind, item.message):
            what = item.kind if item.kind != "message" else _describe(item.message)
            problems.setdefault(f"{what}: {error}", "")
    if problems:
        shown = list(problems)[:5]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise Failed(f"{len(problems)} invalid: " + "; ".join(shown) + more)


def _describe(message: Any) -> str:
    if not isinstance(message, dict):
        return "a non-object message"
    if "method" in message:
        return f"{message.get('method')} {'request' if 'id' in message else 'notification'}"
    return "an error response" if "error" in message else "a response"
