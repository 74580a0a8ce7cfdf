"""One working configuration per provider, with the secret `trigger` needs to sign for it.

Shared by the trigger and property tests, so every registered provider is exercised the same
way: `CATALOG[provider]` is `(verify config, --secret value)`.
"""

from __future__ import annotations

import base64
from typing import Any

BASE_URL = "http://hookline.test"  # the ASGI test client's base; Twilio signs URLs under it
SW_SECRET = "whsec_" + base64.b64encode(b"catalog-standard-webhooks-key").decode()

CATALOG: dict[str, tuple[dict[str, Any], str]] = {
    "stripe": ({"provider": "stripe", "secret": "whsec_catalog_stripe"}, "whsec_catalog_stripe"),
    "github": ({"provider": "github", "secret": "catalog-github"}, "catalog-github"),
    "gitlab": ({"provider": "gitlab", "secret": "catalog-gitlab"}, "catalog-gitlab"),
    "standard-webhooks": ({"provider": "standard-webhooks", "secret": SW_SECRET}, SW_SECRET),
    "shopify": ({"provider": "shopify", "secret": "catalog-shopify"}, "catalog-shopify"),
    "slack": ({"provider": "slack", "secret": "catalog-slack"}, "catalog-slack"),
    "telegram": ({"provider": "telegram", "secret": "catalog_telegram"}, "catalog_telegram"),
    "meta": (
        {"provider": "meta", "secret": "catalog-meta", "verify_token": "catalog-verify"},
        "catalog-meta",
    ),
    "twilio": (
        {"provider": "twilio", "secret": "catalog-twilio", "public_url": BASE_URL},
        "catalog-twilio",
    ),
    "typeform": ({"provider": "typeform", "secret": "catalog-typeform"}, "catalog-typeform"),
    "hmac": ({"provider": "hmac", "secret": "catalog-hmac"}, "catalog-hmac"),
    "basic": ({"provider": "basic", "username": "hook", "password": "line"}, "hook:line"),
    "bearer": ({"provider": "bearer", "token": "catalog-bearer"}, "catalog-bearer"),
    "none": ({"provider": "none"}, ""),
}
