"""GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body with the secret.

Scheme: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries.
The event id is `X-GitHub-Delivery` (a GUID that redeliveries keep), the type is
`X-GitHub-Event` plus the payload's `action` when there is one (`pull_request.opened`).

GitHub sends `ping` once when a webhook is created or "Redeliver"ed from its settings page;
it expects a 2xx. Hookline verifies it and answers `{"ok": true, "ping": true}` but does not
store it: it says nothing about the repository, and storing it would run catch-all routes.
Only SHA-256 is accepted; the legacy SHA-1 `X-Hub-Signature` header is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

import orjson

from hookline.verify.base import (
    HandshakeReply,
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    check_hmac,
    encode_signature,
    header_value,
    hmac_digest,
    payload_field,
)

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


class GithubConfig(VerifierConfig):
    """`verify: {provider: github, secret: ...}` (the webhook's "Secret" field)."""

    provider: Literal["github"]
    secret: Secret


class GithubVerifier:
    """Verifies `X-Hub-Signature-256`; answers `ping`; id and type come from headers."""

    provider: ClassVar[str] = "github"
    config_model: ClassVar[type[VerifierConfig]] = GithubConfig

    def __init__(self, config: GithubConfig) -> None:
        self.config = config
        self._key = config.secret.get_secret_value().encode()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        check_hmac(request, header=HEADER, key=self._key, message=request.body, prefix=PREFIX)

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        kind = header_value(request, "X-GitHub-Event")
        action = payload_field(_json_payload(payload), "action")
        if kind is not None and action is not None:
            kind = f"{kind}.{action}"
        return Identity(header_value(request, "X-GitHub-Delivery"), kind)

    def handshake(self, request: InboundRequest, payload: Any) -> HandshakeReply | None:
        if header_value(request, "X-GitHub-Event") != "ping":
            return None
        return HandshakeReply(body=b'{"ok":true,"ping":true}', content_type="application/json")


def _json_payload(payload: Any) -> Any:
    """The event object: GitHub's form content type wraps the JSON in a `payload` field."""
    if isinstance(payload, Mapping) and set(payload) == {"payload"}:
        try:
            return orjson.loads(payload["payload"])
        except orjson.JSONDecodeError:
            return None
    return payload


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub would send for `body`."""
    return encode_signature(hmac_digest(secret.encode(), body), prefix=PREFIX)
