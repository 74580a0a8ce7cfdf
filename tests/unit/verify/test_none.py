"""NoneVerifier and NoneConfig: explicit opt-out of verification."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from hookline.verify import VERIFIERS
from hookline.verify.base import Identity, InboundRequest, Verifier
from hookline.verify.none import NoneConfig, NoneVerifier

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _request(headers: dict[str, str], body: bytes) -> InboundRequest:
    return InboundRequest(method="POST", path="/hooks/form", headers=headers, query={}, body=body)


def _verifier() -> NoneVerifier:
    return NoneVerifier(NoneConfig(provider="none"))


class TestVerify:
    @pytest.mark.parametrize(
        ("headers", "body"),
        [
            ({}, b""),  # nothing at all
            ({"x-signature": "forged"}, b'{"id": 1}'),  # a signature header is not looked at
            ({"content-type": "text/plain"}, b"\xff\xfe not utf-8"),  # any bytes
        ],
    )
    def test_accepts_everything(self, headers: dict[str, str], body: bytes) -> None:
        """Every request passes; the choice to skip verification was made in config."""
        _verifier().verify(_request(headers, body), now=NOW)


class TestIdentify:
    @pytest.mark.parametrize("payload", [None, {"id": "x", "type": "y"}, [1], "text"])
    def test_empty_identity(self, payload: Any) -> None:
        """No id or type is guessed; source config supplies them."""
        assert _verifier().identify(_request({}, b""), payload) == Identity()


class TestConfig:
    def test_stray_secret_rejected(self) -> None:
        """A `secret:` under `provider: none` fails, so nobody thinks the source is protected."""
        with pytest.raises(ValidationError, match="extra"):
            NoneConfig.model_validate({"provider": "none", "secret": "s3cret"})

    def test_other_provider_rejected(self) -> None:
        """The model only accepts `provider: none`."""
        with pytest.raises(ValidationError, match="provider"):
            NoneConfig.model_validate({"provider": "stripe"})


class TestRegistry:
    def test_registered_as_none(self) -> None:
        """`provider: none` resolves to NoneVerifier with its config model."""
        cls = VERIFIERS.get("none")
        assert cls is NoneVerifier
        assert (cls.provider, cls.config_model) == ("none", NoneConfig)

    def test_satisfies_protocol(self) -> None:
        """NoneVerifier is a Verifier (checked by mypy)."""
        verifier: Verifier = _verifier()
        assert verifier.identify(_request({}, b""), None) == Identity()
