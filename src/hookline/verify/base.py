"""The verifier contract: authenticate an inbound request and say who the event is.

Verifiers are total: whatever arrives (a missing or malformed header, bad base64, a stale
timestamp, a non-UTF-8 body) ends as `VerificationError(reason)`, never another exception.
They check the raw bytes as received, compare in constant time, and take `now` as an argument
so tests control the clock. A missing secret is a config error, never a silent pass.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from hookline.errors import VerificationError

Algorithm = Literal["sha1", "sha256", "sha512"]


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """An inbound webhook as received. Header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    client_ip: str | None = None
    url: str = ""


@dataclass(frozen=True, slots=True)
class Identity:
    """What the provider says about the event: its own id (dedup key) and its type."""

    external_id: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class HandshakeReply:
    """A reply the provider expects instead of ingesting (Slack url_verification, ...)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


class VerifierConfig(BaseModel):
    """Base of every `verify:` model; `provider` is the registry name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str


class Verifier(Protocol):
    """Authenticates requests for one source."""

    provider: ClassVar[str]
    config_model: ClassVar[type[VerifierConfig]]

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        """Raise `VerificationError` unless the request is authentic."""

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        """The provider's event id and type, from headers or the parsed payload."""


def hmac_digest(secret: bytes, message: bytes, algorithm: Algorithm = "sha256") -> bytes:
    return hmac.new(secret, message, getattr(hashlib, algorithm)).digest()


def constant_time_equal(a: bytes | str, b: bytes | str) -> bool:
    """Compare two values without leaking where they differ (bytes, so any text works)."""
    a_bytes = a.encode("utf-8", "surrogateescape") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8", "surrogateescape") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def require_header(request: InboundRequest, name: str) -> str:
    value = request.headers.get(name.lower())
    if value is None or not value.strip():
        raise VerificationError(f"missing {name} header")
    return value.strip()


def check_timestamp(timestamp: int, *, now: datetime, tolerance_seconds: float) -> None:
    """Refuse timestamps further than the tolerance from now, in either direction."""
    delta = now.timestamp() - timestamp
    if delta > tolerance_seconds:
        raise VerificationError("timestamp is too old (outside the tolerance)")
    if delta < -tolerance_seconds:
        raise VerificationError("timestamp is in the future (outside the tolerance)")


def payload_field(payload: Any, key: str) -> str | None:
    """A top-level field of a JSON object payload, as text; None when absent."""
    if isinstance(payload, Mapping):
        value = payload.get(key)
        if value is not None and not isinstance(value, dict | list):
            return str(value)
    return None
