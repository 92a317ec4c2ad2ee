"""``subscriptions/listen`` (2026-07-28): the filter a client asks for and the stream it gets.

:class:`SubscriptionFilter` is the request's ``notifications`` param, and the
part of it a server honours; :class:`Subscription` is an accepted listen
stream: its acknowledgement, the notifications tagged for it, and its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._errors import LocalProtocolError
from ._jsonrpc import Notification, RequestId, Response
from ._meta import META_SERVER_INFO, META_SUBSCRIPTION_ID, RequestMeta
from ._params import _invalid_params
from ._results import RESULT_TYPE_COMPLETE
from ._tasks import declares_tasks

__all__ = [
    "MAX_RESOURCE_SUBSCRIPTIONS",
    "Subscription",
    "SubscriptionFilter",
]

#: Most URIs one ``subscriptions/listen`` may watch (more: -32602).
MAX_RESOURCE_SUBSCRIPTIONS: Final = 1024

#: List-changed notifications and the filter field that opts into each one.
_LIST_CHANGED: Final[Mapping[str, str]] = {
    "notifications/tools/list_changed": "tools_list_changed",
    "notifications/prompts/list_changed": "prompts_list_changed",
    "notifications/resources/list_changed": "resources_list_changed",
}
_RESOURCE_UPDATED: Final = "notifications/resources/updated"
#: The tasks extension's status notification (tasks, Task Status Notifications).
_TASK_STATUS: Final = "notifications/tasks"


@attrs.frozen(slots=True)
class SubscriptionFilter:
    """Which change notifications a ``subscriptions/listen`` stream carries.

    subscriptions, Notification Filter: ``toolsListChanged``,
    ``promptsListChanged``, ``resourcesListChanged`` (booleans) and
    ``resourceSubscriptions`` (the URIs whose
    ``notifications/resources/updated`` the client wants). "Omitting a field
    is equivalent to not subscribing to that notification type."
    """

    tools_list_changed: bool = False
    prompts_list_changed: bool = False
    resources_list_changed: bool = False
    resource_subscriptions: tuple[str, ...] = ()
    #: The tasks extension: "a list of task IDs the client is interested in".
    task_ids: tuple[str, ...] = ()
    _uris: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    _tasks: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        for name in ("tools_list_changed", "prompts_list_changed", "resources_list_changed"):
            if type(getattr(self, name)) is not bool:
                raise LocalProtocolError(f"{name} must be a bool")
        uris = self.resource_subscriptions
        if type(uris) is not tuple or any(type(uri) is not str for uri in uris):
            raise LocalProtocolError("resource_subscriptions must be a tuple of strings")
        object.__setattr__(self, "_uris", frozenset(uris))
        tasks = self.task_ids
        if type(tasks) is not tuple or any(type(task) is not str for task in tasks):
            raise LocalProtocolError("task_ids must be a tuple of strings")
        object.__setattr__(self, "_tasks", frozenset(tasks))

    @classmethod
    def from_json(
        cls,
        value: object,
        *,
        request_id: RequestId | None = None,
        max_resource_subscriptions: int = MAX_RESOURCE_SUBSCRIPTIONS,
    ) -> SubscriptionFilter:
        """Read the ``notifications`` param of ``subscriptions/listen`` (-32602 if malformed).

        Duplicate URIs are kept once, in their first position.
        """
        if type(value) is not dict:
            raise _invalid_params("subscriptions/listen needs a notifications object", request_id)
        flags: dict[str, bool] = {}
        for wire, name in (
            ("toolsListChanged", "tools_list_changed"),
            ("promptsListChanged", "prompts_list_changed"),
            ("resourcesListChanged", "resources_list_changed"),
        ):
            flag = value.get(wire, False)
            if type(flag) is not bool:
                raise _invalid_params(f"notifications.{wire} must be a boolean", request_id)
            flags[name] = flag
        uris = value.get("resourceSubscriptions", [])
        if type(uris) is not list or any(type(uri) is not str for uri in uris):
            raise _invalid_params(
                "notifications.resourceSubscriptions must be a list of strings", request_id
            )
        if len(uris) > max_resource_subscriptions:
            raise _invalid_params(
                f"notifications.resourceSubscriptions lists more than "
                f"{max_resource_subscriptions} URIs",
                request_id,
            )
        tasks = value.get("taskIds", [])
        if type(tasks) is not list or any(type(task) is not str for task in tasks):
            raise _invalid_params("notifications.taskIds must be a list of strings", request_id)
        if len(tasks) > max_resource_subscriptions:
            raise _invalid_params(
                f"notifications.taskIds lists more than {max_resource_subscriptions} tasks",
                request_id,
            )
        return cls(
            resource_subscriptions=tuple(dict.fromkeys(uris)),
            task_ids=tuple(dict.fromkeys(tasks)),
            **flags,
        )

    def to_json(self) -> dict[str, Any]:
        """The wire form, with only the types subscribed to."""
        out: dict[str, Any] = {}
        if self.tools_list_changed:
            out["toolsListChanged"] = True
        if self.prompts_list_changed:
            out["promptsListChanged"] = True
        if self.resources_list_changed:
            out["resourcesListChanged"] = True
        if self.resource_subscriptions:
            out["resourceSubscriptions"] = list(self.resource_subscriptions)
        if self.task_ids:
            out["taskIds"] = list(self.task_ids)
        return out

    def granted_by(self, capabilities: Mapping[str, Any]) -> SubscriptionFilter:
        """The subset a server with ``capabilities`` honours.

        subscriptions: the acknowledgment "reflects the subset the server
        agreed to honor. Notification types the server does not support are
        omitted": list changes need ``<kind>.listChanged``, resource updates
        need ``resources.subscribe``.
        """

        def declares(kind: str, feature: str) -> bool:
            value = capabilities.get(kind)
            return isinstance(value, Mapping) and value.get(feature) is True

        return SubscriptionFilter(
            tools_list_changed=self.tools_list_changed and declares("tools", "listChanged"),
            prompts_list_changed=self.prompts_list_changed and declares("prompts", "listChanged"),
            resources_list_changed=self.resources_list_changed
            and declares("resources", "listChanged"),
            resource_subscriptions=self.resource_subscriptions
            if declares("resources", "subscribe")
            else (),
            task_ids=self.task_ids if declares_tasks(capabilities) else (),
        )

    def wants(self, notification: Notification) -> bool:
        """Whether ``notification`` belongs on a stream with this filter.

        subscriptions: "The server MUST NOT send notification types the client
        has not explicitly requested"; request-scoped notifications
        (progress, log messages) never go on a listen stream.
        """
        field = _LIST_CHANGED.get(notification.method)
        if field is not None:
            return bool(getattr(self, field))
        if notification.method == _RESOURCE_UPDATED:
            uri = (notification.params or {}).get("uri")
            return type(uri) is str and uri in self._uris
        if notification.method == _TASK_STATUS:
            task_id = (notification.params or {}).get("taskId")
            return type(task_id) is str and task_id in self._tasks
        return False


def _with_meta(params: Mapping[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    out = dict(params or {})
    meta = out.get("_meta")
    meta = dict(meta) if type(meta) is dict else {}
    meta[key] = value
    out["_meta"] = meta
    return out


@attrs.frozen(slots=True)
class Subscription:
    """A ``subscriptions/listen`` request the server accepted: a long-lived stream.

    subscriptions: "Each subscription is identified by the JSON-RPC request ID
    of its ``subscriptions/listen`` request". ``requested`` is what the client
    asked for, ``granted`` what this server honours. Send
    :meth:`acknowledgement` first, then every notification :meth:`deliver`
    returns; end with :meth:`closing_response` (graceful server-side end) or,
    on stdio, :meth:`cancellation`.
    """

    request_id: RequestId
    meta: RequestMeta
    requested: SubscriptionFilter
    granted: SubscriptionFilter
    server_info: dict[str, Any] | None = None

    @property
    def subscription_id(self) -> RequestId:
        """The id notifications carry: "the JSON-RPC ID of the ``subscriptions/listen`` request"."""
        return self.request_id

    def acknowledgement(self) -> Notification:
        """``notifications/subscriptions/acknowledged``.

        "The server MUST send ``notifications/subscriptions/acknowledged`` as
        the first message carrying the subscription's ID in ``_meta`` under
        ``io.modelcontextprotocol/subscriptionId``, and MUST NOT send any
        notification on the subscription before it."
        """
        return Notification(
            "notifications/subscriptions/acknowledged",
            {
                "_meta": {META_SUBSCRIPTION_ID: self.request_id},
                "notifications": self.granted.to_json(),
            },
        )

    def deliver(self, notification: Notification) -> Notification | None:
        """``notification`` tagged for this stream, or ``None`` if the filter excludes it.

        basic/index: "On notifications delivered via a ``subscriptions/listen``
        stream, the server MUST include ``io.modelcontextprotocol/subscriptionId``
        in ``_meta``".
        """
        if not self.granted.wants(notification):
            return None
        return Notification(
            notification.method,
            _with_meta(notification.params, META_SUBSCRIPTION_ID, self.request_id),
        )

    def closing_response(self) -> Response:
        """The result that ends the subscription gracefully.

        subscriptions, Graceful Closure: the server "SHOULD respond to the
        original ``subscriptions/listen`` request with a completion result
        before closing the stream"; it carries the subscription id in ``_meta``.
        """
        meta: dict[str, Any] = {META_SUBSCRIPTION_ID: self.request_id}
        if self.server_info is not None:
            meta[META_SERVER_INFO] = dict(self.server_info)
        return Response(self.request_id, {"resultType": RESULT_TYPE_COMPLETE, "_meta": meta})

    def cancellation(self, reason: str | None = None) -> Notification:
        """The ``notifications/cancelled`` a server sends when it tears the stream down (stdio).

        cancellation: "A server MUST send ``notifications/cancelled``
        referencing a ``subscriptions/listen`` request ID when it tears down
        that subscription stream ... Servers MUST NOT send
        ``notifications/cancelled`` for any other purpose."
        """
        params: dict[str, Any] = {"requestId": self.request_id}
        if reason is not None:
            params["reason"] = reason
        return Notification("notifications/cancelled", params)
