"""Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of `"<t>." + body`.

Scheme: https://docs.stripe.com/webhooks#verify-manually. Same signing input and key as the
official `stripe` package (`stripe/_webhook.py`): the whole `whsec_...` string, UTF-8 encoded,
is the HMAC key. Where we differ, we are stricter: the body stays bytes (Stripe's library
decodes it as UTF-8 first), the header must parse cleanly, and timestamps are checked in
both directions (Stripe's library only refuses old ones).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import SecretStr, field_validator

from hookline.config.types import Duration
from hookline.errors import VerificationError
from hookline.verify.base import (
    Identity,
    InboundRequest,
    VerifierConfig,
    check_timestamp,
    constant_time_equal,
    hmac_digest,
    payload_field,
    require_header,
)

HEADER = "Stripe-Signature"
# At most 18 digits: int() stays cheap and float arithmetic in check_timestamp cannot overflow.
_TIMESTAMP = re.compile(r"[0-9]{1,18}")


class StripeConfig(VerifierConfig):
    """`verify: {provider: stripe, secret: whsec_..., tolerance: 5m}`.

    `secret` may be a list while an endpoint secret is being rolled: Stripe then signs with
    every active secret, and a request passes if any of them matches.
    """

    provider: Literal["stripe"]
    secret: SecretStr | list[SecretStr]
    # Stripe's documented default tolerance is five minutes
    # (https://docs.stripe.com/webhooks#replay-attacks).
    tolerance: Duration = timedelta(seconds=300)

    @field_validator("secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr | list[SecretStr]) -> SecretStr | list[SecretStr]:
        secrets = value if isinstance(value, list) else [value]
        # A blank secret usually means an unset ${ENV_VAR}; refusing it avoids a fail-open key.
        if not secrets or any(not s.get_secret_value().strip() for s in secrets):
            raise ValueError("secret must not be empty")
        return value

    @property
    def secrets(self) -> tuple[SecretStr, ...]:
        return tuple(self.secret) if isinstance(self.secret, list) else (self.secret,)


class StripeVerifier:
    """Verifies `Stripe-Signature`; the event id and type come from the JSON payload."""

    provider: ClassVar[str] = "stripe"
    config_model: ClassVar[type[VerifierConfig]] = StripeConfig

    def __init__(self, config: StripeConfig) -> None:
        self.config = config
        # Encoded once, so a secret that is not valid UTF-8 fails here and not per request.
        self._keys = tuple(s.get_secret_value().encode() for s in config.secrets)

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        timestamp, candidates = _parse_header(require_header(request, HEADER))
        signed = b"%d." % timestamp + request.body
        expected = [hmac_digest(key, signed).hex() for key in self._keys]
        # Hex is compared lower-cased: Stripe sends lower-case, and case carries no information.
        if not any(constant_time_equal(e, c.lower()) for e in expected for c in candidates):
            raise VerificationError("signature does not match the payload")
        # The timestamp is checked only once the signature holds, so "too old" / "in the future"
        # is said only of authentic requests (a clock problem) and never helps a forger.
        check_timestamp(timestamp, now=now, tolerance_seconds=self.config.tolerance.total_seconds())

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        # Stripe retries reuse the event `id` (evt_...): it is the dedup key.
        return Identity(payload_field(payload, "id"), payload_field(payload, "type"))


def _parse_header(header: str) -> tuple[int, list[str]]:
    """The timestamp and every v1 signature; anything ambiguous is refused."""
    if not header.isascii():
        raise VerificationError(f"malformed {HEADER} header")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise VerificationError(f"malformed {HEADER} header")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
        # Other schemes are ignored, as Stripe advises, to prevent downgrade attacks: v0 is a
        # test-mode signature with a fake secret (https://docs.stripe.com/webhooks#verify-manually).
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise VerificationError(f"{HEADER} header has no valid timestamp")
    if not signatures:
        raise VerificationError(f"{HEADER} header has no v1 signature")
    return int(timestamps[0]), signatures


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` value Stripe would send for `body` (used by `trigger` and tests)."""
    signature = hmac_digest(secret.encode(), b"%d." % timestamp + body).hex()
    return f"t={timestamp},v1={signature}"
