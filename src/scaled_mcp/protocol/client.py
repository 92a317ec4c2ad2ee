"""The client side of the core: the session machine, the stateless era's calls, HTTP decisions.

:class:`ClientSession` is the client's half of a handshake-era session
(2024-11-05 through 2025-11-25): it builds ``initialize`` and the requests,
and reports what each server message means as events (:data:`ClientEvent`);
its phases move only through :data:`CLIENT_TRANSITIONS`.
:class:`StatelessClient` builds 2026-07-28 requests with their ``_meta``
envelope and reads ``server/discover``; a :class:`StatelessCall` follows one
call through its rounds (input-required results, -32022 retries). The HTTP
rules a client follows are pure functions (:func:`post_headers`,
:func:`classify_http_response`, :func:`tool_param_headers`, ...), and
:class:`SSEResumption` decides when a broken SSE stream is resumed.
The skills extension's host side: skill entries (:func:`parse_skills_page`),
``SKILL.md`` frontmatter (:func:`parse_frontmatter`) and verification
(:func:`verify_skill_md`, :func:`verify_file`).
"""

from __future__ import annotations

from ._client_answers import apply_elicitation_defaults
from ._client_events import (
    ClientEvent,
    HandshakeCompleted,
    HandshakeFailed,
    ListChanged,
    LogReceived,
    ProgressReceived,
    ReplyToServer,
    RequestFailed,
    ResourceUpdated,
    ResultReceived,
    ServerCancelled,
    ServerNotification,
    ServerRequest,
)
from ._client_http import (
    ACCEPT_POST,
    HttpAnswer,
    classify_http_response,
    delete_headers,
    encode_header_value,
    error_in_body,
    get_headers,
    legacy_post_url,
    param_header_value,
    post_headers,
    tool_param_headers,
    valid_tools,
    wants_standalone_stream,
)
from ._client_notifications import ProgressUpdate, notification_event, progress_update
from ._client_session import (
    DEFAULT_CLIENT_MAX_IN_FLIGHT,
    DEFAULT_MAX_SERVER_REQUESTS,
    ClientSession,
    server_capability_for,
)
from ._client_sse import (
    DEFAULT_MAX_RECONNECT_ATTEMPTS,
    DEFAULT_MAX_RETRY_MS,
    DEFAULT_RETRY_MS,
    SSEResumption,
)
from ._client_state import (
    CLIENT_TRANSITIONS,
    ClientInput,
    ClientPhase,
    render_client_state_diagram,
)
from ._client_stateless import (
    DEFAULT_MAX_ROUNDS,
    CallOutcome,
    Complete,
    DiscoverResult,
    Failed,
    InputRequired,
    RetryWithVersion,
    StatelessCall,
    StatelessClient,
    should_fall_back_to_handshake,
)
from ._frontmatter import parse_frontmatter, parse_yaml_mapping, split_frontmatter
from ._skills import (
    MAX_SKILL_RESOURCES,
    MAX_SKILL_SIZE,
    SKILL_MANIFEST,
    SKILLS_EXTENSION,
    InvalidSkillEntry,
    LoadedSkill,
    SkillEntry,
    SkillError,
    SkillFile,
    SkillsPage,
    SkillVerificationError,
    declares_skills,
    frontmatter_differences,
    parse_skill_entry,
    parse_skill_get_result,
    parse_skills_page,
    read_result_bytes,
    skill_digest,
    skill_name_of,
    valid_skill_name,
    verify_file,
    verify_skill_md,
)
from ._yaml_scalars import MAX_FRONTMATTER_DEPTH, FrontmatterError

__all__ = [
    "MAX_FRONTMATTER_DEPTH",
    "MAX_SKILL_RESOURCES",
    "MAX_SKILL_SIZE",
    "SKILLS_EXTENSION",
    "SKILL_MANIFEST",
    "FrontmatterError",
    "InvalidSkillEntry",
    "LoadedSkill",
    "SkillEntry",
    "SkillError",
    "SkillFile",
    "SkillVerificationError",
    "SkillsPage",
    "declares_skills",
    "frontmatter_differences",
    "parse_frontmatter",
    "parse_skill_entry",
    "parse_skill_get_result",
    "parse_skills_page",
    "parse_yaml_mapping",
    "read_result_bytes",
    "skill_digest",
    "skill_name_of",
    "split_frontmatter",
    "valid_skill_name",
    "verify_file",
    "verify_skill_md",
    "ACCEPT_POST",
    "CLIENT_TRANSITIONS",
    "DEFAULT_CLIENT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_RECONNECT_ATTEMPTS",
    "DEFAULT_MAX_RETRY_MS",
    "DEFAULT_MAX_ROUNDS",
    "DEFAULT_MAX_SERVER_REQUESTS",
    "DEFAULT_RETRY_MS",
    "CallOutcome",
    "ClientEvent",
    "ClientInput",
    "ClientPhase",
    "ClientSession",
    "Complete",
    "DiscoverResult",
    "Failed",
    "HandshakeCompleted",
    "HandshakeFailed",
    "HttpAnswer",
    "InputRequired",
    "ListChanged",
    "LogReceived",
    "ProgressReceived",
    "ProgressUpdate",
    "ReplyToServer",
    "RequestFailed",
    "ResourceUpdated",
    "ResultReceived",
    "RetryWithVersion",
    "SSEResumption",
    "ServerCancelled",
    "ServerNotification",
    "ServerRequest",
    "StatelessCall",
    "StatelessClient",
    "apply_elicitation_defaults",
    "classify_http_response",
    "delete_headers",
    "encode_header_value",
    "error_in_body",
    "get_headers",
    "legacy_post_url",
    "notification_event",
    "param_header_value",
    "post_headers",
    "progress_update",
    "render_client_state_diagram",
    "server_capability_for",
    "should_fall_back_to_handshake",
    "tool_param_headers",
    "valid_tools",
    "wants_standalone_stream",
]
