"""Telegram Bot API: `X-Telegram-Bot-Api-Secret-Token` equals the `secret_token` given to
`setWebhook` (https://core.telegram.org/bots/api#setwebhook), compared in constant time.

Telegram allows 1-256 characters `A-Z a-z 0-9 _ -` in a secret token and refuses others in
`setWebhook`, so the config does too. The body is not signed: use HTTPS. The event id is the
update's `update_id`; the type is the update's kind, the one key beside `update_id`
(`message`, `callback_query`, `edited_message`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import SecretStr, field_validator

from hookline.errors import VerificationError
from hookline.verify.base import (
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    constant_time_equal,
    payload_field,
    require_header,
    wire_bytes,
)

HEADER = "X-Telegram-Bot-Api-Secret-Token"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramConfig(VerifierConfig):
    """`verify: {provider: telegram, secret: ...}` (the `secret_token` of setWebhook)."""

    provider: Literal["telegram"]
    secret: Secret

    @field_validator("secret")
    @classmethod
    def _telegram_alphabet(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError(
                "secret must be 1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)"
            )
        return value


class TelegramVerifier:
    """Compares the secret-token header; id and type come from the update."""

    provider: ClassVar[str] = "telegram"
    config_model: ClassVar[type[VerifierConfig]] = TelegramConfig

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self._token = config.secret.get_secret_value().encode()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        if not constant_time_equal(wire_bytes(require_header(request, HEADER)), self._token):
            raise VerificationError(f"{HEADER} header does not match the secret")

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        update_id = payload_field(payload, "update_id")
        kinds = [k for k in payload if k != "update_id"] if isinstance(payload, Mapping) else []
        return Identity(update_id, str(kinds[0]) if len(kinds) == 1 else None)


def sign(secret: str) -> dict[str, str]:
    """The header Telegram sends: the secret token itself."""
    return {HEADER: secret}
