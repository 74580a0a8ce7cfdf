"""Slack: signatures against slack_sdk's SignatureVerifier, url_verification, identity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.signature import Clock, SignatureVerifier

from hookline.errors import VerificationError
from hookline.verify.base import HandshakeReply, Identity, InboundRequest
from hookline.verify.slack import SlackConfig, SlackVerifier, sign

SECRET = "slack-unit-signing-secret"
NOW = 1_700_000_000


class FixedClock(Clock):
    """slack_sdk's clock seam, pinned to NOW."""

    def now(self) -> float:
        return float(NOW)


def _verifier(**extra: Any) -> SlackVerifier:
    return SlackVerifier(SlackConfig(provider="slack", secret=SECRET, **extra))


def _request(headers: dict[str, str], body: bytes) -> InboundRequest:
    lowered = {k.lower(): v for k, v in headers.items()}
    return InboundRequest(method="POST", path="/hooks/slack", headers=lowered, query={}, body=body)


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class TestOfficialInterop:
    @settings(max_examples=25, deadline=None)
    @given(body=st.text(max_size=200))
    def test_both_ways(self, body: str) -> None:
        """slack_sdk accepts our sign(); its generate_signature passes our verify."""
        official = SignatureVerifier(SECRET, FixedClock())
        assert official.is_valid_request(body.encode(), sign(body.encode(), SECRET, NOW))
        theirs = official.generate_signature(timestamp=str(NOW), body=body)
        assert theirs is not None
        headers = {"X-Slack-Request-Timestamp": str(NOW), "X-Slack-Signature": theirs}
        _verifier().verify(_request(headers, body.encode()), now=_at(NOW))


class TestVerify:
    def test_tolerance_from_config(self) -> None:
        """A request 599 s old passes with tolerance 10m and fails with the default."""
        request = _request(sign(b"{}", SECRET, NOW - 599), b"{}")
        _verifier(tolerance="10m").verify(request, now=_at(NOW))
        with pytest.raises(VerificationError, match="too old"):
            _verifier().verify(request, now=_at(NOW))


class TestHandshake:
    def test_url_verification_answers_the_challenge(self) -> None:
        """The challenge comes back as text; other payloads are ingested."""
        payload = {"type": "url_verification", "challenge": "abc123", "token": "t"}
        reply = _verifier().handshake(_request({}, b""), payload)
        assert reply == HandshakeReply(body=b"abc123")
        assert _verifier().handshake(_request({}, b""), {"type": "event_callback"}) is None
        assert _verifier().handshake(_request({}, b""), {"type": "url_verification"}) is None


class TestIdentify:
    @pytest.mark.parametrize(
        ("payload", "expected"),
        [
            (
                {"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}},
                ("Ev1", "message"),
            ),
            (
                {"type": "event_callback", "event_id": "Ev2", "event": "odd"},
                ("Ev2", "event_callback"),
            ),
            ({"type": "app_rate_limited"}, (None, "app_rate_limited")),
            ({"payload": '{"type": "block_actions"}'}, (None, "block_actions")),  # interactivity
            ({"payload": "{broken"}, (None, None)),
            ({"command": "/weather", "text": "Moscow"}, (None, None)),  # slash command form
            (None, (None, None)),
        ],
    )
    def test_identify(self, payload: Any, expected: tuple[str | None, str | None]) -> None:
        """event_id is the id; the inner event type names event_callbacks."""
        assert _verifier().identify(_request({}, b""), payload) == Identity(*expected)
