"""The client of the stateless era (2026-07-28): discovery, the envelope, multi round-trip calls.

basic/index, Statelessness: "Every request supplies this metadata in its
``_meta`` field": :class:`StatelessClient` puts the envelope (protocol
version, client capabilities, client info) on every request it builds, reads
``server/discover`` (:class:`DiscoverResult`), and starts each call as a
:class:`StatelessCall`, which reads the answers of its own rounds: a final
result (:class:`Complete`; "a result without ``resultType`` is complete"), an
input-required result (:class:`InputRequired`), an unsupported revision
(-32022: :class:`RetryWithVersion` when both sides speak another), a task
(:class:`~scaled_mcp.protocol.client.TaskCreated`, only to a ``tools/call``
that declared the tasks extension), or an error (:class:`Failed`). A call's
``requestState`` belongs to that call only, and is echoed byte for byte.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

import attrs

from ._client_tasks import TASK_AUGMENTABLE_METHODS, TaskCreated, parse_task
from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from ._input_required import MAX_INPUT_KEY_LENGTH, MAX_INPUT_REQUESTS
from ._jsonrpc import ErrorResponse, Notification, Request, RequestId, Response
from ._meta import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROGRESS_TOKEN,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
)
from ._notifications import LOG_LEVELS
from ._results import RESULT_TYPE_COMPLETE, RESULT_TYPE_INPUT_REQUIRED
from ._subscriptions import SubscriptionFilter
from ._tasks import RESULT_TYPE_TASK, declares_tasks
from ._versions import LATEST_VERSION, STATELESS_VERSIONS

__all__ = [
    "DEFAULT_MAX_ROUNDS",
    "CallOutcome",
    "Complete",
    "DiscoverResult",
    "Failed",
    "InputRequired",
    "RetryWithVersion",
    "StatelessCall",
    "StatelessClient",
    "should_fall_back_to_handshake",
]

#: Most requests one multi round-trip call may send (the first and its retries).
DEFAULT_MAX_ROUNDS: Final = 8

_INPUT_METHODS: Final = frozenset({"elicitation/create", "sampling/createMessage", "roots/list"})


@attrs.frozen(slots=True)
class DiscoverResult:
    """What ``server/discover`` said, and the revision this client will use.

    ``version`` is the newest stateless revision both sides speak, ``None``
    when there is none (the client must use the handshake era).
    """

    supported_versions: tuple[str, ...]
    capabilities: dict[str, Any]
    server_info: dict[str, Any] | None
    instructions: str | None
    version: str | None


@attrs.frozen(slots=True)
class Complete:
    """A final result: the call is over."""

    result: dict[str, Any]


@attrs.frozen(slots=True)
class InputRequired:
    """The server needs answers first: ``input_requests`` maps each key to a
    ``{"method", "params"}`` request (elicitation, sampling or roots) to answer,
    then :meth:`StatelessCall.retry` with the answers under the same keys."""

    input_requests: dict[str, dict[str, Any]]
    request_state: str | None = None


@attrs.frozen(slots=True)
class RetryWithVersion:
    """The server does not serve the revision sent, but serves ``version``, which
    this client speaks too: :meth:`StatelessCall.retry` sends the call again."""

    version: str


@attrs.frozen(slots=True)
class Failed:
    """The call failed with ``error`` (the server's, or one the core built for a
    malformed answer, a revision in common missing, or too many rounds)."""

    error: ErrorResponse


CallOutcome: TypeAlias = Complete | InputRequired | RetryWithVersion | Failed | TaskCreated
"""What one answer means for a :class:`StatelessCall`."""


def should_fall_back_to_handshake(status: int | None, error: ErrorResponse | None) -> bool:
    """Whether a client in ``auto`` mode whose ``server/discover`` failed goes on
    with ``initialize``: yes, unless the failure is an authorization one (HTTP
    401 or 403: authorize first, then discover again).

    A server of the handshake era answers ``server/discover`` with an HTTP
    error (no session) or -32601, or it answers -32022 listing only handshake
    revisions; all mean "use the handshake".
    """
    del error  # any error body means the same: this server does not serve discovery
    return status not in (401, 403)


def _newest_common(theirs: object, ours: tuple[str, ...]) -> str | None:
    if not isinstance(theirs, list | tuple):
        return None
    common = [v for v in ours if v in theirs]
    return max(common) if common else None


class StatelessClient:
    """Builds 2026-07-28 requests with the ``_meta`` envelope, for one client identity.

    ``client_info`` is the ``Implementation`` (``name`` and ``version``
    strings: the server checks both), ``capabilities`` the
    ``ClientCapabilities`` sent on every request. ``protocol_version`` is
    the revision sent; :meth:`read_discover` and -32022 answers may switch
    it to another of ``supported_versions``. Request ids count up from 1.
    """

    __slots__ = (
        "_next_id",
        "capabilities",
        "client_info",
        "max_rounds",
        "protocol_version",
        "server_capabilities",
        "server_info",
        "supported_versions",
    )

    def __init__(
        self,
        *,
        client_info: dict[str, Any],
        capabilities: dict[str, Any] | None = None,
        protocol_version: str = LATEST_VERSION,
        supported_versions: tuple[str, ...] = STATELESS_VERSIONS,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
    ) -> None:
        if (
            type(client_info) is not dict
            or type(client_info.get("name")) is not str
            or type(client_info.get("version")) is not str
        ):
            raise LocalProtocolError("client_info must be a dict with string name and version")
        capabilities = {} if capabilities is None else capabilities
        if type(capabilities) is not dict:
            raise LocalProtocolError("capabilities must be a dict")
        supported = tuple(supported_versions)
        if not supported or any(v not in STATELESS_VERSIONS for v in supported):
            raise LocalProtocolError(f"supported_versions must be within {STATELESS_VERSIONS}")
        if protocol_version not in supported:
            raise LocalProtocolError(f"cannot send {protocol_version!r}: not supported")
        if max_rounds < 1:
            raise LocalProtocolError("max_rounds must be at least 1")
        self.client_info = client_info
        self.capabilities = capabilities
        self.protocol_version = protocol_version
        self.supported_versions = supported
        self.max_rounds = max_rounds
        #: What ``server/discover`` said, once read.
        self.server_capabilities: dict[str, Any] | None = None
        self.server_info: dict[str, Any] | None = None
        self._next_id = 1

    def next_id(self) -> int:
        """A fresh JSON-RPC request id (never reused by this client)."""
        request_id = self._next_id
        self._next_id += 1
        return request_id

    def envelope(
        self,
        *,
        progress_token: str | int | None = None,
        log_level: str | None = None,
        capabilities: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``_meta`` fields every request carries: the revision, the client's
        capabilities (``capabilities``: this request's instead) and identity,
        and the opt-ins (progress, log level)."""
        meta: dict[str, Any] = {
            META_PROTOCOL_VERSION: self.protocol_version,
            META_CLIENT_CAPABILITIES: self.capabilities if capabilities is None else capabilities,
            META_CLIENT_INFO: self.client_info,
        }
        if progress_token is not None:
            if type(progress_token) is not str and type(progress_token) is not int:
                raise LocalProtocolError("a progress token is a string or an integer")
            meta[META_PROGRESS_TOKEN] = progress_token
        if log_level is not None:
            if log_level not in LOG_LEVELS:
                raise LocalProtocolError(f"unknown log level {log_level!r}")
            meta[META_LOG_LEVEL] = log_level
        return meta

    def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        progress_token: str | int | None = None,
        log_level: str | None = None,
        capabilities: dict[str, Any] | None = None,
    ) -> Request:
        """A request with a fresh id and the envelope merged into ``params._meta``
        (other ``_meta`` keys the caller set are kept)."""
        if params is not None and type(params) is not dict:
            raise LocalProtocolError("params must be a dict or None")
        out = dict(params or {})
        meta = out.get("_meta")
        out["_meta"] = {
            **(meta if type(meta) is dict else {}),
            **self.envelope(
                progress_token=progress_token, log_level=log_level, capabilities=capabilities
            ),
        }
        return Request(id=self.next_id(), method=method, params=out)

    def discover(self) -> Request:
        """The ``server/discover`` request."""
        return self.request("server/discover")

    def read_discover(self, message: Response | ErrorResponse) -> DiscoverResult:
        """Read the answer to :meth:`discover`; switch to the newest revision both speak.

        An error answer or a malformed result raises :class:`RemoteProtocolError`
        (carrying the error's code and data): in ``auto`` mode, see
        :func:`should_fall_back_to_handshake`.
        """
        if isinstance(message, ErrorResponse):
            raise RemoteProtocolError(
                message.message, code=message.code, data=message.data, request_id=message.id
            )
        return self.read_discover_result(message.result, request_id=message.id)

    def read_discover_result(
        self, result: Mapping[str, Any], *, request_id: RequestId | None = None
    ) -> DiscoverResult:
        """:meth:`read_discover` of a ``DiscoverResult`` object (e.g. the
        :class:`Complete` result of ``call("server/discover")``)."""
        supported = result.get("supportedVersions")
        capabilities = result.get("capabilities")
        if not isinstance(supported, list) or not all(type(v) is str for v in supported):
            raise RemoteProtocolError(
                'the discover result has no "supportedVersions" array of strings',
                request_id=request_id,
            )
        if type(capabilities) is not dict:
            raise RemoteProtocolError(
                'the discover result has no "capabilities" object', request_id=request_id
            )
        meta = result.get("_meta")
        server_info = meta.get(META_SERVER_INFO) if type(meta) is dict else None
        if server_info is None:
            # Some servers put the Implementation beside the capabilities.
            server_info = result.get("serverInfo")
        instructions = result.get("instructions")
        version = _newest_common(supported, self.supported_versions)
        if version is not None:
            self.protocol_version = version
        self.server_capabilities = dict(capabilities)
        self.server_info = server_info if type(server_info) is dict else None
        return DiscoverResult(
            supported_versions=tuple(supported),
            capabilities=dict(capabilities),
            server_info=self.server_info,
            instructions=instructions if type(instructions) is str else None,
            version=version,
        )

    def listen(
        self,
        *,
        tools_list_changed: bool = False,
        prompts_list_changed: bool = False,
        resources_list_changed: bool = False,
        resource_subscriptions: Sequence[str] = (),
    ) -> Request:
        """A ``subscriptions/listen`` request for the change notifications wanted.

        2026-07-28 replaced ``resources/subscribe`` and the session's
        notifications with this long-lived stream: its first message is
        ``notifications/subscriptions/acknowledged``
        (:class:`SubscriptionAcknowledged`), then the notifications, tagged
        with its id; a final result ends it. Once ``server/discover`` was
        read, asking for what the server did not declare is a
        :class:`LocalProtocolError`.
        """
        wanted = SubscriptionFilter(
            tools_list_changed=tools_list_changed,
            prompts_list_changed=prompts_list_changed,
            resources_list_changed=resources_list_changed,
            resource_subscriptions=tuple(resource_subscriptions),
        )
        declared = self.server_capabilities
        if declared is not None and wanted.granted_by(declared) != wanted:
            raise LocalProtocolError(
                "the server did not declare every notification asked for "
                f"(it grants {wanted.granted_by(declared).to_json()})"
            )
        return self.request("subscriptions/listen", {"notifications": wanted.to_json()})

    def cancel(self, request_id: RequestId, reason: str | None = None) -> Notification:
        """``notifications/cancelled`` for a request in flight.

        2026-07-28: it is "used only on the stdio transport"; over HTTP the
        client cancels by closing the request's response stream instead.
        """
        params: dict[str, Any] = {"requestId": request_id}
        if reason is not None:
            params["reason"] = reason
        return Notification(method="notifications/cancelled", params=params)

    def refuse(self, request: Request) -> ErrorResponse:
        """The answer to a request from the server: the stateless era has none
        (input-required results replace them, and ``ping`` is gone), -32601."""
        return ErrorResponse(
            id=request.id,
            code=int(ErrorCode.METHOD_NOT_FOUND),
            message=f"Method not found: {request.method}",
        )

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        progress_token: str | int | None = None,
        log_level: str | None = None,
        capabilities: dict[str, Any] | None = None,
    ) -> StatelessCall:
        """Begin a call that may take several rounds (input-required, -32022);
        ``capabilities``: the client capabilities its requests declare, instead
        of the client's (tasks: "per-request capabilities")."""
        return StatelessCall(
            self,
            method,
            params,
            progress_token=progress_token,
            log_level=log_level,
            capabilities=capabilities,
        )


def _error(request_id: RequestId, code: int, message: str, data: Any = None) -> Failed:
    return Failed(ErrorResponse(id=request_id, code=int(code), message=message, data=data))


class StatelessCall:
    """One call and its rounds: the first request, then retries with new ids.

    :attr:`request` is the request of the current round; feed its answer to
    :meth:`receive`, and after :class:`InputRequired` or
    :class:`RetryWithVersion` send :meth:`retry`. mrtr: the retry carries the
    answers in ``inputResponses`` and "the exact value of ``requestState``"
    (absent when the server sent none); "The JSON-RPC id MUST be different"
    on each round; "inputRequests and requestState MUST NOT be used for any
    other request" (they live in this object only).
    """

    __slots__ = (
        "_capabilities",
        "_client",
        "_log_level",
        "_outcome",
        "_progress_token",
        "_retried_version",
        "method",
        "params",
        "request",
        "rounds",
    )

    def __init__(
        self,
        client: StatelessClient,
        method: str,
        params: dict[str, Any] | None,
        *,
        progress_token: str | int | None = None,
        log_level: str | None = None,
        capabilities: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._capabilities = capabilities
        self.method = method
        #: The call's own params (no ``inputResponses`` / ``requestState``, but
        #: for ``tasks/update``, whose ``inputResponses`` are its own).
        own = () if method == "tasks/update" else ("inputResponses", "requestState")
        self.params = {k: v for k, v in (params or {}).items() if k not in own}
        self._progress_token = progress_token
        self._log_level = log_level
        self.rounds = 1
        self._retried_version = False
        self._outcome: CallOutcome | None = None
        self.request = client.request(
            method,
            self.params,
            progress_token=progress_token,
            log_level=log_level,
            capabilities=capabilities,
        )

    @property
    def progress_token(self) -> str | int | None:
        """The ``progressToken`` every round of this call carries (``None``: no progress)."""
        return self._progress_token

    @property
    def outcome(self) -> CallOutcome | None:
        """What the last answer meant (``None`` while the current round awaits one)."""
        return self._outcome

    def receive(self, message: Response | ErrorResponse) -> CallOutcome:
        """What the answer to the current round means."""
        if self._outcome is not None:
            raise LocalProtocolError("this round was answered already: retry() first")
        if message.id is not None and message.id != self.request.id:
            raise LocalProtocolError(
                f"the answer {message.id!r} is not to this round's request {self.request.id!r}"
            )
        outcome = self._classify(message)
        self._outcome = outcome
        return outcome

    def _classify(self, message: Response | ErrorResponse) -> CallOutcome:
        request_id = self.request.id
        if isinstance(message, ErrorResponse):
            if message.code == ErrorCode.UNSUPPORTED_PROTOCOL_VERSION:
                data = message.data if type(message.data) is dict else {}
                client = self._client
                version = _newest_common(data.get("supported"), client.supported_versions)
                # versioning: the client "MAY retry with a version from
                # supported". The revision it sent may be listed (a server
                # that refused the request for another reason, or a proxy):
                # that one is tried again once per call, not in a loop.
                if version is not None and (
                    version != client.protocol_version or not self._retried_version
                ):
                    client.protocol_version = version
                    self._retried_version = True
                    return RetryWithVersion(version)
            return Failed(message)
        result = message.result
        result_type = result.get("resultType", RESULT_TYPE_COMPLETE)
        # "Clients MUST treat a result without resultType as complete."
        if result_type == RESULT_TYPE_COMPLETE:
            return Complete(result)
        if result_type == RESULT_TYPE_TASK:
            return self._task_created(result)
        if result_type != RESULT_TYPE_INPUT_REQUIRED:
            return _error(
                request_id,
                ErrorCode.INTERNAL_ERROR,
                f"the server answered with an unknown resultType {result_type!r}",
            )
        return _input_required(request_id, result)

    def _task_created(self, result: dict[str, Any]) -> CallOutcome:
        request_id = self.request.id
        capabilities = (
            self._client.capabilities if self._capabilities is None else self._capabilities
        )
        # tasks: "A client that receives CreateTaskResult in response to an
        # unsupported request type MUST interpret this as an invalid response"
        # (and a server "MUST NOT return CreateTaskResult to a client that did
        # not include the extension capability on its request").
        if self.method not in TASK_AUGMENTABLE_METHODS or not declares_tasks(capabilities):
            return _error(
                request_id,
                ErrorCode.INTERNAL_ERROR,
                f"the server answered {self.method} with a task the request did not allow",
            )
        try:
            return TaskCreated(result, parse_task(result))
        except RemoteProtocolError as exc:
            return _error(request_id, exc.code, exc.message)

    def retry(self, input_responses: Mapping[str, Any] | None = None) -> Request:
        """The next round's request, with a new id.

        After :class:`InputRequired`: ``input_responses`` answers its
        ``inputRequests`` under the same keys (each a result object); after
        :class:`RetryWithVersion`: the call again, with the new revision.
        """
        outcome = self._outcome
        if not isinstance(outcome, InputRequired | RetryWithVersion):
            raise LocalProtocolError(f"nothing to retry after {outcome!r}")
        if self.rounds >= self._client.max_rounds:
            raise LocalProtocolError(
                f"{self.method} took more than {self._client.max_rounds} rounds"
            )
        params = dict(self.params)
        if isinstance(outcome, InputRequired):
            responses = dict(input_responses or {})
            unknown = set(responses) - set(outcome.input_requests)
            if unknown:
                raise LocalProtocolError(f"answers to no input request: {sorted(unknown)}")
            if any(type(value) is not dict for value in responses.values()):
                raise LocalProtocolError("each input response must be a result object")
            params["inputResponses"] = responses
            if outcome.request_state is not None:
                params["requestState"] = outcome.request_state
        elif input_responses:
            raise LocalProtocolError("a retry with another revision carries no input responses")
        self.rounds += 1
        self._outcome = None
        self.request = self._client.request(
            self.method,
            params,
            progress_token=self._progress_token,
            log_level=self._log_level,
            capabilities=self._capabilities,
        )
        return self.request


def _input_required(request_id: RequestId, result: Mapping[str, Any]) -> CallOutcome:
    requests = result.get("inputRequests", {})
    state = result.get("requestState")

    def malformed(why: str) -> Failed:
        return _error(
            request_id, ErrorCode.INTERNAL_ERROR, f"malformed input-required result: {why}"
        )

    if type(requests) is not dict:
        return malformed('"inputRequests" must be an object')
    if state is not None and type(state) is not str:
        return malformed('"requestState" must be a string')
    if not requests and state is None:
        return malformed("neither inputRequests nor requestState")
    if len(requests) > MAX_INPUT_REQUESTS:
        return malformed(f"more than {MAX_INPUT_REQUESTS} input requests")
    checked: dict[str, dict[str, Any]] = {}
    for key, item in requests.items():
        if type(key) is not str or len(key) > MAX_INPUT_KEY_LENGTH:
            return malformed("an inputRequests key is too long")
        if type(item) is not dict or item.get("method") not in _INPUT_METHODS:
            return malformed(
                f"inputRequests[{key!r}] is not an elicitation, sampling or roots request"
            )
        params = item.get("params")
        if params is not None and type(params) is not dict:
            return malformed(f"inputRequests[{key!r}].params must be an object")
        checked[key] = copy.deepcopy(item)
    return InputRequired(checked, state)
