"""Generic HMAC: a shared secret signs the raw body (optionally with a timestamp) into one header.

Covers the many senders without a dedicated provider: GitHub-style `sha256=<hex>` (`prefix`),
Shopify-style base64 (`encoding`), and timestamped strings such as `"{timestamp}.{body}"`.

`signed_string` is a template built on bytes, never on decoded text: `{body}` is the raw body
as received, `{timestamp}` the timestamp header's value as received, and everything else is
literal text encoded as UTF-8 (`{{` and `}}` for literal braces). Unset, the body alone is signed.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Self

from pydantic import SecretStr, field_validator, model_validator

from hookline.config.types import Duration
from hookline.errors import VerificationError
from hookline.verify.base import (
    Algorithm,
    Encoding,
    Identity,
    InboundRequest,
    VerifierConfig,
    check_timestamp,
    constant_time_equal,
    decode_signature,
    encode_signature,
    hmac_digest,
    require_header,
    unix_time,
)

Placeholder = Literal["body", "timestamp"]
Part = bytes | Placeholder  # literal bytes, or where the body / timestamp goes


def compile_signed_string(template: str | None) -> tuple[Part, ...]:
    """Split a `signed_string` into literal bytes and placeholders; ValueError if invalid."""
    if template is None:
        return ("body",)
    parts: list[Part] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            parts.append(literal.encode())
        if name is None:
            continue
        if spec or conversion or name not in ("body", "timestamp"):
            raise ValueError("signed_string may only use the placeholders {body} and {timestamp}")
        parts.append("body" if name == "body" else "timestamp")
    return tuple(parts)


class HmacConfig(VerifierConfig):
    """`verify: {provider: hmac, secret: ..., header: X-Signature, ...}`."""

    provider: Literal["hmac"]
    secret: SecretStr
    header: str = "X-Signature"
    algorithm: Algorithm = "sha256"
    encoding: Encoding = "hex"
    prefix: str = ""
    timestamp_header: str | None = None
    signed_string: str | None = None
    tolerance: Duration = timedelta(seconds=300)  # used only with timestamp_header

    @field_validator("secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("secret must not be empty")
        return value

    @field_validator("header", "timestamp_header")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a header name must not be empty")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _signed_string_fits(self) -> Self:
        parts = compile_signed_string(self.signed_string)
        if "body" not in parts:
            raise ValueError("signed_string must contain {body}")
        # A timestamp that is not signed can be replaced by a replayer, so tolerance would be moot.
        if self.timestamp_header is not None and "timestamp" not in parts:
            raise ValueError("signed_string must contain {timestamp} when timestamp_header is set")
        if self.timestamp_header is None and "timestamp" in parts:
            raise ValueError("signed_string uses {timestamp} but timestamp_header is not set")
        return self


class HmacVerifier:
    """Verifies one HMAC header; generic sources take their id and type from source config."""

    provider: ClassVar[str] = "hmac"
    config_model: ClassVar[type[VerifierConfig]] = HmacConfig

    def __init__(self, config: HmacConfig) -> None:
        self.config = config
        self._key = config.secret.get_secret_value().encode()
        self._parts = compile_signed_string(config.signed_string)

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        config = self.config
        timestamp = ""
        if config.timestamp_header is not None:
            timestamp = require_header(request, config.timestamp_header)
            unix_time(timestamp, config.timestamp_header)
        provided = decode_signature(
            require_header(request, config.header),
            header=config.header,
            prefix=config.prefix,
            encoding=config.encoding,
        )
        message = _message(self._parts, request.body, timestamp.encode())
        expected = hmac_digest(self._key, message, config.algorithm)
        if not constant_time_equal(expected, provided):
            raise VerificationError("signature does not match the payload")
        if config.timestamp_header is not None:
            tolerance = config.tolerance.total_seconds()
            check_timestamp(int(timestamp), now=now, tolerance_seconds=tolerance)

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        # No guessing from payload keys: a generic sender's "id" may not be unique per event,
        # and a wrong dedup key would drop events. Source config says where the id lives.
        return Identity()


def _message(parts: tuple[Part, ...], body: bytes, timestamp: bytes) -> bytes:
    return b"".join(
        p if isinstance(p, bytes) else body if p == "body" else timestamp for p in parts
    )


def sign(body: bytes, config: HmacConfig, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers a sender configured like `config` would add (for `trigger` and tests)."""
    headers: dict[str, str] = {}
    stamp = b""
    if config.timestamp_header is not None:
        if timestamp is None:
            raise ValueError("this config signs a timestamp; pass timestamp=")
        headers[config.timestamp_header] = str(timestamp)
        stamp = str(timestamp).encode()
    message = _message(compile_signed_string(config.signed_string), body, stamp)
    digest = hmac_digest(config.secret.get_secret_value().encode(), message, config.algorithm)
    headers[config.header] = encode_signature(
        digest, prefix=config.prefix, encoding=config.encoding
    )
    return headers
