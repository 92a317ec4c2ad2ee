"""Sealing ``requestState`` for multi round-trip requests (2026-07-28).

An input-required result may carry a ``requestState``: "an opaque string
meaningful only to the server" that the client echoes on its retry. Since it
passes through the client, basic/patterns/mrtr says: "servers MUST treat
``requestState`` as an attacker-controlled input. If ``requestState``
influences authorization, resource access, or business logic, servers MUST
protect its integrity (e.g. HMAC or AEAD) and MUST reject state that fails
verification."

A sealed token is ``rs1.<key id>.<payload>.<tag>``:

- ``payload`` is the unpadded base64url of a JSON object holding the caller's
  state, an expiry and a digest of the request it belongs to;
- ``tag`` is the unpadded base64url HMAC-SHA256, under the secret named by
  ``key id``, of the ASCII text ``rs1.<key id>.<payload>``.

Sealing gives **integrity, not confidentiality**: anyone holding the token,
the client included, can base64-decode the payload and read the state. Never
put secrets in it (credentials, tokens, other users' data).

To prevent replay the spec asks that the sealed payload carry "the
authenticated principal", "a short expiry (TTL)" and "an identifier for the
originating request, e.g. the method name and a digest of its salient
parameters"; :class:`RequestBinding` is that identifier (principal included)
and every open checks it and the expiry. These "bound the replay window ...
but do not by themselves guarantee single-use": state that must be redeemed at
most once needs a server-side record.

Keys rotate without downtime: the sealer takes a sequence of ``(key id,
secret)``; the first seals, every listed key opens. Add the new key in front,
keep the old one until every token it sealed has expired, then drop it.

The core reads no clock: ``now`` (seconds, on a clock the caller chooses and
uses consistently across nodes) is always an argument.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import orjson

from ._errors import ErrorCode, LocalProtocolError, RemoteProtocolError

__all__ = [
    "MAX_REQUEST_STATE_SIZE",
    "MIN_REQUEST_STATE_SECRET_SIZE",
    "RequestBinding",
    "RequestStateSealer",
]

#: Default bound, in characters (the token is ASCII, so also bytes), of a sealed
#: ``requestState``. Longer tokens are rejected before any decoding; sealing a
#: state that would exceed it is a :class:`LocalProtocolError`.
MAX_REQUEST_STATE_SIZE: Final = 16 * 1024
#: The shortest secret accepted: HMAC-SHA256 keys shorter than the hash output
#: weaken it.
MIN_REQUEST_STATE_SECRET_SIZE: Final = 32

_TOKEN_VERSION: Final = "rs1"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_TAG_SIZE: Final = hashlib.sha256().digest_size

#: Methods whose requests name their target in ``params.name`` or ``params.uri``
#: (the value the ``Mcp-Name`` header carries).
_TARGET_PARAM: Final[Mapping[str, str]] = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
}


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Strict unpadded base64url: ``None`` unless ``text`` is the canonical encoding."""
    if _B64URL.fullmatch(text) is None or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Unused low bits of the last character would let two texts decode alike.
    if _b64encode(data) != text:
        return None
    return data


def _rejected(reason: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"Invalid params: requestState {reason}",
        code=ErrorCode.INVALID_PARAMS,
        http_status=400,
    )


def _check_instant(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LocalProtocolError(f"{name} must be a number of seconds, not {value!r}")
    if not math.isfinite(value):
        raise LocalProtocolError(f"{name} must be finite, not {value!r}")
    return float(value)


@attrs.frozen(slots=True)
class RequestBinding:
    """What a sealed ``requestState`` is bound to: it opens only for the same request.

    ``method`` is the JSON-RPC method, ``target`` the tool or prompt name or
    resource URI, ``principal`` the authenticated principal when there is one
    (a state sealed for one user will not open for another) and
    ``arguments_digest`` a digest of the request's arguments when they are
    bound too. Only a digest of the binding enters the token, so the client
    does not learn the principal from it.
    """

    method: str
    target: str | None = None
    principal: str | None = None
    arguments_digest: str | None = None

    def __attrs_post_init__(self) -> None:
        if type(self.method) is not str or not self.method:
            raise LocalProtocolError(f"a binding needs a method, not {self.method!r}")
        for name in ("target", "principal", "arguments_digest"):
            value = getattr(self, name)
            if value is not None and type(value) is not str:
                raise LocalProtocolError(f"a binding's {name} must be a string or None")

    @classmethod
    def for_request(
        cls,
        method: str,
        params: Mapping[str, Any] | None,
        *,
        principal: str | None = None,
        bind_arguments: bool = True,
    ) -> RequestBinding:
        """The binding of a request with ``method`` and ``params``.

        The target is ``params.name`` for ``tools/call`` and ``prompts/get``
        and ``params.uri`` for ``resources/read``. With ``bind_arguments``,
        ``params.arguments`` is bound too (a client retries "the original
        request", arguments included). Arguments that cannot be serialised
        canonically raise :class:`RemoteProtocolError` (-32602): they came
        from the peer.
        """
        params = params or {}
        target: str | None = None
        key = _TARGET_PARAM.get(method)
        if key is not None:
            value = params.get(key)
            if type(value) is str:
                target = value
        arguments_digest: str | None = None
        if bind_arguments and "arguments" in params:
            try:
                canonical = orjson.dumps(params["arguments"], option=orjson.OPT_SORT_KEYS)
            except (TypeError, orjson.JSONEncodeError):
                raise RemoteProtocolError(
                    "Invalid params: arguments cannot be serialised as JSON",
                    code=ErrorCode.INVALID_PARAMS,
                    http_status=400,
                ) from None
            arguments_digest = _b64encode(hashlib.sha256(canonical).digest())
        return cls(
            method=method, target=target, principal=principal, arguments_digest=arguments_digest
        )

    def digest(self) -> str:
        """The base64url SHA-256 of this binding's canonical JSON form."""
        canonical = orjson.dumps([self.method, self.target, self.principal, self.arguments_digest])
        return _b64encode(hashlib.sha256(b"mcp-request-binding\x00" + canonical).digest())


class RequestStateSealer:
    """Seal and open ``requestState`` tokens with HMAC-SHA256 (integrity only).

    ``keys`` is a non-empty sequence of ``(key_id, secret)``: the first key
    seals, all of them open, which is how keys rotate. A key id is 1-64
    characters of ``[A-Za-z0-9_-]`` and appears in clear in every token; a
    secret is at least :data:`MIN_REQUEST_STATE_SECRET_SIZE` random bytes and
    every node of a cluster must hold the same list. ``max_token_size`` bounds
    a token (default :data:`MAX_REQUEST_STATE_SIZE`).

    The payload is readable by the client: seal no secrets.
    """

    __slots__ = ("_keys", "_max_token_size", "_seal_key_id")

    def __init__(
        self,
        keys: Sequence[tuple[str, bytes]],
        *,
        max_token_size: int = MAX_REQUEST_STATE_SIZE,
    ) -> None:
        if not keys:
            raise LocalProtocolError("a requestState sealer needs at least one (key_id, secret)")
        table: dict[str, bytes] = {}
        for entry in keys:
            if not isinstance(entry, tuple) or len(entry) != 2:
                raise LocalProtocolError(f"a key must be a (key_id, secret) pair, not {entry!r}")
            key_id, secret = entry
            if type(key_id) is not str or _KEY_ID.fullmatch(key_id) is None:
                raise LocalProtocolError(
                    f"a key id must be 1-64 characters of [A-Za-z0-9_-], not {key_id!r}"
                )
            if not isinstance(secret, bytes):
                raise LocalProtocolError(f"the secret of key {key_id!r} must be bytes")
            if len(secret) < MIN_REQUEST_STATE_SECRET_SIZE:
                raise LocalProtocolError(
                    f"the secret of key {key_id!r} must be at least "
                    f"{MIN_REQUEST_STATE_SECRET_SIZE} bytes"
                )
            if key_id in table:
                raise LocalProtocolError(f"key id {key_id!r} is listed twice")
            table[key_id] = secret
        if type(max_token_size) is not int or max_token_size < 128:
            raise LocalProtocolError("max_token_size must be an integer of at least 128")
        self._keys = table
        self._seal_key_id = keys[0][0]
        self._max_token_size = max_token_size

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys that open tokens; the first one seals."""
        return tuple(self._keys)

    @property
    def max_token_size(self) -> int:
        """The longest token sealed or accepted, in characters."""
        return self._max_token_size

    @staticmethod
    def _tag(secret: bytes, signed: str) -> bytes:
        return hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest()

    def seal(self, state: Any, *, binding: RequestBinding, now: float, ttl: float) -> str:
        """Seal the JSON value ``state`` for the request ``binding`` describes.

        The token expires ``ttl`` seconds after ``now``. ``state`` must be a
        JSON value orjson can serialise (string keys; non-finite floats would
        come back as ``null``); otherwise, or when the token would exceed
        :attr:`max_token_size`, :class:`LocalProtocolError` is raised.
        """
        now = _check_instant("now", now)
        ttl = _check_instant("ttl", ttl)
        if ttl <= 0:
            raise LocalProtocolError(f"ttl must be positive, not {ttl!r}")
        if not isinstance(binding, RequestBinding):
            raise LocalProtocolError(f"binding must be a RequestBinding, not {binding!r}")
        expires_at = now + ttl
        if not math.isfinite(expires_at):
            raise LocalProtocolError("now + ttl overflows")
        try:
            payload = orjson.dumps({"b": binding.digest(), "e": expires_at, "s": state})
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise LocalProtocolError(f"requestState must be a JSON value: {exc}") from None
        signed = f"{_TOKEN_VERSION}.{self._seal_key_id}.{_b64encode(payload)}"
        token = f"{signed}.{_b64encode(self._tag(self._keys[self._seal_key_id], signed))}"
        if len(token) > self._max_token_size:
            raise LocalProtocolError(
                f"the sealed requestState is {len(token)} characters, over the limit of "
                f"{self._max_token_size}; keep large state server-side and seal a reference"
            )
        return token

    def open(self, token: object, *, binding: RequestBinding, now: float) -> Any:
        """The state sealed in ``token``, after checking it.

        Raises :class:`RemoteProtocolError` (-32602, HTTP 400) when the token
        is not a string, is too long or malformed, names a key that is not
        listed, fails the integrity check, was sealed for another request
        (``binding``) or has expired at ``now``.
        """
        now = _check_instant("now", now)
        if type(token) is not str:
            raise _rejected("must be a string")
        if len(token) > self._max_token_size:
            raise _rejected(f"exceeds the limit of {self._max_token_size} characters")
        if not token.isascii():
            raise _rejected("is malformed")
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _TOKEN_VERSION:
            raise _rejected("is malformed")
        _, key_id, payload_text, tag_text = parts
        if _KEY_ID.fullmatch(key_id) is None:
            raise _rejected("is malformed")
        secret = self._keys.get(key_id)
        if secret is None:
            raise _rejected("was sealed with an unknown or retired key")
        tag = _b64decode(tag_text)
        expected = self._tag(secret, f"{_TOKEN_VERSION}.{key_id}.{payload_text}")
        if tag is None or len(tag) != _TAG_SIZE or not hmac.compare_digest(tag, expected):
            raise _rejected("failed its integrity check")
        payload_bytes = _b64decode(payload_text)
        if payload_bytes is None:
            raise _rejected("is malformed")
        try:
            payload = orjson.loads(payload_bytes)
        except orjson.JSONDecodeError:
            raise _rejected("is malformed") from None
        if type(payload) is not dict or set(payload) != {"b", "e", "s"}:
            raise _rejected("is malformed")
        bound = payload["b"]
        expires_at = payload["e"]
        if type(bound) is not str or type(expires_at) is not float:
            raise _rejected("is malformed")
        if not hmac.compare_digest(bound.encode("ascii", "replace"), binding.digest().encode()):
            raise _rejected("belongs to a different request")
        if now >= expires_at:
            raise _rejected("has expired")
        return payload["s"]
