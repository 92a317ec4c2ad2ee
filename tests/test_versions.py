"""Revisions, eras and version negotiation."""

from __future__ import annotations

import pytest

from scaled_mcp.protocol.versions import (
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    STATELESS_VERSIONS,
    SUPPORTED_VERSIONS,
    Era,
    allows_batches,
    closes_sse_streams_early,
    era_of,
    has_elicitation,
    negotiate_version,
    primes_sse_streams,
)
from tests.spec import REVISIONS


def test_every_published_revision_is_supported() -> None:
    assert SUPPORTED_VERSIONS == REVISIONS
    assert all(era_of(v) is Era.HANDSHAKE for v in HANDSHAKE_VERSIONS)
    assert all(era_of(v) is Era.STATELESS for v in STATELESS_VERSIONS)
    assert era_of("2023-01-01") is None


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_a_supported_version_is_answered_with_itself(version: str) -> None:
    assert negotiate_version(version) == version


@pytest.mark.parametrize("requested", ["2026-07-28", "2099-01-01", "", None, 5])
def test_otherwise_the_latest_handshake_version(requested: object) -> None:
    assert negotiate_version(requested) == LATEST_HANDSHAKE_VERSION


def test_features_by_revision() -> None:
    assert [allows_batches(v) for v in REVISIONS] == [False, True, False, False, False]
    assert [has_elicitation(v) for v in REVISIONS] == [False, False, True, True, True]


def test_sse_polling_by_revision() -> None:
    # 2025-11-25 primes a request's stream and may close it early; the
    # stateless era's streams are not resumable at all.
    assert [primes_sse_streams(v) for v in REVISIONS] == [False, False, False, True, False]
    assert [closes_sse_streams_early(v) for v in REVISIONS] == [False, False, False, True, False]
    assert not primes_sse_streams("")  # not negotiated yet
    assert not closes_sse_streams_early("")
