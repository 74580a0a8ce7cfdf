"""Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 of `"v0:<timestamp>:" + body` with the
app's signing secret, and `X-Slack-Request-Timestamp` within the tolerance.

Scheme: https://api.slack.com/authentication/verifying-requests-from-slack (the official
`slack_sdk.signature.SignatureVerifier` does the same; it decodes the body as UTF-8 first,
we sign the bytes). When an Events API request URL is saved, Slack sends a signed
`url_verification` event: it is answered with its `challenge` as text/plain and not stored.
The event id is the payload's `event_id` (kept by retries); the type is the inner
`event.type` of an `event_callback` (`app_mention`), else the payload's `type`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import orjson

from hookline.config.types import Duration
from hookline.verify.base import (
    HandshakeReply,
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    check_hmac,
    check_timestamp,
    encode_signature,
    hmac_digest,
    payload_field,
    require_header,
    unix_time,
)

HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
PREFIX = "v0="


class SlackConfig(VerifierConfig):
    """`verify: {provider: slack, secret: ..., tolerance: 5m}` (Basic Information →
    App Credentials → Signing Secret)."""

    provider: Literal["slack"]
    secret: Secret
    tolerance: Duration = timedelta(seconds=300)  # Slack's documented five minutes


class SlackVerifier:
    """Verifies `X-Slack-Signature`; answers `url_verification`; id and type from payload."""

    provider: ClassVar[str] = "slack"
    config_model: ClassVar[type[VerifierConfig]] = SlackConfig

    def __init__(self, config: SlackConfig) -> None:
        self.config = config
        self._key = config.secret.get_secret_value().encode()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        stamp = require_header(request, TIMESTAMP_HEADER)
        timestamp = unix_time(stamp, TIMESTAMP_HEADER)
        message = f"v0:{stamp}:".encode() + request.body
        check_hmac(request, header=HEADER, key=self._key, message=message, prefix=PREFIX)
        tolerance = self.config.tolerance.total_seconds()
        check_timestamp(timestamp, now=now, tolerance_seconds=tolerance)

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        payload = _interactive(payload)
        kind = payload_field(payload, "type")
        if kind == "event_callback" and isinstance(payload, Mapping):
            kind = payload_field(payload.get("event"), "type") or kind
        return Identity(payload_field(payload, "event_id"), kind)

    def handshake(self, request: InboundRequest, payload: Any) -> HandshakeReply | None:
        if payload_field(payload, "type") != "url_verification":
            return None
        challenge = payload_field(payload, "challenge")
        return None if challenge is None else HandshakeReply(body=challenge.encode())


def _interactive(payload: Any) -> Any:
    """Interactivity requests are forms whose `payload` field is the JSON event."""
    if isinstance(payload, Mapping) and isinstance(payload.get("payload"), str):
        try:
            return orjson.loads(payload["payload"])
        except orjson.JSONDecodeError:
            return None
    return payload


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The two headers Slack would send for `body` at `timestamp`."""
    digest = hmac_digest(secret.encode(), f"v0:{timestamp}:".encode() + body)
    return {TIMESTAMP_HEADER: str(timestamp), HEADER: encode_signature(digest, prefix=PREFIX)}
