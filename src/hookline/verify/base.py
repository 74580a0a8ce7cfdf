"""The verifier contract: authenticate an inbound request and say who the event is.

Verifiers are total: whatever arrives (a missing or malformed header, bad base64, a stale
timestamp, a non-UTF-8 body) ends as `VerificationError(reason)`, never another exception.
They check the raw bytes as received, compare in constant time, and take `now` as an argument
so tests control the clock. A missing secret is a config error, never a silent pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr

from hookline.errors import VerificationError

Algorithm = Literal["sha1", "sha256", "sha512"]
Encoding = Literal["hex", "base64"]
POST_ONLY = frozenset({"POST"})

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")  # bytes.fromhex alone would also accept spaces
_UNIX_SECONDS = re.compile(r"[0-9]{1,18}")  # bounded so int() and float math cannot overflow


def _not_blank(value: SecretStr) -> SecretStr:
    # A blank secret usually means an unset ${ENV_VAR}; refusing it avoids a fail-open key.
    secret = value.get_secret_value()
    if not secret.strip():
        raise ValueError("secret must not be empty")
    if secret != secret.strip():  # would never match what a sender signs or sends
        raise ValueError("secret has leading or trailing whitespace (a newline from a file?)")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_blank)]
"""A `SecretStr` that must not be empty or blank: a missing secret is a config error."""


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """An inbound webhook as received. Header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    client_ip: str | None = None
    url: str = ""  # the request target as received: path and raw query (`/hooks/x?a=1`)


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


@runtime_checkable
class Handshaker(Protocol):
    """Optional: a verifier whose provider sometimes expects an answer, not ingestion.

    Ingest calls `handshake` after `verify` passed and the body was parsed, before anything
    is stored. A reply is sent as it is and nothing is stored (Slack's `url_verification`,
    GitHub's `ping`, Meta's GET challenge); None lets the request be ingested as an event.
    A verifier that must accept more than POST (Meta's GET) lists its `methods`.
    """

    def handshake(self, request: InboundRequest, payload: Any) -> HandshakeReply | None:
        """The reply the provider expects instead of ingestion, or None to ingest."""


def methods_of(verifier: Verifier) -> frozenset[str]:
    """The HTTP methods a verifier accepts: POST unless it declares `methods`."""
    return frozenset(getattr(verifier, "methods", POST_ONLY))


def hmac_digest(secret: bytes, message: bytes, algorithm: Algorithm = "sha256") -> bytes:
    return hmac.new(secret, message, getattr(hashlib, algorithm)).digest()


def constant_time_equal(a: bytes | str, b: bytes | str) -> bool:
    """Compare two values without leaking where they differ (bytes, so any text works)."""
    a_bytes = a.encode("utf-8", "surrogateescape") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8", "surrogateescape") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def wire_bytes(value: str) -> bytes:
    """A header value as bytes on the wire: ingest decodes headers as latin-1, so encoding
    back restores them (a UTF-8 token stays UTF-8); other text is taken as UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def require_header(request: InboundRequest, name: str) -> str:
    value = request.headers.get(name.lower())
    if value is None or not value.strip():
        raise VerificationError(f"missing {name} header")
    return value.strip()


def unix_time(value: str, header: str) -> int:
    """A header's unix time in seconds; anything but 1-18 ASCII digits is refused."""
    if not (value.isascii() and _UNIX_SECONDS.fullmatch(value)):
        raise VerificationError(f"{header} header is not a unix time")
    return int(value)


def decode_signature(value: str, *, header: str, prefix: str, encoding: Encoding) -> bytes:
    """The digest in a header written as `prefix` + hex or base64; malformed → refused."""
    if not value.startswith(prefix):
        raise VerificationError(f"{header} header does not start with {prefix!r}")
    encoded = value[len(prefix) :]
    if encoding == "hex":
        if not (encoded.isascii() and _HEX.fullmatch(encoded)):
            raise VerificationError(f"{header} header is not valid hex")
        return bytes.fromhex(encoded)
    try:
        return base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise VerificationError(f"{header} header is not valid base64") from exc


def check_hmac(
    request: InboundRequest,
    *,
    header: str,
    key: bytes,
    message: bytes,
    prefix: str = "",
    encoding: Encoding = "hex",
    algorithm: Algorithm = "sha256",
) -> None:
    """The common scheme: `header` carries `prefix` + the encoded HMAC of `message`."""
    provided = decode_signature(
        require_header(request, header), header=header, prefix=prefix, encoding=encoding
    )
    if not constant_time_equal(hmac_digest(key, message, algorithm), provided):
        raise VerificationError("signature does not match the payload")


def encode_signature(digest: bytes, *, prefix: str = "", encoding: Encoding = "hex") -> str:
    """How `sign()` functions write a digest: the inverse of `decode_signature`."""
    return prefix + (digest.hex() if encoding == "hex" else base64.b64encode(digest).decode())


def check_timestamp(timestamp: int, *, now: datetime, tolerance_seconds: float) -> None:
    """Refuse timestamps further than the tolerance from now, in either direction."""
    delta = now.timestamp() - timestamp
    if delta > tolerance_seconds:
        raise VerificationError("timestamp is too old (outside the tolerance)")
    if delta < -tolerance_seconds:
        raise VerificationError("timestamp is in the future (outside the tolerance)")


def header_value(request: InboundRequest, name: str) -> str | None:
    """A header's value, stripped; None when absent or blank."""
    value = request.headers.get(name.lower(), "").strip()
    return value or None


def payload_field(payload: Any, key: str) -> str | None:
    """A top-level field of a JSON object payload, as text; None when absent."""
    if isinstance(payload, Mapping):
        value = payload.get(key)
        if value is not None and not isinstance(value, dict | list):
            return str(value)
    return None
