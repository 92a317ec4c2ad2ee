"""Shared by the stateless-era tests: requests, a dispatcher, random ``_meta`` envelopes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from scaled_mcp.protocol._errors import RemoteProtocolError
from scaled_mcp.protocol._jsonrpc import Request, error_response_for, message_to_json
from scaled_mcp.protocol._meta import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROGRESS_TOKEN,
    META_PROTOCOL_VERSION,
)
from scaled_mcp.protocol._notifications import LOG_LEVELS
from scaled_mcp.protocol._request_state import RequestStateSealer
from scaled_mcp.protocol._stateless import (
    StatelessDispatcher,
    StatelessRequest,
    StatelessServerConfig,
)
from tests.spec import EXAMPLES_DIR

REV = "2026-07-28"
SERVER_INFO = {"name": "scaled-test", "version": "0.1.0"}
FULL_CAPABILITIES: dict[str, Any] = {
    "tools": {"listChanged": True},
    "prompts": {"listChanged": True},
    "resources": {"listChanged": True, "subscribe": True},
    "completions": {},
    "logging": {},
}
CLIENT_INFO = {"name": "conformance-client", "version": "1.0.0"}


def meta(**extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        META_PROTOCOL_VERSION: REV,
        META_CLIENT_INFO: CLIENT_INFO,
        META_CLIENT_CAPABILITIES: {},
    }
    for key, value in extra.items():
        out[key] = value
    return out


def request(method: str, request_id: int | str = 1, _meta: Any = None, **params: Any) -> Request:
    body = dict(params)
    body["_meta"] = meta() if _meta is None else _meta
    return Request(request_id, method, body)


def dispatcher(capabilities: dict[str, Any] | None = None, **config: Any) -> StatelessDispatcher:
    cfg = StatelessServerConfig(
        server_info=dict(SERVER_INFO),
        capabilities=FULL_CAPABILITIES if capabilities is None else capabilities,
        instructions="Use the tools.",
        **config,
    )
    return StatelessDispatcher(cfg, sealer=RequestStateSealer([("k1", b"s" * 32)]))


def error_json(exc: RemoteProtocolError) -> dict[str, Any]:
    return message_to_json(error_response_for(exc))


def load_example(folder: str) -> Any:
    (path,) = (EXAMPLES_DIR / folder).glob("*.json")
    return json.loads(path.read_text())


def app_request(d: StatelessDispatcher, req: Request) -> StatelessRequest:
    event = d.handle_request(req)
    assert isinstance(event, StatelessRequest)
    return event


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)
# The schema's JSONValue has no null and no fractions; the envelope parser does
# not look inside capability objects, so their contents stay within it.
_schema_json = st.recursive(
    st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8,
)
_capability_objects = st.one_of(
    st.just({}), st.dictionaries(st.text(max_size=5), _schema_json, max_size=3), json_leaf
)
_any_meta = st.builds(
    lambda extra, known: {**extra, **known},
    st.dictionaries(st.text(max_size=10), json_values, max_size=2),
    st.fixed_dictionaries(
        {},
        optional={
            META_PROTOCOL_VERSION: st.one_of(
                st.just(REV), st.sampled_from(["2025-11-25", "v999", ""]), json_values
            ),
            META_CLIENT_CAPABILITIES: st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "elicitation": st.one_of(
                            _capability_objects,
                            st.fixed_dictionaries({}, optional={"form": _capability_objects}),
                            st.just({"url": {}}),
                        ),
                        "sampling": st.one_of(
                            _capability_objects,
                            st.fixed_dictionaries({}, optional={"tools": _capability_objects}),
                        ),
                        "roots": _capability_objects,
                        "experimental": st.one_of(
                            _capability_objects,
                            st.dictionaries(st.text(max_size=5), _capability_objects, max_size=2),
                        ),
                        "extensions": st.one_of(
                            _capability_objects,
                            st.dictionaries(st.text(max_size=5), _capability_objects, max_size=2),
                        ),
                    },
                ),
                json_values,
            ),
            META_CLIENT_INFO: st.one_of(
                st.just(CLIENT_INFO),
                st.fixed_dictionaries(
                    {"name": st.one_of(st.text(max_size=5), json_values)},
                    optional={"version": st.one_of(st.text(max_size=5), json_values)},
                ),
                json_values,
            ),
            META_LOG_LEVEL: st.one_of(st.sampled_from(LOG_LEVELS), json_values),
            META_PROGRESS_TOKEN: st.one_of(st.text(max_size=5), st.integers(), json_values),
        },
    ),
)


_valid_meta = st.builds(
    lambda extra, known: {**extra, **known},
    st.dictionaries(st.text(max_size=10), json_values, max_size=2),
    st.fixed_dictionaries(
        {
            META_PROTOCOL_VERSION: st.just(REV),
            META_CLIENT_CAPABILITIES: st.fixed_dictionaries(
                {},
                optional={
                    "elicitation": st.sampled_from([{}, {"form": {}}, {"url": {}}]),
                    "sampling": st.sampled_from([{}, {"tools": {}}]),
                    "roots": st.just({}),
                    "extensions": st.dictionaries(st.text(max_size=5), st.just({}), max_size=2),
                },
            ),
        },
        optional={
            META_CLIENT_INFO: st.just(CLIENT_INFO),
            META_LOG_LEVEL: st.sampled_from(LOG_LEVELS),
            META_PROGRESS_TOKEN: st.one_of(st.text(max_size=5), st.integers()),
        },
    ),
)


def _perturb(raw: dict[str, Any], key: str, value: Any, delete: bool) -> dict[str, Any]:
    out = dict(raw)
    if delete:
        out.pop(key, None)
    else:
        out[key] = value
    return out


random_meta = st.one_of(
    _any_meta,
    _valid_meta,
    st.builds(
        _perturb,
        _valid_meta,
        st.sampled_from(
            [
                META_PROTOCOL_VERSION,
                META_CLIENT_CAPABILITIES,
                META_CLIENT_INFO,
                META_LOG_LEVEL,
                META_PROGRESS_TOKEN,
            ]
        ),
        st.one_of(json_values, st.sampled_from(["v999", "2025-11-25", "notice"])),
        st.booleans(),
    ),
)
