"""Verifiers (providers): one module each, registered by the `provider:` name users write."""

from __future__ import annotations

from hookline.registry import Registry

VERIFIERS = Registry(
    "provider",
    {
        "stripe": "hookline.verify.stripe:StripeVerifier",
        "hmac": "hookline.verify.hmac:HmacVerifier",
        "none": "hookline.verify.none:NoneVerifier",
    },
)
