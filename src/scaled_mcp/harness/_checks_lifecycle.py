"""Lifecycle checks: initialization and version negotiation per revision (and an unknown
revision), requests before initialization, ping, declared capabilities against the
methods actually answered."""

from __future__ import annotations

from typing import Any, Final

from ..client import ClientError
from ..protocol.jsonrpc import ErrorCode
from ..protocol.versions import HANDSHAKE_VERSIONS, SUPPORTED_VERSIONS
from ._checks_jsonrpc import STREAMABLE, no_server_error
from ._model import HTTP_AND_STDIO, HTTP_ONLY, Failed, Level, Skipped, SpecRef
from ._probe import Probe, initialize_request
from ._registry import check

__all__: list[str] = []

_UNKNOWN_REVISION: Final = "1999-01-01"


@check(
    "lifecycle.initialize",
    area="lifecycle",
    title="initialize answers the requested revision, the capabilities and serverInfo",
    spec=SpecRef(
        "2025-11-25",
        "Lifecycle, Initialization",
        "If the server supports the requested protocol version, it MUST respond with the same "
        "version. [...] The server MUST respond with its own capabilities and information",
    ),
    revisions=HANDSHAKE_VERSIONS,
    transports=HTTP_AND_STDIO,
)
async def initialize(probe: Probe) -> None:
    session = await probe.session(initialized=False)  # Failed unless the same version
    result = session.initialize_result
    if not isinstance(result.get("capabilities"), dict):
        raise Failed(f"no capabilities object in the result: {result!r}"[:300])
    info = result.get("serverInfo")
    if not isinstance(info, dict) or not isinstance(info.get("name"), str):
        raise Failed(f"no serverInfo with a name in the result: {info!r}"[:300])
    if not isinstance(info.get("version"), str):
        raise Failed(f"serverInfo has no version string: {info!r}"[:300])
    await session.close()


@check(
    "lifecycle.unknown-revision",
    area="lifecycle",
    title="initialize with an unknown revision answers one the server supports",
    spec=SpecRef(
        "2025-11-25",
        "Lifecycle, Version Negotiation",
        "Otherwise, the server MUST respond with another protocol version it supports. "
        "This SHOULD be the latest version supported by the server.",
    ),
    revisions=HANDSHAKE_VERSIONS,
    transports=HTTP_AND_STDIO,
)
async def unknown_revision(probe: Probe) -> None:
    body = initialize_request(_UNKNOWN_REVISION)
    if probe.transport == "stdio":
        answer = await (await probe.fresh_session()).send(body)
    else:
        answer = await probe.post(body)
    no_server_error(answer, "initialize with an unknown revision")
    response = answer.response_to(0)
    if response is None:
        if 400 <= answer.status < 500 and not answer.messages:
            raise Failed(f"refused with no JSON-RPC answer: {answer.describe()}")
        raise Failed(f"no answer to initialize: {answer.describe()}")
    error = response.get("error")
    if isinstance(error, dict):
        # The lifecycle's own example of an initialization error: -32602,
        # "Unsupported protocol version", with the supported versions in data.
        if error.get("code") != ErrorCode.INVALID_PARAMS:
            raise Failed(f"an error other than -32602: {error!r}"[:300])
        return
    result = response.get("result")
    version = result.get("protocolVersion") if isinstance(result, dict) else None
    if not isinstance(version, str) or version == _UNKNOWN_REVISION:
        raise Failed(f"answered protocolVersion {version!r}")
    if version not in SUPPORTED_VERSIONS:
        raise Skipped(f"answered {version!r}, a revision this checker does not know")
    session_id = answer.headers.get("mcp-session-id")
    if session_id is not None and probe.transport == "http":
        await probe.delete({"mcp-session-id": session_id, "mcp-protocol-version": version})


@check(
    "lifecycle.before-initialize",
    area="lifecycle",
    title="a request outside any session is refused with 400 by a server that keeps sessions",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Session Management",
        "Servers that require a session ID SHOULD respond to requests without an "
        "MCP-Session-Id header (other than initialization) with HTTP 400 Bad Request.",
    ),
    level=Level.SHOULD,
    revisions=[v for v in STREAMABLE if v in HANDSHAKE_VERSIONS],
    transports=HTTP_ONLY,
)
async def before_initialize(probe: Probe) -> None:
    session = await probe.session()
    if session.session_id is None:
        raise Skipped("the server keeps no sessions (no MCP-Session-Id)")
    answer = await probe.post(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        {"mcp-protocol-version": probe.revision if probe.revision >= "2025-06-18" else None},
    )
    if answer.status >= 500:
        raise Failed(f"a server error: {answer.describe()}", level=Level.MUST)
    if answer.status != 400:
        raise Failed(f"not 400: {answer.describe()}")
    await session.close()


def _empty_result(result: Any) -> bool:
    # 2026-07-28 results may carry resultType and _meta beside their fields.
    return isinstance(result, dict) and set(result) <= {"_meta", "resultType"}


@check(
    "lifecycle.ping",
    area="lifecycle",
    title="ping is answered promptly with an empty result",
    spec=SpecRef(
        "2025-11-25",
        "Utilities, Ping",
        "The receiver MUST respond promptly with an empty response",
    ),
    revisions=HANDSHAKE_VERSIONS,
)
async def ping(probe: Probe) -> None:
    if probe.transport != "sse":
        session = await probe.session()
        result = await session.result("ping")
        await session.close()
    else:
        client = await probe.client()
        try:
            result = await client.request("ping", {})
        except ClientError as exc:
            raise Failed(f"ping failed: {exc}") from None
    if not _empty_result(result):
        raise Failed(f"the ping result is not empty: {result!r}"[:300])


#: Which method each capability makes the server answer (with no arguments needed).
_METHOD_OF: Final = {
    "tools": ("tools/list", {}),
    "resources": ("resources/list", {}),
    "prompts": ("prompts/list", {}),
    "logging": ("logging/setLevel", {"level": "warning"}),
}


@check(
    "lifecycle.capabilities-answered",
    area="lifecycle",
    title="every declared capability's method is answered (not -32601)",
    spec=SpecRef(
        "2025-11-25",
        "Lifecycle, Capability Negotiation",
        "Client and server capabilities establish which optional protocol features will be "
        "available during the session.",
    ),
    transports=HTTP_AND_STDIO,
)
async def capabilities_answered(probe: Probe) -> None:
    session = await probe.session()
    # 2026-07-28 has no logging/setLevel: the level travels in each request's _meta.
    declared = [
        cap
        for cap in _METHOD_OF
        if cap in session.capabilities and not (session.stateless and cap == "logging")
    ]
    if not declared:
        raise Skipped("the server declares none of tools, resources, prompts, logging")
    for capability in declared:
        method, params = _METHOD_OF[capability]
        body = session.message(method, params)
        answer = await session.send(body)
        no_server_error(answer, method)
        response = answer.response_to(body["id"])
        if response is None:
            raise Failed(f"{method} ({capability} declared): no answer: {answer.describe()}")
        if answer.error_code(body["id"]) == ErrorCode.METHOD_NOT_FOUND:
            raise Failed(f"{capability} is declared but {method} answers -32601")
        if "result" not in response:
            raise Failed(f"{capability} is declared but {method} fails: {response!r}"[:300])
    await session.close()
