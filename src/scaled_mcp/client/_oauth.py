"""OAuth 2.1 for the client: :class:`OAuth`, an ``httpx2.Auth`` driven by the core's decisions.

The core (:mod:`scaled_mcp.protocol.oauth`) decides what to fetch, what to send
and what an answer means; this module only relays those requests through the
same HTTP client (httpx's generator-based auth flow), asks the application for
the user's authorization (the redirect step), keeps tokens in a pluggable
:class:`TokenStorage` and serializes concurrent authorizations with a lock.

Hooks for other grants and proofs (:class:`TokenGrant`, :class:`ClientAuthenticator`,
:class:`ProofOfPossession`) plug in without touching the flow.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Mapping,
)
from typing import Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode

import attrs
import httpx2
import trio

from scaled_mcp.protocol.oauth import (
    DEFAULT_REDIRECT_URI,
    MAX_METADATA_SIZE,
    MIN_ENTROPY,
    AuthorizationFlow,
    AuthorizationServerMetadata,
    Authorize,
    BearerChallenge,
    ClientInformation,
    Discovered,
    Done,
    Fetch,
    FlowAction,
    FlowConfig,
    OAuthError,
    OAuthRequest,
    OAuthResponse,
    ProtectedResourceMetadata,
    Redirect,
    TokenSet,
    choose_auth_method,
    resource_decision,
    token_request,
)

__all__ = [
    "ClientAuthenticator",
    "Exchange",
    "GrantContext",
    "InMemoryTokenStorage",
    "OAuth",
    "ProofOfPossession",
    "RedirectHandler",
    "StoredAuthorization",
    "TokenGrant",
    "TokenStorage",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

Exchange = Generator[httpx2.Request, httpx2.Response, T]
"""A sync generator that yields requests, is sent their (read) responses, and returns a ``T``."""

RedirectHandler = Callable[[str], Awaitable[Mapping[str, str]]]
"""Sends the user to the authorization URL; returns the redirect's query (code, state, iss)."""

_TOKEN_PURPOSES = ("token", "refresh")


@attrs.frozen(slots=True)
class StoredAuthorization:
    """What the client keeps for one MCP server: its tokens and its clients, by issuer."""

    tokens: TokenSet | None = None
    clients: Mapping[str, ClientInformation] = attrs.field(factory=dict)


class TokenStorage(Protocol):
    """Where tokens and registered clients live between requests (and runs, if persistent)."""

    async def load(self, server_url: str) -> StoredAuthorization | None:
        """What was stored for the MCP server at ``server_url``, if anything."""
        ...

    async def save(self, server_url: str, record: StoredAuthorization) -> None:
        """Replace what is stored for ``server_url``."""
        ...


class InMemoryTokenStorage:
    """The default :class:`TokenStorage`: a dict, forgotten when the process ends."""

    def __init__(self) -> None:
        self._records: dict[str, StoredAuthorization] = {}

    def __repr__(self) -> str:
        return f"InMemoryTokenStorage(servers={len(self._records)})"

    async def load(self, server_url: str) -> StoredAuthorization | None:
        """What was stored for ``server_url``."""
        return self._records.get(server_url)

    async def save(self, server_url: str, record: StoredAuthorization) -> None:
        """Keep ``record`` for ``server_url``."""
        self._records[server_url] = record


class ClientAuthenticator(Protocol):
    """Authenticates the client at the token endpoint by a method the core leaves out.

    ``authenticate`` adds fields (e.g. ``client_assertion``) to the token request's
    form, which already holds ``client_id``.
    """

    method: str

    def authenticate(self, form: dict[str, str], token_endpoint: str, issuer: str) -> None:
        """Add this method's fields to ``form``."""
        ...


class ProofOfPossession(Protocol):
    """Binds tokens to a key (DPoP): proofs on token and resource requests, nonce retries."""

    def token_request(self, request: httpx2.Request) -> None:
        """Add a proof to a token request."""
        ...

    def resource_request(self, request: httpx2.Request, tokens: TokenSet) -> None:
        """Set ``Authorization`` and the proof on a request to the MCP server."""
        ...

    def retry(self, request: httpx2.Request, response: httpx2.Response) -> bool:
        """Whether ``response`` is a nonce challenge the request should be re-sent for."""
        ...


@attrs.frozen(slots=True)
class GrantContext:
    """What a :class:`TokenGrant` needs: discovery's results and a way to build token requests.

    ``authenticate`` turns a token request carrying only the grant's fields into
    the request to send, with the client's authentication and any proof added.
    """

    server_url: str
    resource: str
    scope: tuple[str, ...]
    metadata: AuthorizationServerMetadata
    resource_metadata: ProtectedResourceMetadata | None
    client: ClientInformation | None
    authenticate: Callable[[OAuthRequest], httpx2.Request]
    now: Callable[[], float]


class TokenGrant(Protocol):
    """Obtains tokens without the user: client credentials, JWT bearer, token exchange."""

    def obtain(self, context: GrantContext) -> Exchange[TokenSet]:
        """Yield the requests to make; return the tokens."""
        ...


class _BoundedStream(httpx2.AsyncByteStream):
    """A response stream that refuses to grow past ``limit`` bytes."""

    def __init__(self, stream: httpx2.AsyncByteStream, limit: int) -> None:
        self._stream = stream
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._stream:
            size += len(chunk)
            if size > self._limit:
                raise OAuthError("invalid_response", f"response larger than {self._limit} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


async def _read_bounded(response: httpx2.Response) -> OAuthResponse:
    if isinstance(response.stream, httpx2.AsyncByteStream):
        response.stream = _BoundedStream(response.stream, MAX_METADATA_SIZE)
    body = await response.aread()
    headers = {name.lower(): value for name, value in response.headers.items()}
    return OAuthResponse(response.status_code, headers, body)


def _server_url(request: httpx2.Request) -> str:
    return str(request.url.copy_with(query=None, fragment=None))


class OAuth(httpx2.Auth):
    """OAuth 2.1 authorization for an MCP client: pass it as ``Client(url, auth=OAuth(...))``.

    On a 401 it discovers the authorization server (RFC 9728, RFC 8414, the
    2025-03-26 fallbacks), registers (pre-registered credentials
    ``client_id``/``client_secret``, else the ``client_metadata_url`` where the
    server supports client ID metadata documents, else RFC 7591), sends the user
    through ``redirect_handler`` with PKCE S256 and ``resource``, exchanges the
    code, and re-sends the request with the token. A 403 ``insufficient_scope``
    steps up (union of scopes) at most ``max_step_ups`` times per request. An
    expired token is refreshed first when a refresh token is at hand.

    ``grant`` replaces the redirect with another grant, ``client_authenticator``
    authenticates the client by another method, ``proof`` binds tokens (DPoP).
    ``entropy`` and ``clock`` are injectable for tests. Tokens and secrets never
    appear in ``repr`` or in logs.
    """

    def __init__(
        self,
        *,
        redirect_handler: RedirectHandler | None = None,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        client_name: str = "scaled-mcp",
        application_type: str = "native",
        client_id: str | None = None,
        client_secret: str | None = None,
        token_endpoint_auth_method: str | None = None,
        client_metadata_url: str | None = None,
        scopes: tuple[str, ...] | list[str] | None = None,
        storage: TokenStorage | None = None,
        offline_access: bool = True,
        max_step_ups: int = 2,
        redirect_timeout: float = 300.0,
        protocol_version: str | None = None,
        grant: TokenGrant | None = None,
        client_authenticator: ClientAuthenticator | None = None,
        proof: ProofOfPossession | None = None,
        entropy: Callable[[int], bytes] = secrets.token_bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        method = token_endpoint_auth_method
        if client_authenticator is not None and method is None:
            method = client_authenticator.method
        self._client = (
            ClientInformation(client_id, client_secret, method) if client_id is not None else None
        )
        self._config = FlowConfig(
            server_url="http://localhost/",
            redirect_uri=redirect_uri,
            client_name=client_name,
            application_type=application_type,
            scopes=tuple(scopes) if scopes is not None else None,
            client=self._client,
            client_metadata_url=client_metadata_url,
            offline_access=offline_access,
            authorization_code=grant is None,
            protocol_version=protocol_version,
        )
        self._redirect_handler = redirect_handler
        self._redirect_timeout = redirect_timeout
        self._storage: TokenStorage = storage if storage is not None else InMemoryTokenStorage()
        self._max_step_ups = max_step_ups
        self._grant = grant
        self._authenticator = client_authenticator
        self._proof = proof
        self._entropy = entropy
        self._clock = clock
        self._lock = trio.Lock()

    def __repr__(self) -> str:
        client_id = self._client.client_id if self._client else None
        return f"OAuth(client_id={client_id!r}, storage={self._storage!r})"

    # -- the auth flow -----------------------------------------------------------------

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """Send ``request`` authorized; authorize, step up or refresh as the answers require."""
        # The request may be sent again after an authorization: its body must be replayable.
        await request.aread()
        server_url = _server_url(request)
        record = await self._storage.load(server_url)
        tokens = record.tokens if record is not None else None
        refresh_first = (
            tokens is not None
            and tokens.refresh_token is not None
            and tokens.expired(self._clock())
        )
        decision: Authorize | None = None
        authorizations = step_ups = 0
        while True:
            if refresh_first or decision is not None:
                async with self._lock:
                    current = await self._storage.load(server_url)
                    newer = current.tokens if current is not None else None
                    if (
                        newer is not None
                        and (decision is None or not decision.step_up)
                        and (tokens is None or newer.access_token != tokens.access_token)
                        and not newer.expired(self._clock())
                    ):
                        # Another request authorized meanwhile: use its tokens.
                        tokens = newer
                    else:
                        out: list[TokenSet] = []
                        steps = self._obtain(
                            server_url,
                            decision.challenge if decision is not None else None,
                            prior=tokens.scope if tokens is not None else (),
                            refresh=tokens if decision is None or not decision.step_up else None,
                            out=out,
                        )
                        try:
                            outgoing = await steps.__anext__()
                            while True:
                                outgoing = await steps.asend((yield outgoing))
                        except StopAsyncIteration:
                            pass
                        finally:
                            await steps.aclose()
                        tokens = out[0]
                if decision is not None:
                    authorizations += 1
                    step_ups += decision.step_up
                refresh_first = False
            response = yield self._authorized(request, tokens)
            if self._proof is not None and tokens is not None and response.status_code >= 400:
                await _read_bounded(response)
                if self._proof.retry(request, response):
                    response = yield self._authorized(request, tokens)
            found = resource_decision(
                response.status_code,
                response.headers.get_list("www-authenticate"),
                authorizations=authorizations,
                step_ups=step_ups,
                max_step_ups=self._max_step_ups,
            )
            if not isinstance(found, Authorize):
                return
            decision = found

    def _authorized(self, request: httpx2.Request, tokens: TokenSet | None) -> httpx2.Request:
        if tokens is None:
            return request
        if self._proof is not None:
            self._proof.resource_request(request, tokens)
        else:
            request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        return request

    async def _obtain(
        self,
        server_url: str,
        challenge: BearerChallenge | None,
        *,
        prior: tuple[str, ...],
        refresh: TokenSet | None,
        out: list[TokenSet],
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """Run one authorization; its tokens end in ``out`` and in the storage."""
        record = await self._storage.load(server_url) or StoredAuthorization()
        flow = AuthorizationFlow(
            attrs.evolve(self._config, server_url=server_url),
            challenge=challenge,
            entropy=self._entropy(2 * MIN_ENTROPY),
            clients=record.clients,
            prior_scope=prior,
            refresh=refresh,
        )
        action: FlowAction = flow.start()
        while True:
            if isinstance(action, Fetch):
                logger.debug(
                    "OAuth %s: %s %s",
                    action.request.purpose,
                    action.request.method,
                    action.request.url,
                )
                metadata = flow.metadata
                outgoing = self._build(
                    action.request, flow.client, metadata.issuer if metadata else ""
                )
                response = yield outgoing
                answer = await _read_bounded(response)
                if (
                    self._proof is not None
                    and action.request.purpose in _TOKEN_PURPOSES
                    and self._proof.retry(outgoing, response)
                ):
                    self._proof.token_request(outgoing)
                    answer = await _read_bounded((yield outgoing))
                action = flow.receive(answer, now=self._clock())
            elif isinstance(action, Redirect):
                action = flow.authorization_response(await self._redirect(action.url))
            elif isinstance(action, Done):
                tokens, client, issuer = action.tokens, action.client, action.metadata.issuer
                break
            else:
                assert isinstance(action, Discovered)
                issuer, client = action.metadata.issuer, action.client
                granted: object = None
                exchange = self._grant_exchange(server_url, action)
                try:
                    grant_request = next(exchange)
                    while True:
                        grant_response = yield grant_request
                        await _read_bounded(grant_response)
                        if self._proof is not None and self._proof.retry(
                            grant_request, grant_response
                        ):
                            self._proof.token_request(grant_request)
                            grant_response = yield grant_request
                            await _read_bounded(grant_response)
                        grant_request = exchange.send(grant_response)
                except StopIteration as stop:
                    granted = stop.value
                if not isinstance(granted, TokenSet):
                    raise OAuthError("invalid_grant", "the grant returned no tokens")
                tokens = granted
                break
        clients = dict(record.clients)
        if client is not None:
            clients[issuer] = client
        await self._storage.save(server_url, StoredAuthorization(tokens, clients))
        out.append(tokens)

    def _grant_exchange(self, server_url: str, found: Discovered) -> Exchange[TokenSet]:
        assert self._grant is not None
        client = found.client
        issuer = found.metadata.issuer
        supported = found.metadata.token_endpoint_auth_methods_supported

        def authenticate(request: OAuthRequest) -> httpx2.Request:
            form = parse_qsl(request.body.decode("ascii"), keep_blank_values=True)
            method = choose_auth_method(client, supported) if client is not None else "none"
            built = token_request(request.url, form, client, method, purpose=request.purpose)
            return self._build(built, client, issuer)

        context = GrantContext(
            server_url=server_url,
            resource=found.resource,
            scope=found.scope,
            metadata=found.metadata,
            resource_metadata=found.resource_metadata,
            client=client,
            authenticate=authenticate,
            now=self._clock,
        )
        return self._grant.obtain(context)

    def _build(
        self, request: OAuthRequest, client: ClientInformation | None, issuer: str
    ) -> httpx2.Request:
        """The HTTP request for ``request``, with the client authenticator and proof applied."""
        body = request.body
        token_call = request.purpose in _TOKEN_PURPOSES
        authenticator = self._authenticator
        if (
            token_call
            and authenticator is not None
            and client is not None
            and client.token_endpoint_auth_method == authenticator.method
        ):
            form = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
            authenticator.authenticate(form, request.url, issuer)
            body = urlencode(form).encode("ascii")
        built = httpx2.Request(
            request.method, request.url, headers=list(request.headers), content=body or None
        )
        if token_call and self._proof is not None:
            self._proof.token_request(built)
        return built

    async def _redirect(self, url: str) -> Mapping[str, str]:
        if self._redirect_handler is None:
            raise OAuthError(
                "no_redirect_handler", "authorization needs the user: pass redirect_handler"
            )
        with trio.move_on_after(self._redirect_timeout):
            return dict(await self._redirect_handler(url))
        raise OAuthError(
            "redirect_timeout", "the user did not come back from the authorization server"
        )
