"""JSON-RPC checks: parse errors, invalid requests, unknown methods, invalid params, id types.

Each sends a malformed or unusual message in a fresh raw session and judges
the answer by JSON-RPC 2.0 as MCP narrows it. Over streamable HTTP
(2025-03-26 on) a body the server cannot accept must get an HTTP error status
("If the server cannot accept the input, it MUST return an HTTP error status
code (e.g., 400 Bad Request)"); a server error (5xx) or no answer is never right.
"""

from __future__ import annotations

from typing import Any, Final

from ..protocol.jsonrpc import ErrorCode
from ..protocol.versions import STATELESS_VERSIONS
from ._model import HTTP_AND_STDIO, Failed, Level, Skipped, SpecRef
from ._probe import HttpAnswer, Probe, RawSession
from ._registry import check

__all__: list[str] = []

#: Revisions with the streamable HTTP transport (2024-11-05 had HTTP+SSE only).
STREAMABLE: Final = ("2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
_JSONRPC: Final = "https://www.jsonrpc.org/specification"


def no_server_error(answer: HttpAnswer, what: str) -> None:
    """:class:`Failed` when ``answer`` is a server error: bad input is the client's fault."""
    if answer.status >= 500:
        raise Failed(f"{what}: a server error, {answer.describe()}")


def http_error_status(probe: Probe, answer: HttpAnswer, what: str) -> None:
    """Over streamable HTTP, an input the server cannot accept gets a 4xx status; over
    stdio, an answer (JSON-RPC: "the Server MUST reply with a Response")."""
    no_server_error(answer, what)
    if probe.transport == "stdio" and not answer.messages:
        raise Failed(f"{what}: no answer on stdout")
    if probe.transport != "http":
        return
    if probe.revision in STREAMABLE and not 400 <= answer.status < 500:
        raise Failed(f"{what}: not refused with an HTTP error status: {answer.describe()}")


def harmless(session: RawSession, request_id: Any = ...) -> dict[str, Any]:
    """A request every server answers with a result and no effect: ``ping`` in the
    handshake era, ``server/discover`` in the stateless one (which has no ``ping``)."""
    method = "server/discover" if session.stateless else "ping"
    return session.message(method, None, request_id=request_id)


def _error_of(answer: HttpAnswer) -> dict[str, Any] | None:
    for message in answer.messages:
        if isinstance(message, dict) and isinstance(message.get("error"), dict):
            return message
    return None


@check(
    "jsonrpc.parse-error",
    area="jsonrpc",
    title="invalid JSON gets a parse error (-32700), never a server error",
    spec=SpecRef(
        "2025-11-25",
        "JSON-RPC 2.0, 5.1 Error object",
        "-32700 Parse error: Invalid JSON was received by the server. If there was an error "
        "in detecting the id in the Request object (e.g. Parse error/Invalid Request), it "
        "MUST be Null.",
    ),
    transports=HTTP_AND_STDIO,
)
async def parse_error(probe: Probe) -> None:
    session = await probe.session()
    answer = await session.send(b'{"jsonrpc": "2.0", "id": 1, "method": "ping", ')
    http_error_status(probe, answer, "invalid JSON")
    error = _error_of(answer)
    if error is None:
        return  # the body MAY comprise a JSON-RPC error response
    if error.get("id") is not None:
        raise Failed(f"the parse error's id is {error.get('id')!r}, not null")
    if error["error"].get("code") != ErrorCode.PARSE_ERROR:
        raise Failed(f"the error code is {error['error'].get('code')!r}, not -32700")


@check(
    "jsonrpc.invalid-request",
    area="jsonrpc",
    title="an invalid request gets -32600 with its id echoed when it can be read",
    spec=SpecRef(
        "2025-11-25",
        "JSON-RPC 2.0, 5 Response object",
        "-32600 Invalid Request: The JSON sent is not a valid Request object. id: It MUST be "
        "the same as the value of the id member in the Request Object.",
    ),
    transports=HTTP_AND_STDIO,
)
async def invalid_request(probe: Probe) -> None:
    session = await probe.session()
    cases: list[tuple[str, dict[str, Any]]] = [
        ("a method that is a number", {"jsonrpc": "2.0", "id": 7, "method": 42}),
        ("jsonrpc 1.0", {"jsonrpc": "1.0", "id": 7, "method": "ping"}),
    ]
    for what, body in cases:
        answer = await session.send(body, {"mcp-method": None})
        http_error_status(probe, answer, what)
        error = _error_of(answer)
        if error is None:
            continue
        code = error["error"].get("code")
        if code != ErrorCode.INVALID_REQUEST:
            raise Failed(f"{what}: the error code is {code!r}, not -32600", level=Level.SHOULD)
        if error.get("id") not in (7, None):
            raise Failed(f"{what}: the error's id is {error.get('id')!r}, not 7")
        if error.get("id") is None:
            raise Failed(f"{what}: the readable id 7 is not echoed (null)", level=Level.SHOULD)


@check(
    "jsonrpc.method-not-found",
    area="jsonrpc",
    title="an unknown method gets -32601",
    spec=SpecRef(
        "2025-11-25",
        "JSON-RPC 2.0, 5.1 Error object",
        "-32601 Method not found: The method does not exist / is not available.",
    ),
    transports=HTTP_AND_STDIO,
)
async def method_not_found(probe: Probe) -> None:
    session = await probe.session()
    body = session.message("no/such-method", {})
    answer = await session.send(body)
    no_server_error(answer, "an unknown method")
    code = answer.error_code(body["id"])
    if code != ErrorCode.METHOD_NOT_FOUND:
        raise Failed(f"an unknown method: not answered -32601: {answer.describe()}")
    # 2026-07-28, Protocol Version Header: "If the server does not implement the
    # requested RPC method, it MUST respond with 404 Not Found".
    if probe.revision in STATELESS_VERSIONS and probe.transport == "http" and answer.status != 404:
        raise Failed(f"an unknown method: HTTP {answer.status}, not 404 (2026-07-28)")


#: For each capability: a method and params missing what it requires.
_INVALID_PARAMS: Final[tuple[tuple[str, str, dict[str, Any]], ...]] = (
    ("tools", "tools/call", {"arguments": {}}),
    ("resources", "resources/read", {}),
    ("prompts", "prompts/get", {"arguments": {}}),
    ("completions", "completion/complete", {"argument": {"name": "x", "value": ""}}),
    ("logging", "logging/setLevel", {"level": "not-a-level"}),  # handshake era only
)


async def _invalid_params(session: RawSession, method: str, params: dict[str, Any]) -> None:
    body = session.message(method, params)
    answer = await session.send(body, {"mcp-name": None})
    no_server_error(answer, f"{method} with invalid params")
    response = answer.response_to(body["id"])
    if response is None and 400 <= answer.status < 500:
        return  # refused at the HTTP level (e.g. a missing Mcp-Name header, 2026-07-28)
    if response is None:
        raise Failed(f"{method} with invalid params: no answer: {answer.describe()}")
    if "result" in response:
        raise Failed(f"{method} with invalid params {params} returned a result")
    code = answer.error_code(body["id"])
    if code != ErrorCode.INVALID_PARAMS:
        raise Failed(
            f"{method} with invalid params {params}: error {code!r}, not -32602",
            level=Level.SHOULD,
        )


@check(
    "jsonrpc.invalid-params",
    area="jsonrpc",
    title="each declared method refuses invalid params (-32602)",
    spec=SpecRef(
        "2025-11-25",
        "JSON-RPC 2.0, 5.1 Error object",
        "-32602 Invalid params: Invalid method parameter(s).",
    ),
    transports=HTTP_AND_STDIO,
)
async def invalid_params(probe: Probe) -> None:
    session = await probe.session()
    tried = 0
    for capability, method, params in _INVALID_PARAMS:
        if capability in session.capabilities and not (
            session.stateless and capability == "logging"
        ):
            tried += 1
            await _invalid_params(session, method, params)
    if not tried:
        raise Skipped("the server declares none of tools, resources, prompts, completions, logging")


@check(
    "jsonrpc.id-types",
    area="jsonrpc",
    title="string and integer request ids are echoed exactly",
    spec=SpecRef(
        "2025-11-25",
        "Base protocol, Requests",
        "Requests MUST include a string or integer ID. (JSON-RPC: the response id MUST be "
        "the same as the value of the id member in the Request Object.)",
    ),
    transports=HTTP_AND_STDIO,
)
async def id_types(probe: Probe) -> None:
    session = await probe.session()
    ids: tuple[Any, ...] = ("a-string-id", "", "ünïcødé ✓", 0, -1, 2**53 - 1)
    for request_id in ids:
        body = harmless(session, request_id)
        answer = await session.send(body)
        no_server_error(answer, f"{body['method']} with id {request_id!r}")
        if answer.response_to(request_id) is None:
            got = [m.get("id") for m in answer.messages if isinstance(m, dict)]
            raise Failed(f"{body['method']} with id {request_id!r}: answered with ids {got!r}")
