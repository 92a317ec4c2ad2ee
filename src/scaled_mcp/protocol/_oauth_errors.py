"""The one error the OAuth decisions raise: :class:`OAuthError`.

Every OAuth decision of the core either returns what to do next or raises
:class:`OAuthError` with a reason a person can read; no other exception leaves
the ``_oauth_*`` modules on bad input from a server or an authorization server.
"""

from __future__ import annotations

__all__ = ["OAuthError"]


class OAuthError(Exception):
    """Authorization failed: a server answered something the client must not use.

    ``error`` is the OAuth error code when the authorization server sent one
    (``invalid_grant``, ``access_denied``, ...) or a short name of the check that
    failed (``resource_mismatch``, ``issuer_mismatch``, ``state_mismatch``, ...);
    ``description`` says what happened. Neither ever holds a token or a secret.
    """

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
