"""Properties every verifier keeps, whatever arrives: totality, round trips, secrecy."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st

from hookline.errors import VerificationError
from hookline.verify.base import Identity, InboundRequest, Verifier
from hookline.verify.hmac import HmacConfig, HmacVerifier
from hookline.verify.hmac import sign as hmac_sign
from hookline.verify.none import NoneConfig, NoneVerifier
from hookline.verify.stripe import StripeConfig, StripeVerifier
from hookline.verify.stripe import sign as stripe_sign

# No deadline: a slow CI machine must not turn into a failure (no timing thresholds).
PROPERTY = settings(deadline=None)

TIMED = {"timestamp_header": "X-Timestamp", "signed_string": "{timestamp}.{body}"}
secrets = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
# Up to year ~9900, so timestamp +- skew is still a datetime (year 9999 is the limit).
unix_times = st.integers(min_value=0, max_value=250_000_000_000)
nows = st.datetimes(timezones=st.just(UTC))


def _hmac_configs(secret: st.SearchStrategy[str]) -> st.SearchStrategy[HmacConfig]:
    return st.builds(
        lambda secret, algorithm, encoding, prefix, timed: HmacConfig.model_validate(
            {
                "provider": "hmac",
                "secret": secret,
                "algorithm": algorithm,
                "encoding": encoding,
                "prefix": prefix,
                **(TIMED if timed else {}),
            }
        ),
        secret,
        st.sampled_from(["sha1", "sha256", "sha512"]),
        st.sampled_from(["hex", "base64"]),
        st.sampled_from(["", "sha256=", "v0="]),
        st.booleans(),
    )


hmac_configs = _hmac_configs(secrets)
# Long enough that finding one in a message means a leak, not a coincidence ("0" in "v0=").
long_secrets = st.text(alphabet=string.ascii_letters, min_size=16, max_size=32)
stripe_configs = st.builds(
    lambda secret: StripeConfig(provider="stripe", secret=secret),
    st.one_of(secrets, st.lists(secrets, min_size=1, max_size=3)),
)
verifiers: st.SearchStrategy[Verifier] = st.one_of(
    st.builds(StripeVerifier, stripe_configs),
    st.builds(HmacVerifier, hmac_configs),
    st.just(NoneVerifier(NoneConfig(provider="none"))),
)

# Header values near the formats verifiers parse, plus arbitrary text (non-ASCII, controls, ...).
_hexish = st.text(alphabet="0123456789abcdefABCDEF =", max_size=140)
_b64ish = st.text(alphabet=string.ascii_letters + string.digits + "+/=-_ ", max_size=100)
_stampish = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str), st.text(max_size=8)
)
_stripe_items = st.lists(
    st.tuples(
        st.sampled_from(["t", "v1", "v0", "", " t", "x"]),
        st.sampled_from(["=", "", "=="]),
        st.one_of(_stampish, _hexish, st.text(max_size=10)),
    ),
    max_size=6,
)
header_values = st.one_of(
    st.text(max_size=80),
    _hexish,
    _b64ish,
    _stampish,
    st.sampled_from(["sha256=", "v0="]).flatmap(lambda p: _hexish.map(lambda v: p + v)),
    _stripe_items.map(lambda items: ",".join(k + eq + v for k, eq, v in items)),
)
header_names = st.one_of(
    st.sampled_from(["stripe-signature", "x-signature", "x-timestamp", "content-type"]),
    st.text(max_size=20),
)
headers = st.dictionaries(header_names, header_values, max_size=5)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries({"id": json_values, "type": json_values}),
)


def _request(headers: dict[str, str], body: bytes) -> InboundRequest:
    return InboundRequest(method="POST", path="/hooks/s", headers=headers, query={}, body=body)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class TestTotality:
    @PROPERTY
    @given(verifier=verifiers, headers=headers, body=st.binary(max_size=256), now=nows)
    def test_verify_raises_only_verification_error(
        self, verifier: Verifier, headers: dict[str, str], body: bytes, now: datetime
    ) -> None:
        """Any headers and body either pass or end in VerificationError, never another exception."""
        try:
            verifier.verify(_request(headers, body), now=now)
        except VerificationError as exc:
            outcome = exc.message
        else:
            outcome = "passed"
        assert outcome  # a refusal always says why

    @PROPERTY
    @given(verifier=verifiers, payload=payloads, body=st.binary(max_size=64))
    def test_identify_never_raises(self, verifier: Verifier, payload: Any, body: bytes) -> None:
        """identify returns an Identity of text or None for any parsed payload."""
        identity = verifier.identify(_request({}, body), payload)
        assert isinstance(identity, Identity)
        assert all(v is None or isinstance(v, str) for v in (identity.external_id, identity.type))


class TestStripeRoundTrip:
    @PROPERTY
    @given(
        body=st.binary(),
        secret=secrets,
        timestamp=unix_times,
        skew=st.integers(min_value=-300, max_value=300),
    )
    def test_sign_then_verify(self, body: bytes, secret: str, timestamp: int, skew: int) -> None:
        """A signed body verifies at any moment within the tolerance."""
        request = _request({"stripe-signature": stripe_sign(body, secret, timestamp)}, body)
        verifier = StripeVerifier(StripeConfig(provider="stripe", secret=secret))
        verifier.verify(request, now=_at(timestamp + skew))

    @PROPERTY
    @given(body=st.binary(), secret=secrets, timestamp=unix_times, extra=st.binary(min_size=1))
    def test_changed_body_fails(
        self, body: bytes, secret: str, timestamp: int, extra: bytes
    ) -> None:
        """Appending anything to a signed body breaks the signature."""
        request = _request({"stripe-signature": stripe_sign(body, secret, timestamp)}, body + extra)
        verifier = StripeVerifier(StripeConfig(provider="stripe", secret=secret))
        with pytest.raises(VerificationError, match="does not match"):
            verifier.verify(request, now=_at(timestamp))

    @PROPERTY
    @given(body=st.text(), secret=secrets, timestamp=unix_times)
    def test_official_library_agrees(self, body: str, secret: str, timestamp: int) -> None:
        """Our sign() passes stripe's verify_header, and stripe's helper passes our verify."""
        ours = stripe_sign(body.encode(), secret, timestamp)
        assert stripe.WebhookSignature.verify_header(body, ours, secret, tolerance=None)
        theirs = stripe.WebhookSignature.generate_signature_header(
            body, secret, timestamp=timestamp
        )
        verifier = StripeVerifier(StripeConfig(provider="stripe", secret=secret))
        verifier.verify(_request({"stripe-signature": theirs}, body.encode()), now=_at(timestamp))


class TestHmacRoundTrip:
    @PROPERTY
    @given(config=hmac_configs, body=st.binary(), timestamp=unix_times)
    def test_sign_then_verify(self, config: HmacConfig, body: bytes, timestamp: int) -> None:
        """Whatever the algorithm, encoding, prefix and template, a signed body verifies."""
        request = _request(_lower(hmac_sign(body, config, timestamp=timestamp)), body)
        HmacVerifier(config).verify(request, now=_at(timestamp))

    @PROPERTY
    @given(config=hmac_configs, body=st.binary(), timestamp=unix_times, extra=st.binary(min_size=1))
    def test_changed_body_fails(
        self, config: HmacConfig, body: bytes, timestamp: int, extra: bytes
    ) -> None:
        """Appending anything to a signed body breaks the signature."""
        request = _request(_lower(hmac_sign(body, config, timestamp=timestamp)), body + extra)
        with pytest.raises(VerificationError, match="does not match"):
            HmacVerifier(config).verify(request, now=_at(timestamp))


class TestSecrecy:
    @PROPERTY
    @given(
        secret=long_secrets,
        body=st.binary(max_size=64),
        timestamp=unix_times,
        skew=st.sampled_from([-10_000, 0, 10_000]),
        forged=st.one_of(_hexish, _b64ish, st.text(max_size=70)),
    )
    def test_stripe_reason_reveals_nothing(
        self, secret: str, body: bytes, timestamp: int, skew: int, forged: str
    ) -> None:
        """Refusing a forged or stale Stripe request names neither secret nor signature."""
        expected = stripe_sign(body, secret, timestamp).partition("v1=")[2]
        verifier = StripeVerifier(StripeConfig(provider="stripe", secret=secret))
        for candidate in (forged, expected):  # a forgery, and an authentic but stale/future one
            header = {"stripe-signature": f"t={timestamp},v1={candidate}"}
            try:
                verifier.verify(_request(header, body), now=_at(timestamp + skew))
            except VerificationError as exc:
                _assert_hidden(exc, secret, bytes.fromhex(expected))

    @PROPERTY
    @given(
        config=_hmac_configs(long_secrets),
        body=st.binary(max_size=64),
        timestamp=unix_times,
        forged=header_values,
    )
    def test_hmac_reason_reveals_nothing(
        self, config: HmacConfig, body: bytes, timestamp: int, forged: str
    ) -> None:
        """Refusals of forged HMAC requests name neither the secret nor the expected signature."""
        signed = _lower(hmac_sign(body, config, timestamp=timestamp))
        name = config.header.lower()
        expected = signed[name].removeprefix(config.prefix)
        digest = bytes.fromhex(expected) if config.encoding == "hex" else base64.b64decode(expected)
        try:
            HmacVerifier(config).verify(
                _request({**signed, name: forged}, body), now=_at(timestamp)
            )
        except VerificationError as exc:
            _assert_hidden(exc, config.secret.get_secret_value(), digest)


def _assert_hidden(exc: VerificationError, secret: str, digest: bytes) -> None:
    text = f"{exc} {exc!r} {json.dumps(exc.args)}"
    assert secret not in text
    assert digest.hex() not in text.lower()
    assert base64.b64encode(digest).decode() not in text
