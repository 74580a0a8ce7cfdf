"""Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 of the raw body.

Scheme: https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook.
The key is the app's client secret (or, for webhooks made in the store admin, the secret
shown under Settings → Notifications → Webhooks). The event id is `X-Shopify-Webhook-Id`,
which retries keep (or `X-Shopify-Event-Id` when absent); the type is `X-Shopify-Topic`
(`orders/create`).
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
    header_value,
    hmac_digest,
)

HEADER = "X-Shopify-Hmac-Sha256"


class ShopifyConfig(VerifierConfig):
    """`verify: {provider: shopify, secret: ...}` (the app's client secret)."""

    provider: Literal["shopify"]
    secret: Secret


class ShopifyVerifier:
    """Verifies `X-Shopify-Hmac-Sha256`; id and type come from headers."""

    provider: ClassVar[str] = "shopify"
    config_model: ClassVar[type[VerifierConfig]] = ShopifyConfig

    def __init__(self, config: ShopifyConfig) -> None:
        self.config = config
        self._key = config.secret.get_secret_value().encode()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        check_hmac(request, header=HEADER, key=self._key, message=request.body, encoding="base64")

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        external_id = header_value(request, "X-Shopify-Webhook-Id") or header_value(
            request, "X-Shopify-Event-Id"
        )
        return Identity(external_id, header_value(request, "X-Shopify-Topic"))


def sign(body: bytes, secret: str) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify would send for `body`."""
    return encode_signature(hmac_digest(secret.encode(), body), encoding="base64")
