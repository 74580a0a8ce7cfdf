"""The whole pipeline in one process: real ASGI app, real SQLite, real worker, fake Telegram."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from hookline.app import create_app
from hookline.config.loader import loads
from hookline.runtime import Runtime
from hookline.store.sqlite import SqliteStore
from tests.conftest import (
    API_TOKEN,
    STRIPE_SECRET,
    api_client,
    gateway_config,
    stripe_event,
    stripe_headers,
    wait_until,
)

EXPECTED_TEXT = "New payment! Order #123, Ivan, 5000 RUB"


@asynccontextmanager
async def gateway(tmp_path: Path, text: str) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    config = loads(text, file="test.yaml", environ={})
    runtime = Runtime(config, SqliteStore(tmp_path / "hookline.db"))
    app = create_app(runtime)
    await runtime.start()
    try:
        async with api_client(app) as client:
            yield client, runtime
    finally:
        await runtime.stop()


async def send_stripe(client: httpx.AsyncClient, body: bytes, **kw: Any) -> httpx.Response:
    return await client.post("/hooks/stripe", content=body, headers=stripe_headers(body, **kw))


async def event_detail(client: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/events/{event_id}")
    assert response.status_code == 200
    return response.json()


async def delivery_status(client: httpx.AsyncClient, event_id: str) -> list[str]:
    return [d["status"] for d in (await event_detail(client, event_id))["deliveries"]]


class TestCanonicalScenario:
    async def test_payment_reaches_the_manager_once(self, tmp_path, telegram):
        """A signed payment event is stored, answered 2xx, and sent to Telegram exactly once."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            body = stripe_event("evt_paid")
            first = await send_stripe(client, body)
            assert first.status_code == 200 and first.json()["duplicate"] is False
            again = await send_stripe(client, body)
            assert again.json() == {"id": first.json()["id"], "duplicate": True}
            await wait_until(lambda: len(telegram.messages) >= 1)
            await wait_until(lambda: _settled(client, first.json()["id"]))
            assert [m.text for m in telegram.messages] == [EXPECTED_TEXT]
            assert telegram.messages[0].chat_id == "42"

    async def test_other_event_types_are_stored_without_deliveries(self, tmp_path, telegram):
        """An event the route's condition rejects is kept, with no delivery."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            response = await send_stripe(client, stripe_event("evt_x", type="charge.refunded"))
            assert response.status_code == 200
            detail = await event_detail(client, response.json()["id"])
            assert detail["type"] == "charge.refunded" and detail["deliveries"] == []

    async def test_retry_after_is_obeyed(self, tmp_path, telegram):
        """A 429 with retry_after is tried again no sooner than Telegram asked."""
        telegram.set_mode("retry_after", retry_after=1, times=1)
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            response = await send_stripe(client, stripe_event("evt_429"))
            await wait_until(lambda: len(telegram.messages) == 1)
            limited, delivered = telegram.requests
            assert limited.status == 429 and delivered.status == 200
            assert (delivered.received_at - limited.received_at).total_seconds() >= 1.0
            await wait_until(lambda: _settled(client, response.json()["id"]))
            (delivery,) = (await event_detail(client, response.json()["id"]))["deliveries"]
            assert [a["outcome"] for a in delivery["history"]] == ["retry", "succeeded"]

    async def test_a_long_message_is_resumed_not_resent(self, tmp_path, telegram):
        """A message sent in parts whose second part fails is retried from that part: the
        chat gets each part once, and the delivery remembers where it was across attempts."""
        canonical = gateway_config(telegram.url)
        start, end = canonical.index("          text:"), canonical.index("delivery:")
        long_text = "{% for i in range(100) %}line {{ i }} {{ 'x' * 90 }}\n{% endfor %}"
        config = f"{canonical[:start]}          text: {json.dumps(long_text)}\n{canonical[end:]}"
        telegram.set_mode("retry_after", retry_after=1, times=1, after=1)
        async with gateway(tmp_path, config) as (client, _):
            response = await send_stripe(client, stripe_event("evt_long"))
            await wait_until(lambda: _settled(client, response.json()["id"]))
        assert [r.status for r in telegram.requests] == [200, 429, 200, 200]  # three parts
        lines = "\n".join(m.text for m in telegram.messages).splitlines()
        assert lines == [f"line {i} {'x' * 90}" for i in range(100)]

    async def test_telegram_down_is_retried_until_it_returns(self, tmp_path, telegram):
        """While Telegram answers 5xx the delivery keeps retrying; it succeeds once it is back."""
        telegram.set_mode("down")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            response = await send_stripe(client, stripe_event("evt_down"))
            await wait_until(lambda: len(telegram.requests) >= 3)
            assert await delivery_status(client, response.json()["id"]) in (
                ["retrying"],
                ["in_flight"],
            )
            telegram.set_mode("ok")
            await wait_until(lambda: len(telegram.messages) == 1)
            await wait_until(lambda: _settled(client, response.json()["id"]))

    async def test_blocked_bot_is_dead_then_replayable(self, tmp_path, telegram):
        """A bot blocked by the user ends dead with Telegram's reason; a replay then works."""
        telegram.set_mode("blocked")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            event_id = (await send_stripe(client, stripe_event("evt_blocked"))).json()["id"]
            await wait_until(lambda: _has_status(client, event_id, "dead"))
            (delivery,) = (await event_detail(client, event_id))["deliveries"]
            assert "blocked by the user" in delivery["last_error"]
            telegram.set_mode("ok")
            replayed = await client.post(f"/api/deliveries/{delivery['id']}/replay")
            assert replayed.status_code == 202
            await wait_until(lambda: _has_status(client, event_id, "succeeded"))
            assert len(telegram.messages) == 1

    async def test_event_replay_creates_new_deliveries(self, tmp_path, telegram):
        """Replaying an event runs it through the routes again: a second message is sent."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            event_id = (await send_stripe(client, stripe_event("evt_r"))).json()["id"]
            await wait_until(lambda: len(telegram.messages) == 1)
            response = await client.post(f"/api/events/{event_id}/replay")
            assert response.status_code == 202 and len(response.json()["deliveries"]) == 1
            await wait_until(lambda: len(telegram.messages) == 2)


class TestRejectedRequests:
    @pytest.mark.parametrize(
        ("headers", "reason"),
        [
            ({"Stripe-Signature": "t=1,v1=" + "0" * 64}, "stale"),  # forged and ancient
            ({}, "missing"),  # no signature header at all
            ({"Stripe-Signature": "garbage"}, "malformed"),  # not the t=,v1= format
        ],
    )
    async def test_bad_signatures_store_nothing(self, tmp_path, telegram, headers, reason):
        """Forged, stale, missing or malformed signatures get 401 and nothing is stored."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            response = await client.post("/hooks/stripe", content=stripe_event(), headers=headers)
            assert response.status_code == 401, reason
            assert response.json()["error"]["code"] == "invalid_signature"
            assert (await client.get("/api/events")).json()["events"] == []

    async def test_wrong_secret_and_stale_timestamp(self, tmp_path, telegram):
        """A signature made with another secret, or six minutes old, is refused."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            body = stripe_event()
            assert (await send_stripe(client, body, secret="whsec_other")).status_code == 401
            stale = int(time.time()) - 360
            assert (await send_stripe(client, body, at=stale)).status_code == 401
            assert (await client.get("/api/events")).json()["events"] == []

    async def test_body_over_limit_is_413(self, tmp_path, telegram):
        """A body over the source's size limit gets 413 and is not stored."""
        text = gateway_config(telegram.url).replace(
            "verify: {provider: stripe", "max_body_size: 1KB\n    verify: {provider: stripe"
        )
        async with gateway(tmp_path, text) as (client, _):
            body = b'{"id": "evt_big", "pad": "' + b"x" * 2000 + b'"}'
            response = await send_stripe(client, body)
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "payload_too_large"
            assert (await client.get("/api/events")).json()["events"] == []

    async def test_malformed_json_is_400(self, tmp_path, telegram):
        """A correctly signed body that is not JSON is refused with 400, nothing stored."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            response = await send_stripe(client, b'{"id": "evt_1", ')
            assert response.status_code == 400
            assert (await client.get("/api/events")).json()["events"] == []

    async def test_unknown_source_and_method(self, tmp_path, telegram):
        """Unknown sources are 404; other methods than POST are 405."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            assert (await client.post("/hooks/nope", content=b"{}")).status_code == 404
            assert (await client.get("/hooks/stripe")).status_code == 405


class TestGenericSources:
    CONFIG = """
sources:
  forms:
    verify: {provider: none}
    id: "{{ payload.submission }}"
    type: "form.{{ payload.kind }}"
routes:
  - name: to-sink
    source: forms
    actions:
      - http:
          url: "SINK/orders/{{ payload.submission }}"
          json: {order: "{{ payload.submission }}", n: "{{ payload.n | int }}"}
delivery: {allow_private_networks: ALLOW, timeout: 2s, retry: {max_attempts: 2, backoff: 50ms}}
api: {token: "API"}
"""

    def config(self, sink_url: str, *, allow: bool = True) -> str:
        return (
            self.CONFIG.replace("SINK", sink_url)
            .replace("ALLOW", "true" if allow else "false")
            .replace("API", API_TOKEN)
        )

    async def test_null_or_missing_ids_never_collapse_and_long_ids_are_kept_hashed(self, tmp_path):
        """An id template giving null, an object or nothing is no id: each such event is
        stored (not a duplicate of the first), and still typed; a very long id is kept as
        its hash, so it can be indexed on either database."""
        async with gateway(tmp_path, self.config("http://127.0.0.1:9")) as (client, _):
            bodies = [{"submission": None, "kind": "a"}, {"submission": None, "kind": "a"},
                      {"submission": {"x": 1}, "kind": "a"}, {"kind": "a"}]  # fmt: skip
            answers = [(await client.post("/hooks/forms", json=b)).json() for b in bodies]
            assert [a["duplicate"] for a in answers] == [False] * 4
            for answer in answers:
                detail = await event_detail(client, answer["id"])
                assert (detail["external_id"], detail["type"]) == (None, "form.a")
            long = {"submission": "s" * 600, "kind": "a"}
            first = (await client.post("/hooks/forms", json=long)).json()
            again = (await client.post("/hooks/forms", json=long)).json()
            assert again == {"id": first["id"], "duplicate": True}
            stored = (await event_detail(client, first["id"]))["external_id"]
            assert stored.startswith("sha256:") and len(stored) == 7 + 64

    async def test_form_body_with_templated_id_and_type(self, tmp_path):
        """A form post gets its id and type from templates and its fields reach the action."""
        from tests.support.http_sink import HttpSink

        async with HttpSink() as sink, gateway(tmp_path, self.config(sink.url)) as (client, _):
            form = {"submission": "s-1", "kind": "order", "n": "7"}
            response = await client.post("/hooks/forms", data=form)
            assert response.status_code == 200
            assert (await client.post("/hooks/forms", data=form)).json()["duplicate"] is True
            await wait_until(lambda: len(sink.requests) == 1)
            (request,) = sink.requests
            assert request.path == "/orders/s-1" and orjson.loads(request.body) == {
                "order": "s-1",
                "n": 7,
            }
            detail = await event_detail(client, response.json()["id"])
            assert (detail["external_id"], detail["type"]) == ("s-1", "form.order")

    async def test_private_destination_is_refused_by_default(self, tmp_path):
        """Without allow_private_networks, a loopback destination ends dead with the reason."""
        from tests.support.http_sink import HttpSink

        async with (
            HttpSink() as sink,
            gateway(tmp_path, self.config(sink.url, allow=False)) as (client, _),
        ):
            event_id = (
                await client.post("/hooks/forms", data={"submission": "s-2", "kind": "k", "n": "1"})
            ).json()["id"]
            await wait_until(lambda: _has_status(client, event_id, "dead"))
            (delivery,) = (await event_detail(client, event_id))["deliveries"]
            assert "allow_private_networks" in delivery["last_error"]
            assert sink.requests == []

    async def test_runtime_template_error_is_dead_with_message(self, tmp_path):
        """A template that fails on this event's data ends dead, naming the problem."""
        from tests.support.http_sink import HttpSink

        text = self.config("http://127.0.0.1:9").replace(
            'n: "{{ payload.n | int }}"', 'n: "{{ payload.missing.deep }}"'
        )
        async with HttpSink(), gateway(tmp_path, text) as (client, _):
            event_id = (await client.post("/hooks/forms", data={"submission": "s-3"})).json()["id"]
            await wait_until(lambda: _has_status(client, event_id, "dead"))
            (delivery,) = (await event_detail(client, event_id))["deliveries"]
            assert (
                "template error" in delivery["last_error"] and "missing" in delivery["last_error"]
            )


class TestManagementApi:
    async def test_token_is_required(self, tmp_path, telegram):
        """Without the bearer token, or with a wrong one, the API answers 401."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            for headers in (
                {"Authorization": ""},
                {"Authorization": "Bearer wrong"},
                {"Authorization": "Basic x"},
            ):
                response = await client.get("/api/events", headers=headers)
                assert response.status_code == 401
                assert response.json()["error"]["code"] == "unauthorized"

    async def test_health_and_readiness(self, tmp_path, telegram):
        """/healthz and /readyz answer without a token."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            assert (await client.get("/healthz", headers={})).status_code == 200
            assert (await client.get("/readyz", headers={})).json() == {"status": "ready"}

    async def test_filters_and_unknown_ids(self, tmp_path, telegram):
        """Events filter by source, type and status; unknown ids are 404 in the error envelope."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            await send_stripe(client, stripe_event("evt_a"))
            await send_stripe(client, stripe_event("evt_b", type="charge.refunded"))
            listed = (await client.get("/api/events", params={"type": "charge.refunded"})).json()
            assert [e["external_id"] for e in listed["events"]] == ["evt_b"]
            assert (await client.get("/api/events", params={"source": "other"})).json()[
                "events"
            ] == []
            missing = await client.get("/api/events/evt_nope")
            assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
            assert (await client.get("/api/events", params={"status": "bogus"})).status_code == 422

    async def test_no_secret_in_any_response(self, tmp_path, telegram):
        """The bot token, the signing secret and the API token appear in no API response."""
        telegram.set_mode("chat_not_found")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            event_id = (await send_stripe(client, stripe_event("evt_s"))).json()["id"]
            await wait_until(lambda: _has_status(client, event_id, "dead"))
            pages = [
                await client.get("/api/events"),
                await client.get(f"/api/events/{event_id}"),
                await client.get("/api/openapi.json"),
            ]
            for page in pages:
                for secret in (
                    telegram.token,
                    STRIPE_SECRET,
                    API_TOKEN,
                    telegram.token.split(":")[1],
                ):
                    assert secret not in page.text
            detail = pages[1].json()
            assert detail["headers"]["stripe-signature"] == "***"


async def _settled(client: httpx.AsyncClient, event_id: str) -> bool:
    return await delivery_status(client, event_id) == ["succeeded"]


async def _has_status(client: httpx.AsyncClient, event_id: str, status: str) -> bool:
    return status in await delivery_status(client, event_id)


class TestShutdown:
    async def test_stop_drains_in_flight_deliveries(self, tmp_path):
        """Stopping the worker lets a delivery already in flight finish and be recorded."""
        from tests.support.http_sink import HttpSink

        text = TestGenericSources().config("SINK").replace("timeout: 2s", "timeout: 5s")
        async with HttpSink() as sink:
            sink.set_mode("slow", delay=0.5)
            config = loads(text.replace("SINK", sink.url), file="test.yaml", environ={})
            runtime = Runtime(config, SqliteStore(tmp_path / "hookline.db"))
            await runtime.start()
            async with api_client(create_app(runtime)) as client:
                form = {"submission": "s-9", "kind": "k", "n": "1"}
                event_id = (await client.post("/hooks/forms", data=form)).json()["id"]
                await wait_until(lambda: len(sink.requests) == 1)
                await runtime.stop()  # the response is still 0.5 s away
            store = SqliteStore(tmp_path / "hookline.db")
            await store.open(migrate=False)
            (delivery,) = await store.deliveries_for(event_id)
            await store.aclose()
            assert delivery.status == "succeeded"
            assert [a.status_code for a in delivery.history] == [200]


class TestHostileAnswers:
    async def test_absurd_retry_after_is_capped_and_recorded(self, tmp_path):
        """A `Retry-After` of thousands of years is recorded as an attempt and capped at a day."""
        from datetime import timedelta

        from hookline.models import utcnow
        from tests.support.http_sink import HttpSink

        async with HttpSink() as sink:
            sink.set_mode("status", status=503, retry_after="300000000000")
            text = TestGenericSources().config(sink.url)
            async with gateway(tmp_path, text) as (client, _):
                form = {"submission": "s-ra", "kind": "k", "n": "1"}
                event_id = (await client.post("/hooks/forms", data=form)).json()["id"]
                await wait_until(lambda: _has_status(client, event_id, "retrying"))
                (delivery,) = (await event_detail(client, event_id))["deliveries"]
        assert delivery["attempts"] == 1
        assert delivery["history"][0]["status_code"] == 503
        next_at = datetime.fromisoformat(delivery["next_attempt_at"])
        assert utcnow() + timedelta(hours=23) <= next_at <= utcnow() + timedelta(days=1, minutes=1)
