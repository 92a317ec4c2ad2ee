"""The sans-IO MCP protocol core: synchronous, transport-free, no clock, no randomness.

Bytes and messages go in; events, decisions and bytes come out. A transport
embeds it: see ``examples/custom_transport.py``. Every name below is public and
documented where it is defined.
"""

from __future__ import annotations

from ._errors import (
    ErrorCode as ErrorCode,
)
from ._errors import (
    LocalProtocolError as LocalProtocolError,
)
from ._errors import (
    ProtocolError as ProtocolError,
)
from ._errors import (
    RemoteProtocolError as RemoteProtocolError,
)
from ._errors import (
    resource_not_found_code as resource_not_found_code,
)
from ._events import (
    ErrorReceived as ErrorReceived,
)
from ._events import (
    Event as Event,
)
from ._events import (
    NotificationReceived as NotificationReceived,
)
from ._events import (
    ReplyReady as ReplyReady,
)
from ._events import (
    RequestCancelled as RequestCancelled,
)
from ._events import (
    RequestReceived as RequestReceived,
)
from ._events import (
    ResponseReceived as ResponseReceived,
)
from ._events import (
    SessionInitialized as SessionInitialized,
)
from ._http1 import (
    DECLINE as DECLINE,
)
from ._http1 import (
    LAST_CHUNK as LAST_CHUNK,
)
from ._http1 import (
    Head as Head,
)
from ._http1 import (
    HeadReader as HeadReader,
)
from ._http1 import (
    chunk as chunk,
)
from ._http1 import (
    header_block as header_block,
)
from ._http1 import (
    read_head as read_head,
)
from ._http1 import (
    response_head as response_head,
)
from ._http_config import (
    DEFAULT_ALLOWED_HOSTS as DEFAULT_ALLOWED_HOSTS,
)
from ._http_config import (
    DEFAULT_ALLOWED_ORIGINS as DEFAULT_ALLOWED_ORIGINS,
)
from ._http_config import (
    DEFAULT_MAX_BODY_SIZE as DEFAULT_MAX_BODY_SIZE,
)
from ._http_config import (
    HttpConfig as HttpConfig,
)
from ._http_config import (
    ResponseMode as ResponseMode,
)
from ._http_decisions import (
    HttpDecision as HttpDecision,
)
from ._http_decisions import (
    NeedSession as NeedSession,
)
from ._http_decisions import (
    OpenLegacyStream as OpenLegacyStream,
)
from ._http_decisions import (
    OpenStream as OpenStream,
)
from ._http_decisions import (
    Preflight as Preflight,
)
from ._http_decisions import (
    ProcessMessages as ProcessMessages,
)
from ._http_decisions import (
    Reject as Reject,
)
from ._http_decisions import (
    TerminateSession as TerminateSession,
)
from ._http_decisions import (
    body_too_large as body_too_large,
)
from ._http_decisions import (
    reject_for as reject_for,
)
from ._http_decisions import (
    service_unavailable as service_unavailable,
)
from ._http_decisions import (
    stream_conflict as stream_conflict,
)
from ._http_decisions import (
    stream_expired as stream_expired,
)
from ._http_params import (
    param_header_paths as param_header_paths,
)
from ._http_params import (
    validate_param_headers as validate_param_headers,
)
from ._http_request import (
    Headers as Headers,
)
from ._http_request import (
    HttpRequest as HttpRequest,
)
from ._http_request import (
    decode_header_value as decode_header_value,
)
from ._http_request import (
    is_valid_session_id as is_valid_session_id,
)
from ._http_responses import (
    LEGACY_ENDPOINT_EVENT as LEGACY_ENDPOINT_EVENT,
)
from ._http_responses import (
    cors_headers as cors_headers,
)
from ._http_responses import (
    legacy_endpoint_url as legacy_endpoint_url,
)
from ._http_responses import (
    response_start as response_start,
)
from ._http_responses import (
    resume_point as resume_point,
)
from ._http_responses import (
    status_for_error as status_for_error,
)
from ._http_routing import (
    decide as decide,
)
from ._http_routing import (
    decide_with_session as decide_with_session,
)
from ._http_routing import (
    precheck as precheck,
)
from ._input_required import (
    INPUT_REQUIRED_METHODS as INPUT_REQUIRED_METHODS,
)
from ._input_required import (
    MAX_INPUT_KEY_LENGTH as MAX_INPUT_KEY_LENGTH,
)
from ._input_required import (
    MAX_INPUT_REQUESTS as MAX_INPUT_REQUESTS,
)
from ._input_required import (
    MAX_INPUT_RESPONSES as MAX_INPUT_RESPONSES,
)
from ._input_required import (
    InputRequest as InputRequest,
)
from ._input_required import (
    InputResponses as InputResponses,
)
from ._input_required import (
    input_required_result as input_required_result,
)
from ._input_required import (
    parse_input_responses as parse_input_responses,
)
from ._input_required import (
    parse_request_state as parse_request_state,
)
from ._jsonrpc import (
    DecodedBody as DecodedBody,
)
from ._jsonrpc import (
    ErrorResponse as ErrorResponse,
)
from ._jsonrpc import (
    Message as Message,
)
from ._jsonrpc import (
    Notification as Notification,
)
from ._jsonrpc import (
    Request as Request,
)
from ._jsonrpc import (
    RequestId as RequestId,
)
from ._jsonrpc import (
    Response as Response,
)
from ._jsonrpc import (
    decode_body as decode_body,
)
from ._jsonrpc import (
    decode_message as decode_message,
)
from ._jsonrpc import (
    encode_batch as encode_batch,
)
from ._jsonrpc import (
    encode_message as encode_message,
)
from ._jsonrpc import (
    error_response_for as error_response_for,
)
from ._jsonrpc import (
    message_from_json as message_from_json,
)
from ._jsonrpc import (
    message_to_json as message_to_json,
)
from ._meta import (
    META_CLIENT_CAPABILITIES as META_CLIENT_CAPABILITIES,
)
from ._meta import (
    META_CLIENT_INFO as META_CLIENT_INFO,
)
from ._meta import (
    META_LOG_LEVEL as META_LOG_LEVEL,
)
from ._meta import (
    META_PROGRESS_TOKEN as META_PROGRESS_TOKEN,
)
from ._meta import (
    META_PROTOCOL_VERSION as META_PROTOCOL_VERSION,
)
from ._meta import (
    META_SERVER_INFO as META_SERVER_INFO,
)
from ._meta import (
    META_SUBSCRIPTION_ID as META_SUBSCRIPTION_ID,
)
from ._meta import (
    RequestMeta as RequestMeta,
)
from ._meta import (
    check_protocol_version as check_protocol_version,
)
from ._meta import (
    log_message as log_message,
)
from ._meta import (
    missing_client_capabilities as missing_client_capabilities,
)
from ._meta import (
    parse_request_meta as parse_request_meta,
)
from ._meta import (
    progress_notification as progress_notification,
)
from ._meta import (
    require_client_capabilities as require_client_capabilities,
)
from ._node_messages import (
    BROADCAST_CHANNEL as BROADCAST_CHANNEL,
)
from ._node_messages import (
    CANCEL_CHANNEL as CANCEL_CHANNEL,
)
from ._node_messages import (
    Broadcast as Broadcast,
)
from ._node_messages import (
    ForwardedMessage as ForwardedMessage,
)
from ._node_messages import (
    decode_broadcast as decode_broadcast,
)
from ._node_messages import (
    decode_forwarded as decode_forwarded,
)
from ._node_messages import (
    encode_broadcast as encode_broadcast,
)
from ._node_messages import (
    encode_forwarded as encode_forwarded,
)
from ._node_messages import (
    forward_channel as forward_channel,
)
from ._node_messages import (
    logged_broadcast as logged_broadcast,
)
from ._node_messages import (
    node_channel as node_channel,
)
from ._node_messages import (
    node_of_stream_id as node_of_stream_id,
)
from ._node_messages import (
    orphaned_replies as orphaned_replies,
)
from ._node_messages import (
    stream_id_for as stream_id_for,
)
from ._notifications import (
    LOG_LEVELS as LOG_LEVELS,
)
from ._notifications import (
    LogLevel as LogLevel,
)
from ._notifications import (
    list_changed_notification as list_changed_notification,
)
from ._notifications import (
    log_notification as log_notification,
)
from ._notifications import (
    progress_notification_for as progress_notification_for,
)
from ._notifications import (
    resource_updated_notification as resource_updated_notification,
)
from ._params import (
    check_tool_call_params as check_tool_call_params,
)
from ._progress import (
    ProgressOrder as ProgressOrder,
)
from ._replies import (
    HttpReply as HttpReply,
)
from ._replies import (
    internal_error as internal_error,
)
from ._replies import (
    legacy_post_reply as legacy_post_reply,
)
from ._replies import (
    post_reply as post_reply,
)
from ._replies import (
    preflight_reply as preflight_reply,
)
from ._replies import (
    reply_lines as reply_lines,
)
from ._replies import (
    streams_replies as streams_replies,
)
from ._replies import (
    terminated_reply as terminated_reply,
)
from ._request_state import (
    MAX_REQUEST_STATE_SIZE as MAX_REQUEST_STATE_SIZE,
)
from ._request_state import (
    MIN_REQUEST_STATE_SECRET_SIZE as MIN_REQUEST_STATE_SECRET_SIZE,
)
from ._request_state import (
    RequestBinding as RequestBinding,
)
from ._request_state import (
    RequestStateSealer as RequestStateSealer,
)
from ._results import (
    CACHEABLE_METHODS as CACHEABLE_METHODS,
)
from ._results import (
    RESULT_TYPE_COMPLETE as RESULT_TYPE_COMPLETE,
)
from ._results import (
    RESULT_TYPE_INPUT_REQUIRED as RESULT_TYPE_INPUT_REQUIRED,
)
from ._results import (
    CacheHint as CacheHint,
)
from ._results import (
    complete_result as complete_result,
)
from ._session import (
    ServerSession as ServerSession,
)
from ._session import (
    node_of_request_id as node_of_request_id,
)
from ._session_config import (
    DEFAULT_MAX_IN_FLIGHT as DEFAULT_MAX_IN_FLIGHT,
)
from ._session_config import (
    DEFAULT_MAX_PENDING as DEFAULT_MAX_PENDING,
)
from ._session_config import (
    ServerConfig as ServerConfig,
)
from ._sse import (
    DEFAULT_MAX_EVENT_SIZE as DEFAULT_MAX_EVENT_SIZE,
)
from ._sse import (
    DEFAULT_MAX_LINE_SIZE as DEFAULT_MAX_LINE_SIZE,
)
from ._sse import (
    MAX_EVENT_SEQ as MAX_EVENT_SEQ,
)
from ._sse import (
    MAX_RETRY_MS as MAX_RETRY_MS,
)
from ._sse import (
    MAX_STREAM_ID_LENGTH as MAX_STREAM_ID_LENGTH,
)
from ._sse import (
    EventId as EventId,
)
from ._sse import (
    ServerSentEvent as ServerSentEvent,
)
from ._sse import (
    SSEComment as SSEComment,
)
from ._sse import (
    SSEDecoder as SSEDecoder,
)
from ._sse import (
    SSEItem as SSEItem,
)
from ._sse import (
    encode_comment as encode_comment,
)
from ._sse import (
    encode_event as encode_event,
)
from ._sse import (
    encode_message_event as encode_message_event,
)
from ._sse import (
    encode_priming_event as encode_priming_event,
)
from ._sse import (
    encode_retry as encode_retry,
)
from ._sse import (
    format_event_id as format_event_id,
)
from ._sse import (
    parse_event_id as parse_event_id,
)
from ._state import (
    TRANSITIONS as TRANSITIONS,
)
from ._state import (
    SessionInput as SessionInput,
)
from ._state import (
    SessionPhase as SessionPhase,
)
from ._state import (
    SessionState as SessionState,
)
from ._state import (
    render_state_diagram as render_state_diagram,
)
from ._stateless import (
    STATELESS_METHODS as STATELESS_METHODS,
)
from ._stateless import (
    CancelRequested as CancelRequested,
)
from ._stateless import (
    CoreAnswer as CoreAnswer,
)
from ._stateless import (
    StatelessDispatcher as StatelessDispatcher,
)
from ._stateless import (
    StatelessRequest as StatelessRequest,
)
from ._stateless import (
    StatelessServerConfig as StatelessServerConfig,
)
from ._subscriptions import (
    MAX_RESOURCE_SUBSCRIPTIONS as MAX_RESOURCE_SUBSCRIPTIONS,
)
from ._subscriptions import (
    Subscription as Subscription,
)
from ._subscriptions import (
    SubscriptionFilter as SubscriptionFilter,
)
from ._types import (
    Annotations as Annotations,
)
from ._types import (
    AudioContent as AudioContent,
)
from ._types import (
    BlobResourceContents as BlobResourceContents,
)
from ._types import (
    CallToolResult as CallToolResult,
)
from ._types import (
    CompleteResult as CompleteResult,
)
from ._types import (
    Completion as Completion,
)
from ._types import (
    ContentBlock as ContentBlock,
)
from ._types import (
    CreateMessageResult as CreateMessageResult,
)
from ._types import (
    ElicitResult as ElicitResult,
)
from ._types import (
    EmbeddedResource as EmbeddedResource,
)
from ._types import (
    GetPromptResult as GetPromptResult,
)
from ._types import (
    Icon as Icon,
)
from ._types import (
    ImageContent as ImageContent,
)
from ._types import (
    Implementation as Implementation,
)
from ._types import (
    ListPromptsResult as ListPromptsResult,
)
from ._types import (
    ListResourcesResult as ListResourcesResult,
)
from ._types import (
    ListResourceTemplatesResult as ListResourceTemplatesResult,
)
from ._types import (
    ListRootsResult as ListRootsResult,
)
from ._types import (
    ListToolsResult as ListToolsResult,
)
from ._types import (
    ModelHint as ModelHint,
)
from ._types import (
    ModelPreferences as ModelPreferences,
)
from ._types import (
    Prompt as Prompt,
)
from ._types import (
    PromptArgument as PromptArgument,
)
from ._types import (
    PromptMessage as PromptMessage,
)
from ._types import (
    ReadResourceResult as ReadResourceResult,
)
from ._types import (
    Resource as Resource,
)
from ._types import (
    ResourceContents as ResourceContents,
)
from ._types import (
    ResourceLink as ResourceLink,
)
from ._types import (
    ResourceTemplate as ResourceTemplate,
)
from ._types import (
    Root as Root,
)
from ._types import (
    SamplingContent as SamplingContent,
)
from ._types import (
    SamplingMessage as SamplingMessage,
)
from ._types import (
    TextContent as TextContent,
)
from ._types import (
    TextResourceContents as TextResourceContents,
)
from ._types import (
    Tool as Tool,
)
from ._types import (
    ToolAnnotations as ToolAnnotations,
)
from ._types import (
    ToolResultContent as ToolResultContent,
)
from ._types import (
    ToolUseContent as ToolUseContent,
)
from ._versions import (
    HANDSHAKE_VERSIONS as HANDSHAKE_VERSIONS,
)
from ._versions import (
    LATEST_HANDSHAKE_VERSION as LATEST_HANDSHAKE_VERSION,
)
from ._versions import (
    LATEST_VERSION as LATEST_VERSION,
)
from ._versions import (
    STATELESS_VERSIONS as STATELESS_VERSIONS,
)
from ._versions import (
    SUPPORTED_VERSIONS as SUPPORTED_VERSIONS,
)
from ._versions import (
    Era as Era,
)
from ._versions import (
    allows_batches as allows_batches,
)
from ._versions import (
    closes_sse_streams_early as closes_sse_streams_early,
)
from ._versions import (
    era_of as era_of,
)
from ._versions import (
    has_elicitation as has_elicitation,
)
from ._versions import (
    negotiate_version as negotiate_version,
)
from ._versions import (
    primes_sse_streams as primes_sse_streams,
)
from ._wire import (
    converter as converter,
)
from ._wire import (
    from_wire as from_wire,
)
from ._wire import (
    to_wire as to_wire,
)

__all__ = [
    "Annotations",
    "AudioContent",
    "BROADCAST_CHANNEL",
    "BlobResourceContents",
    "Broadcast",
    "CACHEABLE_METHODS",
    "CANCEL_CHANNEL",
    "CacheHint",
    "CallToolResult",
    "CancelRequested",
    "CompleteResult",
    "Completion",
    "ContentBlock",
    "CoreAnswer",
    "CreateMessageResult",
    "DECLINE",
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_ALLOWED_ORIGINS",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_LINE_SIZE",
    "DEFAULT_MAX_PENDING",
    "DecodedBody",
    "ElicitResult",
    "EmbeddedResource",
    "Era",
    "ErrorCode",
    "ErrorReceived",
    "ErrorResponse",
    "Event",
    "EventId",
    "ForwardedMessage",
    "GetPromptResult",
    "HANDSHAKE_VERSIONS",
    "Head",
    "HeadReader",
    "Headers",
    "HttpConfig",
    "HttpDecision",
    "HttpReply",
    "HttpRequest",
    "INPUT_REQUIRED_METHODS",
    "Icon",
    "ImageContent",
    "Implementation",
    "InputRequest",
    "InputResponses",
    "LAST_CHUNK",
    "LATEST_HANDSHAKE_VERSION",
    "LATEST_VERSION",
    "LEGACY_ENDPOINT_EVENT",
    "LOG_LEVELS",
    "ListPromptsResult",
    "ListResourceTemplatesResult",
    "ListResourcesResult",
    "ListRootsResult",
    "ListToolsResult",
    "LocalProtocolError",
    "LogLevel",
    "MAX_EVENT_SEQ",
    "MAX_INPUT_KEY_LENGTH",
    "MAX_INPUT_REQUESTS",
    "MAX_INPUT_RESPONSES",
    "MAX_REQUEST_STATE_SIZE",
    "MAX_RESOURCE_SUBSCRIPTIONS",
    "MAX_RETRY_MS",
    "MAX_STREAM_ID_LENGTH",
    "META_CLIENT_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_PROGRESS_TOKEN",
    "META_PROTOCOL_VERSION",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION_ID",
    "MIN_REQUEST_STATE_SECRET_SIZE",
    "Message",
    "ModelHint",
    "ModelPreferences",
    "NeedSession",
    "Notification",
    "NotificationReceived",
    "OpenLegacyStream",
    "OpenStream",
    "Preflight",
    "ProcessMessages",
    "ProgressOrder",
    "Prompt",
    "PromptArgument",
    "PromptMessage",
    "ProtocolError",
    "RESULT_TYPE_COMPLETE",
    "RESULT_TYPE_INPUT_REQUIRED",
    "ReadResourceResult",
    "Reject",
    "RemoteProtocolError",
    "ReplyReady",
    "Request",
    "RequestBinding",
    "RequestCancelled",
    "RequestId",
    "RequestMeta",
    "RequestReceived",
    "RequestStateSealer",
    "Resource",
    "ResourceContents",
    "ResourceLink",
    "ResourceTemplate",
    "Response",
    "ResponseMode",
    "ResponseReceived",
    "Root",
    "SSEComment",
    "SSEDecoder",
    "SSEItem",
    "STATELESS_METHODS",
    "STATELESS_VERSIONS",
    "SUPPORTED_VERSIONS",
    "SamplingContent",
    "SamplingMessage",
    "ServerConfig",
    "ServerSentEvent",
    "ServerSession",
    "SessionInitialized",
    "SessionInput",
    "SessionPhase",
    "SessionState",
    "StatelessDispatcher",
    "StatelessRequest",
    "StatelessServerConfig",
    "Subscription",
    "SubscriptionFilter",
    "TRANSITIONS",
    "TerminateSession",
    "TextContent",
    "TextResourceContents",
    "Tool",
    "ToolAnnotations",
    "ToolResultContent",
    "ToolUseContent",
    "allows_batches",
    "body_too_large",
    "check_protocol_version",
    "chunk",
    "check_tool_call_params",
    "closes_sse_streams_early",
    "complete_result",
    "converter",
    "cors_headers",
    "decide",
    "decide_with_session",
    "decode_body",
    "decode_broadcast",
    "decode_forwarded",
    "decode_header_value",
    "decode_message",
    "encode_batch",
    "encode_broadcast",
    "encode_comment",
    "encode_event",
    "encode_forwarded",
    "encode_message",
    "encode_message_event",
    "encode_priming_event",
    "encode_retry",
    "era_of",
    "error_response_for",
    "format_event_id",
    "forward_channel",
    "from_wire",
    "has_elicitation",
    "header_block",
    "input_required_result",
    "internal_error",
    "is_valid_session_id",
    "legacy_endpoint_url",
    "legacy_post_reply",
    "list_changed_notification",
    "log_message",
    "log_notification",
    "logged_broadcast",
    "message_from_json",
    "message_to_json",
    "missing_client_capabilities",
    "negotiate_version",
    "node_channel",
    "node_of_request_id",
    "node_of_stream_id",
    "orphaned_replies",
    "param_header_paths",
    "parse_event_id",
    "parse_input_responses",
    "parse_request_meta",
    "parse_request_state",
    "post_reply",
    "precheck",
    "preflight_reply",
    "primes_sse_streams",
    "progress_notification",
    "progress_notification_for",
    "read_head",
    "reject_for",
    "render_state_diagram",
    "reply_lines",
    "require_client_capabilities",
    "resource_not_found_code",
    "response_head",
    "resource_updated_notification",
    "response_start",
    "resume_point",
    "service_unavailable",
    "status_for_error",
    "stream_conflict",
    "stream_expired",
    "stream_id_for",
    "streams_replies",
    "terminated_reply",
    "to_wire",
    "validate_param_headers",
]
