"""``subscriptions/listen``: the filter, the acknowledgement, delivery and closing."""

from __future__ import annotations

from typing import Any

import pytest

from scaled_mcp.protocol.jsonrpc import (
    LocalProtocolError,
    Notification,
    RemoteProtocolError,
    Request,
    message_from_json,
    message_to_json,
)
from scaled_mcp.protocol.stateless import (
    META_SUBSCRIPTION_ID,
    StatelessDispatcher,
    Subscription,
    SubscriptionFilter,
)
from tests.spec import validate
from tests.stateless import REV, dispatcher, load_example, request


def listen(d: StatelessDispatcher, notifications: Any, request_id: int | str = 1) -> Subscription:
    event = d.handle_request(
        request("subscriptions/listen", request_id, notifications=notifications)
    )
    assert isinstance(event, Subscription)
    return event


def test_acknowledgement_reflects_what_the_server_honours() -> None:
    d = dispatcher({"tools": {"listChanged": True}, "resources": {"subscribe": True}})
    sub = listen(
        d,
        {
            "toolsListChanged": True,
            "promptsListChanged": True,
            "resourcesListChanged": True,
            "resourceSubscriptions": ["file:///a", "file:///b", "file:///a"],
        },
        42,
    )
    assert sub.subscription_id == 42
    assert sub.requested.prompts_list_changed
    ack = message_to_json(sub.acknowledgement())
    validate(REV, "SubscriptionsAcknowledgedNotification", ack)
    assert ack["params"] == {
        "_meta": {META_SUBSCRIPTION_ID: 42},
        "notifications": {
            "toolsListChanged": True,
            "resourceSubscriptions": ["file:///a", "file:///b"],
        },
    }


def test_delivery_follows_the_filter() -> None:
    d = dispatcher()
    sub = listen(d, {"promptsListChanged": True, "resourceSubscriptions": ["file:///watched"]}, "L")
    assert sub.deliver(Notification("notifications/tools/list_changed")) is None
    assert sub.deliver(Notification("notifications/resources/list_changed")) is None
    prompts = sub.deliver(Notification("notifications/prompts/list_changed"))
    assert prompts is not None
    body = message_to_json(prompts)
    validate(REV, "PromptListChangedNotification", body)
    assert body["params"]["_meta"][META_SUBSCRIPTION_ID] == "L"
    watched = sub.deliver(
        Notification(
            "notifications/resources/updated",
            {"uri": "file:///watched", "_meta": {"com.example/x": 1}},
        )
    )
    assert watched is not None
    body = message_to_json(watched)
    validate(REV, "ResourceUpdatedNotification", body)
    assert body["params"]["_meta"] == {"com.example/x": 1, META_SUBSCRIPTION_ID: "L"}
    unwatched = Notification("notifications/resources/updated", {"uri": "file:///other"})
    assert sub.deliver(unwatched) is None
    assert sub.deliver(Notification("notifications/resources/updated")) is None
    # Request-scoped notifications never go on a listen stream.
    assert sub.deliver(Notification("notifications/progress", {"progressToken": 1})) is None
    assert sub.deliver(Notification("notifications/message", {"level": "error"})) is None
    everything = listen(
        d, {"toolsListChanged": True, "promptsListChanged": True, "resourcesListChanged": True}
    )
    for kind, schema in (
        ("tools", "ToolListChangedNotification"),
        ("resources", "ResourceListChangedNotification"),
    ):
        note = everything.deliver(Notification(f"notifications/{kind}/list_changed"))
        assert note is not None
        validate(REV, schema, message_to_json(note))


def test_closing_a_subscription() -> None:
    sub = listen(dispatcher(), {"toolsListChanged": True}, 9)
    closing = message_to_json(sub.closing_response())
    validate(REV, "SubscriptionsListenResultResponse", closing)
    assert closing["id"] == 9
    assert closing["result"]["_meta"][META_SUBSCRIPTION_ID] == 9
    cancel = message_to_json(sub.cancellation("shutting down"))
    validate(REV, "CancelledNotification", cancel)
    assert cancel["params"] == {"requestId": 9, "reason": "shutting down"}
    validate(REV, "CancelledNotification", message_to_json(sub.cancellation()))


def test_subscription_filter_limits_and_round_trip() -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        SubscriptionFilter.from_json(
            {"resourceSubscriptions": ["a", "b", "c"]}, max_resource_subscriptions=2, request_id=5
        )
    assert (excinfo.value.code, excinfo.value.request_id) == (-32602, 5)
    d = dispatcher(max_resource_subscriptions=1)
    with pytest.raises(RemoteProtocolError):
        listen(d, {"resourceSubscriptions": ["a", "b"]})
    f = SubscriptionFilter.from_json({"toolsListChanged": False, "resourceSubscriptions": []})
    assert f.to_json() == {}
    g = SubscriptionFilter(True, False, True, ("u",))
    assert SubscriptionFilter.from_json(g.to_json()) == g
    with pytest.raises(LocalProtocolError):
        SubscriptionFilter(resource_subscriptions=["u"])  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        SubscriptionFilter(tools_list_changed=1)  # type: ignore[arg-type]


def test_official_listen_examples_round_trip() -> None:
    d = dispatcher(
        {"tools": {"listChanged": True}, "resources": {"subscribe": True}},
        include_server_info=False,
    )
    message = message_from_json(load_example("SubscriptionsListenRequest"))
    assert isinstance(message, Request)
    sub = d.handle_request(message)
    assert isinstance(sub, Subscription)
    assert message_to_json(sub.acknowledgement()) == load_example(
        "SubscriptionsAcknowledgedNotification"
    )
    assert message_to_json(sub.closing_response()) == load_example(
        "SubscriptionsListenResultResponse"
    )
    tools = sub.deliver(Notification("notifications/tools/list_changed"))
    assert tools is not None
    assert message_to_json(tools) == load_example("ToolListChangedNotification")
    # The official update example watches another URI: not for this stream.
    updated = message_from_json(load_example("ResourceUpdatedNotification"))
    assert isinstance(updated, Notification)
    assert sub.deliver(updated) is None
    assert sub.deliver(Notification("notifications/prompts/list_changed")) is None
