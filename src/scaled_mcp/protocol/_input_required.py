"""Multi round-trip requests (2026-07-28): input-required results and the retry's answers.

A server that needs more from the client answers ``tools/call``,
``prompts/get`` or ``resources/read`` with an :func:`input_required_result`:
questions (:class:`InputRequest`), a ``requestState``, or both. The client
retries the request with its answers in ``inputResponses``
(:func:`parse_input_responses`, :class:`InputResponses`) and the
``requestState`` echoed (:func:`parse_request_state`; sealed by
:mod:`._request_state`). What the sealed state holds is :class:`EarlierRounds`:
the answers of the earlier rounds, and how many notifications the handler
reported in them, so that its re-run reports nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs

from ._errors import LocalProtocolError, RemoteProtocolError
from ._jsonrpc import RequestId
from ._meta import META_SERVER_INFO, missing_capability_error, missing_client_capabilities
from ._params import _invalid_params
from ._results import RESULT_TYPE_INPUT_REQUIRED

__all__ = [
    "INPUT_REQUIRED_METHODS",
    "MAX_INPUT_KEY_LENGTH",
    "MAX_INPUT_REQUESTS",
    "MAX_INPUT_RESPONSES",
    "EarlierRounds",
    "InputRequest",
    "InputResponses",
    "input_required_result",
    "parse_input_responses",
    "parse_request_state",
]

#: mrtr, Supported Requests: "Servers MUST NOT send ``InputRequiredResult``
#: responses on any other client requests."
INPUT_REQUIRED_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})

#: Most entries accepted in a retry's ``inputResponses`` (more: -32602).
MAX_INPUT_RESPONSES: Final = 64
#: Most input requests one :func:`input_required_result` may carry.
MAX_INPUT_REQUESTS: Final = 32
#: Longest key of ``inputRequests`` / ``inputResponses``, in characters.
MAX_INPUT_KEY_LENGTH: Final = 256

_INPUT_REQUEST_METHODS: Final = frozenset(
    {"elicitation/create", "sampling/createMessage", "roots/list"}
)


@attrs.frozen(slots=True)
class InputRequest:
    """One server-to-client request embedded in an input-required result.

    mrtr: values of ``inputRequests`` "MUST be one of ``ElicitRequest``,
    ``CreateMessageRequest``, or ``ListRootsRequest``". Build them with
    :meth:`elicit`, :meth:`elicit_url`, :meth:`create_message` or
    :meth:`list_roots`; the constructor checks the method and the params the
    schema requires.
    """

    method: str
    params: dict[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        if self.method not in _INPUT_REQUEST_METHODS:
            raise LocalProtocolError(
                f"an input request is elicitation/create, sampling/createMessage or "
                f"roots/list, not {self.method!r}"
            )
        params = self.params
        if params is not None and type(params) is not dict:
            raise LocalProtocolError("input request params must be a dict or None")
        if self.method == "elicitation/create":
            if params is None or type(params.get("message")) is not str:
                raise LocalProtocolError("elicitation/create needs a string message")
            mode = params.get("mode", "form")
            if mode == "form":
                if type(params.get("requestedSchema")) is not dict:
                    raise LocalProtocolError("form elicitation needs a requestedSchema object")
            elif mode == "url":
                if type(params.get("url")) is not str:
                    raise LocalProtocolError("url elicitation needs a string url")
            else:
                raise LocalProtocolError(f'elicitation mode is "form" or "url", not {mode!r}')
        elif self.method == "sampling/createMessage" and (
            params is None
            or type(params.get("messages")) is not list
            or type(params.get("maxTokens")) is not int
        ):
            raise LocalProtocolError("sampling/createMessage needs messages and maxTokens")

    @classmethod
    def elicit(cls, message: str, requested_schema: Mapping[str, Any]) -> InputRequest:
        """A form-mode ``elicitation/create``."""
        return cls(
            "elicitation/create",
            {"mode": "form", "message": message, "requestedSchema": dict(requested_schema)},
        )

    @classmethod
    def elicit_url(cls, message: str, url: str) -> InputRequest:
        """A URL-mode ``elicitation/create`` (for anything sensitive)."""
        return cls("elicitation/create", {"mode": "url", "message": message, "url": url})

    @classmethod
    def create_message(
        cls, messages: Sequence[Mapping[str, Any]], max_tokens: int, **fields: Any
    ) -> InputRequest:
        """A ``sampling/createMessage``; ``fields`` are further params by their
        wire names (``systemPrompt``, ``modelPreferences``, ``tools`` ...)."""
        params = {"messages": [dict(m) for m in messages], "maxTokens": max_tokens}
        params.update(fields)
        return cls("sampling/createMessage", params)

    @classmethod
    def list_roots(cls) -> InputRequest:
        """A ``roots/list``."""
        return cls("roots/list", None)

    def required_capabilities(self) -> dict[str, Any]:
        """The client capabilities this request needs.

        mrtr: "Servers MUST NOT send an ``inputRequests`` that the client has
        not declared support for in its capabilities"; elicitation: "Servers
        MUST NOT send elicitation requests with modes that are not supported
        by the client"; sampling: tool-enabled requests need
        ``sampling.tools``, and without ``sampling.context`` servers "SHOULD
        only use ``includeContext: "none"``".
        """
        params = self.params or {}
        if self.method == "elicitation/create":
            return {"elicitation": {params.get("mode", "form"): {}}}
        if self.method == "roots/list":
            return {"roots": {}}
        sampling: dict[str, Any] = {}
        if "tools" in params or "toolChoice" in params:
            sampling["tools"] = {}
        if params.get("includeContext", "none") != "none":
            sampling["context"] = {}
        return {"sampling": sampling}

    def to_json(self) -> dict[str, Any]:
        """The request object as it appears in ``inputRequests``."""
        out: dict[str, Any] = {"method": self.method}
        if self.params is not None:
            out["params"] = self.params
        return out


def _merge_capabilities(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    for name, value in more.items():
        slot = into.setdefault(name, {})
        slot.update(value)


def input_required_result(
    input_requests: Mapping[str, InputRequest] | None = None,
    request_state: str | None = None,
    *,
    client_capabilities: Mapping[str, Any] | None = None,
    server_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An ``InputRequiredResult``: the questions, and the state to echo back.

    mrtr: "Servers MUST include at least one of ``inputRequests`` or
    ``requestState``"; ``inputRequests`` "keys are server assigned
    identifiers". When ``client_capabilities`` is given, requests the client
    did not declare support for raise the -32021 error
    :func:`require_client_capabilities` describes. Input-required results
    "are not cacheable and carry no caching hints".
    """
    requests = dict(input_requests or {})
    if len(requests) > MAX_INPUT_REQUESTS:
        raise LocalProtocolError(f"more than {MAX_INPUT_REQUESTS} input requests")
    if not requests and request_state is None:
        raise LocalProtocolError("an input-required result needs inputRequests or requestState")
    if request_state is not None and (type(request_state) is not str or not request_state):
        raise LocalProtocolError("requestState must be a non-empty string")
    needed: dict[str, Any] = {}
    for key, request in requests.items():
        if type(key) is not str or not key or len(key) > MAX_INPUT_KEY_LENGTH:
            raise LocalProtocolError(
                f"input request keys are non-empty strings of at most "
                f"{MAX_INPUT_KEY_LENGTH} characters, not {key!r}"
            )
        if not isinstance(request, InputRequest):
            raise LocalProtocolError(f"input request {key!r} must be an InputRequest")
        _merge_capabilities(needed, request.required_capabilities())
    if client_capabilities is not None and needed:
        missing = missing_client_capabilities(client_capabilities, needed)
        if missing:
            raise missing_capability_error(missing)
    out: dict[str, Any] = {"resultType": RESULT_TYPE_INPUT_REQUIRED}
    if requests:
        out["inputRequests"] = {key: request.to_json() for key, request in requests.items()}
    if request_state is not None:
        out["requestState"] = request_state
    if server_info is not None:
        out["_meta"] = {META_SERVER_INFO: dict(server_info)}
    return out


_ELICIT_ACTIONS: Final = frozenset({"accept", "decline", "cancel"})


@attrs.frozen(slots=True)
class InputResponses:
    """A retry's ``inputResponses``: the client's answers, keyed like the questions.

    mrtr: "If additional, unexpected parameters are provided ... the server
    SHOULD ignore any information it does not recognize or need", so only
    the entries the server reads are checked in depth, when read. A key that
    is absent means the client did not answer: the server "SHOULD respond with
    a new ``InputRequiredResult`` requesting the missing information again,
    rather than returning an error". A malformed answer raises
    :class:`RemoteProtocolError` (-32602) naming ``request_id``.
    """

    responses: dict[str, dict[str, Any]]
    request_id: RequestId | None = None

    def __contains__(self, key: object) -> bool:
        return key in self.responses

    def __len__(self) -> int:
        return len(self.responses)

    def __iter__(self) -> Iterator[str]:
        return iter(self.responses)

    def get(self, key: str) -> dict[str, Any] | None:
        """The raw answer under ``key``, or ``None``."""
        return self.responses.get(key)

    def _bad(self, key: str, reason: str) -> RemoteProtocolError:
        return _invalid_params(f"inputResponses[{key!r}] {reason}", self.request_id)

    def elicit_result(self, key: str) -> dict[str, Any] | None:
        """The ``ElicitResult`` under ``key``, checked, or ``None`` if absent."""
        value = self.responses.get(key)
        if value is None:
            return None
        if value.get("action") not in _ELICIT_ACTIONS:
            raise self._bad(key, 'is not an ElicitResult: "action" is accept, decline or cancel')
        content = value.get("content")
        if content is not None:
            if type(content) is not dict:
                raise self._bad(key, 'is not an ElicitResult: "content" must be an object')
            for item in content.values():
                if type(item) is list:
                    if any(type(x) is not str for x in item):
                        raise self._bad(key, "has a list value that is not all strings")
                elif type(item) not in (str, int, bool, float):
                    raise self._bad(key, "has a value that is not a primitive")
        return value

    def create_message_result(self, key: str) -> dict[str, Any] | None:
        """The ``CreateMessageResult`` under ``key``, checked, or ``None`` if absent."""
        value = self.responses.get(key)
        if value is None:
            return None
        if value.get("role") not in ("user", "assistant"):
            raise self._bad(key, 'is not a CreateMessageResult: bad "role"')
        if type(value.get("model")) is not str:
            raise self._bad(key, 'is not a CreateMessageResult: "model" must be a string')
        content = value.get("content")
        if type(content) is list:
            if any(type(block) is not dict for block in content):
                raise self._bad(key, "is not a CreateMessageResult: bad content block")
        elif type(content) is not dict:
            raise self._bad(key, 'is not a CreateMessageResult: "content" is missing')
        return value

    def list_roots_result(self, key: str) -> dict[str, Any] | None:
        """The ``ListRootsResult`` under ``key``, checked, or ``None`` if absent."""
        value = self.responses.get(key)
        if value is None:
            return None
        roots = value.get("roots")
        if type(roots) is not list or any(
            type(root) is not dict or type(root.get("uri")) is not str for root in roots
        ):
            raise self._bad(key, 'is not a ListRootsResult: "roots" must list objects with a uri')
        return value

    def result_for(self, key: str, request: InputRequest) -> dict[str, Any] | None:
        """The answer under ``key`` to ``request``, checked by the request's kind."""
        if request.method == "elicitation/create":
            return self.elicit_result(key)
        if request.method == "sampling/createMessage":
            return self.create_message_result(key)
        return self.list_roots_result(key)


def parse_input_responses(
    value: object,
    *,
    request_id: RequestId | None = None,
    max_entries: int = MAX_INPUT_RESPONSES,
) -> InputResponses | None:
    """Read a retry's ``params.inputResponses`` (``None`` when absent).

    It must be an object of objects with at most ``max_entries`` keys of at
    most :data:`MAX_INPUT_KEY_LENGTH` characters; anything else is -32602
    (mrtr: "Servers SHOULD validate that the data provided by the client is a
    valid ``InputResponses`` object").
    """
    if value is None:
        return None
    if type(value) is not dict:
        raise _invalid_params("inputResponses must be an object", request_id)
    if len(value) > max_entries:
        raise _invalid_params(f"inputResponses has more than {max_entries} entries", request_id)
    for key, item in value.items():
        if type(key) is not str or len(key) > MAX_INPUT_KEY_LENGTH:
            raise _invalid_params("an inputResponses key is too long", request_id)
        if type(item) is not dict:
            raise _invalid_params(f"inputResponses[{key!r}] must be an object", request_id)
    return InputResponses(responses=value, request_id=request_id)


def parse_request_state(value: object, *, request_id: RequestId | None = None) -> str | None:
    """Read a retry's ``params.requestState`` (``None`` when absent); it must
    be a string (its contents are checked when it is opened)."""
    if value is None:
        return None
    if type(value) is not str:
        raise _invalid_params("requestState must be a string", request_id)
    return value


_ROUNDS_KEYS: Final = frozenset({"answers", "reported"})


@attrs.frozen(slots=True)
class EarlierRounds:
    """What the earlier rounds of one multi round-trip request got, carried in
    its sealed ``requestState``: the client's ``answers`` by input request key,
    and how many notifications (progress and log) the handler ``reported``.

    Each round runs the handler from the start. Up to the question an earlier
    round stopped at it does what it did then, in the same order, so its first
    ``reported`` reports are those the client already received: they are not
    sent again (:meth:`already_reported`), and only what lies beyond the point
    the earlier rounds reached reaches the client.
    """

    answers: dict[str, Any] = attrs.field(factory=dict)
    reported: int = 0

    def already_reported(self, ordinal: int) -> bool:
        """Whether the handler's ``ordinal``-th report of this round (from 1)
        reached the client in an earlier round."""
        return ordinal <= self.reported

    def next_round(self, answers: Mapping[str, Any], reports: int) -> EarlierRounds:
        """What the next round inherits: ``answers`` (those read so far) and
        the reports of this round, which went as far as the earlier ones or further."""
        return EarlierRounds(dict(answers), max(self.reported, reports))

    def to_state(self) -> dict[str, Any]:
        """The JSON object to seal into ``requestState``."""
        return {"answers": dict(self.answers), "reported": self.reported}

    @classmethod
    def from_state(cls, state: object) -> EarlierRounds:
        """The earlier rounds from an opened ``requestState`` (already verified).
        A state that is a bare object of answers (sealed before the report
        count was kept) has ``reported`` 0; anything else holds nothing."""
        if type(state) is not dict:
            return cls()
        if state.keys() == _ROUNDS_KEYS:
            answers, reported = state["answers"], state["reported"]
            if type(answers) is dict and type(reported) is int and reported >= 0:
                return cls(answers, reported)
        return cls(state, 0)
