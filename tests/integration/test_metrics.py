"""`/metrics`: ingest outcomes and latency, attempt durations, and the queue read from the store."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import API_TOKEN, gateway_config, stripe_event, wait_until
from tests.integration.test_gateway import gateway, send_stripe


async def samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by name and sorted labels."""
    response = await client.get("/metrics", headers={})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def received(found, source: str, outcome: str) -> float:
    key = ("hookline_events_received_total", (("outcome", outcome), ("source", source)))
    return found.get(key, 0.0)


class TestMetrics:
    async def test_ingest_outcomes_are_counted(self, tmp_path, telegram):
        """Accepted, duplicate, forged, oversized and unknown-source requests are counted."""
        text = gateway_config(telegram.url).replace(
            "verify: {provider: stripe", "max_body_size: 2KB\n    verify: {provider: stripe"
        )
        async with gateway(tmp_path, text) as (client, _):
            before = await samples(client)
            body = stripe_event("evt_m")
            await send_stripe(client, body)
            await send_stripe(client, body)
            await client.post("/hooks/stripe", content=body, headers={"Stripe-Signature": "x"})
            await send_stripe(client, b'{"pad": "' + b"x" * 3000 + b'"}')
            await client.post("/hooks/not-configured", content=b"{}")
            after = await samples(client)
            for source, outcome in (("stripe", "accepted"), ("stripe", "duplicate"),
                                    ("stripe", "rejected_signature"), ("stripe", "too_large"),
                                    ("", "unknown_source")):  # fmt: skip
                delta = received(after, source, outcome) - received(before, source, outcome)
                assert delta == 1, (source, outcome)
            latency = ("hookline_ingest_duration_seconds_count", (("source", "stripe"),))
            assert after[latency] - before.get(latency, 0) == 4

    async def test_attempts_and_queue(self, tmp_path, telegram):
        """Attempt durations are observed by action; deliveries by status come from the store."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            key = ("hookline_attempt_duration_seconds_count",
                   (("action", "telegram"), ("outcome", "succeeded")))  # fmt: skip
            before = (await samples(client)).get(key, 0)
            await send_stripe(client, stripe_event("evt_q"))
            await wait_until(lambda: len(telegram.messages) == 1)

            async def recorded() -> bool:
                found = await samples(client)
                return found[("hookline_deliveries", (("status", "succeeded"),))] == 1

            await wait_until(recorded)
            found = await samples(client)
            assert found[key] - before == 1
            assert found[("hookline_queue_depth", ())] == 0
            assert found[("hookline_deliveries_stuck", ())] == 0
            assert found[("hookline_queue_oldest_due_age_seconds", ())] == 0

    async def test_token_when_protected(self, tmp_path, telegram):
        """With `api.protect_metrics: true`, /metrics needs the bearer token."""
        text = gateway_config(telegram.url).replace(
            f'api: {{token: "{API_TOKEN}"}}',
            f'api: {{token: "{API_TOKEN}", protect_metrics: true}}',
        )
        async with gateway(tmp_path, text) as (client, _):
            refused = await client.get("/metrics", headers={"Authorization": ""})
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "unauthorized"
            assert (await client.get("/metrics")).status_code == 200
            wrong = {"Authorization": "Bearer wrong-token"}
            guesses = [(await client.get("/metrics", headers=wrong)).status_code for _ in range(11)]
            assert guesses == [401] * 10 + [429]  # the API's limit on guessing applies here too
            limited = await client.get("/metrics")
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
