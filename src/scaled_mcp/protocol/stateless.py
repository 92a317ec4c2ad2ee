"""The stateless era (2026-07-28): no handshake, no session, every request stands alone.

:class:`StatelessDispatcher` decides what each request is (a core answer, a
refusal, a ``subscriptions/listen`` stream, or a :class:`StatelessRequest` for
the application); the ``_meta`` envelope (:func:`parse_request_meta`,
:class:`RequestMeta`), final results (:func:`complete_result`, :class:`CacheHint`),
multi round-trip requests (:class:`InputRequest`, sealed ``requestState`` with
:class:`RequestStateSealer`) and listen streams (:class:`Subscription`) come with it.
"""

from __future__ import annotations

from ._input_required import (
    INPUT_REQUIRED_METHODS,
    MAX_INPUT_KEY_LENGTH,
    MAX_INPUT_REQUESTS,
    MAX_INPUT_RESPONSES,
    EarlierRounds,
    InputRequest,
    InputResponses,
    input_required_result,
    parse_input_responses,
    parse_request_state,
)
from ._meta import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROGRESS_TOKEN,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    META_SUBSCRIPTION_ID,
    RequestMeta,
    check_protocol_version,
    log_message,
    missing_capability_error,
    missing_client_capabilities,
    parse_request_meta,
    progress_notification,
    require_client_capabilities,
)
from ._request_state import (
    MAX_REQUEST_STATE_SIZE,
    MIN_REQUEST_STATE_SECRET_SIZE,
    RequestBinding,
    RequestStateSealer,
)
from ._results import (
    CACHEABLE_METHODS,
    RESULT_TYPE_COMPLETE,
    RESULT_TYPE_INPUT_REQUIRED,
    CacheHint,
    complete_result,
)
from ._stateless import (
    STATELESS_METHODS,
    CancelRequested,
    CoreAnswer,
    StatelessDispatcher,
    StatelessRequest,
    StatelessServerConfig,
)
from ._subscriptions import MAX_RESOURCE_SUBSCRIPTIONS, Subscription, SubscriptionFilter

__all__ = [
    "CACHEABLE_METHODS",
    "INPUT_REQUIRED_METHODS",
    "MAX_INPUT_KEY_LENGTH",
    "MAX_INPUT_REQUESTS",
    "MAX_INPUT_RESPONSES",
    "MAX_REQUEST_STATE_SIZE",
    "MAX_RESOURCE_SUBSCRIPTIONS",
    "META_CLIENT_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_PROGRESS_TOKEN",
    "META_PROTOCOL_VERSION",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION_ID",
    "MIN_REQUEST_STATE_SECRET_SIZE",
    "RESULT_TYPE_COMPLETE",
    "RESULT_TYPE_INPUT_REQUIRED",
    "STATELESS_METHODS",
    "CacheHint",
    "CancelRequested",
    "CoreAnswer",
    "EarlierRounds",
    "InputRequest",
    "InputResponses",
    "RequestBinding",
    "RequestMeta",
    "RequestStateSealer",
    "StatelessDispatcher",
    "StatelessRequest",
    "StatelessServerConfig",
    "Subscription",
    "SubscriptionFilter",
    "check_protocol_version",
    "complete_result",
    "input_required_result",
    "log_message",
    "missing_capability_error",
    "missing_client_capabilities",
    "parse_input_responses",
    "parse_request_meta",
    "parse_request_state",
    "progress_notification",
    "require_client_capabilities",
]
