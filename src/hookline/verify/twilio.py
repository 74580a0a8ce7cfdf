"""Twilio: `X-Twilio-Signature: <base64>`, HMAC-SHA1 with the account's auth token over the
full URL Twilio requested, followed, for form posts, by every parameter's name and value
sorted by name.

Scheme: https://www.twilio.com/docs/usage/webhooks/webhooks-security (the official
`twilio.request_validator.RequestValidator` does the same). Twilio signs the public URL it
was given, which Hookline cannot see behind a proxy, so `public_url` (the base URL Twilio
reaches Hookline at) is required; the path and query of the request are appended to it.
The URL is tried with and without the default port, as Twilio's own validator does. JSON
bodies are covered by the `bodySHA256` query parameter (a SHA-256 of the body); any other
body without it is refused, since the signature would not cover it. The event id is the
`I-Twilio-Idempotency-Token` header, which retries keep.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import field_validator

from hookline.errors import VerificationError
from hookline.verify.base import (
    Algorithm,
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    constant_time_equal,
    decode_signature,
    encode_signature,
    header_value,
    hmac_digest,
    require_header,
)

HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"  # names the algorithm of SharedKeys
_ALGORITHMS: dict[str, Algorithm] = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
_DEFAULT_PORTS = {"https": 443, "http": 80}


class TwilioConfig(VerifierConfig):
    """`verify: {provider: twilio, secret: <auth token>, public_url: https://hooks.example.com}`."""

    provider: Literal["twilio"]
    secret: Secret
    public_url: str

    @field_validator("public_url")
    @classmethod
    def _absolute_base(cls, value: str) -> str:
        if not _is_base_url(value.strip()):
            raise ValueError(
                "public_url must be an http(s) URL without a query, e.g. https://hooks.example.com"
            )
        return value.strip().rstrip("/")


class TwilioVerifier:
    """Verifies `X-Twilio-Signature` over the public URL and the form parameters."""

    provider: ClassVar[str] = "twilio"
    config_model: ClassVar[type[VerifierConfig]] = TwilioConfig

    def __init__(self, config: TwilioConfig) -> None:
        self.config = config
        self._key = config.secret.get_secret_value().encode()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        provided = decode_signature(
            require_header(request, HEADER), header=HEADER, prefix="", encoding="base64"
        )
        algorithm = _algorithm(request)
        params = _params(request)
        url = self.config.public_url + (request.url or request.path)
        for candidate in _port_variants(url):
            message = (candidate + params).encode("utf-8", "surrogateescape")
            if constant_time_equal(hmac_digest(self._key, message, algorithm), provided):
                return
        raise VerificationError("signature does not match the payload")

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        return Identity(header_value(request, "I-Twilio-Idempotency-Token"), None)


def _is_base_url(value: str) -> bool:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - reading the port is what refuses one that is not a number
    except ValueError:
        return False
    return bool(
        parts.scheme in _DEFAULT_PORTS and parts.hostname and not (parts.query or parts.fragment)
    )


def _algorithm(request: InboundRequest) -> Algorithm:
    for part in (header_value(request, SETTINGS_HEADER) or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm":
            if value.strip().upper() not in _ALGORITHMS:
                raise VerificationError(f"{SETTINGS_HEADER} names an unknown algorithm")
            return _ALGORITHMS[value.strip().upper()]
    return "sha1"


def _params(request: InboundRequest) -> str:
    """What follows the URL in the signed string: sorted form fields, or nothing."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            fields = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise VerificationError("form body is not UTF-8") from None
        return concatenate(fields)
    if "bodySHA256" in request.query:
        digest = hashlib.sha256(request.body).hexdigest()
        if not constant_time_equal(digest, request.query["bodySHA256"].lower()):
            raise VerificationError("body does not match bodySHA256")
        return ""
    if request.body:
        raise VerificationError("body is not a form and has no bodySHA256 to cover it")
    return ""


def concatenate(fields: list[tuple[str, str]]) -> str:
    """Names and values, sorted by name (then value), with no separators."""
    return "".join(name + value for name, value in sorted(set(fields)))


def _port_variants(url: str) -> tuple[str, str]:
    """The URL without and with its port: Twilio signs whichever form it was given."""
    parts = urlsplit(url)
    bare = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    return parts._replace(netloc=bare).geturl(), parts._replace(netloc=f"{bare}:{port}").geturl()


def sign(url: str, fields: list[tuple[str, str]], secret: str) -> str:
    """The `X-Twilio-Signature` Twilio would send for a form post of `fields` to `url`."""
    message = (url + concatenate(fields)).encode()
    return encode_signature(hmac_digest(secret.encode(), message, "sha1"), encoding="base64")
