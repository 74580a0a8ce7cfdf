"""`hookline trigger`: every shipped sample is accepted by our verifiers and by the providers'
official ones, and the command sends it to a real server and prints the answer."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import standardwebhooks.webhooks
import stripe
import svix.webhooks
import uvicorn
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator
from typer.testing import CliRunner

from hookline.app import create_app
from hookline.cli import app as cli
from hookline.config.loader import loads
from hookline.runtime import Runtime
from hookline.store.sqlite import SqliteStore
from hookline.trigger import DEFAULT_EVENTS, TriggerError, build, sample_events
from hookline.verify import VERIFIERS
from tests.support.catalog import BASE_URL, CATALOG
from tests.support.hooks_app import hooks_app, stored

HANDSHAKES = {("github", "ping"), ("slack", "url_verification")}
SAMPLES = [(p, e) for p in VERIFIERS.names() for e in sample_events(p)]


def _build(provider: str, event: str | None = None, **kw: Any) -> Any:
    secret = kw.pop("secret", CATALOG[provider][1])
    url = kw.pop("url", f"{BASE_URL}/hooks/{provider}")
    return build(provider, event, url=url, secret=secret, now=kw.pop("now", int(time.time())), **kw)


class TestSamples:
    def test_every_provider_has_its_default_sample(self) -> None:
        """Each registered provider has a default event with a shipped sample."""
        assert sorted(DEFAULT_EVENTS) == VERIFIERS.names()
        for provider, event in DEFAULT_EVENTS.items():
            assert event in sample_events(provider)

    def test_issue_samples_are_shipped(self) -> None:
        """The samples the issue names exist."""
        assert {"payment_intent.succeeded", "checkout.session.completed"} <= set(
            sample_events("stripe")
        )
        assert {"push", "pull_request"} <= set(sample_events("github"))
        assert sample_events("shopify") == ["orders/create"]

    @pytest.mark.parametrize(("provider", "event"), SAMPLES)
    async def test_sample_is_accepted_by_ingest(
        self, tmp_path: Path, provider: str, event: str
    ) -> None:
        """Each sample is stored (twice: fresh ids), or answered as a handshake and not stored."""
        async with hooks_app(tmp_path, {provider: {"verify": CATALOG[provider][0]}}) as (
            client,
            store,
        ):
            for _ in range(2):
                sample = _build(provider, event)
                response = await client.post(
                    f"/hooks/{provider}", headers=sample.headers, content=sample.body
                )
                assert response.status_code == 200, response.text
            events = await stored(store)
            if (provider, event) in HANDSHAKES:
                assert events == []
            else:
                assert [e.source for e in events] == [provider, provider]
                assert all(e.external_id is None for e in events) or (
                    events[0].external_id != events[1].external_id
                )

    @pytest.mark.parametrize(
        ("provider", "expected"),
        [
            ("stripe", "payment_intent.succeeded"),
            ("github", "push"),
            ("gitlab", "Push Hook"),
            ("standard-webhooks", "invoice.paid"),
            ("shopify", "orders/create"),
            ("slack", "app_mention"),
            ("telegram", "message"),
            ("meta", "whatsapp_business_account.messages"),
            ("typeform", "form_response"),
        ],
    )
    async def test_stored_type(self, tmp_path: Path, provider: str, expected: str) -> None:
        """The default sample is stored with the type the provider's verifier reads from it."""
        async with hooks_app(tmp_path, {provider: {"verify": CATALOG[provider][0]}}) as (
            client,
            store,
        ):
            sample = _build(provider)
            await client.post(f"/hooks/{provider}", headers=sample.headers, content=sample.body)
            (event,) = await stored(store)
            assert event.type == expected

    def test_payload_file_is_sent_verbatim(self) -> None:
        """With a payload, the body is exactly those bytes and is signed as such."""
        sample = _build("github", "push", payload=b'{"zen": "raw"}\n')
        assert sample.body == b'{"zen": "raw"}\n'

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("paypal", None), "unknown provider 'paypal'"),
            (("github", "release"), "no github sample for 'release'; samples: ping, pull_request"),
            (("basic", None), "USERNAME:PASSWORD"),
            (("none", None), "--url must be an http"),
        ],
    )
    def test_usage_errors(self, args: tuple[str, str | None], message: str) -> None:
        """Unknown providers and events, and unusable secrets, are clear errors."""
        url = "ftp://x" if args[0] == "none" else "http://x"
        with pytest.raises(TriggerError, match=message):
            build(*args, url=url, secret="no-colon", now=0)

    def test_now_is_used_for_timestamps(self) -> None:
        """Timestamps in signatures come from `now`, so tests control the clock."""
        sample = build("slack", url="http://x", secret="s", now=1_700_000_000)
        assert sample.headers["X-Slack-Request-Timestamp"] == "1700000000"

    def test_secret_required(self) -> None:
        """Signing providers need --secret; `none` does not."""
        with pytest.raises(TriggerError, match="--secret is required"):
            build("stripe", url="http://x", secret=None, now=0)
        assert build("none", url="http://x", secret=None, now=0).body


class TestOfficialVerifiersAcceptTrigger:
    def test_stripe(self) -> None:
        """stripe.Webhook.construct_event accepts a triggered event."""
        sample = _build("stripe", "checkout.session.completed")
        secret = CATALOG["stripe"][1]
        event = stripe.Webhook.construct_event(
            sample.body, sample.headers["Stripe-Signature"], secret
        )
        assert event.type == "checkout.session.completed"

    def test_standard_webhooks_and_svix(self) -> None:
        """The standardwebhooks and svix libraries both verify a triggered event."""
        sample = _build("standard-webhooks")
        secret = CATALOG["standard-webhooks"][1]
        parsed = standardwebhooks.webhooks.Webhook(secret).verify(sample.body, sample.headers)
        assert parsed["type"] == "invoice.paid"
        svix.webhooks.Webhook(secret).verify(sample.body, sample.headers)

    def test_slack(self) -> None:
        """slack_sdk's SignatureVerifier accepts a triggered event_callback."""
        sample = _build("slack")
        verifier = SignatureVerifier(CATALOG["slack"][1])
        assert verifier.is_valid_request(sample.body, sample.headers)

    def test_twilio(self) -> None:
        """twilio's RequestValidator accepts a triggered message for the URL it was sent to."""
        url = "https://hooks.example.com/hooks/twilio?shop=1"
        sample = _build("twilio", url=url)
        params = dict(parse_qsl(sample.body.decode(), keep_blank_values=True))
        validator = RequestValidator(CATALOG["twilio"][1])
        assert validator.validate(url, params, sample.headers["X-Twilio-Signature"])


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, SqliteStore]]:
    """The real app under uvicorn on a loopback socket that listens before serving starts."""
    sources = {name: {"verify": CATALOG[name][0]} for name in ("stripe", "slack")}
    config = loads(json.dumps({"sources": sources}), file="t.yaml", environ={})
    store = SqliteStore(tmp_path / "h.db")
    runtime = Runtime(config, store, with_worker=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections queue here until uvicorn has started: no waiting needed
    uv = uvicorn.Server(uvicorn.Config(create_app(runtime), log_config=None, lifespan="on"))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", store
    finally:
        uv.should_exit = True
        await task
        sock.close()


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


class TestCommand:
    async def test_sends_and_prints_the_answer(self, server: tuple[str, SqliteStore]) -> None:
        """`trigger stripe` posts a signed sample; the answer is printed and the event stored."""
        url, store = server
        secret = CATALOG["stripe"][1]
        result = await asyncio.to_thread(
            _invoke, "trigger", "stripe", "--url", f"{url}/hooks/stripe", "--secret", secret
        )
        assert result.exit_code == 0, result.output
        assert "200 OK" in result.stdout and '"duplicate":false' in result.stdout
        (event,) = await stored(store)
        assert event.type == "payment_intent.succeeded"

    async def test_handshake_answer_is_printed(self, server: tuple[str, SqliteStore]) -> None:
        """`trigger slack url_verification` prints the challenge Hookline echoed."""
        url, store = server
        result = await asyncio.to_thread(
            _invoke, "trigger", "slack", "url_verification", "--url", f"{url}/hooks/slack",
            "--secret", CATALOG["slack"][1],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in result.stdout
        assert await stored(store) == []

    async def test_refusal_exits_1(self, server: tuple[str, SqliteStore]) -> None:
        """A wrong secret gets 401, printed, with exit code 1."""
        url, store = server
        result = await asyncio.to_thread(
            _invoke, "trigger", "stripe", "--url", f"{url}/hooks/stripe", "--secret", "whsec_x"
        )
        assert result.exit_code == 1
        assert "401" in result.stdout and "invalid_signature" in result.stdout
        assert await stored(store) == []

    def test_usage_error_exits_2(self) -> None:
        """An unknown sample names the ones there are, exit code 2."""
        result = _invoke("trigger", "stripe", "charge.nope", "--url", "http://x", "--secret", "s")
        assert result.exit_code == 2
        assert "samples: checkout.session.completed, payment_intent.succeeded" in result.output

    def test_unreachable_url_exits_1(self) -> None:
        """A URL nobody listens on is a runtime error, exit code 1."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # closed again before the trigger connects
        result = _invoke("trigger", "none", "--url", f"http://127.0.0.1:{port}/hooks/x")
        assert result.exit_code == 1
        assert "could not reach" in result.output

    def test_missing_payload_file(self, tmp_path: Path) -> None:
        """A payload file that does not exist is a usage error."""
        result = _invoke("trigger", "none", "--url", "http://x", "--payload", str(tmp_path / "n"))
        assert result.exit_code == 2 and "cannot read" in result.output
