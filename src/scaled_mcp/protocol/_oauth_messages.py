"""The HTTP exchanges of OAuth as plain data: :class:`OAuthRequest`, :class:`OAuthResponse`.

The core decides what to send and reads what came back; the trio layer turns an
:class:`OAuthRequest` into a real request and a real response into an
:class:`OAuthResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["OAuthRequest", "OAuthResponse"]


@attrs.frozen(slots=True)
class OAuthRequest:
    """A request to send: to fetch metadata, register, or ask for a token.

    ``purpose`` names the step (``"resource_metadata"``, ``"server_metadata"``,
    ``"registration"``, ``"token"``, ``"refresh"``) for hooks and logs. The
    headers and the body may hold a client secret, a code or a refresh token,
    so ``repr`` shows neither.
    """

    method: str
    url: str
    purpose: str
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    body: bytes = attrs.field(default=b"", repr=False)


@attrs.frozen(slots=True)
class OAuthResponse:
    """What came back: status, headers (names lower-cased), body.

    ``repr`` leaves the body out: a token response holds tokens.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = attrs.field(default=b"", repr=False)
