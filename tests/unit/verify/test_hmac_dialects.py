"""GitHub, Shopify, Typeform and Meta: HMAC dialects over the helpers in verify/base.py.

Their vector tables (tests/vectors) cover verification row by row; here: published
examples, sign() round trips, identity rules, handshakes and config.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hookline.errors import VerificationError
from hookline.verify import VERIFIERS, github, meta, shopify, typeform
from hookline.verify.base import HandshakeReply, Identity, InboundRequest

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GITHUB_DOCS_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def _request(headers: dict[str, str], body: bytes = b"", method: str = "POST", **query: str):
    return InboundRequest(method=method, path="/hooks/x", headers=headers, query=query, body=body)


def _github(secret: str | None = None) -> github.GithubVerifier:
    secret = secret or "s3cret"
    return github.GithubVerifier(github.GithubConfig(provider="github", secret=secret))


def _meta() -> meta.MetaVerifier:
    config = meta.MetaConfig(provider="meta", secret="app-secret", verify_token="vt-123")
    return meta.MetaVerifier(config)


DIALECTS: list[Any] = [
    pytest.param(github, "X-Hub-Signature-256", {"provider": "github"}, id="github"),
    pytest.param(shopify, "X-Shopify-Hmac-Sha256", {"provider": "shopify"}, id="shopify"),
    pytest.param(typeform, "Typeform-Signature", {"provider": "typeform"}, id="typeform"),
    pytest.param(meta, "X-Hub-Signature-256", {"provider": "meta", "verify_token": "t"}, id="meta"),
]


class TestGithub:
    def test_docs_example(self) -> None:
        """sign() reproduces GitHub's documented example, and verify accepts it."""
        secret, body = "It's a Secret to Everybody", b"Hello, World!"
        assert github.sign(body, secret) == GITHUB_DOCS_SIGNATURE
        request = _request({"x-hub-signature-256": GITHUB_DOCS_SIGNATURE}, body)
        _github(secret).verify(request, now=NOW)

    @pytest.mark.parametrize(
        ("headers", "payload", "expected"),
        [
            ({"x-github-event": "push", "x-github-delivery": "d1"}, {"ref": "x"}, ("d1", "push")),
            ({"x-github-event": "issues"}, {"action": "opened"}, (None, "issues.opened")),
            ({"x-github-delivery": "d2"}, {"action": "opened"}, ("d2", None)),  # no event header
            ({"x-github-event": "push"}, None, (None, "push")),  # not JSON
            # the form content type wraps the JSON in `payload`
            (
                {"x-github-event": "star"},
                {"payload": '{"action": "created"}'},
                (None, "star.created"),
            ),
            ({"x-github-event": "star"}, {"payload": "{not json"}, (None, "star")),
        ],
    )
    def test_identify(
        self, headers: dict[str, str], payload: Any, expected: tuple[str | None, str | None]
    ) -> None:
        """The id is X-GitHub-Delivery; the type is X-GitHub-Event plus the payload's action."""
        assert _github().identify(_request(headers), payload) == Identity(*expected)

    def test_ping_is_answered(self) -> None:
        """A ping gets a JSON reply; any other event is left to ingest."""
        verifier = _github()
        reply = verifier.handshake(_request({"x-github-event": "ping"}), {"zen": "z"})
        assert reply == HandshakeReply(
            body=b'{"ok":true,"ping":true}', content_type="application/json"
        )
        assert verifier.handshake(_request({"x-github-event": "push"}), {}) is None


class TestMeta:
    def test_get_challenge(self) -> None:
        """A subscribe GET with the right verify token verifies and echoes the challenge."""
        verifier = _meta()
        request = _request(
            {},
            method="GET",
            **{
                "hub.mode": "subscribe",
                "hub.verify_token": "vt-123",
                "hub.challenge": "42",
            },
        )
        verifier.verify(request, now=NOW)
        assert verifier.handshake(request, None) == HandshakeReply(body=b"42")
        assert "GET" in verifier.methods

    def test_post_is_not_a_handshake(self) -> None:
        """A signed POST is verified with the app secret and ingested."""
        body = b'{"object": "page", "entry": []}'
        request = _request({"x-hub-signature-256": meta.sign(body, "app-secret")}, body)
        _meta().verify(request, now=NOW)
        assert _meta().handshake(request, {}) is None

    @pytest.mark.parametrize(
        ("payload", "kind"),
        [
            ({"object": "page", "entry": [{"messaging": [{}]}]}, "page"),
            (
                {"object": "instagram", "entry": [{"changes": [{"field": "comments"}]}]},
                "instagram.comments",
            ),
            ({"object": "x", "entry": []}, "x"),
            ({"entry": "not a list"}, None),
            ("text", None),
        ],
    )
    def test_identify(self, payload: Any, kind: str | None) -> None:
        """No id (Meta sends none); the type is `object`, plus the first change's field."""
        assert _meta().identify(_request({}), payload) == Identity(None, kind)


class TestShopifyAndTypeform:
    def test_shopify_identity(self) -> None:
        """Webhook id first, event id as fallback; the topic is the type."""
        verifier = shopify.ShopifyVerifier(shopify.ShopifyConfig(provider="shopify", secret="s"))
        both = {"x-shopify-webhook-id": "w", "x-shopify-event-id": "e", "x-shopify-topic": "t"}
        assert verifier.identify(_request(both), None) == Identity("w", "t")
        assert verifier.identify(_request({"x-shopify-event-id": "e"}), None) == Identity("e")

    def test_typeform_identity(self) -> None:
        """The payload's event_id and event_type."""
        verifier = typeform.TypeformVerifier(
            typeform.TypeformConfig(provider="typeform", secret="s")
        )
        payload = {"event_id": "01H", "event_type": "form_response"}
        assert verifier.identify(_request({}), payload) == Identity("01H", "form_response")


class TestDialects:
    @pytest.mark.parametrize(("module", "header", "config"), DIALECTS)
    @settings(max_examples=25, deadline=None)
    @given(body=st.binary(max_size=100), extra=st.binary(min_size=1, max_size=4))
    def test_sign_then_verify(
        self, module: Any, header: str, config: dict[str, Any], body: bytes, extra: bytes
    ) -> None:
        """sign() output verifies; any change to the body breaks it."""
        verifier = VERIFIERS.get(config["provider"])(
            VERIFIERS.get(config["provider"]).config_model.model_validate(
                {**config, "secret": "k3y"}
            )
        )
        signed = {header.lower(): module.sign(body, "k3y")}
        verifier.verify(_request(signed, body), now=NOW)
        with pytest.raises(VerificationError, match="does not match"):
            verifier.verify(_request(signed, body + extra), now=NOW)

    @pytest.mark.parametrize(("module", "header", "config"), DIALECTS)
    @pytest.mark.parametrize("secret", ["", "   "])
    def test_empty_secret_is_a_config_error(
        self, module: Any, header: str, config: dict[str, Any], secret: str
    ) -> None:
        """A blank secret (an unset ${VAR}) never configures a verifier."""
        model = VERIFIERS.get(config["provider"]).config_model
        with pytest.raises(ValidationError, match="secret must not be empty"):
            model.model_validate({**config, "secret": secret})

    def test_meta_needs_a_verify_token(self) -> None:
        """Meta's verify_token is required and must not be blank."""
        with pytest.raises(ValidationError, match="verify_token"):
            meta.MetaConfig.model_validate({"provider": "meta", "secret": "s"})
        with pytest.raises(ValidationError, match="must not be empty"):
            meta.MetaConfig.model_validate({"provider": "meta", "secret": "s", "verify_token": ""})
