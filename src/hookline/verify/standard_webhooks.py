"""Standard Webhooks (and Svix, its origin): `webhook-id`, `webhook-timestamp` and
`webhook-signature: v1,<base64> [v1,<base64> ...]`, HMAC-SHA256 of `"<id>.<timestamp>." + body`.

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md.
The key is the base64 after the `whsec_` prefix. Several space-separated signatures are sent
while a secret is rotated; any `v1` may match, other versions (`v1a` asymmetric) are ignored.
Svix-powered senders (Clerk, Resend, ...) send the same scheme as `svix-id`, `svix-timestamp`
and `svix-signature`: a request that carries no `webhook-*` header is read in that dialect,
as the official `svix` library does. Stricter than the official libraries: the timestamp must
be whole seconds, and the secret must be valid base64 (checked when the config loads).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import SecretStr, field_validator

from hookline.config.types import Duration
from hookline.errors import VerificationError
from hookline.verify.base import (
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    check_timestamp,
    constant_time_equal,
    header_value,
    hmac_digest,
    payload_field,
    require_header,
    unix_time,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (the prefix is optional, padding too)."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("secret must be base64 after the whsec_ prefix") from None
    if not key:
        raise ValueError("secret must not be empty")
    return key


class StandardWebhooksConfig(VerifierConfig):
    """`verify: {provider: standard-webhooks, secret: whsec_..., tolerance: 5m}`."""

    provider: Literal["standard-webhooks"]
    secret: Secret
    # The spec's recommended tolerance is five minutes, as in the official libraries.
    tolerance: Duration = timedelta(seconds=300)

    @field_validator("secret")
    @classmethod
    def _secret_is_base64(cls, value: SecretStr) -> SecretStr:
        decode_secret(value.get_secret_value())
        return value


class StandardWebhooksVerifier:
    """Verifies `webhook-signature` (or `svix-signature`); the id is `webhook-id`."""

    provider: ClassVar[str] = "standard-webhooks"
    config_model: ClassVar[type[VerifierConfig]] = StandardWebhooksConfig

    def __init__(self, config: StandardWebhooksConfig) -> None:
        self.config = config
        self._key = decode_secret(config.secret.get_secret_value())

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        prefix = _dialect(request)
        msg_id = require_header(request, f"{prefix}-id")
        if not (msg_id.isascii() and msg_id.isprintable()):
            raise VerificationError(f"{prefix}-id header is not printable ASCII")
        stamp = require_header(request, f"{prefix}-timestamp")
        timestamp = unix_time(stamp, f"{prefix}-timestamp")
        candidates = _v1_signatures(require_header(request, f"{prefix}-signature"), prefix)
        expected = _signature(self._key, msg_id, timestamp, request.body)
        if not any(constant_time_equal(expected, c) for c in candidates):
            raise VerificationError("signature does not match the payload")
        tolerance = self.config.tolerance.total_seconds()
        check_timestamp(timestamp, now=now, tolerance_seconds=tolerance)

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        # The spec's payload shape is {"type", "timestamp", "data"}.
        msg_id = header_value(request, f"{_dialect(request)}-id")
        return Identity(msg_id, payload_field(payload, "type"))


def _dialect(request: InboundRequest) -> str:
    if any(f"webhook-{name}" in request.headers for name in ("id", "timestamp", "signature")):
        return "webhook"
    return "svix"


def _v1_signatures(header: str, prefix: str) -> list[str]:
    candidates: list[str] = []
    for item in header.split():
        version, sep, value = item.partition(",")
        if not sep:
            raise VerificationError(f"malformed {prefix}-signature header")
        if version == "v1":
            candidates.append(value)
    if not candidates:
        raise VerificationError(f"{prefix}-signature header has no v1 signature")
    return candidates


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac_digest(key, f"{msg_id}.{timestamp}.".encode() + body)
    return base64.b64encode(digest).decode()


def sign(
    body: bytes, secret: str, *, msg_id: str, timestamp: int, dialect: str = "webhook"
) -> dict[str, str]:
    """The three headers a Standard Webhooks (or, with dialect="svix", Svix) sender adds."""
    signature = _signature(decode_secret(secret), msg_id, timestamp, body)
    return {
        f"{dialect}-id": msg_id,
        f"{dialect}-timestamp": str(timestamp),
        f"{dialect}-signature": f"v1,{signature}",
    }
