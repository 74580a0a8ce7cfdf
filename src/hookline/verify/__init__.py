"""Verifiers (providers): one module each, registered by the `provider:` name users write.

Registry name = YAML value = module name, with `-` → `_` (`standard-webhooks`). Every
provider's config snippet and where its sender's setting lives: docs/providers.md.
"""

from __future__ import annotations

from hookline.registry import Registry

VERIFIERS = Registry(
    "provider",
    {
        "stripe": "hookline.verify.stripe:StripeVerifier",
        "github": "hookline.verify.github:GithubVerifier",
        "gitlab": "hookline.verify.gitlab:GitlabVerifier",
        "standard-webhooks": "hookline.verify.standard_webhooks:StandardWebhooksVerifier",
        "shopify": "hookline.verify.shopify:ShopifyVerifier",
        "slack": "hookline.verify.slack:SlackVerifier",
        "telegram": "hookline.verify.telegram:TelegramVerifier",
        "meta": "hookline.verify.meta:MetaVerifier",
        "twilio": "hookline.verify.twilio:TwilioVerifier",
        "typeform": "hookline.verify.typeform:TypeformVerifier",
        "hmac": "hookline.verify.hmac:HmacVerifier",
        "basic": "hookline.verify.basic:BasicVerifier",
        "bearer": "hookline.verify.bearer:BearerVerifier",
        "none": "hookline.verify.none:NoneVerifier",
    },
)
