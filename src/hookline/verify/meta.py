"""Meta (WhatsApp Cloud API, Instagram, Messenger): a GET subscription check, then POSTs
signed like GitHub's: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body with
the app secret.

Scheme: https://developers.facebook.com/docs/graph-api/webhooks/getting-started. When the
callback URL is saved, Meta sends `GET ?hub.mode=subscribe&hub.verify_token=<yours>&
hub.challenge=<n>`; a matching token (constant-time) is answered with the challenge as
text/plain, and nothing is stored. Meta payloads carry no event id (one POST may batch
several changes), so set `id:` on the source to deduplicate; the type is the payload's
`object`, plus the first change's `field` when there is one (`whatsapp_business_account.messages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from hookline.errors import VerificationError
from hookline.verify.base import (
    POST_ONLY,
    HandshakeReply,
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    check_hmac,
    constant_time_equal,
    encode_signature,
    hmac_digest,
    payload_field,
)

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


class MetaConfig(VerifierConfig):
    """`verify: {provider: meta, secret: <app secret>, verify_token: <your choice>}`."""

    provider: Literal["meta"]
    secret: Secret  # App settings → Basic → App secret
    verify_token: Secret  # the "Verify token" typed next to the callback URL


class MetaVerifier:
    """GET: the hub challenge; POST: `X-Hub-Signature-256`. The type comes from the payload."""

    provider: ClassVar[str] = "meta"
    config_model: ClassVar[type[VerifierConfig]] = MetaConfig
    methods: ClassVar[frozenset[str]] = POST_ONLY | {"GET"}

    def __init__(self, config: MetaConfig) -> None:
        self.config = config
        self._key = config.secret.get_secret_value().encode()
        self._verify_token = config.verify_token.get_secret_value()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        if request.method != "GET":
            check_hmac(request, header=HEADER, key=self._key, message=request.body, prefix=PREFIX)
            return
        if request.query.get("hub.mode") != "subscribe":
            raise VerificationError("hub.mode is not subscribe")
        if not request.query.get("hub.challenge"):
            raise VerificationError("missing hub.challenge")
        if not constant_time_equal(request.query.get("hub.verify_token", ""), self._verify_token):
            raise VerificationError("hub.verify_token does not match")

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        kind = payload_field(payload, "object")
        field = payload_field(_first(_first(payload, "entry"), "changes"), "field")
        if kind is not None and field is not None:
            kind = f"{kind}.{field}"
        return Identity(None, kind)

    def handshake(self, request: InboundRequest, payload: Any) -> HandshakeReply | None:
        if request.method != "GET":
            return None
        return HandshakeReply(body=request.query.get("hub.challenge", "").encode())


def _first(value: Any, key: str) -> Any:
    """`value[key][0]` when that is there, else None."""
    items = value.get(key) if isinstance(value, Mapping) else None
    return items[0] if isinstance(items, list) and items else None


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta would send for `body`."""
    return encode_signature(hmac_digest(secret.encode(), body), prefix=PREFIX)
