"""When a client resumes an SSE stream: the server's retry, Last-Event-ID, bounded backoff."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from scaled_mcp.protocol.client import SSEResumption
from scaled_mcp.protocol.jsonrpc import LocalProtocolError, RemoteProtocolError
from scaled_mcp.protocol.sse import SSEDecoder, encode_message_event, encode_priming_event


def _feed(resumption: SSEResumption, decoder: SSEDecoder, data: bytes) -> None:
    resumption.observe(decoder, decoder.feed(data))


def test_a_primed_stream_is_resumed_after_the_servers_retry() -> None:
    # The sse-retry scenario: a priming event with an id and retry 500, then the close.
    resumption = SSEResumption()
    decoder = SSEDecoder()
    _feed(resumption, decoder, b"id: event-1\nretry: 500\ndata: \n\n")
    assert resumption.can_resume
    assert resumption.last_event_id == "event-1"
    assert resumption.next_delay() == 0.5
    assert dict(resumption.resume_headers(protocol_version="2025-11-25", session_id="s")) == {
        "accept": "text/event-stream",
        "mcp-protocol-version": "2025-11-25",
        "mcp-session-id": "s",
        "last-event-id": "event-1",
    }


def test_without_an_event_id_there_is_nothing_to_resume() -> None:
    resumption = SSEResumption()
    decoder = SSEDecoder()
    _feed(resumption, decoder, encode_message_event(b'{"jsonrpc":"2.0","method":"x"}'))
    assert not resumption.can_resume
    assert resumption.next_delay() is None
    with pytest.raises(LocalProtocolError):
        resumption.resume_headers(protocol_version="2025-11-25")


def test_failed_reconnections_back_off_and_give_up() -> None:
    resumption = SSEResumption(default_retry_ms=100, max_retry_ms=350, max_attempts=4)
    decoder = SSEDecoder()
    _feed(resumption, decoder, encode_priming_event("a"))
    assert [resumption.next_delay() for _ in range(5)] == [0.1, 0.2, 0.35, 0.35, None]
    # An event on the resumed stream resets the count.
    resumed = resumption.decoder()
    _feed(resumption, resumed, encode_message_event(b"{}", event_id="b"))
    assert resumption.last_event_id == "b"
    assert resumption.next_delay() == 0.1


def test_a_servers_long_retry_is_respected() -> None:
    resumption = SSEResumption(max_retry_ms=1000)
    _feed(resumption, SSEDecoder(), b"id: x\nretry: 5000\ndata: \n\n")
    assert resumption.next_delay() == 5.0
    assert resumption.next_delay() == 5.0


def test_the_resumed_decoder_keeps_the_last_event_id() -> None:
    resumption = SSEResumption()
    _feed(resumption, SSEDecoder(), encode_priming_event("e7"))
    decoder = resumption.decoder()
    assert decoder.last_event_id == "e7"
    # A message without an id keeps it; an empty id resets it.
    _feed(resumption, decoder, b"data: {}\n\n")
    assert resumption.last_event_id == "e7"
    _feed(resumption, decoder, b"id\ndata: {}\n\n")
    assert resumption.last_event_id is None


def test_bad_settings_are_refused() -> None:
    with pytest.raises(LocalProtocolError):
        SSEResumption(default_retry_ms=10, max_retry_ms=5)
    with pytest.raises(LocalProtocolError):
        SSEResumption(max_attempts=-1)


_CHUNKS = st.lists(
    st.one_of(
        st.builds(lambda i: encode_priming_event(f"id-{i}"), st.integers(0, 99)),
        st.builds(lambda r: f"retry: {r}\n\n".encode(), st.integers(0, 100_000)),
        st.just(b"data: {}\n\n"),
        st.just(b": comment\n\n"),
        st.binary(max_size=20),
    ),
    max_size=10,
)


@settings(max_examples=300, deadline=None)
@given(
    connections=st.lists(_CHUNKS, min_size=1, max_size=6),
    max_attempts=st.integers(0, 6),
    default_retry_ms=st.integers(0, 2000),
    require_event_id=st.booleans(),
)
def test_delays_are_bounded_and_attempts_end(
    connections: list[list[bytes]], max_attempts: int, default_retry_ms: int, require_event_id: bool
) -> None:
    resumption = SSEResumption(
        default_retry_ms=default_retry_ms,
        max_retry_ms=max(default_retry_ms, 30_000),
        max_attempts=max_attempts,
        require_event_id=require_event_id,
    )
    decoder = SSEDecoder()
    for chunks in connections:
        for chunk in chunks:
            try:
                _feed(resumption, decoder, chunk)
            except RemoteProtocolError:  # a broken stream: the decoder reports it
                break
        delay = resumption.next_delay()
        if delay is None:
            assert not resumption.can_resume or resumption.attempts >= max_attempts
            return
        assert 0 <= delay <= max(30_000, resumption.retry_ms or 0) / 1000
        assert resumption.attempts <= max_attempts
        decoder = resumption.decoder()


def test_the_get_stream_reopens_without_an_event_id() -> None:
    resumption = SSEResumption(require_event_id=False, max_attempts=2)
    assert resumption.can_resume
    assert dict(resumption.resume_headers(protocol_version="2025-11-25", session_id="s")) == {
        "accept": "text/event-stream",
        "mcp-protocol-version": "2025-11-25",
        "mcp-session-id": "s",
    }
    assert resumption.next_delay() == 1.0
    assert resumption.next_delay() == 2.0
    assert resumption.next_delay() is None


@pytest.mark.parametrize(
    ("status", "retried"),
    [(None, True), (502, True), (503, True), (429, True), (404, False), (405, False), (400, False)],
)
def test_a_failed_resumption_waits_only_for_what_may_recover(
    status: int | None, retried: bool
) -> None:
    resumption = SSEResumption(default_retry_ms=100)
    _feed(resumption, SSEDecoder(), encode_priming_event("a"))
    assert resumption.next_delay() == 0.1
    delay = resumption.resume_failed(status)
    assert (delay == 0.2) if retried else (delay is None)
    if not retried:
        assert resumption.next_delay() is None
