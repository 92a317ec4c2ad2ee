"""The authorization-code flow as a state machine, and what a protected resource's answer means.

:class:`AuthorizationFlow` walks discovery (protected resource metadata, then
authorization server metadata, with the 2025-03-26 fallbacks), a refresh when a
refresh token from the same server is at hand, client registration, the user's
authorization and the token request. It does no I/O: it returns an action
(:class:`Fetch` an HTTP request, :class:`Redirect` the user, :class:`Done`,
:class:`Discovered` for a grant that is not the code flow) and is fed the
answers. Every input either gives an action or raises :class:`OAuthError`.

:func:`resource_decision` reads an MCP server's answer to an authorized request:
401 means authorize, 403 ``insufficient_scope`` means step up (with a limit).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

import attrs

from ._oauth_challenge import BearerChallenge, bearer_challenge
from ._oauth_discovery import (
    AuthorizationServerMetadata,
    ProtectedResourceMetadata,
    authorization_server_metadata_urls,
    canonical_resource,
    default_metadata,
    legacy_authorization_server,
    protected_resource_metadata_urls,
)
from ._oauth_errors import OAuthError
from ._oauth_messages import OAuthRequest, OAuthResponse
from ._oauth_pkce import (
    Pkce,
    authorization_url,
    check_authorization_response,
    select_scope,
    union_scopes,
)
from ._oauth_tokens import (
    ClientInformation,
    TokenSet,
    choose_auth_method,
    parse_registration,
    parse_token_response,
    registration_request,
    token_request,
)

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "FLOW_TRANSITIONS",
    "Authorize",
    "AuthorizationFlow",
    "Discovered",
    "Done",
    "Fetch",
    "FlowAction",
    "FlowConfig",
    "FlowInput",
    "FlowPhase",
    "GiveUp",
    "Proceed",
    "Redirect",
    "ResourceDecision",
    "resource_decision",
]

DEFAULT_REDIRECT_URI: Final = "http://localhost:3000/callback"
"""The redirect URI used when the application names none (a loopback one, RFC 8252 §7.3)."""

_JSON: Final = (("accept", "application/json"),)


class FlowPhase(enum.Enum):
    """Where an :class:`AuthorizationFlow` stands."""

    NEW = "new"
    RESOURCE_METADATA = "resource_metadata"
    SERVER_METADATA = "server_metadata"
    REFRESH = "refresh"
    REGISTRATION = "registration"
    AUTHORIZATION = "authorization"
    TOKEN = "token"
    DONE = "done"
    FAILED = "failed"


class FlowInput(enum.Enum):
    """What an :class:`AuthorizationFlow` is fed."""

    START = "start"
    RESPONSE = "response"
    AUTHORIZATION_RESPONSE = "authorization_response"


FLOW_TRANSITIONS: Final[Mapping[tuple[FlowPhase, FlowInput], frozenset[FlowPhase]]] = {
    (FlowPhase.NEW, FlowInput.START): frozenset({FlowPhase.RESOURCE_METADATA}),
    (FlowPhase.RESOURCE_METADATA, FlowInput.RESPONSE): frozenset(
        {FlowPhase.RESOURCE_METADATA, FlowPhase.SERVER_METADATA}
    ),
    (FlowPhase.SERVER_METADATA, FlowInput.RESPONSE): frozenset(
        {
            FlowPhase.SERVER_METADATA,
            FlowPhase.REFRESH,
            FlowPhase.REGISTRATION,
            FlowPhase.AUTHORIZATION,
            FlowPhase.DONE,
        }
    ),
    (FlowPhase.REFRESH, FlowInput.RESPONSE): frozenset(
        {FlowPhase.REGISTRATION, FlowPhase.AUTHORIZATION, FlowPhase.DONE}
    ),
    (FlowPhase.REGISTRATION, FlowInput.RESPONSE): frozenset({FlowPhase.AUTHORIZATION}),
    (FlowPhase.AUTHORIZATION, FlowInput.AUTHORIZATION_RESPONSE): frozenset({FlowPhase.TOKEN}),
    (FlowPhase.TOKEN, FlowInput.RESPONSE): frozenset({FlowPhase.DONE}),
}
"""Which phases an input may lead to from each phase; a missing pair is an :class:`OAuthError`.

Any input may also end in :attr:`FlowPhase.FAILED` (with an :class:`OAuthError`).
"""


@attrs.frozen(slots=True)
class FlowConfig:
    """How the client authorizes against one MCP server.

    ``client`` is a pre-registered client (``issuer`` ``None``: for whichever
    authorization server the resource names); ``client_metadata_url`` is the URL
    of the client's metadata document, used as ``client_id`` where the server
    sets ``client_id_metadata_document_supported``; ``scopes`` are requested when
    no challenge names any; ``offline_access`` asks for a refresh token where the
    server supports it; ``authorization_code`` ``False`` stops after discovery
    with :class:`Discovered` (for the client-credentials and assertion grants).
    """

    server_url: str
    redirect_uri: str = DEFAULT_REDIRECT_URI
    client_name: str = "scaled-mcp"
    application_type: str = "native"
    scopes: tuple[str, ...] | None = None
    client: ClientInformation | None = None
    client_metadata_url: str | None = None
    offline_access: bool = True
    authorization_code: bool = True
    protocol_version: str | None = None


@attrs.frozen(slots=True)
class Fetch:
    """Send this request and feed its answer to :meth:`AuthorizationFlow.receive`."""

    request: OAuthRequest


@attrs.frozen(slots=True)
class Redirect:
    """Send the user to ``url``.

    Feed the redirect's query to :meth:`AuthorizationFlow.authorization_response`.
    """

    url: str


@attrs.frozen(slots=True)
class Done:
    """Authorized: ``tokens`` for the resource, from ``client`` (keep both, keyed by issuer)."""

    tokens: TokenSet
    client: ClientInformation | None
    metadata: AuthorizationServerMetadata
    resource: str


@attrs.frozen(slots=True)
class Discovered:
    """Discovery done (``authorization_code`` off).

    Obtain a token for ``resource`` with another grant.
    """

    metadata: AuthorizationServerMetadata
    resource_metadata: ProtectedResourceMetadata | None
    resource: str
    scope: tuple[str, ...]
    client: ClientInformation | None


FlowAction: TypeAlias = Fetch | Redirect | Done | Discovered


class AuthorizationFlow:
    """One authorization of a client for an MCP server (see the module docstring).

    ``challenge`` is the server's ``WWW-Authenticate`` challenge, if any;
    ``entropy`` is at least 64 random bytes (PKCE verifier and ``state``);
    ``clients`` are clients registered before, by issuer; ``prior_scope`` is the
    scope held so far (a step-up asks for the union); ``refresh`` is a token set
    whose refresh token is tried first when it comes from the same issuer.
    """

    def __init__(
        self,
        config: FlowConfig,
        *,
        challenge: BearerChallenge | None,
        entropy: bytes,
        clients: Mapping[str, ClientInformation] | None = None,
        prior_scope: Sequence[str] = (),
        refresh: TokenSet | None = None,
    ) -> None:
        self.config = config
        self.challenge = challenge
        self.pkce = Pkce.from_entropy(entropy)
        self.phase = FlowPhase.NEW
        self._clients = dict(clients or {})
        self._prior_scope = tuple(prior_scope)
        self._refresh = refresh
        self._urls: list[str] = []
        self._issuer = ""
        self._legacy = False
        self._resource_metadata: ProtectedResourceMetadata | None = None
        self._metadata: AuthorizationServerMetadata | None = None
        self._client: ClientInformation | None = None
        self._scope: tuple[str, ...] = ()
        self._resource = ""

    @property
    def metadata(self) -> AuthorizationServerMetadata | None:
        """The authorization server's metadata, once discovered."""
        return self._metadata

    @property
    def client(self) -> ClientInformation | None:
        """The client the flow authorizes as, once chosen or registered."""
        return self._client

    # -- inputs -------------------------------------------------------------------

    def start(self) -> FlowAction:
        """Begin: the first protected resource metadata URL to fetch."""
        return self._guard(FlowInput.START, lambda: self._start())

    def receive(self, response: OAuthResponse, *, now: float) -> FlowAction:
        """The answer to the last :class:`Fetch`; ``now`` is the clock (seconds)."""
        return self._guard(FlowInput.RESPONSE, lambda: self._receive(response, now))

    def authorization_response(self, params: Mapping[str, str]) -> FlowAction:
        """The query of the redirect back from the authorization endpoint."""
        return self._guard(FlowInput.AUTHORIZATION_RESPONSE, lambda: self._authorized(params))

    def _guard(self, flow_input: FlowInput, step: object) -> FlowAction:
        allowed = FLOW_TRANSITIONS.get((self.phase, flow_input))
        if allowed is None:
            raise OAuthError(
                "unexpected_input",
                f"{flow_input.value} is not expected in phase {self.phase.value}",
            )
        assert callable(step)
        try:
            action: FlowAction = step()
        except OAuthError:
            self.phase = FlowPhase.FAILED
            raise
        assert self.phase in allowed, (self.phase, flow_input)
        return action

    # -- discovery ---------------------------------------------------------------

    def _get(self, url: str, purpose: str) -> Fetch:
        headers: tuple[tuple[str, str], ...] = _JSON
        if self.config.protocol_version:
            headers += (("mcp-protocol-version", self.config.protocol_version),)
        return Fetch(OAuthRequest("GET", url, purpose, headers))

    def _start(self) -> FlowAction:
        header_url = self.challenge.resource_metadata if self.challenge else None
        self._urls = list(protected_resource_metadata_urls(self.config.server_url, header_url))
        self.phase = FlowPhase.RESOURCE_METADATA
        return self._get(self._urls.pop(0), "resource_metadata")

    def _receive(self, response: OAuthResponse, now: float) -> FlowAction:
        if self.phase is FlowPhase.RESOURCE_METADATA:
            return self._resource_metadata_received(response)
        if self.phase is FlowPhase.SERVER_METADATA:
            return self._server_metadata_received(response)
        if self.phase is FlowPhase.REFRESH:
            return self._refreshed(response, now)
        if self.phase is FlowPhase.REGISTRATION:
            return self._registered(response)
        return self._tokens_received(response, now)

    def _resource_metadata_received(self, response: OAuthResponse) -> FlowAction:
        if response.status == 200:
            try:
                found = ProtectedResourceMetadata.from_json(response.body, self.config.server_url)
            except OAuthError as error:
                if error.error == "resource_mismatch":
                    raise
                found = None
            if found is not None:
                self._resource_metadata = found
                return self._discover_server(found.authorization_servers[0])
        if self._urls:
            return self._get(self._urls.pop(0), "resource_metadata")
        # 2025-03-26: no protected resource metadata; the server's origin is the
        # authorization base URL.
        self._legacy = True
        return self._discover_server(legacy_authorization_server(self.config.server_url))

    def _discover_server(self, issuer: str) -> FlowAction:
        self._issuer = issuer
        self._urls = list(authorization_server_metadata_urls(issuer))
        self.phase = FlowPhase.SERVER_METADATA
        return self._get(self._urls.pop(0), "server_metadata")

    def _server_metadata_received(self, response: OAuthResponse) -> FlowAction:
        if response.status == 200:
            try:
                metadata = AuthorizationServerMetadata.from_json(response.body, self._issuer)
            except OAuthError as error:
                if error.error == "issuer_mismatch":
                    raise
            else:
                return self._metadata_known(metadata, checked=True)
        if self._urls:
            return self._get(self._urls.pop(0), "server_metadata")
        if self._legacy:
            # 2025-03-26: "Fallbacks for Servers without Metadata Discovery".
            return self._metadata_known(default_metadata(self._issuer), checked=False)
        raise OAuthError(
            "metadata_not_found", f"no authorization server metadata for {self._issuer!r}"
        )

    def _metadata_known(
        self, metadata: AuthorizationServerMetadata, *, checked: bool
    ) -> FlowAction:
        self._metadata = metadata
        prm = self._resource_metadata
        self._resource = (
            prm.resource
            if prm is not None and prm.resource
            else canonical_resource(self.config.server_url)
        )
        selected = select_scope(
            self.challenge.scope if self.challenge else None,
            self.config.scopes,
            prm.scopes_supported if prm else None,
            metadata.scopes_supported,
            offline_access=self.config.offline_access and self.config.authorization_code,
        )
        self._scope = union_scopes(self._prior_scope, selected)
        if self.config.authorization_code and checked:
            # 2025-11-25 authorization: "If code_challenge_methods_supported is absent,
            # the authorization server does not support PKCE and MCP clients MUST refuse
            # to proceed."
            methods = metadata.code_challenge_methods_supported or ()
            if self.pkce.method not in methods:
                raise OAuthError(
                    "pkce_unsupported", "the authorization server does not support PKCE S256"
                )
        known = self._known_client()
        refresh = self._refresh
        if (
            refresh is not None
            and refresh.refresh_token
            and refresh.issuer == metadata.issuer
            and (known is not None or self.config.client_metadata_url)
        ):
            self._client = known or ClientInformation(
                self.config.client_metadata_url or "", None, "none", metadata.issuer
            )
            self.phase = FlowPhase.REFRESH
            form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.refresh_token),
                ("resource", self._resource),
            ]
            method = choose_auth_method(
                self._client, metadata.token_endpoint_auth_methods_supported
            )
            return Fetch(
                token_request(
                    metadata.token_endpoint, form, self._client, method, purpose="refresh"
                )
            )
        return self._register(known)

    def _known_client(self) -> ClientInformation | None:
        issuer = self._metadata.issuer if self._metadata else self._issuer
        if issuer in self._clients:
            return self._clients[issuer]
        configured = self.config.client
        if configured is not None and configured.issuer in (None, issuer):
            return attrs.evolve(configured, issuer=issuer)
        return None

    # -- registration, authorization, tokens --------------------------------------

    def _register(self, known: ClientInformation | None) -> FlowAction:
        metadata = self._need_metadata()
        if not self.config.authorization_code:
            self.phase = FlowPhase.DONE
            return Discovered(metadata, self._resource_metadata, self._resource, self._scope, known)
        if known is not None:
            return self._authorize(known)
        if self.config.client_metadata_url and metadata.client_id_metadata_document_supported:
            # Client ID metadata documents: the URL is the client_id, no registration.
            return self._authorize(
                ClientInformation(self.config.client_metadata_url, None, "none", metadata.issuer)
            )
        if metadata.registration_endpoint is None:
            raise OAuthError(
                "registration_unavailable",
                "no client credentials, no client metadata document support, "
                "no registration endpoint",
            )
        self.phase = FlowPhase.REGISTRATION
        grant_types = ["authorization_code", "refresh_token"]
        return Fetch(
            registration_request(
                metadata.registration_endpoint,
                client_name=self.config.client_name,
                redirect_uris=[self.config.redirect_uri],
                grant_types=grant_types,
                supported_methods=metadata.token_endpoint_auth_methods_supported,
                application_type=self.config.application_type,
            )
        )

    def _need_metadata(self) -> AuthorizationServerMetadata:
        if self._metadata is None:  # pragma: no cover - guarded by the transition table
            raise OAuthError("unexpected_input", "no authorization server metadata yet")
        return self._metadata

    def _refreshed(self, response: OAuthResponse, now: float) -> FlowAction:
        metadata = self._need_metadata()
        try:
            tokens = parse_token_response(
                response, now=now, requested_scope=self._scope, issuer=metadata.issuer
            )
        except OAuthError:
            # A refused refresh: authorize from the start.
            return self._register(self._known_client())
        if tokens.refresh_token is None and self._refresh is not None:
            tokens = attrs.evolve(tokens, refresh_token=self._refresh.refresh_token)
        self.phase = FlowPhase.DONE
        return Done(tokens, self._client, metadata, self._resource)

    def _registered(self, response: OAuthResponse) -> FlowAction:
        metadata = self._need_metadata()
        return self._authorize(parse_registration(response, metadata.issuer))

    def _authorize(self, client: ClientInformation) -> FlowAction:
        metadata = self._need_metadata()
        if metadata.authorization_endpoint is None:
            raise OAuthError(
                "invalid_metadata", "the authorization server has no authorization_endpoint"
            )
        self._client = client
        self.phase = FlowPhase.AUTHORIZATION
        return Redirect(
            authorization_url(
                metadata.authorization_endpoint,
                client_id=client.client_id,
                redirect_uri=self.config.redirect_uri,
                pkce=self.pkce,
                resource=self._resource,
                scope=self._scope,
            )
        )

    def _authorized(self, params: Mapping[str, str]) -> FlowAction:
        metadata = self._need_metadata()
        code = check_authorization_response(
            params,
            state=self.pkce.state,
            issuer=metadata.issuer,
            iss_supported=metadata.authorization_response_iss_parameter_supported,
        )
        client = self._client
        assert client is not None
        self.phase = FlowPhase.TOKEN
        form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri),
            ("code_verifier", self.pkce.verifier),
            ("resource", self._resource),
        ]
        method = choose_auth_method(client, metadata.token_endpoint_auth_methods_supported)
        return Fetch(token_request(metadata.token_endpoint, form, client, method))

    def _tokens_received(self, response: OAuthResponse, now: float) -> FlowAction:
        metadata = self._need_metadata()
        tokens = parse_token_response(
            response, now=now, requested_scope=self._scope, issuer=metadata.issuer
        )
        self.phase = FlowPhase.DONE
        return Done(tokens, self._client, metadata, self._resource)


@attrs.frozen(slots=True)
class Proceed:
    """The resource's answer stands: hand it to the application."""


@attrs.frozen(slots=True)
class Authorize:
    """Authorize (``step_up``: for more scope) and send the request again."""

    challenge: BearerChallenge | None
    step_up: bool


@attrs.frozen(slots=True)
class GiveUp:
    """The answer stands although it refuses access: authorizing again would not help."""

    reason: str


ResourceDecision: TypeAlias = Proceed | Authorize | GiveUp


def resource_decision(
    status: int,
    www_authenticate: Sequence[str],
    *,
    authorizations: int,
    step_ups: int,
    max_step_ups: int,
) -> ResourceDecision:
    """What an MCP server's answer to one request means for its authorization.

    401: authorize, once per request (a second 401 stands). 403 with
    ``error="insufficient_scope"`` (2025-11-25 authorization, "Step-Up
    Authorization Flow"): authorize again for the challenged scopes, at most
    ``max_step_ups`` times per request ("Clients SHOULD implement retry limits").
    Anything else stands. A malformed challenge is read as none.
    """
    if status not in (401, 403):
        return Proceed()
    try:
        challenge = bearer_challenge(www_authenticate)
    except OAuthError:
        challenge = None
    if status == 401:
        if authorizations > 0:
            return GiveUp("the server refused the token obtained for this request")
        return Authorize(challenge, step_up=False)
    if challenge is None or challenge.error != "insufficient_scope":
        return Proceed()
    if step_ups >= max_step_ups:
        return GiveUp("the server still asks for more scope after the step-up limit")
    return Authorize(challenge, step_up=True)
