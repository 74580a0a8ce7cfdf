"""No secret of the config appears in any API response, dashboard page or metric."""

from __future__ import annotations

from urllib.parse import quote

from hookline.verify.hmac import HmacConfig, sign
from tests.conftest import API_TOKEN, STRIPE_SECRET, stripe_event, wait_until
from tests.integration.test_dashboard import browser, login
from tests.integration.test_gateway import gateway, send_stripe
from tests.support.fake_telegram import DEFAULT_TOKEN

HMAC_SECRET = "hmac-secret-SEEKRIT-0001"
CRM_TOKEN = "crm-token-SEEKRIT-0002"
SMTP_PASSWORD = "smtp-pass-SEEKRIT-0003"
SECRETS = [STRIPE_SECRET, HMAC_SECRET, CRM_TOKEN, SMTP_PASSWORD, API_TOKEN, DEFAULT_TOKEN,
           DEFAULT_TOKEN.split(":")[1]]  # fmt: skip

CONFIG = f"""
sources:
  stripe:
    verify: {{provider: stripe, secret: "{STRIPE_SECRET}"}}
  orders:
    verify: {{provider: hmac, secret: "{HMAC_SECRET}", header: X-Signature}}
    id: "{{{{ payload.order }}}}"
routes:
  - name: payment-to-manager
    source: stripe
    actions:
      - telegram:
          token: "{DEFAULT_TOKEN}"
          chat_id: 42
          api_url: "TELEGRAM"
          text: "Order {{{{ payload.data.object.metadata.order_id }}}}"
  - name: to-crm
    source: orders
    actions:
      - http:
          url: "http://127.0.0.1:9/crm"
          headers: {{Authorization: "Bearer {CRM_TOKEN}"}}
          json: {{order: "{{{{ payload.order }}}}"}}
      - email:
          smtp_url: "smtp://user:{SMTP_PASSWORD}@127.0.0.1:9"
          from: shop@example.com
          to: manager@example.com
          subject: "Order {{{{ payload.order }}}}"
          text: "paid"
delivery:
  allow_private_networks: true
  timeout: 2s
  retry: {{max_attempts: 1}}
api: {{token: "{API_TOKEN}"}}
"""


def assert_clean(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text and quote(secret, safe="") not in text, (where, secret)


class TestNoSecrets:
    async def test_no_secret_in_any_response(self, tmp_path, telegram):
        """Seeded with known secrets, every API response, page, fragment and metric omits them."""
        telegram.set_mode("chat_not_found")
        async with gateway(tmp_path, CONFIG.replace("TELEGRAM", telegram.url)) as (client, _):
            await send_stripe(client, stripe_event("evt_1"))
            body = b'{"order": "o-1"}'
            headers = sign(
                body, HmacConfig(provider="hmac", secret=HMAC_SECRET, header="X-Signature")
            )
            sent = await client.post("/hooks/orders", content=body, headers=headers)
            assert sent.status_code == 200

            async def settled() -> bool:
                stats = (await client.get("/api/stats")).json()
                return stats["queue"]["depth"] == 0 and stats["deliveries"].get("dead") == 3

            await wait_until(settled)
            events = (await client.get("/api/events")).json()["events"]
            deliveries = (await client.get("/api/deliveries", params={"limit": 500})).json()
            paths = ["/api/events", "/api/sources", "/api/routes", "/api/stats",
                     "/api/openapi.json", "/api/deliveries?limit=500", "/metrics"]  # fmt: skip
            for e in events:
                paths += [f"/api/events/{e['id']}"]
            for d in deliveries["deliveries"]:
                paths += [f"/api/deliveries/{d['id']}", f"/api/deliveries/{d['id']}/attempts"]
            for path in paths:
                response = await client.get(path)
                assert response.status_code == 200, path
                assert_clean(path, response.text)
            for e in events:
                for route in ("payment-to-manager", "to-crm"):
                    dry = await client.post(
                        "/api/dry-run", json={"event_id": e["id"], "route": route}
                    )
                    assert_clean(f"dry run {route}", dry.text)
            errors = [d["last_error"] for d in deliveries["deliveries"]]
            assert any("chat not found" in (e or "") for e in errors)

            async with browser(client) as user:
                csrf = await login(user)
                pages = ["/ui/events", "/ui/events/rows", "/ui/events/rows?part=counts",
                         "/ui/failures", "/ui/config", "/ui/health", "/ui/dry-run"]  # fmt: skip
                for e in events:
                    pages += [f"/ui/events/{e['id']}"]
                    pages += [
                        f"/ui/dry-run?event_id={e['id']}&route={r}"
                        for r in ("payment-to-manager", "to-crm")
                    ]
                for page in pages:
                    response = await user.get(page)
                    assert response.status_code == 200, page
                    assert_clean(page, response.text)
                confirm = await user.post("/ui/failures/replay", data={"csrf": csrf})
                assert_clean("bulk replay confirmation", confirm.text)
                config_page = (await user.get("/ui/config")).text
                assert "Authorization" in config_page and "***" in config_page  # shown, masked

    async def test_dry_run_renders_other_actions_generically(self, tmp_path, telegram):
        """Actions without a preview show every rendered template field, secrets masked."""
        async with gateway(tmp_path, CONFIG.replace("TELEGRAM", telegram.url)) as (client, _):
            body = b'{"order": "o-7"}'
            config = HmacConfig(provider="hmac", secret=HMAC_SECRET, header="X-Signature")
            sent = await client.post("/hooks/orders", content=body, headers=sign(body, config))
            event_id = sent.json()["id"]
            dry = await client.post("/api/dry-run", json={"event_id": event_id, "route": "to-crm"})
            http, email = dry.json()["actions"]
            assert http["fields"] == {
                "url": "http://127.0.0.1:9/crm",
                "headers": {"Authorization": "***"},
                "json": {"order": "o-7"},
            }
            assert email["fields"]["smtp_url"] == "***"
            assert (email["fields"]["subject"], email["fields"]["to"]) == (
                "Order o-7",
                ["manager@example.com"],
            )
