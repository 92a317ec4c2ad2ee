"""Tests for sealing ``requestState`` (HMAC-SHA256, integrity only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from typing import Any, Literal

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.jsonrpc import LocalProtocolError, RemoteProtocolError
from scaled_mcp.protocol.stateless import (
    MAX_REQUEST_STATE_SIZE,
    MIN_REQUEST_STATE_SECRET_SIZE,
    RequestBinding,
    RequestStateSealer,
)

OLD = ("k2025", b"o" * 32)
NEW = ("k2026", b"n" * 48)
BINDING = RequestBinding("tools/call", "deploy")

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=_SURROGATES), max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(alphabet=st.characters(blacklist_categories=_SURROGATES), max_size=10),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


def sealer(*keys: tuple[str, bytes], **kwargs: Any) -> RequestStateSealer:
    return RequestStateSealer(list(keys) or [OLD], **kwargs)


def rejected(excinfo: pytest.ExceptionInfo[RemoteProtocolError], fragment: str = "") -> None:
    assert excinfo.value.code == -32602
    assert excinfo.value.http_status == 400
    assert fragment in excinfo.value.message


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(secret: bytes, key_id: str, payload: bytes) -> str:
    signed = f"rs1.{key_id}.{b64(payload)}"
    tag = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{b64(tag)}"


# -- round trips -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(state=json_values, now=st.floats(-1e9, 1e9), ttl=st.floats(0.001, 1e6))
def test_round_trip_of_any_json_value(state: Any, now: float, ttl: float) -> None:
    s = sealer()
    token = s.seal(state, binding=BINDING, now=now, ttl=ttl)
    assert token.isascii()
    assert len(token) <= MAX_REQUEST_STATE_SIZE
    assert s.open(token, binding=BINDING, now=now) == state


def test_the_token_shape_and_readable_payload() -> None:
    token = sealer().seal({"step": 2}, binding=BINDING, now=100.0, ttl=30.0)
    version, key_id, payload, tag = token.split(".")
    assert (version, key_id) == ("rs1", "k2025")
    # Integrity, not confidentiality: anyone can read the state.
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert decoded["s"] == {"step": 2}
    assert decoded["e"] == 130.0
    # The binding enters only as a digest: no principal in clear.
    assert decoded["b"] == BINDING.digest()
    assert len(base64.urlsafe_b64decode(tag + "=")) == 32


def test_sealing_is_deterministic() -> None:
    a = sealer().seal([1, 2], binding=BINDING, now=1.0, ttl=5.0)
    b = sealer().seal([1, 2], binding=BINDING, now=1.0, ttl=5.0)
    assert a == b


# -- tampering -------------------------------------------------------------------

_REPLACEMENTS = string.ascii_letters + string.digits + "-_.=+/ é\x00"


def test_every_single_character_change_is_detected() -> None:
    s = sealer(OLD, NEW)
    token = sealer(NEW, OLD).seal({"a": [1, "x"]}, binding=BINDING, now=0.0, ttl=60.0)
    assert s.open(token, binding=BINDING, now=1.0) == {"a": [1, "x"]}
    for index, original in enumerate(token):
        for replacement in _REPLACEMENTS:
            if replacement == original:
                continue
            tampered = token[:index] + replacement + token[index + 1 :]
            with pytest.raises(RemoteProtocolError) as excinfo:
                s.open(tampered, binding=BINDING, now=1.0)
            rejected(excinfo)


@settings(max_examples=200, deadline=None)
@given(state=json_values, data=st.data())
def test_any_single_byte_change_is_detected(state: Any, data: st.DataObject) -> None:
    s = sealer()
    token = s.seal(state, binding=BINDING, now=0.0, ttl=60.0)
    index = data.draw(st.integers(0, len(token) - 1))
    raw = bytearray(token.encode())
    raw[index] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    tampered = raw.decode("latin-1")
    with pytest.raises(RemoteProtocolError) as excinfo:
        s.open(tampered, binding=BINDING, now=1.0)
    rejected(excinfo)


def test_every_truncation_and_extension_is_detected() -> None:
    s = sealer()
    token = s.seal("state", binding=BINDING, now=0.0, ttl=60.0)
    for end in range(len(token)):
        with pytest.raises(RemoteProtocolError) as excinfo:
            s.open(token[:end], binding=BINDING, now=1.0)
        rejected(excinfo)
    for suffix in ("-TAMPERED", "A", "=", ".", ".x", " "):
        with pytest.raises(RemoteProtocolError) as excinfo:
            s.open(token + suffix, binding=BINDING, now=1.0)
        rejected(excinfo)
    with pytest.raises(RemoteProtocolError) as excinfo:
        s.open(token + "-TAMPERED", binding=BINDING, now=1.0)
    rejected(excinfo, "integrity")


@settings(max_examples=300, deadline=None)
@given(token=st.one_of(st.text(max_size=300), st.binary(max_size=50), st.integers(), st.none()))
def test_garbage_is_rejected_with_invalid_params_only(token: object) -> None:
    with pytest.raises(RemoteProtocolError) as excinfo:
        sealer().open(token, binding=BINDING, now=0.0)
    rejected(excinfo)


def test_a_forgery_under_another_secret_fails_integrity() -> None:
    token = forge(b"z" * 32, OLD[0], b'{"b":"x","e":1e9,"s":1}')
    with pytest.raises(RemoteProtocolError) as excinfo:
        sealer().open(token, binding=BINDING, now=0.0)
    rejected(excinfo, "integrity")


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1,2]",
        b'{"b":"x","e":1.0}',
        b'{"b":"x","e":1,"s":1}',
        b'{"b":1,"e":1.0,"s":1}',
        b'{"b":"x","e":1.0,"s":1,"extra":0}',
    ],
)
def test_an_authentic_but_malformed_payload_is_rejected(payload: bytes) -> None:
    token = forge(OLD[1], OLD[0], payload)
    with pytest.raises(RemoteProtocolError) as excinfo:
        sealer().open(token, binding=BINDING, now=0.0)
    rejected(excinfo, "malformed")


def test_non_canonical_base64_in_an_authentic_token_is_rejected() -> None:
    token = sealer().seal(1, binding=BINDING, now=0.0, ttl=9.0)
    version, key_id, payload, _tag = token.split(".")
    # Re-sign a payload whose last character carries non-zero unused bits.
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    last = payload[-1]
    for other in alphabet:
        candidate = payload[:-1] + other
        if other == last:
            continue
        try:
            same = base64.urlsafe_b64decode(candidate + "=" * (-len(candidate) % 4))
        except ValueError:
            continue
        if same == base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)):
            signed = f"{version}.{key_id}.{candidate}"
            tag2 = b64(hmac.new(OLD[1], signed.encode(), hashlib.sha256).digest())
            with pytest.raises(RemoteProtocolError) as excinfo:
                sealer().open(f"{signed}.{tag2}", binding=BINDING, now=0.0)
            rejected(excinfo, "malformed")
            return
    pytest.skip("payload length leaves no unused bits")


def test_oversized_tokens_are_rejected_before_decoding() -> None:
    s = sealer(max_token_size=256)
    with pytest.raises(RemoteProtocolError) as excinfo:
        s.open("rs1.k2025." + "A" * 300 + ".x", binding=BINDING, now=0.0)
    rejected(excinfo, "limit of 256")


# -- key rotation ------------------------------------------------------------------


def test_key_rotation() -> None:
    before = sealer(OLD)
    token = before.seal({"n": 1}, binding=BINDING, now=0.0, ttl=600.0)
    during = sealer(NEW, OLD)
    assert during.key_ids == ("k2026", "k2025")
    assert during.open(token, binding=BINDING, now=10.0) == {"n": 1}
    fresh = during.seal({"n": 2}, binding=BINDING, now=10.0, ttl=600.0)
    assert fresh.split(".")[1] == "k2026"
    assert before.open(token, binding=BINDING, now=10.0) == {"n": 1}
    with pytest.raises(RemoteProtocolError) as excinfo:
        before.open(fresh, binding=BINDING, now=10.0)
    rejected(excinfo, "unknown")
    after = sealer(NEW)
    assert after.open(fresh, binding=BINDING, now=20.0) == {"n": 2}
    with pytest.raises(RemoteProtocolError) as excinfo:
        after.open(token, binding=BINDING, now=20.0)
    rejected(excinfo, "unknown or retired key")


def test_same_key_id_with_another_secret_fails_integrity() -> None:
    token = sealer(OLD).seal(1, binding=BINDING, now=0.0, ttl=9.0)
    with pytest.raises(RemoteProtocolError) as excinfo:
        sealer((OLD[0], b"q" * 32)).open(token, binding=BINDING, now=0.0)
    rejected(excinfo, "integrity")


# -- expiry and binding ---------------------------------------------------------------


def test_expiry() -> None:
    s = sealer()
    token = s.seal("x", binding=BINDING, now=1000.0, ttl=30.0)
    assert s.open(token, binding=BINDING, now=1029.999) == "x"
    for late in (1030.0, 5000.0):
        with pytest.raises(RemoteProtocolError) as excinfo:
            s.open(token, binding=BINDING, now=late)
        rejected(excinfo, "expired")


@pytest.mark.parametrize(
    "other",
    [
        RequestBinding("tools/call", "delete"),
        RequestBinding("prompts/get", "deploy"),
        RequestBinding("tools/call", "deploy", principal="mallory"),
        RequestBinding("tools/call", "deploy", arguments_digest="x"),
        RequestBinding("tools/call"),
    ],
)
def test_a_state_does_not_open_for_another_request(other: RequestBinding) -> None:
    s = sealer()
    token = s.seal("x", binding=BINDING, now=0.0, ttl=30.0)
    with pytest.raises(RemoteProtocolError) as excinfo:
        s.open(token, binding=other, now=1.0)
    rejected(excinfo, "different request")


def test_binding_for_request() -> None:
    params = {"name": "deploy", "arguments": {"b": 1, "a": [1, 2]}, "_meta": {}}
    binding = RequestBinding.for_request("tools/call", params, principal="alice")
    assert binding.target == "deploy"
    assert binding.principal == "alice"
    # Canonical: key order does not matter.
    reordered = {"arguments": {"a": [1, 2], "b": 1}, "name": "deploy"}
    assert RequestBinding.for_request("tools/call", reordered, principal="alice") == binding
    changed = {"name": "deploy", "arguments": {"b": 2, "a": [1, 2]}}
    assert RequestBinding.for_request("tools/call", changed, principal="alice") != binding
    loose = RequestBinding.for_request("tools/call", changed, bind_arguments=False)
    assert loose.arguments_digest is None
    assert RequestBinding.for_request("resources/read", {"uri": "file:///a"}).target == "file:///a"
    assert RequestBinding.for_request("tools/list", None) == RequestBinding("tools/list")
    with pytest.raises(RemoteProtocolError) as excinfo:
        RequestBinding.for_request("tools/call", {"name": "x", "arguments": {"n": 2**70}})
    rejected(excinfo)


def test_binding_digest_is_unambiguous() -> None:
    digests = {
        RequestBinding("tools/call", "a", None).digest(),
        RequestBinding("tools/call", None, "a").digest(),
        RequestBinding("tools/call", "a", "").digest(),
        RequestBinding("tools/call", "", "a").digest(),
    }
    assert len(digests) == 4


# -- misuse ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keys",
    [
        [],
        [("", b"x" * 32)],
        [("has.dot", b"x" * 32)],
        [("k" * 65, b"x" * 32)],
        [("k", b"x" * (MIN_REQUEST_STATE_SECRET_SIZE - 1))],
        [("k", "x" * 32)],
        [("k", b"x" * 32), ("k", b"y" * 32)],
        ["k"],
    ],
)
def test_bad_keys_are_local_errors(keys: Any) -> None:
    with pytest.raises(LocalProtocolError):
        RequestStateSealer(keys)


@pytest.mark.parametrize(
    ("state", "now", "ttl"),
    [
        ({1: "non-string key"}, 0.0, 1.0),
        ({"x": {1, 2}}, 0.0, 1.0),
        ("x", 0.0, 0.0),
        ("x", 0.0, -5.0),
        ("x", float("nan"), 1.0),
        ("x", 0.0, float("inf")),
        ("x", 1e308, 1e308),
        ("x" * MAX_REQUEST_STATE_SIZE, 0.0, 1.0),
    ],
)
def test_bad_seal_arguments_are_local_errors(state: Any, now: float, ttl: float) -> None:
    with pytest.raises(LocalProtocolError):
        sealer().seal(state, binding=BINDING, now=now, ttl=ttl)


def test_bad_binding_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        RequestBinding("")
    with pytest.raises(LocalProtocolError):
        RequestBinding("tools/call", target=5)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        sealer().seal(1, binding="tools/call", now=0.0, ttl=1.0)  # type: ignore[arg-type]


def test_the_payload_is_compact_json() -> None:
    token = sealer().seal({"k": "v"}, binding=BINDING, now=0.0, ttl=1.0)
    payload = token.split(".")[2]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert orjson.loads(raw)["s"] == {"k": "v"}
