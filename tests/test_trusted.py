"""The trusted fast path: what it builds, and that it skips no check it does not mean to."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import attrs
import pytest

import scaled_mcp
from scaled_mcp.protocol._trusted import TRUSTED_MARK, trusted_constructor, trusted_init
from scaled_mcp.protocol.http import HttpRequest
from scaled_mcp.protocol.jsonrpc import ErrorResponse, Notification, Request, Response
from scaled_mcp.protocol.session import RequestReceived
from scaled_mcp.protocol.sse import EventId, ServerSentEvent, SSEComment
from scaled_mcp.protocol.stateless import RequestMeta, StatelessRequest
from scaled_mcp.protocol.types import CallToolResult, TextContent, Tool


def _trusted_classes() -> set[type[Any]]:
    """Every class of the package built on the trusted fast path."""
    found: set[type[Any]] = set()
    for info in pkgutil.walk_packages(scaled_mcp.__path__, scaled_mcp.__name__ + "."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and TRUSTED_MARK in value.__dict__:
                found.add(value)
    return found


TRUSTED = _trusted_classes()


def _checks(cls: type[Any]) -> frozenset[str]:
    """The checks building ``cls`` through its own ``__init__`` makes; for an
    ``__attrs_post_init__``, the names its code uses (other than the fields)."""
    fields = attrs.fields(cls)
    found = set()
    for field in fields:
        if field.validator is not None:
            found.add(f"validator of {field.name}")
        if field.converter is not None:
            found.add(f"converter of {field.name}")
    for hook in ("__attrs_pre_init__", "__attrs_post_init__"):
        method = getattr(cls, hook, None)
        if method is not None:
            names = sorted(set(method.__code__.co_names) - {field.name for field in fields})
            found.add(f"{hook}: {', '.join(names)}")
    return frozenset(found)


#: The checks the fast path skips on purpose: the code that builds these classes
#: through it has made them already. Any other check on a trusted class is one
#: the fast path would skip by mistake.
SKIPPED_ON_PURPOSE: dict[type[Any], frozenset[str]] = {
    # message_from_json checks every member it reads; send_response and the
    # stateless dispatcher's complete check the result.
    Request: frozenset({"__attrs_post_init__: _check_method, _check_params, _check_request_id"}),
    Notification: frozenset({"__attrs_post_init__: _check_method, _check_params"}),
    Response: frozenset({"__attrs_post_init__: LocalProtocolError, _check_request_id, dict, type"}),
    ErrorResponse: frozenset(
        {"__attrs_post_init__: LocalProtocolError, _check_request_id, int, str, type"}
    ),
    # _parse_request_meta checks every field of the envelope.
    RequestMeta: frozenset(
        {"__attrs_post_init__: LocalProtocolError, _LOG_RANK, dict, int, str, type"}
    ),
    # The SSE decoder gives what the stream held; the checks are for what a server sends.
    ServerSentEvent: frozenset(
        {"__attrs_post_init__: LocalProtocolError, _check_field_value, _check_retry, str, type"}
    ),
    SSEComment: frozenset({"__attrs_post_init__: LocalProtocolError, str, type"}),
    # parse_event_id checks both parts.
    EventId: frozenset(
        {
            "__attrs_post_init__: LocalProtocolError, MAX_EVENT_SEQ, MAX_STREAM_ID_LENGTH, "
            "_is_stream_id, int, type"
        }
    ),
    # from_wire and from_parsed give header names already lower-cased.
    HttpRequest: frozenset({"converter of headers"}),
}


def test_the_scan_finds_the_trusted_classes() -> None:
    assert set(SKIPPED_ON_PURPOSE) <= TRUSTED
    assert {RequestReceived, StatelessRequest, CallToolResult, TextContent, Tool} <= TRUSTED


@pytest.mark.parametrize("cls", sorted(TRUSTED, key=str), ids=str)
def test_a_trusted_class_skips_only_what_its_builder_checks(cls: type[Any]) -> None:
    # A validator, a converter or a check added to one of these classes must be
    # made by the code that builds it through the fast path too, and listed above.
    assert _checks(cls) == SKIPPED_ON_PURPOSE.get(cls, frozenset())


def test_the_checks_are_seen() -> None:
    @attrs.frozen(slots=True)
    class Checked:
        a: int = attrs.field(validator=attrs.validators.instance_of(int))
        b: str = attrs.field(converter=str)

        def __attrs_post_init__(self) -> None:
            if self.a < 0:
                raise ValueError(self.a)

    assert _checks(Checked) == {
        "validator of a",
        "converter of b",
        "__attrs_post_init__: ValueError",
    }


def test_a_trusted_constructor_builds_what_the_class_builds() -> None:
    build = trusted_constructor(Request)
    built = build(7, "tools/call", {"name": "x"})
    assert type(built) is Request
    assert built == Request(7, "tools/call", {"name": "x"})
    assert build(id=7, method="m", params=None) == Request(7, "m")
    with pytest.raises(TypeError):
        build(7, "m")  # every field is given: none has a default here
    # Nothing is checked: that is the caller's job.
    assert build(None, "", None).id is None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.id = 8  # type: ignore[misc]


def test_a_trusted_init_keeps_defaults_and_factories() -> None:
    first = CallToolResult()
    second = CallToolResult()
    assert first.content == [] and first.content is not second.content
    assert Tool(name="t").input_schema == {"type": "object"}
    assert TextContent(text="hi") == TextContent(text="hi", type="text")
    with pytest.raises(TypeError):
        TextContent("hi")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        TextContent()  # type: ignore[call-arg]


def test_the_fast_path_refuses_what_it_cannot_build() -> None:
    @attrs.define(slots=False)
    class Unslotted:
        a: int

    @attrs.frozen(slots=True)
    class Positional:
        a: int

    @attrs.frozen(slots=True, kw_only=True)
    class Validated:
        a: int = attrs.field(validator=attrs.validators.instance_of(int))

    with pytest.raises(TypeError, match="slotted"):
        trusted_constructor(Unslotted)
    with pytest.raises(TypeError, match="keyword-only"):
        trusted_init(Positional)
    with pytest.raises(TypeError, match="checks its fields"):
        trusted_init(Validated)
