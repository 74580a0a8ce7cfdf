"""The management API beyond the basics: search, deliveries, replays, dry run, config, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookline.auth import WrongTokenLimiter
from tests.conftest import gateway_config, stripe_event, wait_until
from tests.integration.test_gateway import TestGenericSources, gateway, send_stripe
from tests.support.http_sink import HttpSink

ROUTE = "payment-to-manager"


async def dead_delivery(
    client, telegram, order: str = "123", body: bytes | None = None
) -> tuple[str, str]:
    """Send a payment while the bot is blocked; wait for its delivery to be dead."""
    body = body if body is not None else stripe_event(f"evt_{order}", order=order)
    event_id = (await send_stripe(client, body)).json()["id"]

    async def dead() -> bool:
        listed = await client.get("/api/deliveries", params={"status": "dead"})
        return any(d["event_id"] == event_id for d in listed.json()["deliveries"])

    await wait_until(dead)
    (delivery,) = (await client.get(f"/api/events/{event_id}")).json()["deliveries"]
    return event_id, delivery["id"]


class TestErrorEnvelope:
    @pytest.mark.parametrize(
        ("method", "path", "status", "code"),
        [
            ("GET", "/api/nothing-here", 404, "not_found"),
            ("GET", "/api/events/evt_missing", 404, "not_found"),
            ("GET", "/api/deliveries/dlv_missing/attempts", 404, "not_found"),
            ("GET", "/api/replays/job_missing", 404, "not_found"),
            ("DELETE", "/api/events", 405, "method_not_allowed"),
            ("GET", "/api/events?limit=0", 422, "invalid_request"),
            ("GET", "/api/events?since=yesterday", 422, "invalid_request"),
            ("POST", "/api/dry-run", 422, "invalid_request"),
        ],
    )
    async def test_every_error_has_one_shape(self, tmp_path, telegram, method, path, status, code):
        """Routing, validation and lookup errors all answer {"error": {"code", "message"}}."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            response = await client.request(method, path)
            assert response.status_code == status
            body = response.json()
            assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
            assert body["error"]["code"] == code and body["error"]["message"]

    async def test_replaying_a_delivery_in_flight_is_a_conflict(self, tmp_path):
        """A delivery being attempted cannot be replayed: 409 in the envelope."""
        text = TestGenericSources().config("SINK").replace("timeout: 2s", "timeout: 60s")
        sink = await HttpSink().start()
        sink.set_mode("slow")  # holds every request until the sink closes
        async with gateway(tmp_path, text.replace("SINK", sink.url)) as (client, _):
            form = {"submission": "s-1", "kind": "k", "n": "1"}
            event_id = (await client.post("/hooks/forms", data=form)).json()["id"]
            await wait_until(lambda: len(sink.requests) == 1)
            (delivery,) = (await client.get(f"/api/events/{event_id}")).json()["deliveries"]
            assert delivery["status"] == "in_flight"
            response = await client.post(f"/api/deliveries/{delivery['id']}/replay")
            assert response.status_code == 409
            assert response.json()["error"]["code"] == "conflict"
            await sink.aclose()  # the held request ends; the worker can drain


class TestSearch:
    async def test_text_time_and_cursor(self, tmp_path, telegram):
        """Events are found by text in their payload and by time; pages follow the cursor."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            for order in ("A-1", "B-2", "C-3"):
                await send_stripe(client, stripe_event(f"evt_{order}", order=order))
            found = (await client.get("/api/events", params={"q": "b-2"})).json()["events"]
            assert [e["external_id"] for e in found] == ["evt_B-2"]
            future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            later = await client.get("/api/events", params={"since": future})
            assert later.json()["events"] == []
            first = (await client.get("/api/events", params={"limit": 2})).json()
            rest = await client.get(
                "/api/events", params={"limit": 2, "before": first["next_before"]}
            )
            ids = [e["external_id"] for e in first["events"] + rest.json()["events"]]
            assert ids == ["evt_C-3", "evt_B-2", "evt_A-1"] and rest.json()["next_before"] is None


class TestDeliveries:
    async def test_list_count_attempts_and_raw(self, tmp_path, telegram):
        """Dead deliveries are listed and counted; attempts and the raw body are served."""
        telegram.set_mode("blocked")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            sent = stripe_event("evt_123")
            event_id, delivery_id = await dead_delivery(client, telegram, body=sent)
            count = await client.get("/api/deliveries/count", params={"status": ["dead"]})
            assert count.json() == {"count": 1}
            (attempt,) = (await client.get(f"/api/deliveries/{delivery_id}/attempts")).json()
            assert attempt["outcome"] == "dead" and attempt["status_code"] == 403
            raw = await client.get(f"/api/events/{event_id}/raw")
            assert raw.content == sent
            assert raw.headers["content-type"] == "application/octet-stream"
            assert raw.headers["content-disposition"].startswith("attachment")
            assert raw.headers["x-content-type-options"] == "nosniff"

    async def test_bulk_replay_job(self, tmp_path, telegram):
        """A bulk replay of dead deliveries runs as a job whose status ends done, and they
        are delivered once the destination works."""
        telegram.set_mode("blocked")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            for order in ("1", "2", "3"):
                await dead_delivery(client, telegram, order)
            telegram.set_mode("ok")
            started = await client.post("/api/replays", json={"statuses": ["dead"]})
            assert started.status_code == 202 and started.json()["total"] == 3

            async def finished() -> bool:
                job = (await client.get(f"/api/replays/{started.json()['id']}")).json()
                return job["state"] == "done"

            await wait_until(finished)
            job = (await client.get(f"/api/replays/{started.json()['id']}")).json()
            assert (job["replayed"], job["skipped"]) == (3, 0)
            await wait_until(lambda: len(telegram.messages) == 3)

    async def test_bulk_replay_refuses_other_statuses(self, tmp_path, telegram):
        """Only dead and retrying deliveries can be replayed in bulk."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            response = await client.post("/api/replays", json={"statuses": ["succeeded"]})
            assert response.status_code == 422


class TestDryRunAndConfig:
    async def test_dry_run_renders_the_exact_text(self, tmp_path, telegram):
        """A dry run shows the condition's verdict and the Telegram text, sending nothing."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            telegram.set_mode("down")
            event_id = (await send_stripe(client, stripe_event("evt_d", order="77"))).json()["id"]
            result = await client.post("/api/dry-run", json={"event_id": event_id, "route": ROUTE})
            assert result.status_code == 200
            body = result.json()
            assert body["would_deliver"] is True and body["condition_matches"] is True
            (action,) = body["actions"]
            assert action["fields"]["text"] == "New payment! Order #77, Ivan, 5000 RUB"
            other = await send_stripe(client, stripe_event("evt_e", type="charge.refunded"))
            refused = await client.post(
                "/api/dry-run", json={"event_id": other.json()["id"], "route": ROUTE}
            )
            assert refused.json()["would_deliver"] is False
            missing = await client.post("/api/dry-run", json={"event_id": event_id, "route": "x"})
            assert missing.status_code == 404
            telegram.set_mode("ok")

    async def test_sources_routes_and_stats(self, tmp_path, telegram):
        """Config views hide secrets; stats count deliveries per route and the queue."""
        telegram.set_mode("blocked")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            await dead_delivery(client, telegram)
            (source,) = (await client.get("/api/sources")).json()
            assert source["path"] == "/hooks/stripe" and source["verify"]["secret"] == "***"
            (route,) = (await client.get("/api/routes")).json()
            assert route["actions"][0]["config"]["token"] == "***"
            assert route["last_24h"] == {"matched": 1, "deliveries": {"dead": 1}}
            stats = (await client.get("/api/stats")).json()
            assert stats["deliveries"] == {"dead": 1} and stats["queue"]["depth"] == 0
            assert "blocked" in stats["queue"]["last_error"]["error"]

    async def test_docs_are_served_locally(self, tmp_path, telegram):
        """The docs page loads Swagger UI from this server, not from a CDN."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            page = (await client.get("/api/docs")).text
            assert "/api/docs/assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
            asset = await client.get("/api/docs/assets/swagger-ui-bundle.js")
            assert asset.status_code == 200 and len(asset.content) > 100_000


class TestAuth:
    async def test_every_operation_needs_the_token(self, tmp_path, telegram):
        """Every operation in the OpenAPI document answers 401 without a valid bearer token."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, runtime):
            runtime.wrong_tokens = WrongTokenLimiter(limit=1000)  # many wrong tokens on purpose
            document = (await client.get("/api/openapi.json")).json()
            operations = [
                (method.upper(), path.replace("{", "").replace("}", ""))
                for path, methods in document["paths"].items()
                for method in methods
            ]
            assert len(operations) >= 15
            for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong-token"}):
                for method, path in operations:
                    response = await client.request(method, path, headers=headers, json={})
                    assert response.status_code == 401, (method, path)
                    assert response.json()["error"]["code"] == "unauthorized"

    async def test_wrong_tokens_are_limited_per_address(self, tmp_path, telegram):
        """After 10 wrong tokens, the address waits, even with the right token; a missing
        token is not counted as a guess."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            none = {"Authorization": ""}
            for _ in range(20):
                assert (await client.get("/api/events", headers=none)).status_code == 401
            assert (await client.get("/api/events")).status_code == 200  # the client's token
            wrong = {"Authorization": "Bearer wrong-token"}
            statuses = [(await client.get("/api/events", headers=wrong)).status_code
                        for _ in range(11)]  # fmt: skip
            assert statuses == [401] * 10 + [429]
            refused = await client.get("/api/events")  # the right token, too late
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "too_many_attempts"
            assert 290 <= int(refused.headers["retry-after"]) <= 300
