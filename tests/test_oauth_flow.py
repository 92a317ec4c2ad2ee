"""The authorization-code flow machine and the resource decision, scripted and under hypothesis."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from scaled_mcp.protocol.oauth import (
    FLOW_TRANSITIONS,
    AuthorizationFlow,
    Authorize,
    BearerChallenge,
    ClientInformation,
    Discovered,
    Done,
    Fetch,
    FlowAction,
    FlowConfig,
    FlowInput,
    FlowPhase,
    GiveUp,
    OAuthError,
    OAuthRequest,
    OAuthResponse,
    Proceed,
    Redirect,
    TokenSet,
    code_challenge_s256,
    parse_www_authenticate,
    resource_decision,
)

MCP = "http://rs:2/mcp"
AS = "http://as:1"
PRM_URL = "http://rs:2/.well-known/oauth-protected-resource/mcp"
ENTROPY = bytes(range(64))


def _json(status: int, document: object) -> OAuthResponse:
    return OAuthResponse(
        status, {"content-type": "application/json"}, json.dumps(document).encode()
    )


def as_metadata(**more: object) -> dict[str, object]:
    return {
        "issuer": AS,
        "authorization_endpoint": f"{AS}/authorize",
        "token_endpoint": f"{AS}/token",
        "registration_endpoint": f"{AS}/register",
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        **more,
    }


class FakeServers:
    """The MCP server's metadata and an authorization server, as a routing function."""

    def __init__(self, documents: dict[str, OAuthResponse] | None = None) -> None:
        self.documents = {
            PRM_URL: _json(
                200, {"resource": MCP, "authorization_servers": [AS], "scopes_supported": ["s1"]}
            ),
            f"{AS}/.well-known/oauth-authorization-server": _json(200, as_metadata()),
        }
        self.documents.update(documents or {})
        self.log: list[OAuthRequest] = []
        self.challenge = ""
        self.authorize_query: dict[str, str] = {}
        self.token_form: dict[str, str] = {}

    def __call__(self, request: OAuthRequest) -> OAuthResponse:
        self.log.append(request)
        if request.purpose == "registration":
            return _json(201, {"client_id": "registered", "client_secret": "sec"})
        if request.purpose in ("token", "refresh"):
            self.token_form = dict(parse_qsl(request.body.decode()))
            if self.token_form["grant_type"] == "authorization_code":
                assert code_challenge_s256(self.token_form["code_verifier"]) == self.challenge
            return _json(200, {"access_token": "at", "token_type": "Bearer", "expires_in": 60})
        return self.documents.get(request.url, OAuthResponse(404, {}, b"not found"))

    def redirect(self, url: str) -> dict[str, str]:
        self.authorize_query = dict(parse_qsl(urlsplit(url).query))
        self.challenge = self.authorize_query["code_challenge"]
        return {"code": "the-code", "state": self.authorize_query["state"], "iss": AS}


def drive(
    flow: AuthorizationFlow,
    servers: FakeServers,
    redirect: Callable[[str], dict[str, str]] | None = None,
) -> FlowAction:
    action = flow.start()
    while True:
        if isinstance(action, Fetch):
            action = flow.receive(servers(action.request), now=1000.0)
        elif isinstance(action, Redirect):
            action = flow.authorization_response((redirect or servers.redirect)(action.url))
        else:
            return action


def flow_for(
    config: FlowConfig | None = None, challenge: str | None = None, **kwargs: object
) -> AuthorizationFlow:
    parsed = parse_www_authenticate(challenge)[0] if challenge else None
    return AuthorizationFlow(config or FlowConfig(MCP), challenge=parsed, entropy=ENTROPY, **kwargs)  # type: ignore[arg-type]


def test_discovery_registration_authorization_token() -> None:
    servers = FakeServers()
    done = drive(flow_for(challenge=f'Bearer resource_metadata="{PRM_URL}", scope="s2"'), servers)
    assert isinstance(done, Done)
    assert (
        done.tokens.access_token == "at"
        and done.tokens.issuer == AS
        and done.tokens.expires_at == 1060.0
    )
    assert done.tokens.scope == ("s2",)
    assert done.client == ClientInformation("registered", "sec", None, AS)
    assert [r.purpose for r in servers.log] == [
        "resource_metadata",
        "server_metadata",
        "registration",
        "token",
    ]
    assert servers.authorize_query["resource"] == servers.token_form["resource"] == MCP
    assert servers.authorize_query["scope"] == "s2"
    assert servers.token_form["redirect_uri"] == servers.authorize_query["redirect_uri"]
    # The registered secret is sent by client_secret_basic, the default.
    assert "client_secret" not in servers.token_form
    assert dict(servers.log[-1].headers)["authorization"].startswith("Basic ")


def test_scope_from_resource_metadata_and_offline_access() -> None:
    servers = FakeServers(
        {
            f"{AS}/.well-known/oauth-authorization-server": _json(
                200, as_metadata(scopes_supported=["s1", "offline_access"])
            )
        }
    )
    assert isinstance(drive(flow_for(), servers), Done)
    assert servers.authorize_query["scope"] == "s1 offline_access"
    urls = [r.url for r in servers.log[:2]]
    assert urls == [PRM_URL, f"{AS}/.well-known/oauth-authorization-server"]


def test_legacy_fallbacks_without_any_metadata() -> None:
    servers = FakeServers(
        {
            PRM_URL: OAuthResponse(404),
            f"{AS}/.well-known/oauth-authorization-server": OAuthResponse(404),
        }
    )
    done = drive(
        flow_for(),
        servers,
        redirect=lambda url: {k: v for k, v in servers.redirect(url).items() if k != "iss"},
    )
    assert isinstance(done, Done)
    assert [r.url for r in servers.log] == [
        PRM_URL,
        "http://rs:2/.well-known/oauth-protected-resource",
        "http://rs:2/.well-known/oauth-authorization-server",
        "http://rs:2/.well-known/openid-configuration",
        "http://rs:2/register",
        "http://rs:2/token",
    ]


def test_client_metadata_document_and_pre_registration() -> None:
    cimd = "https://client.example/metadata.json"
    servers = FakeServers(
        {
            f"{AS}/.well-known/oauth-authorization-server": _json(
                200, as_metadata(client_id_metadata_document_supported=True)
            )
        }
    )
    done = drive(flow_for(FlowConfig(MCP, client_metadata_url=cimd)), servers)
    assert isinstance(done, Done) and done.client is not None and done.client.client_id == cimd
    assert servers.token_form["client_id"] == cimd and "registration" not in [
        r.purpose for r in servers.log
    ]

    servers = FakeServers()
    done = drive(
        flow_for(FlowConfig(MCP, client=ClientInformation("pre", "pw", "client_secret_post"))),
        servers,
    )
    assert isinstance(done, Done)
    assert servers.token_form["client_id"] == "pre" and servers.token_form["client_secret"] == "pw"
    assert "registration" not in [r.purpose for r in servers.log]


def test_clients_are_kept_per_issuer() -> None:
    servers = FakeServers()
    other = ClientInformation("old", None, "none", "http://other-as")
    done = drive(flow_for(clients={"http://other-as": other}), servers)
    assert isinstance(done, Done)
    assert "registration" in [r.purpose for r in servers.log]
    servers = FakeServers()
    mine = ClientInformation("mine", None, "none", AS)
    drive(flow_for(clients={AS: mine}), servers)
    assert servers.token_form["client_id"] == "mine"


def test_refresh_first_then_fallback() -> None:
    held = TokenSet("old", refresh_token="rt", issuer=AS, scope=("s1",))
    servers = FakeServers()
    done = drive(
        flow_for(clients={AS: ClientInformation("c", None, "none", AS)}, refresh=held), servers
    )
    assert isinstance(done, Done) and done.tokens.refresh_token == "rt"
    assert servers.token_form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt",
        "resource": MCP,
        "client_id": "c",
    }
    # A refresh token from another server is not sent there.
    servers = FakeServers()
    drive(flow_for(refresh=TokenSet("old", refresh_token="rt", issuer="http://x")), servers)
    assert "refresh" not in [r.purpose for r in servers.log]


def test_refused_refresh_falls_back_to_authorization() -> None:
    servers = FakeServers()
    original = servers.__call__

    def refuse_refresh(request: OAuthRequest) -> OAuthResponse:
        if request.purpose == "refresh":
            servers.log.append(request)
            return _json(400, {"error": "invalid_grant"})
        return original(request)

    flow = flow_for(
        clients={AS: ClientInformation("c", None, "none", AS)},
        refresh=TokenSet("x", refresh_token="rt", issuer=AS),
    )
    action = flow.start()
    while not isinstance(action, Done):
        if isinstance(action, Fetch):
            action = flow.receive(refuse_refresh(action.request), now=0.0)
        else:
            assert isinstance(action, Redirect)
            action = flow.authorization_response(servers.redirect(action.url))
    assert [r.purpose for r in servers.log][-2:] == ["refresh", "token"]


def test_step_up_asks_for_the_union() -> None:
    servers = FakeServers()
    drive(
        flow_for(
            challenge='Bearer error="insufficient_scope", scope="write"', prior_scope=("read",)
        ),
        servers,
    )
    assert servers.authorize_query["scope"] == "read write"


@pytest.mark.parametrize(
    ("documents", "error"),
    [
        (
            {
                PRM_URL: _json(
                    200, {"resource": "https://evil.example.com/mcp", "authorization_servers": [AS]}
                )
            },
            "resource_mismatch",
        ),
        (
            {
                f"{AS}/.well-known/oauth-authorization-server": _json(
                    200, as_metadata(issuer="https://attacker.example.com")
                )
            },
            "issuer_mismatch",
        ),
        (
            {
                f"{AS}/.well-known/oauth-authorization-server": _json(
                    200, as_metadata(code_challenge_methods_supported=None)
                )
            },
            "pkce_unsupported",
        ),
        (
            {
                f"{AS}/.well-known/oauth-authorization-server": _json(
                    200, as_metadata(registration_endpoint=None)
                )
            },
            "registration_unavailable",
        ),
        (
            {
                f"{AS}/.well-known/oauth-authorization-server": OAuthResponse(500),
                f"{AS}/.well-known/openid-configuration": OAuthResponse(404),
            },
            "metadata_not_found",
        ),
    ],
)
def test_refusals(documents: dict[str, OAuthResponse], error: str) -> None:
    servers = FakeServers(documents)
    flow = flow_for()
    with pytest.raises(OAuthError) as raised:
        drive(flow, servers)
    assert raised.value.error == error
    assert flow.phase is FlowPhase.FAILED
    # Nothing was sent to endpoints named by rejected metadata.
    assert not {"registration", "token"} & {r.purpose for r in servers.log}
    with pytest.raises(OAuthError):
        flow.receive(OAuthResponse(200), now=0.0)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"code": "c"}, "issuer_missing"),
        ({"code": "c", "iss": "https://evil.example.com"}, "issuer_mismatch"),
        ({"code": "c", "iss": AS + "/"}, "issuer_mismatch"),
    ],
)
def test_authorization_responses_refused(answer: dict[str, str], error: str) -> None:
    servers = FakeServers()

    def redirect(url: str) -> dict[str, str]:
        return answer | {"state": dict(parse_qsl(urlsplit(url).query))["state"]}

    with pytest.raises(OAuthError) as raised:
        drive(flow_for(), servers, redirect)
    assert raised.value.error == error
    assert "token" not in [r.purpose for r in servers.log]


def test_discovery_only_for_other_grants() -> None:
    servers = FakeServers()
    found = drive(
        flow_for(FlowConfig(MCP, authorization_code=False, client=ClientInformation("cc", "s"))),
        servers,
    )
    assert isinstance(found, Discovered)
    assert found.resource == MCP and found.scope == ("s1",) and found.client is not None
    assert found.client.issuer == AS


def test_metadata_requests_carry_the_protocol_version() -> None:
    servers = FakeServers()
    drive(flow_for(FlowConfig(MCP, protocol_version="2025-11-25")), servers)
    assert dict(servers.log[0].headers)["mcp-protocol-version"] == "2025-11-25"


# -- every (phase, input) pair: an action or an OAuthError ---------------------------------

_BODIES = [
    json.dumps({"resource": MCP, "authorization_servers": [AS]}).encode(),
    json.dumps(as_metadata()).encode(),
    json.dumps({"client_id": "c"}).encode(),
    json.dumps({"access_token": "a", "token_type": "Bearer"}).encode(),
    json.dumps({"error": "invalid_grant"}).encode(),
    b"{}",
    b"[1]",
    b"\xff",
]
_INPUTS = st.one_of(
    st.just(("start", None)),
    st.tuples(
        st.just("response"),
        st.builds(
            OAuthResponse,
            st.sampled_from([200, 201, 400, 401, 404, 500]),
            st.just({}),
            st.one_of(st.sampled_from(_BODIES), st.binary(max_size=40)),
        ),
    ),
    st.tuples(
        st.just("authorization"),
        st.dictionaries(
            st.sampled_from(["code", "state", "iss", "error"]), st.sampled_from(["c", AS, "x", ""])
        ),
    ),
)


_FLOWS: list[Callable[[], AuthorizationFlow]] = [
    lambda: AuthorizationFlow(
        FlowConfig(MCP), challenge=BearerChallenge("bearer", {"scope": "a"}), entropy=ENTROPY
    ),
    lambda: AuthorizationFlow(
        FlowConfig(MCP, client_metadata_url="https://c/m.json"), challenge=None, entropy=ENTROPY
    ),
    lambda: AuthorizationFlow(
        FlowConfig(MCP, client=ClientInformation("c", "s")),
        challenge=None,
        entropy=ENTROPY,
        refresh=TokenSet("a", refresh_token="r", issuer=AS),
    ),
    lambda: AuthorizationFlow(
        FlowConfig(MCP, authorization_code=False), challenge=None, entropy=ENTROPY
    ),
]


@settings(max_examples=300)
@given(st.sampled_from(_FLOWS), st.lists(_INPUTS, max_size=12), st.booleans())
def test_every_input_gives_an_action_or_an_oauth_error(
    make_flow: Callable[[], AuthorizationFlow],
    inputs: list[tuple[str, object]],
    correct_state: bool,
) -> None:
    flow = make_flow()
    for kind, value in inputs:
        before = flow.phase
        flow_input = {"start": FlowInput.START, "response": FlowInput.RESPONSE}.get(
            kind, FlowInput.AUTHORIZATION_RESPONSE
        )
        try:
            if kind == "start":
                action = flow.start()
            elif kind == "response":
                assert isinstance(value, OAuthResponse)
                action = flow.receive(value, now=0.0)
            else:
                assert isinstance(value, dict)
                params = dict(value)
                if correct_state:
                    params["state"] = flow.pkce.state
                action = flow.authorization_response(params)
        except OAuthError:
            assert flow.phase in (before, FlowPhase.FAILED)
            continue
        assert isinstance(action, (Fetch, Redirect, Done, Discovered))
        assert flow.phase in FLOW_TRANSITIONS[(before, flow_input)]


# -- what the resource's answers mean ---------------------------------------------------


def test_resource_decisions() -> None:
    def decide(status: int, header: str = "", authorizations: int = 0, step_ups: int = 0) -> object:
        return resource_decision(
            status,
            [header] if header else [],
            authorizations=authorizations,
            step_ups=step_ups,
            max_step_ups=2,
        )

    assert decide(200) == Proceed()
    assert decide(401) == Authorize(None, step_up=False)
    assert decide(401, 'Bearer scope="a"') == Authorize(
        BearerChallenge("bearer", {"scope": "a"}), step_up=False
    )
    assert isinstance(decide(401, "", authorizations=1), GiveUp)
    step_up = 'Bearer error="insufficient_scope", scope="w"'
    assert decide(403, step_up) == Authorize(
        BearerChallenge("bearer", {"error": "insufficient_scope", "scope": "w"}), step_up=True
    )
    assert isinstance(decide(403, step_up, authorizations=3, step_ups=2), GiveUp)
    assert decide(403, 'Bearer error="invalid_token"') == Proceed()
    assert decide(403) == Proceed()
    assert decide(401, 'Bearer realm="unterminated') == Authorize(None, step_up=False)


@given(
    st.integers(100, 599),
    st.lists(st.text(max_size=60), max_size=3),
    st.integers(0, 5),
    st.integers(0, 5),
)
def test_resource_decision_never_raises(
    status: int, headers: list[str], authorizations: int, step_ups: int
) -> None:
    decision = resource_decision(
        status, headers, authorizations=authorizations, step_ups=step_ups, max_step_ups=2
    )
    if isinstance(decision, Authorize):
        assert status in (401, 403)
        assert not decision.step_up or step_ups < 2
