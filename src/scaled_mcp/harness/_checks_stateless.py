"""Checks of the stateless wire (2026-07-28): ``server/discover``, the ``_meta`` envelope's
required keys, headers that disagree with the body (-32020), an unsupported revision
(-32022 listing the supported ones) and the cache hints of cacheable results.

They speak raw JSON-RPC (a well-behaved request, then the same request with one thing
wrong): over streamable HTTP, and those that concern no header over stdio too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..protocol.jsonrpc import ErrorCode
from ..protocol.stateless import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from ..protocol.versions import STATELESS_VERSIONS
from ._checks_features import prompt_arguments
from ._model import HTTP_ONLY, Failed, Level, SpecRef, TransportName
from ._probe import HttpAnswer, Probe, RawSession
from ._registry import check

__all__: list[str] = []

#: A revision no server supports.
UNKNOWN_REVISION: Final = "1999-01-01"
#: The results the server MUST give cache hints on, with the capability offering each.
CACHEABLE: Final[dict[str, str | None]] = {
    "server/discover": None,
    "tools/list": "tools",
    "prompts/list": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resources",
}
_META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"
#: The transports of the checks that concern no HTTP header.
HTTP_AND_STDIO: Final[tuple[TransportName, ...]] = ("http", "stdio")


def _result(answer: HttpAnswer, request_id: Any) -> Mapping[str, Any] | None:
    response = answer.response_to(request_id)
    result = response.get("result") if response is not None else None
    return result if isinstance(result, Mapping) else None


def _harmless(session: RawSession) -> str:
    """A request without side effects the server answers: a list it offers, or discover."""
    for method, capability in CACHEABLE.items():
        if capability is not None and isinstance(session.capabilities.get(capability), dict):
            return method
    return "server/discover"


def _refused(answer: HttpAnswer, request_id: Any, code: int, what: str) -> str | None:
    """Why ``answer`` is not ``400 Bad Request`` with JSON-RPC error ``code`` (``None``: it is)."""
    got = answer.error_code(request_id)
    if answer.status in (400, 0) and got == code:  # 0: no HTTP (stdio), the code says it all
        return None
    if answer.status == 0:
        return f"{what}: error {got!r}, not {code}"
    return f"{what}: HTTP {answer.status}, error {got!r} (wanted 400 and {code}): " + (
        answer.describe()
    )


@check(
    "stateless.discover",
    area="stateless",
    title="server/discover answers the supported versions, the capabilities and serverInfo",
    spec=SpecRef(
        "2026-07-28",
        "Server Features, Discovery",
        "server/discover lets a client query a server's supported protocol versions, "
        "capabilities, and identity before sending any other requests. Servers MUST implement "
        "it. [...] _meta['io.modelcontextprotocol/serverInfo']: Name and version of the server "
        "software. Servers SHOULD include this field.",
    ),
    revisions=STATELESS_VERSIONS,
    transports=HTTP_AND_STDIO,
)
async def discover(probe: Probe) -> None:
    session = await probe.session()
    body = session.message("server/discover")
    answer = await session.send(body)
    result = _result(answer, body["id"])
    if result is None:
        raise Failed(f"no result: {answer.describe()}")
    versions = result.get("supportedVersions")
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise Failed(f"supportedVersions is not an array of strings: {versions!r}")
    if probe.revision not in versions:
        raise Failed(f"supportedVersions {versions} lacks {probe.revision}, which it answered in")
    if not isinstance(result.get("capabilities"), Mapping):
        raise Failed("no capabilities object")
    if result.get("resultType") != "complete":
        raise Failed(f"resultType is {result.get('resultType')!r}, not 'complete'")
    meta = result.get("_meta")
    info = meta.get(_META_SERVER_INFO) if isinstance(meta, Mapping) else None
    if not isinstance(info, Mapping) or not isinstance(info.get("name"), str):
        raise Failed(f"no {_META_SERVER_INFO} with a name in _meta", level=Level.SHOULD)


@check(
    "stateless.meta-required",
    area="stateless",
    title="a request missing a required _meta key is refused: 400 and -32602",
    spec=SpecRef(
        "2026-07-28",
        "Base Protocol, _meta, Per-request protocol fields",
        "A request missing any required field is malformed; the server MUST reject it with "
        "JSON-RPC error code -32602 (Invalid params). On HTTP, the response status MUST be "
        "400 Bad Request.",
    ),
    revisions=STATELESS_VERSIONS,
    transports=HTTP_AND_STDIO,
)
async def meta_required(probe: Probe) -> None:
    session = await probe.session()
    method = _harmless(session)
    problems: list[str] = []
    # Over stdio a message without a protocol version is one of the handshake era: only
    # HTTP (whose header carries the version) can tell that it lacks one.
    keys = [META_CLIENT_CAPABILITIES]
    if probe.transport == "http":
        keys.insert(0, META_PROTOCOL_VERSION)
    for key in keys:
        body = session.message(method)
        del body["params"]["_meta"][key]
        answer = await session.send(body)
        # Without the body's version, the MCP-Protocol-Version header has nothing to match:
        # a HeaderMismatch (-32020) is the transport's word for the same fault.
        codes = [ErrorCode.INVALID_PARAMS]
        if key == META_PROTOCOL_VERSION:
            codes.append(ErrorCode.HEADER_MISMATCH)
        reasons = [_refused(answer, body["id"], code, f"{method} without {key}") for code in codes]
        if all(reasons):
            problems.append(str(reasons[0]))
    if problems:
        raise Failed("; ".join(problems))


async def _named(session: RawSession) -> list[tuple[str, dict[str, Any]]]:
    """A ``prompts/get`` and a ``resources/read`` of what the server lists (their
    ``Mcp-Name`` is required), as (method, params)."""
    named: list[tuple[str, dict[str, Any]]] = []
    if isinstance(session.capabilities.get("prompts"), dict):
        listed = await session.result("prompts/list", {})
        for prompt in listed.get("prompts", []) if isinstance(listed, Mapping) else []:
            if isinstance(prompt, Mapping) and isinstance(prompt.get("name"), str):
                arguments, _ = prompt_arguments(prompt)
                named.append(("prompts/get", {"name": prompt["name"], "arguments": arguments}))
                break
    if isinstance(session.capabilities.get("resources"), dict):
        listed = await session.result("resources/list", {})
        for resource in listed.get("resources", []) if isinstance(listed, Mapping) else []:
            if isinstance(resource, Mapping) and isinstance(resource.get("uri"), str):
                named.append(("resources/read", {"uri": resource["uri"]}))
                break
    return named


async def _mismatches(session: RawSession) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Requests whose headers disagree with their bodies: (what, body, header overrides)."""
    method = _harmless(session)
    other = "server/discover" if method != "server/discover" else "tools/list"
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        (f"Mcp-Method: {other} for {method}", session.message(method), {"mcp-method": other}),
        (f"no Mcp-Method header for {method}", session.message(method), {"mcp-method": None}),
    ]
    for named_method, params in await _named(session):
        cases.append(
            (f"Mcp-Name: other for {named_method}", session.message(named_method, params),
             {"mcp-name": "other"})
        )  # fmt: skip
        cases.append(
            (f"no Mcp-Name header for {named_method}", session.message(named_method, params),
             {"mcp-name": None})
        )  # fmt: skip
    return cases


@check(
    "stateless.header-mismatch",
    area="stateless",
    title="headers that disagree with the body (or are missing) get 400 and -32020",
    spec=SpecRef(
        "2026-07-28",
        "Transports, Streamable HTTP, Server Validation",
        "Servers that process the request body MUST reject requests where the values "
        "specified in the headers do not match the corresponding values in the request body. "
        "[...] servers MUST return HTTP status 400 Bad Request and MUST include a JSON-RPC "
        "error response using the following error code: -32020 HeaderMismatch",
    ),
    revisions=STATELESS_VERSIONS,
    transports=HTTP_ONLY,
)
async def header_mismatch(probe: Probe) -> None:
    session = await probe.session()
    problems: list[str] = []
    for what, body, headers in await _mismatches(session):
        answer = await session.send(body, headers)
        reason = _refused(answer, body["id"], ErrorCode.HEADER_MISMATCH, what)
        if reason is not None:
            problems.append(reason)
    if problems:
        raise Failed("; ".join(problems[:4]))


@check(
    "stateless.unsupported-version",
    area="stateless",
    title="an unsupported revision gets 400 and -32022 listing the supported ones",
    spec=SpecRef(
        "2026-07-28",
        "Transports, Streamable HTTP, Protocol Version Header",
        "If the server does not implement the requested protocol version [...], it MUST "
        "respond with 400 Bad Request and an UnsupportedProtocolVersionError listing its "
        "supported versions.",
    ),
    revisions=STATELESS_VERSIONS,
    transports=HTTP_AND_STDIO,
)
async def unsupported_version(probe: Probe) -> None:
    session = await probe.session()
    # The request a client negotiates with (and probes a stdio server with).
    method = "server/discover"
    body = session.message(method, {"_meta": {META_PROTOCOL_VERSION: UNKNOWN_REVISION}})
    answer = await session.send(body, {"mcp-protocol-version": UNKNOWN_REVISION})
    reason = _refused(answer, body["id"], ErrorCode.UNSUPPORTED_PROTOCOL_VERSION, method)
    if reason is not None:
        raise Failed(reason)
    response = answer.response_to(body["id"]) or {}
    data = response.get("error", {}).get("data")
    supported = data.get("supported") if isinstance(data, Mapping) else None
    if not isinstance(supported, list) or not all(isinstance(v, str) for v in supported):
        raise Failed(f"error.data.supported is not an array of versions: {data!r}"[:300])
    if probe.revision not in supported:
        raise Failed(f"error.data.supported {supported} lacks {probe.revision}")


def _cache_hint_problem(method: str, result: Mapping[str, Any]) -> str | None:
    ttl = result.get("ttlMs")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        return f"{method}: ttlMs is {ttl!r}, not an integer >= 0"
    if result.get("cacheScope") not in ("public", "private"):
        return f"{method}: cacheScope is {result.get('cacheScope')!r}, not public or private"
    return None


@check(
    "stateless.cache-hints",
    area="stateless",
    title="cacheable results carry ttlMs (>= 0) and cacheScope",
    spec=SpecRef(
        "2026-07-28",
        "Server Features, Utilities, Caching",
        'Servers MUST include caching hints on results with resultType: "complete" returned '
        "by the following operations: server/discover, tools/list, prompts/list, "
        "resources/list, resources/templates/list, resources/read [...] Servers MUST provide "
        "a ttlMs value that is >= 0.",
    ),
    revisions=STATELESS_VERSIONS,
    transports=HTTP_AND_STDIO,
)
async def cache_hints(probe: Probe) -> None:
    session = await probe.session()
    problems: list[str] = []
    uri: str | None = None
    for method, capability in CACHEABLE.items():
        if capability is not None and not isinstance(session.capabilities.get(capability), dict):
            continue
        result = await session.result(method, {})
        if not isinstance(result, Mapping):
            raise Failed(f"{method}: the result is not an object")
        problem = _cache_hint_problem(method, result)
        if problem is not None:
            problems.append(problem)
        if method == "resources/list" and uri is None:
            for resource in result.get("resources") or []:
                if isinstance(resource, Mapping) and isinstance(resource.get("uri"), str):
                    uri = resource["uri"]
                    break
    if uri is not None:
        result = await session.result("resources/read", {"uri": uri})
        if isinstance(result, Mapping) and result.get("resultType", "complete") == "complete":
            problem = _cache_hint_problem("resources/read", result)
            if problem is not None:
                problems.append(problem)
    if problems:
        raise Failed("; ".join(problems[:5]))
