"""Streamable HTTP transport checks: Accept and Content-Type, the MCP-Protocol-Version
header, Origin, other HTTP methods, DELETE, unknown and missing sessions, batches per
revision, SSE framing and event ids, Last-Event-ID resumption, a second GET stream.

The transport exists from 2025-03-26 on (2024-11-05 had HTTP+SSE); each check
applies to the revisions whose text has the requirement.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urljoin

import orjson
import trio

from ..protocol.versions import HANDSHAKE_VERSIONS
from ._checks_jsonrpc import STREAMABLE, harmless, no_server_error
from ._model import HTTP_ONLY, Failed, Level, Skipped, SpecRef
from ._probe import HttpAnswer, Probe, RawSession, initialize_request
from ._registry import check

__all__: list[str] = []

#: Streamable HTTP revisions of the handshake era (sessions, GET streams, DELETE).
SESSIONS: Final = tuple(v for v in STREAMABLE if v in HANDSHAKE_VERSIONS)
#: How long a GET stream is listened to (its first events come at once).
_WINDOW: Final = 0.3
_HTTP_STATUS_RULE: Final = (
    "If the server cannot accept the input, it MUST return an HTTP error status code "
    "(e.g., 400 Bad Request)."
)


def _refused_or_lenient(answer: HttpAnswer, what: str, leniency: str) -> None:
    no_server_error(answer, what)
    if 200 <= answer.status < 300:
        raise Skipped(f"{what}: accepted ({leniency})")
    if not 400 <= answer.status < 500:
        raise Failed(f"{what}: {answer.describe()}")


@check(
    "transport.accept",
    area="transport",
    title="a POST whose Accept lists neither JSON nor SSE is refused (406), never a 5xx",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Sending Messages to the Server",
        "The client MUST include an Accept header, listing both application/json and "
        "text/event-stream as supported content types. " + _HTTP_STATUS_RULE,
    ),
    revisions=STREAMABLE,
    transports=HTTP_ONLY,
)
async def accept(probe: Probe) -> None:
    session = await probe.session()
    answer = await session.send(harmless(session), {"accept": "text/html"})
    _refused_or_lenient(answer, "Accept: text/html", "RFC 9110 lets a server disregard Accept")
    await session.close()


@check(
    "transport.content-type",
    area="transport",
    title="a POST body that is not application/json is refused (415), never a 5xx",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Sending Messages to the Server",
        _HTTP_STATUS_RULE,
    ),
    revisions=STREAMABLE,
    transports=HTTP_ONLY,
)
async def content_type(probe: Probe) -> None:
    session = await probe.session()
    answer = await session.send(harmless(session), {"content-type": "text/plain"})
    _refused_or_lenient(answer, "Content-Type: text/plain", "a lenient reader of the body")
    await session.close()


@check(
    "transport.protocol-version-header",
    area="transport",
    title="an unsupported MCP-Protocol-Version header gets 400",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Protocol Version Header",
        "If the server receives a request with an invalid or unsupported "
        "MCP-Protocol-Version, it MUST respond with 400 Bad Request.",
    ),
    revisions=("2025-06-18", "2025-11-25", "2026-07-28"),
    transports=HTTP_ONLY,
)
async def protocol_version_header(probe: Probe) -> None:
    session = await probe.session()
    for bad in ("1999-01-01", "not a version"):
        answer = await session.send(harmless(session), {"mcp-protocol-version": bad})
        if answer.status != 400:
            raise Failed(f"MCP-Protocol-Version: {bad}: {answer.describe()}")
    await session.close()


@check(
    "transport.origin",
    area="transport",
    title="a request with a foreign Origin is refused with 403",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Security Warning",
        "Servers MUST validate the Origin header on all incoming connections to prevent DNS "
        "rebinding attacks. If the Origin header is present and invalid, servers MUST "
        "respond with HTTP 403 Forbidden.",
    ),
    revisions=STREAMABLE,
    transports=HTTP_ONLY,
)
async def origin(probe: Probe) -> None:
    session = await probe.session()
    answer = await session.send(harmless(session), {"origin": "http://dns-rebinding.invalid"})
    no_server_error(answer, "a foreign Origin")
    if answer.status == 403:
        return
    if probe.revision < "2025-11-25" and 400 <= answer.status < 500:
        return  # before 2025-11-25 the text names no status: any refusal validates
    if 200 <= answer.status < 300:
        raise Failed(f"Origin http://dns-rebinding.invalid accepted: {answer.describe()}")
    raise Failed(f"a foreign Origin: {answer.describe()}, not 403")


@check(
    "transport.other-methods",
    area="transport",
    title="HTTP methods other than POST, GET and DELETE are refused (405 with Allow)",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Streamable HTTP",
        "The server MUST provide a single HTTP endpoint path (hereafter referred to as the "
        "MCP endpoint) that supports both POST and GET methods. (RFC 9110: the origin "
        "server MUST generate an Allow header field in a 405 response.)",
    ),
    level=Level.SHOULD,
    revisions=STREAMABLE,
    transports=HTTP_ONLY,
)
async def other_methods(probe: Probe) -> None:
    for method in ("PUT", "PATCH"):
        answer = await probe.send_http(method, {"content-type": "application/json"}, b"{}")
        if answer.status >= 500 or 200 <= answer.status < 300:
            raise Failed(f"{method}: {answer.describe()}", level=Level.MUST)
        if answer.status != 405:
            raise Failed(f"{method}: HTTP {answer.status}, not 405")
        if "allow" not in answer.headers:
            raise Failed(f"{method}: 405 without an Allow header")


@check(
    "transport.delete-session",
    area="transport",
    title="DELETE ends the session (or 405); the ended session then gets 404",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Session Management",
        "The server MAY terminate the session at any time, after which it MUST respond to "
        "requests containing that session ID with HTTP 404 Not Found.",
    ),
    revisions=SESSIONS,
    transports=HTTP_ONLY,
)
async def delete_session(probe: Probe) -> None:
    session = await probe.session()
    if session.session_id is None:
        raise Skipped("the server keeps no sessions (no MCP-Session-Id)")
    answer = await probe.delete(session.headers())
    no_server_error(answer, "DELETE")
    if answer.status == 405:
        raise Skipped("the server does not let clients end sessions (405, as it MAY)")
    if not 200 <= answer.status < 300:
        raise Failed(f"DELETE: {answer.describe()}")
    after = await session.send(harmless(session))
    if after.status != 404:
        raise Failed(f"a request in the deleted session: {after.describe()}, not 404")


@check(
    "transport.unknown-session",
    area="transport",
    title="a request with a session id the server never issued gets 404",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Session Management",
        "The server MAY terminate the session at any time, after which it MUST respond to "
        "requests containing that session ID with HTTP 404 Not Found.",
    ),
    revisions=SESSIONS,
    transports=HTTP_ONLY,
)
async def unknown_session(probe: Probe) -> None:
    session = await probe.session()
    if session.session_id is None:
        raise Skipped("the server keeps no sessions (no MCP-Session-Id)")
    session.session_id = "never-issued-" + session.session_id[::-1]
    answer = await session.send(harmless(session))
    no_server_error(answer, "an unknown session")
    if answer.status == 400:
        raise Failed("an unknown session: 400, not 404", level=Level.SHOULD)
    if answer.status != 404:
        raise Failed(f"an unknown session: {answer.describe()}, not 404")


@check(
    "transport.missing-session",
    area="transport",
    title="a GET or DELETE without the session id gets 400 from a server that keeps sessions",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Session Management",
        "Servers that require a session ID SHOULD respond to requests without an "
        "MCP-Session-Id header (other than initialization) with HTTP 400 Bad Request.",
    ),
    level=Level.SHOULD,
    revisions=SESSIONS,
    transports=HTTP_ONLY,
)
async def missing_session(probe: Probe) -> None:
    session = await probe.session()
    if session.session_id is None:
        raise Skipped("the server keeps no sessions (no MCP-Session-Id)")
    headers: dict[str, str | None] = {**session.headers(), "mcp-session-id": None}
    for method in ("GET", "DELETE"):
        answer = await (probe.get(headers) if method == "GET" else probe.delete(headers))
        if answer.status >= 500 or 200 <= answer.status < 300:
            raise Failed(f"{method} without a session: {answer.describe()}", level=Level.MUST)
        if answer.status not in (400, 405):
            raise Failed(f"{method} without a session: HTTP {answer.status}, not 400")
    await session.close()


@check(
    "transport.batch",
    area="transport",
    title="batches are received where the revision has them (2025-03-26), else refused",
    spec=SpecRef(
        "2025-03-26",
        "Base protocol, Batching",
        "MCP implementations MAY support sending JSON-RPC batches, but MUST support "
        "receiving JSON-RPC batches.",
    ),
    revisions=STREAMABLE,
    transports=HTTP_ONLY,
)
async def batch(probe: Probe) -> None:
    session = await probe.session()
    body = [harmless(session, "b-1"), harmless(session, "b-2")]
    answer = await session.send(body, {"mcp-method": None})
    no_server_error(answer, "a batch")
    if probe.revision == "2025-03-26":
        missing = [i for i in ("b-1", "b-2") if answer.response_to(i) is None]
        if missing:
            raise Failed(f"a batch of two pings: no response for {missing}: {answer.describe()}")
        return
    # 2025-06-18 on: "The body of the POST request MUST be a single JSON-RPC request,
    # notification, or response"; a server that still reads batches is lenient.
    if 200 <= answer.status < 300:
        raise Skipped(f"a batch is accepted at {probe.revision} (lenient: it has no batches)")
    if not 400 <= answer.status < 500:
        raise Failed(f"a batch: {answer.describe()}")
    await session.close()


async def _sse_answers(probe: Probe, session: RawSession) -> list[HttpAnswer]:
    """The SSE answers of one session: its GET stream (if any) and two pings."""
    answers = []
    get = await probe.get(session.headers(), read_seconds=_WINDOW)
    no_server_error(get, "GET")
    if get.is_sse:
        answers.append(get)
    for _ in range(2):
        answer = await session.send(harmless(session))
        if answer.is_sse:
            answers.append(answer)
    return answers


@check(
    "transport.sse-framing",
    area="transport",
    title="every SSE event's data is one JSON-RPC message",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Sending Messages to the Server",
        "If the input is a JSON-RPC request, the server MUST either return "
        "Content-Type: text/event-stream, to initiate an SSE stream, or Content-Type: "
        "application/json, to return one JSON object.",
    ),
    revisions=STREAMABLE,
    transports=HTTP_ONLY,
)
async def sse_framing(probe: Probe) -> None:
    session = await probe.session()
    answers = await _sse_answers(probe, session)
    if not answers:
        raise Skipped("the server opened no SSE stream (JSON answers, no GET stream)")
    for answer in answers:
        if answer.undecodable:
            raise Failed(f"{answer.undecodable} SSE events whose data is not JSON")
        for message in answer.messages:
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                raise Failed(f"an SSE event is not one JSON-RPC message: {message!r}"[:300])
    await session.close()


@check(
    "transport.event-ids-unique",
    area="transport",
    title="SSE event ids are unique across the session's streams",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Resumability and Redelivery",
        "If present, the ID MUST be globally unique across all streams within that session",
    ),
    revisions=STREAMABLE,
    transports=HTTP_ONLY,
)
async def event_ids_unique(probe: Probe) -> None:
    session = await probe.session()
    answers = await _sse_answers(probe, session)
    ids = [event.id for answer in answers for event in answer.events if event.id]
    if len(ids) < 2:
        raise Skipped(f"{len(ids)} SSE event ids seen: nothing to compare")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise Failed(f"event ids used more than once: {repeated[:5]}")
    await session.close()


def _responses(answer: HttpAnswer) -> list[Any]:
    return [m.get("id") for m in answer.messages if isinstance(m, dict) and "method" not in m]


@check(
    "transport.resume-post-stream",
    area="transport",
    title="Last-Event-ID resumes a POST stream without replaying another stream's messages",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Resumability and Redelivery",
        "The server MUST NOT replay messages that would have been delivered on a different "
        "stream. This mechanism applies regardless of how the original stream was initiated "
        "(via POST or GET). Resumption is always via HTTP GET with Last-Event-ID.",
    ),
    revisions=SESSIONS,
    transports=HTTP_ONLY,
)
async def resume_post_stream(probe: Probe) -> None:
    session = await probe.session()
    body = harmless(session)
    answer = await session.send(body)
    first_id = next((event.id for event in answer.events if event.id), None)
    if not answer.is_sse or first_id is None:
        raise Skipped("the server answers POSTs without an SSE stream with event ids")
    await session.send(harmless(session))  # a response of another stream
    resumed = await probe.get({**session.headers(), "last-event-id": first_id})
    no_server_error(resumed, "GET with Last-Event-ID")
    if resumed.is_sse:
        foreign = [i for i in _responses(resumed) if i != body["id"]]
        if foreign:
            raise Failed(f"the resumed stream replays responses of other streams: {foreign}")
    elif not 400 <= resumed.status < 500:
        raise Failed(f"GET with Last-Event-ID: {resumed.describe()}")
    await session.close()


@check(
    "transport.resume-get-stream",
    area="transport",
    title="Last-Event-ID resumes the GET stream, which carries no responses",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Listening for Messages from the Server",
        "The server MUST NOT send a JSON-RPC response on the stream unless resuming a "
        "stream associated with a previous client request.",
    ),
    revisions=SESSIONS,
    transports=HTTP_ONLY,
)
async def resume_get_stream(probe: Probe) -> None:
    session = await probe.session()
    first = await probe.get(session.headers(), read_seconds=_WINDOW)
    no_server_error(first, "GET")
    if first.status == 405:
        raise Skipped("the server offers no GET stream (405)")
    if not first.is_sse:
        raise Failed(f"GET: neither an SSE stream nor 405: {first.describe()}")
    if not first.last_event_id:
        raise Skipped("the GET stream sent no event id: nothing to resume")
    await session.send(harmless(session))
    resumed = await probe.get({**session.headers(), "last-event-id": first.last_event_id})
    no_server_error(resumed, "GET with Last-Event-ID")
    if resumed.is_sse and _responses(resumed):
        raise Failed(f"the resumed GET stream carries responses {_responses(resumed)}")
    if not resumed.is_sse and not 400 <= resumed.status < 500:
        raise Failed(f"GET with Last-Event-ID: {resumed.describe()}")
    await session.close()


@check(
    "transport.get-stream",
    area="transport",
    title="GET opens an SSE stream (or 405), carrying no responses",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Listening for Messages from the Server",
        "The server MUST either return Content-Type: text/event-stream in response to this "
        "HTTP GET, or else return HTTP 405 Method Not Allowed",
    ),
    revisions=SESSIONS,
    transports=HTTP_ONLY,
)
async def get_stream(probe: Probe) -> None:
    session = await probe.session()
    answer = await probe.get(session.headers(), read_seconds=_WINDOW)
    if answer.status == 405:
        return
    if answer.status != 200 or not answer.is_sse:
        raise Failed(f"GET: neither an SSE stream nor 405: {answer.describe()}")
    if _responses(answer):
        raise Failed(f"the GET stream carries responses {_responses(answer)}")
    await session.close()


@check(
    "transport.second-get-stream",
    area="transport",
    title="a second GET stream beside the first is opened or refused (4xx), never a 5xx",
    spec=SpecRef(
        "2025-11-25",
        "Transports, Multiple Connections",
        "The client MAY remain connected to multiple SSE streams simultaneously. The server "
        "MUST send each of its JSON-RPC messages on only one of the connected streams",
    ),
    revisions=SESSIONS,
    transports=HTTP_ONLY,
)
async def second_get_stream(probe: Probe) -> None:
    session = await probe.session()
    answers: dict[str, HttpAnswer] = {}

    async def open_stream(name: str, delay: float, seconds: float) -> None:
        await trio.sleep(delay)
        answers[name] = await probe.get(session.headers(), read_seconds=seconds)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(open_stream, "first", 0.0, 3 * _WINDOW)
        nursery.start_soon(open_stream, "second", _WINDOW, _WINDOW)
    first, second = answers["first"], answers["second"]
    if first.status == 405:
        raise Skipped("the server offers no GET stream (405)")
    no_server_error(second, "a second GET stream")
    if not (second.is_sse and second.status == 200) and not 400 <= second.status < 500:
        raise Failed(f"a second GET stream: {second.describe()}")
    await session.close()


# -- the 2024-11-05 HTTP+SSE transport ------------------------------------------------------


@check(
    "transport.sse-endpoint",
    area="transport",
    title="HTTP+SSE: the stream starts with an endpoint event; answers come as message events",
    spec=SpecRef(
        "2024-11-05",
        "Transports, HTTP with SSE",
        "When a client connects, the server MUST send an endpoint event containing a URI for "
        "the client to use for sending messages. [...] Server messages are sent as SSE "
        "message events, with the message content encoded as JSON in the event data.",
    ),
    revisions=["2024-11-05"],
    transports=["sse"],
)
async def sse_endpoint(probe: Probe) -> None:
    async with probe.open_events({}) as (status, headers, events):
        content_type = headers.get("content-type", "").split(";")[0].strip()
        if status != 200 or content_type != "text/event-stream":
            raise Failed(f"GET {probe.url}: HTTP {status} {content_type}, not an SSE stream")
        with trio.move_on_after(probe.options.timeout):
            first = await anext(events, None)
        if first is None or first.event != "endpoint" or not first.data.strip():
            raise Failed(f"the first event is not an endpoint event: {first!r}"[:300])
        endpoint = urljoin(probe.url or "", first.data.strip())
        body = initialize_request("2024-11-05")
        posted = await probe.post(body, url=endpoint)
        if not 200 <= posted.status < 300:
            raise Failed(f"POST to the endpoint {endpoint}: {posted.describe()}")
        with trio.move_on_after(probe.options.timeout):
            async for event in events:
                if event.event != "message":
                    continue
                try:
                    message = orjson.loads(event.data)
                except orjson.JSONDecodeError:
                    raise Failed(
                        f"a message event that is not JSON: {event.data!r}"[:300]
                    ) from None
                if isinstance(message, dict) and message.get("id") == 0:
                    return
        raise Failed("the answer to initialize never came as a message event")


@check(
    "transport.sse-origin",
    area="transport",
    title="HTTP+SSE: a connection with a foreign Origin is refused",
    spec=SpecRef(
        "2024-11-05",
        "Transports, HTTP with SSE, Security Warning",
        "Servers MUST validate the Origin header on all incoming connections to prevent DNS "
        "rebinding attacks",
    ),
    revisions=["2024-11-05"],
    transports=["sse"],
)
async def sse_origin(probe: Probe) -> None:
    answer = await probe.get({"origin": "http://dns-rebinding.invalid"}, read_seconds=_WINDOW)
    no_server_error(answer, "a foreign Origin")
    if not 400 <= answer.status < 500:
        raise Failed(f"a foreign Origin: {answer.describe()}")
