"""Shared-token providers: gitlab, telegram, basic and bearer (configs, identity, sign)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from hookline.errors import VerificationError
from hookline.verify import basic, bearer, gitlab, telegram
from hookline.verify.base import Identity, InboundRequest

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _request(headers: dict[str, str], **query: str) -> InboundRequest:
    lowered = {k.lower(): v for k, v in headers.items()}
    return InboundRequest("POST", "/hooks/x", lowered, query, b"{}")


class TestGitlab:
    def test_sign_round_trip_and_identity(self) -> None:
        """The token header verifies; Idempotency-Key wins over X-Gitlab-Event-UUID."""
        verifier = gitlab.GitlabVerifier(gitlab.GitlabConfig(provider="gitlab", secret="tok"))
        headers = {**gitlab.sign("tok"), "Idempotency-Key": "i", "X-Gitlab-Event-UUID": "u"}
        verifier.verify(_request(headers), now=NOW)
        assert verifier.identify(_request(headers), None) == Identity("i", None)

    def test_utf8_token_as_sent(self) -> None:
        """A non-ASCII token matches as the UTF-8 bytes a sender puts on the wire."""
        verifier = gitlab.GitlabVerifier(gitlab.GitlabConfig(provider="gitlab", secret="пароль"))
        wire = "пароль".encode().decode("latin-1")  # how ingest decodes header bytes
        verifier.verify(_request({"X-Gitlab-Token": wire}), now=NOW)


class TestTelegram:
    @pytest.mark.parametrize("secret", ["has space", "ünïcode", "x" * 257, "semi;colon"])
    def test_secret_follows_telegram_alphabet(self, secret: str) -> None:
        """Secrets Telegram's setWebhook would refuse are refused at config load."""
        with pytest.raises(ValidationError, match="Telegram's rule"):
            telegram.TelegramConfig.model_validate({"provider": "telegram", "secret": secret})

    @pytest.mark.parametrize(
        ("payload", "expected"),
        [
            ({"update_id": 7, "message": {}}, ("7", "message")),
            ({"update_id": 8, "my_chat_member": {}}, ("8", "my_chat_member")),
            ({"update_id": 9, "message": {}, "extra": 1}, ("9", None)),  # ambiguous kind
            ({"message": {}}, (None, "message")),
            ([1, 2], (None, None)),
        ],
    )
    def test_identify(self, payload: Any, expected: tuple[str | None, str | None]) -> None:
        """update_id is the id; the update's one other key is its type."""
        config = telegram.TelegramConfig(provider="telegram", secret="ok_token-1")
        verifier = telegram.TelegramVerifier(config)
        assert verifier.identify(_request({}), payload) == Identity(*expected)


class TestBasic:
    def test_sign_round_trip(self) -> None:
        """sign() makes the header verify accepts; a colon in the password is fine."""
        config = basic.BasicConfig(provider="basic", username="u", password="p:w")
        basic.BasicVerifier(config).verify(_request(basic.sign("u", "p:w")), now=NOW)

    def test_username_without_colon(self) -> None:
        """RFC 7617 forbids a colon in the user-id, so the config does too."""
        with pytest.raises(ValidationError, match="must not contain ':'"):
            basic.BasicConfig.model_validate(
                {"provider": "basic", "username": "a:b", "password": "p"}
            )


class TestBearer:
    @pytest.mark.parametrize(
        ("config", "headers", "query"),
        [
            ({}, {"Authorization": "Bearer t0k"}, {}),
            ({"header": "X-Api-Key"}, {"X-Api-Key": "t0k"}, {}),
            ({"header": "X-Auth", "scheme": "Token"}, {"X-Auth": "Token t0k"}, {}),
            ({"query": "key"}, {}, {"key": "t0k"}),
        ],
    )
    def test_token_places(
        self, config: dict[str, Any], headers: dict[str, str], query: dict[str, str]
    ) -> None:
        """The token is taken from the configured header (with its scheme) or query parameter."""
        model = bearer.BearerConfig.model_validate({"provider": "bearer", "token": "t0k", **config})
        bearer.BearerVerifier(model).verify(_request(headers, **query), now=NOW)

    def test_query_not_accepted_unless_configured(self) -> None:
        """Without `query:`, a token in the URL does not authenticate."""
        model = bearer.BearerConfig.model_validate({"provider": "bearer", "token": "t0k"})
        with pytest.raises(VerificationError, match="missing Authorization header"):
            bearer.BearerVerifier(model).verify(_request({}, token="t0k"), now=NOW)

    def test_sign(self) -> None:
        """sign() writes the bearer header, or a bare API key."""
        assert bearer.sign("t") == {"Authorization": "Bearer t"}
        assert bearer.sign("t", header="X-Api-Key", scheme="") == {"X-Api-Key": "t"}

    @pytest.mark.parametrize("token", ["", "  "])
    def test_blank_token(self, token: str) -> None:
        """A blank token is a config error."""
        with pytest.raises(ValidationError, match="must not be empty"):
            bearer.BearerConfig.model_validate({"provider": "bearer", "token": token})

    @pytest.mark.parametrize("token", ["tok-123456\n", " tok-123456"])
    def test_token_with_surrounding_whitespace(self, token: str) -> None:
        """A token read from a file with its newline would never match: a config error."""
        with pytest.raises(ValidationError, match="leading or trailing whitespace"):
            bearer.BearerConfig.model_validate({"provider": "bearer", "token": token})
