"""Standard Webhooks and its Svix dialect, against the official `standardwebhooks` and `svix`."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import standardwebhooks.webhooks
import svix.webhooks
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hookline.errors import VerificationError
from hookline.verify.base import Identity, InboundRequest
from hookline.verify.standard_webhooks import (
    StandardWebhooksConfig,
    StandardWebhooksVerifier,
    decode_secret,
    sign,
)

SECRET = "whsec_" + base64.b64encode(b"hookline-unit-test-key-32-bytes!").decode()
NOW = 1_700_000_000
BODY = b'{"type": "invoice.paid", "data": {"id": "inv_1"}}'


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _verifier(secret: str = SECRET) -> StandardWebhooksVerifier:
    config = StandardWebhooksConfig(provider="standard-webhooks", secret=secret)
    return StandardWebhooksVerifier(config)


def _request(headers: dict[str, str], body: bytes = BODY) -> InboundRequest:
    lowered = {k.lower(): v for k, v in headers.items()}
    return InboundRequest(method="POST", path="/hooks/sw", headers=lowered, query={}, body=body)


class TestOfficialInterop:
    @settings(max_examples=25, deadline=None)
    @given(
        body=st.binary(max_size=200), msg_id=st.from_regex(r"msg_[A-Za-z0-9]{1,24}", fullmatch=True)
    )
    def test_official_signature_is_accepted(self, body: bytes, msg_id: str) -> None:
        """A signature made by standardwebhooks.Webhook.sign passes our verify."""
        signature = standardwebhooks.webhooks.Webhook(SECRET).sign(msg_id, _at(NOW), body)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(NOW),
            "webhook-signature": signature,
        }
        _verifier().verify(_request(headers, body), now=_at(NOW))

    def test_our_signature_passes_official_verify(self) -> None:
        """standardwebhooks.Webhook.verify accepts the headers our sign() makes."""
        now = int(datetime.now(UTC).timestamp())  # the library checks against its own clock
        headers = sign(BODY, SECRET, msg_id="msg_ours", timestamp=now)
        assert (
            standardwebhooks.webhooks.Webhook(SECRET).verify(BODY, headers)["type"]
            == "invoice.paid"
        )

    def test_svix_both_ways(self) -> None:
        """svix.Webhook signs requests we accept and accepts our svix-dialect headers."""
        now = int(datetime.now(UTC).timestamp())
        theirs = svix.webhooks.Webhook(SECRET).sign("msg_svix", _at(now), BODY.decode())
        headers = {"svix-id": "msg_svix", "svix-timestamp": str(now), "svix-signature": theirs}
        _verifier().verify(_request(headers), now=_at(now))
        ours = sign(BODY, SECRET, msg_id="msg_ours", timestamp=now, dialect="svix")
        svix.webhooks.Webhook(SECRET).verify(BODY, ours)

    def test_unprefixed_secret_is_the_same_key(self) -> None:
        """`whsec_` is optional, as in the official libraries."""
        headers = sign(BODY, SECRET, msg_id="msg_1", timestamp=NOW)
        _verifier(SECRET.removeprefix("whsec_")).verify(_request(headers), now=_at(NOW))


class TestVerify:
    def test_timestamp_checked_after_signature(self) -> None:
        """A forged request is refused for its signature, whatever its timestamp."""
        headers = sign(
            BODY, "whsec_" + base64.b64encode(b"other").decode(), msg_id="m", timestamp=0
        )
        with pytest.raises(VerificationError, match="does not match"):
            _verifier().verify(_request(headers), now=_at(NOW))

    def test_id_must_be_printable_ascii(self) -> None:
        """A webhook-id with control or non-ASCII characters is refused before signing."""
        headers = {**sign(BODY, SECRET, msg_id="m", timestamp=NOW), "webhook-id": "m\x01é"}
        with pytest.raises(VerificationError, match="printable ASCII"):
            _verifier().verify(_request(headers), now=_at(NOW))

    def test_identify(self) -> None:
        """The id is webhook-id (or svix-id), the type the payload's `type`."""
        verifier = _verifier()
        payload = {"type": "invoice.paid"}
        assert verifier.identify(_request({"webhook-id": "a"}), payload) == Identity(
            "a", "invoice.paid"
        )
        assert verifier.identify(_request({"svix-id": "b"}), None) == Identity("b", None)


class TestConfig:
    @pytest.mark.parametrize(
        ("secret", "message"),
        [
            ("", "must not be empty"),  # an unset ${VAR}
            ("whsec_", "must not be empty"),  # the prefix alone
            ("whsec_not base64!", "must be base64"),  # not base64
        ],
    )
    def test_bad_secrets_are_config_errors(self, secret: str, message: str) -> None:
        """Secrets that give no usable key fail when the config loads."""
        with pytest.raises(ValidationError, match=message):
            StandardWebhooksConfig.model_validate(
                {"provider": "standard-webhooks", "secret": secret}
            )

    def test_unpadded_base64_is_accepted(self) -> None:
        """Secrets without base64 padding decode like padded ones."""
        assert decode_secret("whsec_YWJj") == decode_secret("YWJj") == b"abc"
        assert decode_secret("whsec_YWI") == b"ab"
