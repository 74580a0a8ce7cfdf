"""Redaction: credential headers are masked and known secret values are scrubbed from text."""

from __future__ import annotations

import pytest

from hookline.redact import MASK, SENSITIVE_HEADERS, Redactor, redact_headers


class TestRedactHeaders:
    @pytest.mark.parametrize("name", sorted(SENSITIVE_HEADERS))
    def test_sensitive_header_is_masked(self, name: str) -> None:
        """Each header that carries a credential or signature shows as ***."""
        assert redact_headers({name: "secret-value"}) == {name: MASK}

    @pytest.mark.parametrize(
        "name",
        [
            "Authorization",  # canonical capitalisation
            "STRIPE-SIGNATURE",  # upper case
            "X-Hub-Signature-256",  # mixed case
        ],
    )
    def test_names_are_case_insensitive(self, name: str) -> None:
        """Header names match whatever their case, and keep their case in the result."""
        assert redact_headers({name: "v"}) == {name: MASK}

    def test_other_headers_are_kept(self) -> None:
        """Ordinary headers pass unchanged."""
        headers = {"Content-Type": "application/json", "User-Agent": "Stripe/1.0"}

        assert redact_headers(headers) == headers

    def test_extra_names(self) -> None:
        """Extra header names (e.g. a source's own signature header) are masked too."""
        headers = {"X-Shop-Token": "t0ken", "X-Other": "fine"}

        assert redact_headers(headers, extra=["x-shop-TOKEN"]) == {
            "X-Shop-Token": MASK,
            "X-Other": "fine",
        }

    def test_input_is_not_modified(self) -> None:
        """A new mapping is returned; the original keeps its values."""
        headers = {"Authorization": "Bearer abc"}

        redact_headers(headers)

        assert headers == {"Authorization": "Bearer abc"}


class TestRedactor:
    def test_replaces_every_occurrence(self) -> None:
        """Every occurrence of every secret becomes ***."""
        redactor = Redactor(["whsec_abc123", "123456:bot-token"])

        text = redactor.text("key whsec_abc123 and /bot123456:bot-token/send, again whsec_abc123")

        assert text == "key *** and /bot***/send, again ***"

    def test_longest_secret_first(self) -> None:
        """A secret that contains another is replaced whole, so no part of it leaks."""
        redactor = Redactor(["pass", "password123"])

        assert redactor.text("it was password123, not pass") == "it was ***, not ***"

    def test_short_values_are_not_secrets(self) -> None:
        """Values under 4 characters are ignored, so common text is not mangled."""
        redactor = Redactor(["abc", "", "0"])

        assert redactor.text("abc 0 text") == "abc 0 text"

    def test_duplicates_and_no_secrets(self) -> None:
        """Duplicate secrets are harmless and no secrets changes nothing."""
        assert Redactor(["abcd", "abcd"]).text("abcd") == MASK
        assert Redactor([]).text("anything") == "anything"

    def test_optional(self) -> None:
        """`optional` passes None through and scrubs text."""
        redactor = Redactor(["s3cret"])

        assert redactor.optional(None) is None
        assert redactor.optional("x s3cret") == "x ***"

    def test_deep(self) -> None:
        """`deep` scrubs strings anywhere in dicts, lists and tuples; other values pass."""
        redactor = Redactor(["s3cret"])

        value = {"a": "s3cret", "b": [1, "x-s3cret", ("s3cret", None)], "c": {"d": 2.5}}

        assert redactor.deep(value) == {"a": MASK, "b": [1, "x-***", [MASK, None]], "c": {"d": 2.5}}

    def test_structlog_processor(self) -> None:
        """As a structlog processor it scrubs every value of the event dict."""
        redactor = Redactor(["s3cret"])
        event = {"event": "sending to https://x/s3cret", "error": {"detail": "s3cret"}, "n": 1}

        result = redactor.structlog_processor(None, "info", event)

        assert result == {"event": "sending to https://x/***", "error": {"detail": MASK}, "n": 1}
