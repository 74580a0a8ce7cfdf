"""Typeform: `Typeform-Signature: sha256=<base64>`, HMAC-SHA256 of the raw body.

Scheme: https://www.typeform.com/developers/webhooks/secure-your-webhooks/. The secret is
the one set on the form's webhook (Connect → Webhooks → Edit → Secret). The event id is the
payload's `event_id` (kept by retries), the type its `event_type` (`form_response`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from hookline.verify.base import (
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    check_hmac,
    encode_signature,
    hmac_digest,
    payload_field,
)

HEADER = "Typeform-Signature"
PREFIX = "sha256="


class TypeformConfig(VerifierConfig):
    """`verify: {provider: typeform, secret: ...}`."""

    provider: Literal["typeform"]
    secret: Secret


class TypeformVerifier:
    """Verifies `Typeform-Signature`; id and type come from the payload."""

    provider: ClassVar[str] = "typeform"
    config_model: ClassVar[type[VerifierConfig]] = TypeformConfig

    def __init__(self, config: TypeformConfig) -> None:
        self.config = config
        self._key = config.secret.get_secret_value().encode()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        check_hmac(
            request,
            header=HEADER,
            key=self._key,
            message=request.body,
            prefix=PREFIX,
            encoding="base64",
        )

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        return Identity(payload_field(payload, "event_id"), payload_field(payload, "event_type"))


def sign(body: bytes, secret: str) -> str:
    """The `Typeform-Signature` value Typeform would send for `body`."""
    return encode_signature(hmac_digest(secret.encode(), body), prefix=PREFIX, encoding="base64")
