"""Twilio: signatures against twilio's RequestValidator, the public URL, JSON bodies."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from twilio.request_validator import RequestValidator

from hookline.errors import VerificationError
from hookline.verify.base import Identity, InboundRequest
from hookline.verify.twilio import TwilioConfig, TwilioVerifier, sign

TOKEN = "twilio-unit-auth-token"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


def _verifier(public_url: str = "https://hooks.example.com") -> TwilioVerifier:
    return TwilioVerifier(TwilioConfig(provider="twilio", secret=TOKEN, public_url=public_url))


def _request(target: str, headers: dict[str, str], body: bytes) -> InboundRequest:
    """A request as ingest builds it: `target` is the path and raw query string."""
    parts = urlsplit(target)
    lowered = {k.lower(): v for k, v in headers.items()}
    query = dict(parse_qsl(parts.query))
    return InboundRequest("POST", parts.path, lowered, query, body, url=target)


fields = st.dictionaries(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij", min_size=1, max_size=10),
    st.text(max_size=20),
    max_size=6,
)


class TestOfficialInterop:
    @settings(max_examples=25, deadline=None)
    @given(params=fields)
    def test_both_ways(self, params: dict[str, str]) -> None:
        """RequestValidator accepts our sign(); its compute_signature passes our verify."""
        url = "https://hooks.example.com/hooks/twilio"
        official = RequestValidator(TOKEN)
        assert official.validate(url, params, sign(url, list(params.items()), TOKEN))
        headers = {
            "X-Twilio-Signature": official.compute_signature(url, params),
            "Content-Type": FORM,
        }
        request = _request("/hooks/twilio", headers, urlencode(params).encode())
        _verifier().verify(request, now=NOW)

    @pytest.mark.parametrize(
        ("public_url", "signed_url"),
        [
            ("https://hooks.example.com", "https://hooks.example.com:443/hooks/t?a=1"),
            ("https://hooks.example.com:443", "https://hooks.example.com/hooks/t?a=1"),
            ("http://10.0.0.5:8080/prefix/", "http://10.0.0.5:8080/prefix/hooks/t?a=1"),
        ],
    )
    def test_public_url_and_ports(self, public_url: str, signed_url: str) -> None:
        """The configured base plus the request's path and query is signed, port or not."""
        params = {"Body": "hi", "From": "+7"}
        headers = {
            "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(signed_url, params),
            "Content-Type": FORM,
        }
        request = _request("/hooks/t?a=1", headers, urlencode(params).encode())
        _verifier(public_url).verify(request, now=NOW)

    def test_json_body_with_body_sha256(self) -> None:
        """A JSON body hashed into bodySHA256 validates like twilio's validator says."""
        body = '{"CallSid": "CA1"}'
        url = (
            "https://hooks.example.com/hooks/t?bodySHA256="
            + hashlib.sha256(body.encode()).hexdigest()
        )
        signature = RequestValidator(TOKEN).compute_signature(url, {})
        assert RequestValidator(TOKEN).validate(url, body, signature)
        target = url.removeprefix("https://hooks.example.com")
        request = _request(target, {"X-Twilio-Signature": signature}, body.encode())
        _verifier().verify(request, now=NOW)


class TestVerify:
    def test_repeated_fields_sorted_by_value(self) -> None:
        """A field sent twice is signed with its values sorted, as twilio's validator does."""
        url = "https://hooks.example.com/hooks/t"
        body = b"Media=b&Media=a&Body=x"
        signature = sign(url, [("Body", "x"), ("Media", "a"), ("Media", "b")], TOKEN)
        request = _request(
            "/hooks/t", {"X-Twilio-Signature": signature, "Content-Type": FORM}, body
        )
        _verifier().verify(request, now=NOW)

    def test_wrong_public_url_fails(self) -> None:
        """A signature for the public URL does not hold for another base."""
        url = "https://hooks.example.com/hooks/t"
        signature = sign(url, [], TOKEN)
        request = _request("/hooks/t", {"X-Twilio-Signature": signature}, b"")
        _verifier().verify(request, now=NOW)
        with pytest.raises(VerificationError, match="does not match"):
            _verifier("https://other.example.com").verify(request, now=NOW)

    def test_identify(self) -> None:
        """The idempotency token Twilio keeps across retries is the id."""
        request = _request("/hooks/t", {"I-Twilio-Idempotency-Token": "tok"}, b"")
        assert _verifier().identify(request, {"MessageSid": "SM1"}) == Identity("tok", None)


class TestConfig:
    @pytest.mark.parametrize(
        "public_url",
        [
            "hooks.example.com",
            "ftp://x.example.com",
            "https://x.example.com/?a=1",
            "https://:80",
            "https://x:port",
        ],
    )
    def test_public_url_must_be_a_base_url(self, public_url: str) -> None:
        """public_url is an http(s) URL with a host and no query."""
        with pytest.raises(ValidationError, match="public_url must be an http"):
            TwilioConfig.model_validate(
                {"provider": "twilio", "secret": "t", "public_url": public_url}
            )

    def test_public_url_is_required(self) -> None:
        """Without the public URL Twilio signed, nothing could be verified."""
        with pytest.raises(ValidationError, match="public_url"):
            TwilioConfig.model_validate({"provider": "twilio", "secret": "t"})

    def test_trailing_slash_dropped(self) -> None:
        """`https://x/` and `https://x` are the same base."""
        assert _verifier("https://x.example.com/").config.public_url == "https://x.example.com"
