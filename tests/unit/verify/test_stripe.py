"""StripeVerifier, StripeConfig and sign(): vectors, interop with the official library, config."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from pydantic import ValidationError

from hookline.errors import VerificationError
from hookline.verify import VERIFIERS
from hookline.verify.base import Identity, InboundRequest, Verifier
from hookline.verify.stripe import StripeConfig, StripeVerifier, sign

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "stripe.json").read_text("utf-8")
)
# Each row's `comment` in stripe.json says what it exercises; its `name` is the test id.


def _params(keep: Callable[[dict[str, Any]], bool] = lambda row: True) -> list[Any]:
    return [pytest.param(row, id=row["name"]) for row in VECTORS["vectors"] if keep(row)]


ROWS = _params()
SECRET = "whsec_interop_4b9e2d"
NOW = 1_700_000_000
EVENT = b'{"id":"evt_42","object":"event","type":"invoice.paid"}'


def _request(headers: dict[str, str], body: bytes) -> InboundRequest:
    return InboundRequest(method="POST", path="/hooks/stripe", headers=headers, query={}, body=body)


def _body(row: dict[str, Any]) -> bytes:
    return bytes.fromhex(row["body_hex"]) if "body_hex" in row else row["body"].encode()


def _case(row: dict[str, Any]) -> tuple[StripeVerifier, InboundRequest, datetime]:
    config = StripeConfig.model_validate({**VECTORS["config"], **row.get("config", {})})
    now = datetime.fromtimestamp(row.get("now", VECTORS["now"]), UTC)
    return StripeVerifier(config), _request(row["headers"], _body(row)), now


def _payload(body: bytes) -> Any:
    """What ingest hands to identify: parsed JSON, or None for a body that is not UTF-8 JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:
        return None


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _verifier(secret: str | list[str] = SECRET, **extra: Any) -> StripeVerifier:
    return StripeVerifier(StripeConfig(provider="stripe", secret=secret, **extra))


class TestVectors:
    @pytest.mark.parametrize("row", ROWS)
    def test_vector(self, row: dict[str, Any]) -> None:
        """Each row passes verify, or fails with the reason it names."""
        verifier, request, now = _case(row)
        if row["error"] is None:
            verifier.verify(request, now=now)
        else:
            with pytest.raises(VerificationError, match=re.escape(row["error"])):
                verifier.verify(request, now=now)

    @pytest.mark.parametrize("row", _params(lambda row: "identity" in row))
    def test_identity(self, row: dict[str, Any]) -> None:
        """Each accepted row identifies as the event id and type it names."""
        verifier, request, _ = _case(row)
        expected = Identity(**row["identity"])
        assert verifier.identify(request, _payload(request.body)) == expected

    @pytest.mark.parametrize("row", _params(lambda row: row["error"] is not None))
    def test_reason_never_reveals_secret_or_signature(self, row: dict[str, Any]) -> None:
        """No refusal mentions a secret or a signature we would have accepted."""
        verifier, request, now = _case(row)
        with pytest.raises(VerificationError) as info:
            verifier.verify(request, now=now)
        header = request.headers.get("stripe-signature", "")
        stamps = {int(t) for t in re.findall(r"t=([0-9]{1,18})\b", header)} | {int(now.timestamp())}
        text = f"{info.value} {info.value!r}"
        for secret in verifier.config.secrets:
            key = secret.get_secret_value()
            assert key not in text
            for stamp in stamps:
                digest = hmac.new(key.encode(), b"%d." % stamp + request.body, hashlib.sha256)
                assert digest.hexdigest() not in text.lower()
                assert base64.b64encode(digest.digest()).decode() not in text

    def test_rows_are_named_and_commented(self) -> None:
        """Every row has a unique name and a comment saying what it covers."""
        names = [row["name"] for row in VECTORS["vectors"]]
        assert len(names) == len(set(names))
        assert all(row["comment"].strip() for row in VECTORS["vectors"])


class TestSign:
    def test_matches_official_vector(self) -> None:
        """sign() reproduces the header the official helper produced for the `valid` row."""
        row = next(r for r in VECTORS["vectors"] if r["name"] == "valid")
        header = sign(_body(row), VECTORS["config"]["secret"], VECTORS["now"])
        assert header == row["headers"]["stripe-signature"]

    def test_header_shape(self) -> None:
        """The header is `t=<unix>,v1=<64 lower-case hex digits>`."""
        assert re.fullmatch(r"t=1700000000,v1=[0-9a-f]{64}", sign(EVENT, SECRET, NOW))

    def test_signs_raw_bytes(self) -> None:
        """Bodies that are not UTF-8 are signed as they are."""
        body = b"\xff\xfe\x00binary"
        header = sign(body, SECRET, NOW)
        _verifier().verify(_request({"stripe-signature": header}, body), now=_at(NOW))


class TestOfficialLibraryInterop:
    def test_official_helper_header_is_accepted(self) -> None:
        """A header made by stripe's own generate_signature_header passes our verify."""
        header = stripe.WebhookSignature.generate_signature_header(
            EVENT.decode(), SECRET, timestamp=NOW
        )
        _verifier().verify(_request({"stripe-signature": header}, EVENT), now=_at(NOW))

    def test_our_header_passes_official_verify_header(self) -> None:
        """stripe.WebhookSignature.verify_header accepts a header made by our sign()."""
        # tolerance=None turns off the library's wall-clock check; ours is tested with a fixed now.
        assert stripe.WebhookSignature.verify_header(
            EVENT, sign(EVENT, SECRET, NOW), SECRET, tolerance=None
        )

    def test_our_header_passes_official_construct_event(self) -> None:
        """stripe.Webhook.construct_event accepts our sign() and sees the same id and type."""
        # tolerance=0 is the library's own way to skip its wall-clock check.
        event = stripe.Webhook.construct_event(EVENT, sign(EVENT, SECRET, NOW), SECRET, tolerance=0)
        assert (event.id, event.type) == ("evt_42", "invoice.paid")

    def test_official_verify_rejects_our_header_with_another_secret(self) -> None:
        """The official check of our header really depends on the secret."""
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(
                EVENT, sign(EVENT, "whsec_other", NOW), SECRET, tolerance=None
            )


class TestVerify:
    def test_rotation_accepts_each_configured_secret(self) -> None:
        """With a list of secrets, a request signed with any one of them passes."""
        verifier = _verifier(["whsec_new", "whsec_old"])
        for secret in ("whsec_new", "whsec_old"):
            headers = {"stripe-signature": sign(EVENT, secret, NOW)}
            verifier.verify(_request(headers, EVENT), now=_at(NOW))

    def test_tolerance_is_taken_from_config(self) -> None:
        """A request 599 s old passes with tolerance 10m and fails with the default."""
        request = _request({"stripe-signature": sign(EVENT, SECRET, NOW - 599)}, EVENT)
        _verifier(tolerance="10m").verify(request, now=_at(NOW))
        with pytest.raises(VerificationError, match="too old"):
            _verifier().verify(request, now=_at(NOW))

    def test_forgery_with_stale_timestamp_reports_signature(self) -> None:
        """A forged request is refused for its signature, whatever its timestamp says."""
        request = _request({"stripe-signature": sign(EVENT, "whsec_forger", NOW - 9999)}, EVENT)
        with pytest.raises(VerificationError, match="does not match"):
            _verifier().verify(request, now=_at(NOW))


class TestIdentify:
    def test_id_and_type_from_payload(self) -> None:
        """The Stripe event id (the dedup key) and type come from the payload."""
        payload = {"id": "evt_1", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}}
        assert _verifier().identify(_request({}, b""), payload) == Identity(
            "evt_1", "charge.refunded"
        )

    @pytest.mark.parametrize(
        "payload",
        [
            None,  # body was not JSON (or not UTF-8)
            ["evt_1"],  # JSON, but not an object
            "evt_1",  # a bare JSON string
            {"data": {"id": "evt_1"}},  # id only nested
            {"id": {"nested": 1}, "type": ["x"]},  # id and type are not scalars
        ],
    )
    def test_no_identity_without_top_level_fields(self, payload: Any) -> None:
        """Payloads without scalar top-level id/type give an empty identity."""
        assert _verifier().identify(_request({}, b""), payload) == Identity()


class TestConfig:
    @pytest.mark.parametrize(
        "secret",
        [
            "",  # empty, e.g. an unset ${STRIPE_WEBHOOK_SECRET}
            "  ",  # blank
            [],  # an empty rotation list
            ["whsec_ok", ""],  # one empty entry in a rotation list
        ],
    )
    def test_empty_secret_rejected(self, secret: str | list[str]) -> None:
        """An empty or blank secret is a validation error, never a silent pass."""
        with pytest.raises(ValidationError, match="secret must not be empty"):
            StripeConfig.model_validate({"provider": "stripe", "secret": secret})

    def test_missing_secret_rejected(self) -> None:
        """The secret is required."""
        with pytest.raises(ValidationError, match="secret"):
            StripeConfig.model_validate({"provider": "stripe"})

    def test_unknown_key_rejected(self) -> None:
        """A typo such as `secrets:` fails instead of being ignored."""
        with pytest.raises(ValidationError, match="extra"):
            StripeConfig.model_validate({"provider": "stripe", "secret": "s", "secrets": ["s"]})

    def test_other_provider_rejected(self) -> None:
        """The model only accepts `provider: stripe`."""
        with pytest.raises(ValidationError, match="provider"):
            StripeConfig.model_validate({"provider": "hmac", "secret": "s"})

    def test_tolerance_parses_duration(self) -> None:
        """`tolerance: 5m` becomes five minutes; the default is 300 s."""
        assert _verifier(tolerance="5m").config.tolerance == timedelta(minutes=5)
        assert _verifier().config.tolerance == timedelta(seconds=300)

    def test_secret_list_and_single(self) -> None:
        """`secrets` lists every configured secret, whether one or several were given."""
        assert [s.get_secret_value() for s in _verifier().config.secrets] == [SECRET]
        listed = _verifier(["a", "b"]).config.secrets
        assert [s.get_secret_value() for s in listed] == ["a", "b"]

    def test_secret_hidden_in_repr(self) -> None:
        """Printing the config does not reveal the secret."""
        config = _verifier(["whsec_hidden_1", "whsec_hidden_2"]).config
        assert "whsec_hidden" not in f"{config!r} {config} {config.model_dump()}"


class TestRegistry:
    def test_registered_as_stripe(self) -> None:
        """`provider: stripe` resolves to StripeVerifier with its config model."""
        cls = VERIFIERS.get("stripe")
        assert cls is StripeVerifier
        assert (cls.provider, cls.config_model) == ("stripe", StripeConfig)

    def test_satisfies_protocol(self) -> None:
        """StripeVerifier is a Verifier (checked by mypy) and verifies through that interface."""
        verifier: Verifier = _verifier()
        verifier.verify(_request({"stripe-signature": sign(b"", SECRET, NOW)}, b""), now=_at(NOW))
