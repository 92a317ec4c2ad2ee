"""What a handshake-era server says of itself, and which methods its sessions serve.

:class:`ServerConfig` is what ``initialize`` answers with (server info,
capabilities, instructions) and the session's limits. Its capabilities decide
which request methods exist in a session, given the version it negotiated:
:func:`_session_methods` works them out, and the config remembers the sets it
gave so that every session with the same ones shares them (a server has a
handful of combinations, and a node many sessions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._bounded_cache import _BoundedCache
from ._errors import LocalProtocolError
from ._versions import V2025_03_26, V2025_11_25

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "DEFAULT_MAX_PENDING", "ServerConfig"]

#: How many client requests may be in flight at once in one session.
DEFAULT_MAX_IN_FLIGHT: Final = 1024
#: How many server→client requests may await an answer at once in one session.
DEFAULT_MAX_PENDING: Final = 256

#: How many distinct method sets a config remembers.
_MAX_METHOD_SETS: Final = 64

# Client requests of the handshake era, and the server capability each needs.
_REQUEST_CAPABILITY: Final[Mapping[str, str | None]] = {
    "tools/list": "tools",
    "tools/call": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resources",
    "resources/read": "resources",
    "resources/subscribe": "resources",
    "resources/unsubscribe": "resources",
    "prompts/list": "prompts",
    "prompts/get": "prompts",
    "logging/setLevel": "logging",
    "completion/complete": "completions",
    "tasks/get": "tasks",
    "tasks/result": "tasks",
    "tasks/list": "tasks",
    "tasks/cancel": "tasks",
}
_TASK_METHODS: Final = frozenset({"tasks/get", "tasks/result", "tasks/list", "tasks/cancel"})
# Requests the core answers by itself once the session exists.
_CORE_ANSWERED: Final = frozenset(
    {"ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)

# A session's methods -> (those methods, those the application answers).
_MethodSets = _BoundedCache[frozenset[str], tuple[frozenset[str], frozenset[str]]]


def _new_method_sets() -> _MethodSets:
    return _BoundedCache(_MAX_METHOD_SETS, clear_when_full=True)


@attrs.frozen(slots=True)
class ServerConfig:
    """What the server says of itself in ``initialize``.

    ``server_info`` is the ``Implementation`` object (``name``, ``version`` …),
    ``capabilities`` the ``ServerCapabilities`` object: it also decides which
    methods exist. ``extension_methods`` are further request methods handed
    to the application as they are. ``max_in_flight`` bounds the client's
    requests a session has in flight in this process (in a cluster: on one
    node), ``max_pending`` the server's requests awaiting the client.
    """

    server_info: dict[str, Any]
    capabilities: dict[str, Any] = attrs.field(factory=dict)
    instructions: str | None = None
    extension_methods: frozenset[str] = frozenset()
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_pending: int = DEFAULT_MAX_PENDING
    #: The method sets given to sessions, shared by those that have the same ones.
    _method_sets: _MethodSets = attrs.field(
        init=False, factory=_new_method_sets, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        info = self.server_info
        if type(info) is not dict or type(info.get("name")) is not str:
            raise LocalProtocolError('server_info must be an object with a string "name"')
        if type(info.get("version")) is not str:
            raise LocalProtocolError('server_info must have a string "version"')
        if type(self.capabilities) is not dict:
            raise LocalProtocolError("capabilities must be an object")


def _session_methods(config: ServerConfig, version: str) -> tuple[frozenset[str], frozenset[str]]:
    """The request methods a session that negotiated ``version`` serves, and
    those of them the application answers (the others the core answers)."""
    capabilities = config.capabilities
    methods = {"ping"} | set(config.extension_methods)
    for method, capability in _REQUEST_CAPABILITY.items():
        if method in _TASK_METHODS and version < V2025_11_25:
            continue
        if capability == "completions" and version < V2025_03_26:
            methods.add(method)  # 2024-11-05 had completion with no capability.
        elif capability in capabilities:
            methods.add(method)
    if not (capabilities.get("resources") or {}).get("subscribe"):
        methods -= {"resources/subscribe", "resources/unsubscribe"}
    key = frozenset(methods)
    cache = config._method_sets
    found = cache.entries.get(key)
    if found is None:
        found = (key, key - _CORE_ANSWERED)
        cache.remember(key, found)
    return found
