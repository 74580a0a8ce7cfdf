"""HTTP Basic authentication (RFC 7617): `Authorization: Basic base64(user:password)`.

For senders that can only put credentials in the URL (`https://user:pass@host/...`) or a
Basic header. The decoded `user:password` bytes are compared with the configured pair in
constant time, as one value, so neither part can be guessed alone. The body is not signed:
use HTTPS. The event id and type come from the source's `id:` / `type:` templates.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from hookline.errors import VerificationError
from hookline.verify.base import (
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    constant_time_equal,
    require_header,
)

HEADER = "Authorization"


class BasicConfig(VerifierConfig):
    """`verify: {provider: basic, username: ..., password: ...}`."""

    provider: Literal["basic"]
    username: str = Field(min_length=1)
    password: Secret

    @field_validator("username")
    @classmethod
    def _no_colon(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("username must not contain ':' (RFC 7617)")
        return value


class BasicVerifier:
    """Checks the Basic credentials; id and type come from source config."""

    provider: ClassVar[str] = "basic"
    config_model: ClassVar[type[VerifierConfig]] = BasicConfig

    def __init__(self, config: BasicConfig) -> None:
        self.config = config
        self._expected = f"{config.username}:{config.password.get_secret_value()}".encode()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        scheme, _, encoded = require_header(request, HEADER).partition(" ")
        if scheme.lower() != "basic":
            raise VerificationError(f"{HEADER} header does not use the Basic scheme")
        try:
            provided = base64.b64decode(encoded.strip().encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise VerificationError(f"{HEADER} header is not valid base64") from None
        if not constant_time_equal(provided, self._expected):
            raise VerificationError("credentials do not match")

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        return Identity()


def sign(username: str, password: str) -> dict[str, str]:
    """The `Authorization` header a client sends for these credentials."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {HEADER: f"Basic {token}"}
