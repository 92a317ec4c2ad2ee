"""The gateway: an :class:`~scaled_mcp.server.MCPServer` that serves another MCP server.

``Gateway(upstream)`` forwards what it does not serve itself to an upstream
MCP server reached with a :class:`~scaled_mcp.client.Client` (a URL, any
revision, ``/sse`` for the 2024-11-05 transport; a command run over stdio;
an ``MCPServer`` in memory): its tools, resources, templates, prompts and
completions, through our fronts, on both eras of the wire, on every node of a
cluster. It is an ``MCPServer``: tools registered on it, its middleware and
visibility rules apply around the upstream's, and ``app.mount(gateway,
prefix=...)`` mixes an upstream into a larger server.

What crosses, and how:

* a downstream request → an upstream request of the same method and params
  (its ``_meta`` dropped: the gateway's client makes its own), its result or
  JSON-RPC error back as it came; list results are read whole and paged again
  here;
* progress of a call → ``ctx.report_progress``; the upstream's questions
  (``sampling/createMessage``, ``elicitation/create``, ``roots/list``) during
  a call → the same question to the downstream client (a live request on a
  session, an input-required round on the 2026-07-28 wire: the upstream call
  runs again on the retry and its questions are answered from the retry, in
  the order asked); its log messages → ``ctx.log`` (sent as the downstream
  client's level allows; the upstream is asked for ``debug``);
* a downstream cancellation (or a closed stream) → ``notifications/cancelled``
  upstream (the client's own rule);
* the upstream's list changes and resource updates → this server's listeners,
  that is every downstream client (subscriptions to upstream resources are
  made as downstream clients subscribe).

Upstream sessions are the node's, not the downstream client's
(:mod:`._gateway_pool`): a node opens up to ``max_sessions`` of them and closes
idle ones, so any node serves any downstream request and nothing is pinned to a
node. An upstream that keeps per-session state therefore keeps it per node
connection, not per downstream session; applications keep theirs in
``ctx.session_state``. The gateway authenticates with its own credentials
(``headers``, ``bearer``, ``auth``); nothing of the downstream request's
transport (its ``Authorization`` header) is ever sent upstream.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any, Final, Literal, TypeAlias

import httpx2
import trio

from ..protocol.client import tool_param_headers
from ..protocol.jsonrpc import ErrorCode, LocalProtocolError
from ..protocol.stateless import InputRequest
from ..runtime import Arrival, InputNeeded, McpError
from ..server import Component, Context, MCPServer
from ._client import Client, Mode
from ._errors import ClientError, ConnectionLost
from ._gateway_pool import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_SESSIONS,
    UpstreamCall,
    UpstreamPool,
    UpstreamSession,
)
from ._targets import Target

__all__ = [
    "DEFAULT_UPSTREAM_TIMEOUT",
    "MAX_UPSTREAM_PAGES",
    "MAX_UPSTREAM_SUBSCRIPTIONS",
    "Gateway",
]

_log = logging.getLogger("scaled_mcp.gateway")

#: What a listed item is (the server's visibility rules' kinds).
ComponentKind: TypeAlias = Literal["tool", "resource", "resource_template", "prompt"]

#: Seconds an upstream request may take by default (a call that asks the user waits on them).
DEFAULT_UPSTREAM_TIMEOUT: Final = 300.0
#: Pages of an upstream list read at most for one list request.
MAX_UPSTREAM_PAGES: Final = 1000
#: Upstream resources a node subscribes to at most.
MAX_UPSTREAM_SUBSCRIPTIONS: Final = 1024

#: The capabilities a gateway declares before it has met its upstream.
_UNKNOWN_UPSTREAM: Final[Mapping[str, Any]] = {
    "tools": {"listChanged": True},
    "resources": {"subscribe": True, "listChanged": True},
    "prompts": {"listChanged": True},
    "completions": {},
    "logging": {},
}
#: Params of a downstream request that are the downstream wire's, never forwarded:
#: its envelope, and the answers and state of its input-required rounds.
_DOWNSTREAM_ONLY: Final = frozenset({"_meta", "inputResponses", "requestState"})
#: The stateless era's ``_meta`` key naming the server that answered.
_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"
#: The field naming an item of each kind.
_FIELD: Final[Mapping[str, str]] = {"resource": "uri", "resource_template": "uriTemplate"}
_KINDS: Final[Mapping[str, tuple[str, ComponentKind]]] = {
    "tools/list": ("tools", "tool"),
    "resources/list": ("resources", "resource"),
    "resources/templates/list": ("resourceTemplates", "resource_template"),
    "prompts/list": ("prompts", "prompt"),
}

#: The downstream call whose task is running (the stateless era's client answers
#: an upstream question in the calling task: then this names the call exactly).
_current_call: contextvars.ContextVar[UpstreamCall | None] = contextvars.ContextVar(
    "scaled_mcp_gateway_call", default=None
)


def _without_envelope(result: dict[str, Any]) -> dict[str, Any]:
    """An upstream result without what its wire added about the upstream
    (``_meta``'s server info: the gateway's own goes out)."""
    meta = result.get("_meta")
    if isinstance(meta, dict) and _SERVER_INFO in meta:
        rest = {k: v for k, v in meta.items() if k != _SERVER_INFO}
        result = {k: v for k, v in result.items() if k != "_meta"}
        if rest:
            result["_meta"] = rest
    return result


def _question(request: Mapping[str, Any]) -> InputRequest:
    """An upstream's question as the same question to the downstream client
    (its ``_meta`` dropped); raises :class:`McpError` (-32602) if malformed."""
    params = request.get("params")
    params = {k: v for k, v in params.items() if k != "_meta"} if isinstance(params, dict) else None
    try:
        return InputRequest(str(request.get("method")), params)
    except LocalProtocolError as exc:
        raise McpError(ErrorCode.INVALID_PARAMS, f"the upstream asked badly: {exc}") from None


def _template_pattern(template: str) -> re.Pattern[str]:
    """A URI template (``{name}`` variables; ``{+name}``/``{/name}`` … loosely) as a regex."""
    parts = re.split(r"\{[^}]*\}", template)
    return re.compile("[^/]*".join(re.escape(part) for part in parts), re.DOTALL)


class Gateway(MCPServer):
    """An MCP server serving ``upstream``'s tools, resources, prompts and
    completions beside its own (see the module).

    ``upstream`` is what :class:`~scaled_mcp.client.Client` reaches (a URL, a
    command as an argv list, an ``MCPServer``); ``mode`` and
    ``protocol_version`` pick the upstream's era and revision (default: the
    newest it speaks); ``headers``, ``bearer``, ``auth`` (e.g.
    ``OAuth(..., grant=ClientCredentials(...))``), ``verify``, ``cert`` are the
    gateway's own HTTP credentials. ``timeout`` bounds each upstream request,
    ``max_sessions`` the upstream sessions a node opens, ``idle_timeout`` how
    long an unused one stays open, ``start_within`` how long a node retries
    an unreachable upstream at start-up (with warnings) before it gives up.
    ``name`` defaults to the upstream's (after :meth:`probe`).
    """

    def __init__(
        self,
        upstream: Target,
        *,
        name: str | None = None,
        version: str = "0.1.0",
        instructions: str | None = None,
        mode: Mode = "auto",
        protocol_version: str | None = None,
        headers: Mapping[str, str] | None = None,
        bearer: str | None = None,
        auth: httpx2.Auth | None = None,
        verify: Any = True,
        cert: Any = None,
        timeout: float = DEFAULT_UPSTREAM_TIMEOUT,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        start_within: float = 30.0,
    ) -> None:
        super().__init__(name or "scaled-mcp-gateway", version, instructions=instructions)
        self._named = name is not None
        self._upstream = upstream
        self._client_options: dict[str, Any] = {
            "mode": mode,
            "protocol_version": protocol_version,
            "headers": headers,
            "bearer": bearer,
            "auth": auth,
            "verify": verify,
            "cert": cert,
        }
        self.timeout = timeout
        self.start_within = start_within
        self.pool = UpstreamPool(
            self._client_for,
            max_sessions=max_sessions,
            idle_timeout=idle_timeout,
            open_timeout=min(timeout, 30.0),
            on_open=self._opened,
        )
        #: The upstream's capabilities (``None``: not met yet).
        self.upstream_capabilities: dict[str, Any] | None = None
        self._names: dict[ComponentKind, set[str]] = {}
        self._patterns: list[re.Pattern[str]] = []
        self._tool_headers: dict[str, dict[str, tuple[str, ...]]] = {}
        self._subscribed: dict[str, None] = {}
        # Core-handled requests (resources/subscribe) pass through admit().
        self.admit = self._admit

    # -- what the gateway declares -------------------------------------------------

    @property
    def capabilities(self) -> dict[str, Any]:
        """This server's own capabilities and the upstream's (all kinds, before
        the upstream was met: see :meth:`probe`)."""
        caps = dict(super().capabilities)
        upstream = self.upstream_capabilities
        for kind, value in (_UNKNOWN_UPSTREAM if upstream is None else upstream).items():
            if kind == "tools" or kind == "prompts":
                caps[kind] = {"listChanged": True}
            elif kind == "resources":
                subscribe = bool(value.get("subscribe")) if isinstance(value, dict) else False
                mine = caps.get("resources", {})
                caps[kind] = {"subscribe": subscribe or bool(mine), "listChanged": True}
            elif kind in ("completions", "logging"):
                caps[kind] = {}
        return caps

    async def probe(self) -> None:
        """Meet the upstream once (in the current trio run): learn its
        capabilities, and its name and instructions unless given, so that a
        node declares exactly what the upstream offers. Retries for
        ``start_within`` seconds; raises :class:`ClientError` after."""
        async with self.pool.running(start_within=self.start_within):
            pass

    def _learn(self, client: Client) -> None:
        self.upstream_capabilities = dict(client.server_capabilities)
        if not self._named and client.server_info.get("name"):
            self.server_info = {**self.server_info, **client.server_info}
        if self.instructions is None:
            self.instructions = client.instructions

    # -- the upstream sessions ----------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Any]:
        """The upstream sessions of this node, then the lifespans of this server
        and those mounted in it; raises if the upstream stays unreachable for
        ``start_within`` seconds."""
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(self.pool.running(start_within=self.start_within))
            except ClientError as exc:
                raise ClientError(
                    exc.code, f"the upstream is unreachable: {exc.message}", exc.data
                ) from None
            value = await stack.enter_async_context(super().running())
            yield value

    def _client_for(self, session: UpstreamSession) -> Client:
        """The (not yet opened) client of one upstream session."""

        async def ask(method: str, params: dict[str, Any]) -> dict[str, Any]:
            return await self._ask_downstream(session, method, params)

        async def sample(params: dict[str, Any]) -> dict[str, Any]:
            return await ask("sampling/createMessage", params)

        async def elicit(params: dict[str, Any]) -> dict[str, Any]:
            return await ask("elicitation/create", params)

        async def roots() -> list[dict[str, Any]]:
            answer = await ask("roots/list", {})
            listed = answer.get("roots")
            return listed if isinstance(listed, list) else []

        async def answer_round(questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
            # A stateless upstream's round: asked downstream whole, under its own keys.
            call = _current_call.get() or session.sole_call()
            if call is None:
                raise ClientError(ErrorCode.INTERNAL_ERROR, "no downstream request to ask")
            try:
                asked = {key: _question(q) for key, q in questions.items()}
                return dict(await call.context.ask_many(asked))
            except McpError as exc:
                raise ClientError(exc.code, exc.message, exc.data) from None

        async def log(level: str, data: Any, logger: str | None) -> None:
            call = _current_call.get() or session.sole_call()
            if call is not None:
                with contextlib.suppress(ValueError, McpError):
                    await call.context.log(level, data, logger=logger)  # type: ignore[arg-type]

        primary = session.primary
        return Client(
            self._upstream,
            sampling_handler=sample,
            elicitation_handler=elicit,
            roots=roots,
            log_handler=log,
            input_round_handler=answer_round,
            list_changed_handler=self._upstream_list_changed if primary else None,
            resource_updated_handler=self.notify_resource_updated if primary else None,
            timeout=self.timeout,
            client_info={"name": "scaled-mcp-gateway", "version": "0.1.0"},
            capabilities={"elicitation": {"form": {}, "url": {}}},
            **self._client_options,
        )

    async def _opened(self, session: UpstreamSession) -> None:
        """After a session opened: the upstream's logs at every level (the
        downstream client's level filters them); the primary learns the
        upstream and renews the node's subscriptions."""
        client = session.client
        assert client is not None
        if "logging" in client.server_capabilities:
            with trio.move_on_after(self.pool.open_timeout):
                await client.set_logging_level("debug")
        if session.primary:
            self._learn(client)
            await self._prime(client)
            for uri in list(self._subscribed):
                with trio.move_on_after(self.pool.open_timeout):
                    await client.subscribe_resource(uri)

    async def _prime(self, client: Client) -> None:
        """Read the upstream's lists once (bounded), for :meth:`knows` and the
        tools' ``x-mcp-header`` names, before the first downstream list."""
        offered = self.upstream_capabilities or {}
        for method, (key, kind) in _KINDS.items():
            if (
                "tools" if kind == "tool" else "prompts" if kind == "prompt" else "resources"
            ) not in offered:
                continue
            with trio.move_on_after(self.pool.open_timeout):
                self._remember(kind, await _all_pages(key, partial(client.request, method)))

    def _upstream_list_changed(self, kind: str) -> None:
        if kind in ("tools", "resources", "prompts"):
            self._changed(kind)

    async def _ask_downstream(
        self, session: UpstreamSession, method: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The downstream client's answer to a question the upstream asked
        during a call (the call's own client, on its own wire)."""
        inline = _current_call.get()
        call = inline or session.sole_call()
        if call is None:
            raise ClientError(
                ErrorCode.INTERNAL_ERROR,
                f"{method}: no downstream request this question belongs to",
            )
        key = call.next_key(method)
        try:
            question = _question({"method": method, "params": params})
            answers = await call.context.ask_many({key: question})
        except InputNeeded as needed:
            if inline is not None:
                raise  # this task is the call's: the input-required result goes out from here
            # Asked from the client's reader: end the call with the input-required result.
            call.input_needed = needed
            call.scope.cancel()
            raise ClientError(ErrorCode.INTERNAL_ERROR, "asked the downstream client") from None
        except McpError as exc:
            raise ClientError(exc.code, exc.message, exc.data) from None
        return answers[key]

    async def forward(self, method: str, params: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
        """Send one request upstream for the downstream request of ``ctx``; its
        result, or its error as an :class:`McpError`."""
        upstream_params = {k: v for k, v in params.items() if k not in _DOWNSTREAM_ONLY}
        progress = None
        if ctx.progress_token is not None:

            async def progress(done: float, total: float | None, message: str | None) -> None:
                await ctx.report_progress(done, total, message)

        try:
            async with self.pool.lease(ctx) as (session, call):
                client = session.client
                assert client is not None
                token = _current_call.set(call)
                try:
                    name = params.get("name") if method == "tools/call" else None
                    result = await client.request(
                        method,
                        upstream_params,
                        timeout=self.timeout,
                        progress_handler=progress,
                        param_headers=self._tool_headers.get(name) if name else None,
                        capabilities=_forwardable(ctx.client_capabilities),
                    )
                    return _without_envelope(result)
                except ConnectionLost as exc:
                    self.pool.lost(session)
                    raise McpError(
                        ErrorCode.INTERNAL_ERROR, f"the upstream connection was lost: {exc.message}"
                    ) from None
                finally:
                    _current_call.reset(token)
        except ClientError as exc:
            raise McpError(exc.code, exc.message, exc.data) from None
        raise McpError(ErrorCode.INTERNAL_ERROR, f"{method}: the upstream call was cancelled")

    async def _upstream_list(self, method: str, ctx: Context) -> list[dict[str, Any]]:
        key, kind = _KINDS[method]
        caps = self.upstream_capabilities
        wanted = {"tool": "tools", "prompt": "prompts"}.get(kind, "resources")
        if caps is not None and wanted not in caps:
            return []
        items = await _all_pages(key, lambda params: self.forward(method, params, ctx))
        self._remember(kind, items)
        return items

    def _remember(self, kind: ComponentKind, items: Iterable[dict[str, Any]]) -> None:
        """Keep the upstream's names (for :meth:`knows`, which a parent's mount asks)."""
        field = _FIELD.get(kind, "name")
        names = {str(item.get(field)) for item in items}
        self._names[kind] = names
        if kind == "resource_template":
            self._patterns = [_template_pattern(t) for t in sorted(names)]
        elif kind == "tool":
            headers = {str(item.get("name")): tool_param_headers(item) for item in items}
            self._tool_headers = {name: found for name, found in headers.items() if found}

    def tool_param_headers(self, name: str) -> dict[str, tuple[str, ...]] | None:
        """Tool ``name``'s ``x-mcp-header`` names: this server's own, else the
        upstream's as last listed."""
        return super().tool_param_headers(name) or self._tool_headers.get(name)

    # -- the methods -------------------------------------------------------------------

    def never_waits(self, method: str, params: Mapping[str, Any]) -> bool:
        """Only this server's own quick tools never wait; the upstream always may."""
        if method == "tools/call":
            entry = self._tools.get(params.get("name"))  # type: ignore[arg-type]
            return entry.quick if entry is not None else False
        return False

    def knows(self, kind: ComponentKind, name: str) -> bool:
        """This server's own, or the upstream's as last listed."""
        if super().knows(kind, name):
            return True
        if kind == "resource" and any(p.fullmatch(name) for p in self._patterns):
            return True
        return name in self._names.get(kind, ())

    def _visible_upstream(self, ctx: Context, kind: ComponentKind, item: Mapping[str, Any]) -> bool:
        visible = self._visible
        if visible is None:
            return True
        field = _FIELD.get(kind, "name")
        return visible(ctx, Component(kind, str(item.get(field)), frozenset(), item))

    async def _list_all(
        self,
        method: str,
        entries: Iterable[Any],
        params: Mapping[str, Any],
        ctx: Context,
    ) -> dict[str, Any]:
        """This server's items (and its mounted servers'), then the upstream's it
        does not shadow, that the caller may see; paged here."""
        key, kind = _KINDS[method]
        field = _FIELD.get(kind, "name")
        visible = self._visible
        items = [e.wire for e in entries if visible is None or visible(ctx, e.component)]
        for mount in self._mounts:
            for item in await mount.listed(method, ctx):
                if visible is None or visible(ctx, mount.component(kind, item)):
                    items.append(item)
        own = {str(item.get(field)) for item in items}
        for item in await self._upstream_list(method, ctx):
            if str(item.get(field)) not in own and self._visible_upstream(ctx, kind, item):
                items.append(item)
        return self._page(items, params, key)

    async def _list_tools(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await self._list_all("tools/list", self._tools.values(), params, ctx)

    async def _list_resources(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await self._list_all("resources/list", self._resources.values(), params, ctx)

    async def _list_templates(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        method = "resources/templates/list"
        return await self._list_all(method, self._templates.values(), params, ctx)

    async def _list_prompts(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await self._list_all("prompts/list", self._prompts.values(), params, ctx)

    def _mine(self, kind: ComponentKind, name: object) -> bool:
        return isinstance(name, str) and MCPServer.knows(self, kind, name)

    async def _call_tool(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        name = params.get("name")
        if self._mine("tool", name):
            return await super()._call_tool(params, ctx)
        item = {"name": name}
        if not isinstance(name, str) or not self._visible_upstream(ctx, "tool", item):
            raise McpError(ErrorCode.INVALID_PARAMS, f"Unknown tool: {name}")
        return await self.forward("tools/call", params, ctx)

    async def _read_resource(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        uri = params.get("uri")
        if self._mine("resource", uri) or not isinstance(uri, str):
            return await super()._read_resource(params, ctx)
        if not self._visible_upstream(ctx, "resource", {"uri": uri}):
            return await super()._read_resource(params, ctx)  # not found, as for its own
        return await self.forward("resources/read", params, ctx)

    async def _get_prompt(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        name = params.get("name")
        if self._mine("prompt", name) or not isinstance(name, str):
            return await super()._get_prompt(params, ctx)
        if not self._visible_upstream(ctx, "prompt", {"name": name}):
            raise McpError(ErrorCode.INVALID_PARAMS, f"Invalid params: unknown prompt {name!r}")
        return await self.forward("prompts/get", params, ctx)

    async def _complete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        ref = params.get("ref")
        kind = ref.get("type") if isinstance(ref, dict) else None
        target = (ref.get("name") if kind == "ref/prompt" else ref.get("uri")) if ref else None
        local = (str(kind), str(target)) in self._completions or (
            self._mine("prompt", target)
            if kind == "ref/prompt"
            else self._mine("resource_template", target)
        )
        caps = self.upstream_capabilities
        if local or not isinstance(ref, dict) or (caps is not None and "completions" not in caps):
            return await super()._complete(params, ctx)
        return await self.forward("completion/complete", params, ctx)

    # -- what the core answers itself ---------------------------------------------------

    async def _admit(self, arrival: Arrival) -> None:
        """A downstream ``resources/subscribe`` of an upstream resource is made
        upstream too (on this node's primary session), before the core answers."""
        if arrival.method == "resources/subscribe" and arrival.request_id is not None:
            uri = arrival.params.get("uri")
            if isinstance(uri, str) and not MCPServer.knows(self, "resource", uri):
                await self._subscribe_upstream(uri)
        await super()._admit(arrival)

    async def _subscribe_upstream(self, uri: str) -> None:
        if uri in self._subscribed:
            return
        if len(self._subscribed) >= MAX_UPSTREAM_SUBSCRIPTIONS:
            raise McpError(ErrorCode.INTERNAL_ERROR, "too many upstream subscriptions")
        caps = self.upstream_capabilities or {}
        resources = caps.get("resources")
        if not (isinstance(resources, dict) and resources.get("subscribe")):
            return
        primary = self.pool.primary
        if primary is None or primary.client is None:
            raise McpError(ErrorCode.INTERNAL_ERROR, "the upstream is unreachable")
        try:
            with trio.fail_after(self.pool.open_timeout):
                await primary.client.subscribe_resource(uri)
        except ClientError as exc:
            raise McpError(exc.code, exc.message, exc.data) from None
        except trio.TooSlowError:
            raise McpError(
                ErrorCode.INTERNAL_ERROR, "the upstream did not subscribe in time"
            ) from None
        self._subscribed[uri] = None


async def _all_pages(
    key: str, fetch: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Every item under ``key`` of an upstream list, its pages followed by their
    cursors, at most ``MAX_UPSTREAM_PAGES`` of them."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    for _ in range(MAX_UPSTREAM_PAGES):
        page = await fetch(params)
        listed = page.get(key)
        if isinstance(listed, list):
            items.extend(item for item in listed if isinstance(item, dict))
        cursor = page.get("nextCursor")
        if not isinstance(cursor, str):
            break
        params = {"cursor": cursor}
    return items


def _forwardable(downstream: Mapping[str, Any]) -> dict[str, Any]:
    """What an upstream request declares (2026-07-28: per request): those of the
    downstream client's capabilities the gateway answers by asking it (sampling,
    elicitation, roots), so the upstream asks nothing of a client that has none."""
    return {k: downstream[k] for k in ("sampling", "elicitation", "roots") if k in downstream}
