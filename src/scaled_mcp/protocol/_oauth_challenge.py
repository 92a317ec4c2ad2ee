"""``WWW-Authenticate`` challenges (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1).

:func:`parse_www_authenticate` reads a header value into challenges;
:func:`bearer_challenge` picks the one an MCP client acts on (``Bearer``, or
``DPoP``) and reads the parameters MCP uses: ``resource_metadata`` (RFC 9728),
``scope`` and ``error`` (RFC 6750, e.g. ``insufficient_scope``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from ._oauth_errors import OAuthError

__all__ = ["MAX_CHALLENGE_LENGTH", "BearerChallenge", "bearer_challenge", "parse_www_authenticate"]

MAX_CHALLENGE_LENGTH: Final = 16_384
"""The longest ``WWW-Authenticate`` value read (longer ones are an :class:`OAuthError`)."""

_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(?:,|$))")
_SPACE: Final = " \t"
#: Schemes an MCP client answers: RFC 6750 bearer tokens and RFC 9449 DPoP-bound ones.
_SCHEMES: Final = ("bearer", "dpop")


@attrs.frozen(slots=True)
class BearerChallenge:
    """One challenge of a ``WWW-Authenticate`` header.

    ``scheme`` is lower-cased; ``params`` maps lower-cased parameter names to
    their values (the first of repeated names wins); ``token68`` is the
    challenge's token68 form when it has one instead of parameters.
    """

    scheme: str
    params: Mapping[str, str] = attrs.field(factory=dict)
    token68: str | None = None

    @property
    def resource_metadata(self) -> str | None:
        """RFC 9728 §5.1: the URL of the protected resource metadata, if given."""
        return self.params.get("resource_metadata") or None

    @property
    def scope(self) -> tuple[str, ...] | None:
        """RFC 6750 §3: the scopes the resource asks for, if the challenge names any."""
        value = self.params.get("scope")
        if value is None:
            return None
        scopes = tuple(dict.fromkeys(value.split()))
        return scopes or None

    @property
    def error(self) -> str | None:
        """RFC 6750 §3.1: ``invalid_request``, ``invalid_token``, ``insufficient_scope``, ..."""
        return self.params.get("error") or None

    @property
    def error_description(self) -> str | None:
        """RFC 6750 §3: the human-readable ``error_description``, if any."""
        return self.params.get("error_description")


class _Scanner:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> None:
        while self.peek() and self.peek() in _SPACE:
            self.pos += 1

    def skip_separators(self) -> None:
        while self.peek() and self.peek() in _SPACE + ",":
            self.pos += 1

    def token(self) -> str:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return ""
        self.pos = match.end()
        return match.group()

    def token68(self) -> str | None:
        match = _TOKEN68.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def quoted(self) -> str:
        # RFC 9110 §5.6.4: quoted-string with backslash quoted-pairs.
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise OAuthError(
                    "invalid_challenge", "unterminated quoted string in WWW-Authenticate"
                )
            self.pos += 1
            if char == '"':
                return "".join(out)
            if char == "\\":
                escaped = self.peek()
                if not escaped:
                    raise OAuthError("invalid_challenge", "dangling escape in WWW-Authenticate")
                self.pos += 1
                out.append(escaped)
            else:
                out.append(char)


def _parse_params(scanner: _Scanner, params: dict[str, str]) -> None:
    while not scanner.at_end():
        mark = scanner.pos
        name = scanner.token()
        if not name:
            raise OAuthError("invalid_challenge", "malformed parameter in WWW-Authenticate")
        scanner.skip_space()
        if scanner.peek() != "=":
            # A token not followed by "=" starts the next challenge.
            scanner.pos = mark
            return
        scanner.pos += 1
        scanner.skip_space()
        if scanner.peek() == '"':
            value = scanner.quoted()
        else:
            value = scanner.token()
            if not value:
                raise OAuthError("invalid_challenge", f"parameter {name!r} has no value")
        params.setdefault(name.lower(), value)
        scanner.skip_space()
        if scanner.peek() == ",":
            scanner.skip_separators()
        elif not scanner.at_end():
            raise OAuthError(
                "invalid_challenge", "expected ',' between WWW-Authenticate parameters"
            )


def parse_www_authenticate(value: str) -> tuple[BearerChallenge, ...]:
    """Every challenge of one ``WWW-Authenticate`` value, in order.

    RFC 9110 §11.6.1: ``challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]``,
    several challenges separated by commas. Raises :class:`OAuthError` on a
    malformed value or one longer than :data:`MAX_CHALLENGE_LENGTH`.
    """
    if len(value) > MAX_CHALLENGE_LENGTH:
        raise OAuthError("invalid_challenge", "WWW-Authenticate value too long")
    scanner = _Scanner(value)
    challenges: list[BearerChallenge] = []
    while True:
        scanner.skip_separators()
        if scanner.at_end():
            return tuple(challenges)
        scheme = scanner.token()
        if not scheme:
            raise OAuthError("invalid_challenge", "WWW-Authenticate challenge has no scheme")
        had_space = scanner.peek() in _SPACE and scanner.peek() != ""
        scanner.skip_space()
        params: dict[str, str] = {}
        token68: str | None = None
        if had_space and not scanner.at_end() and scanner.peek() != ",":
            mark = scanner.pos
            # A token68 runs to the end or to a comma; "name=value" never does.
            token68 = scanner.token68()
            if token68 is None:
                scanner.pos = mark
                _parse_params(scanner, params)
        elif not scanner.at_end() and scanner.peek() != ",":
            raise OAuthError("invalid_challenge", "expected a space after the scheme")
        challenges.append(BearerChallenge(scheme.lower(), params, token68))


def bearer_challenge(values: Iterable[str]) -> BearerChallenge | None:
    """The challenge an MCP client acts on among ``WWW-Authenticate`` header values.

    The first ``Bearer`` challenge, else the first ``DPoP`` one, else ``None``.
    Raises :class:`OAuthError` when a value is malformed.
    """
    found: dict[str, BearerChallenge] = {}
    for value in values:
        for challenge in parse_www_authenticate(value):
            if challenge.scheme in _SCHEMES:
                found.setdefault(challenge.scheme, challenge)
    for scheme in _SCHEMES:
        if scheme in found:
            return found[scheme]
    return None
