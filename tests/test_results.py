"""2026-07-28 final results: ``resultType``, ``serverInfo``, cache hints."""

from __future__ import annotations

from typing import Any

import pytest

from scaled_mcp.protocol.jsonrpc import LocalProtocolError, message_to_json
from scaled_mcp.protocol.stateless import CACHEABLE_METHODS, CacheHint, complete_result
from tests.spec import validate
from tests.stateless import REV, SERVER_INFO, app_request, dispatcher, request


def test_complete_results() -> None:
    d = dispatcher()
    call = app_request(d, request("tools/call", 11, name="echo"))
    response = d.complete(call, {"content": [{"type": "text", "text": "hi"}]})
    body = message_to_json(response)
    validate(REV, "CallToolResultResponse", body)
    assert body["result"]["resultType"] == "complete"
    assert body["result"]["_meta"]["io.modelcontextprotocol/serverInfo"] == SERVER_INFO
    assert "ttlMs" not in body["result"]
    # The application's own _meta survives.
    response = d.complete(call, {"content": [], "_meta": {"com.example/x": 1}})
    assert response.result["_meta"]["com.example/x"] == 1
    with pytest.raises(LocalProtocolError):
        d.complete(call, {"content": [], "resultType": "input_required"})
    with pytest.raises(LocalProtocolError):
        d.complete(call, {"content": []}, cache=CacheHint(10))
    with pytest.raises(LocalProtocolError):
        d.complete(call, {"content": [], "_meta": []})


def test_cacheable_results_always_carry_hints() -> None:
    d = dispatcher()
    listing = app_request(d, request("tools/list", 12))
    body = message_to_json(d.complete(listing, {"tools": []}))
    validate(REV, "ListToolsResultResponse", body)
    assert (body["result"]["ttlMs"], body["result"]["cacheScope"]) == (0, "private")
    explicit = d.complete(listing, {"tools": []}, cache=CacheHint(300_000, "public"))
    assert (explicit.result["ttlMs"], explicit.result["cacheScope"]) == (300_000, "public")
    own = d.complete(listing, {"tools": [], "ttlMs": 5, "cacheScope": "public"})
    assert (own.result["ttlMs"], own.result["cacheScope"]) == (5, "public")
    for method, result, schema in (
        ("prompts/list", {"prompts": []}, "ListPromptsResultResponse"),
        ("resources/list", {"resources": []}, "ListResourcesResultResponse"),
        (
            "resources/templates/list",
            {"resourceTemplates": []},
            "ListResourceTemplatesResultResponse",
        ),
        (
            "resources/read",
            {"contents": [{"uri": "file:///a", "text": "a"}]},
            "ReadResourceResultResponse",
        ),
    ):
        event = app_request(d, request(method, uri="file:///a"))
        assert method in CACHEABLE_METHODS
        validate(REV, schema, message_to_json(d.complete(event, result)))


def test_a_retry_result_is_never_cacheable() -> None:
    d = dispatcher()
    retry = app_request(d, request("resources/read", uri="file:///a", requestState="s"))
    response = d.complete(retry, {"contents": []}, cache=CacheHint(999, "public"))
    assert (response.result["ttlMs"], response.result["cacheScope"]) == (0, "private")


def test_complete_result_function() -> None:
    assert complete_result({"x": 1}) == {"x": 1, "resultType": "complete"}
    out = complete_result(
        {"_meta": {"io.modelcontextprotocol/serverInfo": {"name": "app", "version": "2"}}},
        server_info=SERVER_INFO,
        cache=CacheHint(1, "public"),
    )
    assert out["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "app"
    assert (out["ttlMs"], out["cacheScope"]) == (1, "public")
    validate(REV, "CacheableResult", out)
    with pytest.raises(LocalProtocolError):
        complete_result([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ttl", "scope"), [(-1, "public"), (1.5, "public"), (True, "public"), (1, "shared")]
)
def test_bad_cache_hints(ttl: Any, scope: str) -> None:
    with pytest.raises(LocalProtocolError):
        CacheHint(ttl, scope)


def test_cache_hint_of() -> None:
    assert CacheHint.of({"ttlMs": 3, "cacheScope": "private"}) == CacheHint(3, "private")
    assert CacheHint.of({"ttlMs": -3, "cacheScope": "private"}) is None
    assert CacheHint.of({"ttlMs": 3}) is None
