"""HmacVerifier, HmacConfig, signed_string templates and sign(): vectors and config."""

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
from pydantic import ValidationError

from hookline.errors import VerificationError
from hookline.verify import VERIFIERS
from hookline.verify.base import Identity, InboundRequest, Verifier
from hookline.verify.hmac import HmacConfig, HmacVerifier, compile_signed_string, sign

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "hmac.json").read_text("utf-8")
)
# Each row's `comment` in hmac.json says what it exercises; its `name` is the test id.


def _params(keep: Callable[[dict[str, Any]], bool] = lambda row: True) -> list[Any]:
    return [pytest.param(row, id=row["name"]) for row in VECTORS["vectors"] if keep(row)]


ROWS = _params()
NOW = datetime.fromtimestamp(VECTORS["now"], UTC)
BODY = b'{"id":"lead_1","type":"form.submitted"}'


def _request(headers: dict[str, str], body: bytes) -> InboundRequest:
    return InboundRequest(method="POST", path="/hooks/app", headers=headers, query={}, body=body)


def _config(**overrides: Any) -> HmacConfig:
    return HmacConfig.model_validate({**VECTORS["config"], **overrides})


def _case(row: dict[str, Any]) -> tuple[HmacVerifier, InboundRequest, datetime]:
    body = bytes.fromhex(row["body_hex"]) if "body_hex" in row else row["body"].encode()
    now = datetime.fromtimestamp(row.get("now", VECTORS["now"]), UTC)
    return HmacVerifier(_config(**row.get("config", {}))), _request(row["headers"], body), now


def _lower(headers: dict[str, str]) -> dict[str, str]:
    """What the HTTP edge does before a verifier sees the headers."""
    return {name.lower(): value for name, value in headers.items()}


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

    @pytest.mark.parametrize("row", _params(lambda row: row["error"] is not None))
    def test_reason_never_reveals_secret_or_signature(self, row: dict[str, Any]) -> None:
        """No refusal mentions the secret or the signature we would have accepted."""
        verifier, request, now = _case(row)
        config = verifier.config
        with pytest.raises(VerificationError) as info:
            verifier.verify(request, now=now)
        text = f"{info.value} {info.value!r}"
        key = config.secret.get_secret_value()
        assert key not in text
        stamp = request.headers.get((config.timestamp_header or "").lower(), "")
        signed = (config.signed_string or "{body}").replace("{timestamp}", stamp).encode()
        message = signed.replace(b"{body}", request.body)
        digest = hmac.new(key.encode(), message, getattr(hashlib, config.algorithm)).digest()
        assert digest.hex() not in text.lower()
        assert base64.b64encode(digest).decode() not in text

    def test_rows_are_named_and_commented(self) -> None:
        """Every row has a unique name and a comment saying what it covers."""
        names = [row["name"] for row in VECTORS["vectors"]]
        assert len(names) == len(set(names))
        assert all(row["comment"].strip() for row in VECTORS["vectors"])


class TestSign:
    @pytest.mark.parametrize(
        "name", ["github-docs-example", "valid-default", "valid-base64", "timestamped-slack-like"]
    )
    def test_reproduces_vector(self, name: str) -> None:
        """sign() reproduces known-good rows exactly, GitHub's documented example among them."""
        row = next(r for r in VECTORS["vectors"] if r["name"] == name)
        verifier, request, now = _case(row)
        headers = sign(request.body, verifier.config, timestamp=int(now.timestamp()))
        assert _lower(headers) == row["headers"]

    def test_timestamp_required_when_signed(self) -> None:
        """A config that signs a timestamp cannot be signed without one."""
        config = _config(timestamp_header="X-Timestamp", signed_string="{timestamp}.{body}")
        with pytest.raises(ValueError, match="timestamp"):
            sign(BODY, config)

    def test_header_names_as_configured(self) -> None:
        """sign() names headers as configured; the HTTP edge lower-cases them."""
        config = _config(header="X-Hub-Signature-256", prefix="sha256=")
        assert list(sign(BODY, config)) == ["X-Hub-Signature-256"]


class TestVerify:
    def test_timestamp_checked_only_when_configured(self) -> None:
        """Tolerance applies only with timestamp_header; a body-only signature never goes stale."""
        config = _config(tolerance="1s")
        request = _request(_lower(sign(BODY, config)), BODY)
        HmacVerifier(config).verify(request, now=datetime(2100, 1, 1, tzinfo=UTC))

    def test_tolerance_from_config(self) -> None:
        """A timestamp 599 s old passes with tolerance 10m and fails with the default 300s."""
        timed = {"timestamp_header": "X-Timestamp", "signed_string": "{timestamp}.{body}"}
        stamp = int(NOW.timestamp()) - 599
        request = _request(_lower(sign(BODY, _config(**timed), timestamp=stamp)), BODY)
        HmacVerifier(_config(**timed, tolerance="10m")).verify(request, now=NOW)
        with pytest.raises(VerificationError, match="too old"):
            HmacVerifier(_config(**timed)).verify(request, now=NOW)


class TestSignedString:
    @pytest.mark.parametrize(
        ("template", "parts"),
        [
            (None, ("body",)),  # default: the body alone
            ("{body}", ("body",)),  # explicit body only
            ("{timestamp}.{body}", ("timestamp", b".", "body")),  # Stripe-like
            ("v0:{timestamp}:{body}", (b"v0:", "timestamp", b":", "body")),  # Slack-like
            ("{{{timestamp}}}{body}", (b"{", "timestamp", b"}", "body")),  # escaped braces
            ("é{body}", ("é".encode(), "body")),  # literal text is UTF-8
        ],
    )
    def test_compiles(self, template: str | None, parts: tuple[Any, ...]) -> None:
        """A template splits into literal bytes and the body/timestamp placeholders."""
        assert compile_signed_string(template) == parts

    @pytest.mark.parametrize(
        "template",
        [
            "{payload}",  # unknown placeholder
            "{}",  # positional placeholder
            "{0}",  # numbered placeholder
            "{body!r}",  # conversion
            "{body:>10}",  # format spec
            "{body.attr}",  # attribute access
            "{body",  # unbalanced brace
            "body}",  # stray closing brace
        ],
    )
    def test_rejects(self, template: str) -> None:
        """Anything but {body}, {timestamp} and escaped braces is refused."""
        with pytest.raises(ValueError, match=r"placeholders|'}'|'\{'|Single"):
            compile_signed_string(template)


class TestIdentify:
    @pytest.mark.parametrize(
        "payload",
        [
            {"id": "lead_1", "type": "form.submitted"},  # looks identifiable: still not guessed
            None,  # not JSON
            [1, 2],  # not an object
        ],
    )
    def test_never_guesses(self, payload: Any) -> None:
        """Generic HMAC sources take id and type from source config, never from payload keys."""
        assert HmacVerifier(_config()).identify(_request({}, BODY), payload) == Identity()


class TestConfig:
    @pytest.mark.parametrize("secret", ["", "   "])
    def test_empty_secret_rejected(self, secret: str) -> None:
        """An empty or blank secret is a validation error, never a silent pass."""
        with pytest.raises(ValidationError, match="secret must not be empty"):
            _config(secret=secret)

    def test_unknown_key_rejected(self) -> None:
        """A typo such as `algorythm:` fails instead of being ignored."""
        with pytest.raises(ValidationError, match="extra"):
            _config(algorythm="sha1")

    def test_defaults(self) -> None:
        """Defaults: X-Signature, sha256, hex, no prefix, no timestamp, 300 s tolerance."""
        config = _config()
        assert (config.header, config.algorithm, config.encoding, config.prefix) == (
            "X-Signature",
            "sha256",
            "hex",
            "",
        )
        assert (config.timestamp_header, config.signed_string) == (None, None)
        assert config.tolerance == timedelta(seconds=300)

    def test_tolerance_parses_duration(self) -> None:
        """`tolerance: 5m` becomes five minutes."""
        assert _config(tolerance="5m").tolerance == timedelta(minutes=5)

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"algorithm": "md5"}, "algorithm"),  # only sha1/sha256/sha512
            ({"encoding": "base32"}, "encoding"),  # only hex/base64
            ({"header": " "}, "header name must not be empty"),  # blank header name
            ({"signed_string": "{timestamp}"}, "must contain {body}"),  # body not signed
            ({"signed_string": "{payload}"}, "placeholders"),  # unknown placeholder
            (
                {"signed_string": "{timestamp}.{body}"},
                "timestamp_header is not set",
            ),  # {timestamp} with nowhere to read it from
            (
                {"timestamp_header": "X-Timestamp"},
                "must contain {timestamp}",
            ),  # a timestamp that is not signed could be swapped by a replayer
        ],
    )
    def test_invalid(self, overrides: dict[str, Any], message: str) -> None:
        """Inconsistent or unknown settings are refused at load time with a clear message."""
        with pytest.raises(ValidationError, match=re.escape(message)):
            _config(**overrides)

    def test_secret_hidden_in_repr(self) -> None:
        """Printing the config does not reveal the secret."""
        config = _config(secret="hmac-hidden-secret")
        assert "hmac-hidden-secret" not in f"{config!r} {config} {config.model_dump()}"


class TestRegistry:
    def test_registered_as_hmac(self) -> None:
        """`provider: hmac` resolves to HmacVerifier with its config model."""
        cls = VERIFIERS.get("hmac")
        assert cls is HmacVerifier
        assert (cls.provider, cls.config_model) == ("hmac", HmacConfig)

    def test_satisfies_protocol(self) -> None:
        """HmacVerifier is a Verifier (checked by mypy) and verifies through that interface."""
        config = _config()
        verifier: Verifier = HmacVerifier(config)
        verifier.verify(_request(_lower(sign(BODY, config)), BODY), now=NOW)
