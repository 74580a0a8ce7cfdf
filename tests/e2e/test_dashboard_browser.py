"""The dashboard in headless Chromium: what a person does, click by click."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from hookline.models import EventFilter
from hookline.verify.hmac import HmacConfig, sign
from tests.conftest import (
    API_TOKEN,
    STRIPE_SECRET,
    gateway_config,
    stripe_event,
    stripe_headers,
    wait_until,
)
from tests.e2e.conftest import live_server, screenshot
from tests.support.http_sink import HttpSink

EXPECTED_TEXT = "New payment! Order #123, Ivan, 5000 RUB"


async def log_in(page: Page, url: str) -> None:
    await page.goto(f"{url}/ui/events")
    await expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    await page.get_by_label("API token").fill(API_TOKEN)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{url}/ui/events")
    await expect(page.get_by_role("heading", name="Events")).to_be_visible()


async def send(url: str, body: bytes) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/hooks/stripe", content=body,
                                     headers=stripe_headers(body))  # fmt: skip
    assert response.status_code == 200
    return str(response.json()["id"])


class TestDashboardInABrowser:
    async def test_see_open_replay_and_dry_run(self, tmp_path, telegram, page):
        """Log in, watch a new event arrive live, open it, replay its dead delivery once
        Telegram works again and see the successful attempt, then dry-run it."""
        telegram.set_mode("blocked")
        async with live_server(tmp_path, gateway_config(telegram.url)) as server:
            await log_in(page, server.url)
            await page.evaluate("window.notReloaded = true")

            event_id = await send(server.url, stripe_event("evt_browser"))
            row = page.locator(f'tr[data-id="{event_id}"]')
            await expect(row).to_be_visible()  # appeared by itself
            await expect(row.locator(".badge.s-dead")).to_be_visible()  # and its fate too
            assert await page.evaluate("window.notReloaded") is True

            await row.get_by_role("link", name=event_id).click()
            await expect(page.get_by_text("bot was blocked by the user").first).to_be_visible()
            telegram.set_mode("ok")  # the destination is fixed
            await page.get_by_role("button", name="Replay delivery").click()
            await expect(page.get_by_role("status")).to_contain_text("queued again")
            await expect(page.locator(".timeline li.o-succeeded")).to_be_visible()
            assert [m.text for m in telegram.messages] == [EXPECTED_TEXT]

            await page.locator(".actions").get_by_role("link", name="Dry run").click()
            await expect(page.get_by_label("Event id")).to_have_value(event_id)
            await page.get_by_role("button", name="Run dry run").click()
            await expect(page.locator(".verdict")).to_contain_text("would act on this event")
            await expect(page.locator(".bubble")).to_have_text(EXPECTED_TEXT)
            assert len(telegram.messages) == 1  # a dry run sends nothing

    async def test_api_docs_work_offline(self, tmp_path, telegram, page):
        """The interactive API docs render from files this server ships."""
        async with live_server(tmp_path, gateway_config(telegram.url)) as server:
            await page.goto(f"{server.url}/api/docs")
            await expect(page.get_by_text("Hookline management API").first).to_be_visible()
            await expect(page.get_by_text("/api/events/{event_id}/replay").first).to_be_visible()


TOUR_CONFIG = """
sources:
  stripe:
    verify: {provider: stripe, secret: "STRIPE_SECRET"}
  shop-orders:
    verify:
      {provider: hmac, secret: "shop-secret-0123456789", header: X-Signature, prefix: "sha256="}
    id: "{{ payload.order_id }}"
    type: "order.{{ payload.status }}"
routes:
  - name: payment-to-manager
    source: stripe
    if: "event.type == 'payment_intent.succeeded'"
    actions:
      - telegram:
          token: "TELEGRAM_TOKEN"
          chat_id: 42
          api_url: "TELEGRAM_URL"
          text: "New payment! Order #{{ payload.data.object.metadata.order_id }}, \\
            {{ payload.data.object.metadata.client }}, \\
            {{ payload.data.object.amount // 100 }} {{ payload.data.object.currency | upper }}"
  - name: payment-to-crm
    source: stripe
    actions:
      - http:
          url: "CRM_URL/api/orders"
          headers: {Authorization: "Bearer crm-token-0123456789"}
          json: {order: "{{ payload.data.object.metadata.order_id }}", paid: true}
  - name: order-to-warehouse
    source: shop-orders
    if: "payload.status == 'paid'"
    actions:
      - http:
          url: "WAREHOUSE_URL/shipments"
          json: {order: "{{ payload.order_id }}", items: "{{ payload['items'] }}"}
delivery:
  allow_private_networks: true
  timeout: 5s
  retry: {max_attempts: 10, backoff: 100ms, max_backoff: 500ms}
api: {token: "API_TOKEN"}
"""


class TestTour:
    async def test_every_page_renders_cleanly(self, tmp_path, telegram, page, browser):
        """Every page renders without script errors or CSP violations, on a desktop and a
        phone screen (and is saved as a screenshot for the docs when asked)."""
        async with HttpSink() as crm, HttpSink() as warehouse:
            warehouse.set_mode("status", status=503, retry_after="3600")
            text = (TOUR_CONFIG.replace("STRIPE_SECRET", STRIPE_SECRET)
                    .replace("TELEGRAM_TOKEN", telegram.token).replace("TELEGRAM_URL", telegram.url)
                    .replace("CRM_URL", crm.url).replace("WAREHOUSE_URL", warehouse.url)
                    .replace("API_TOKEN", API_TOKEN))  # fmt: skip
            async with live_server(tmp_path, text) as server:
                store = server.runtime.store
                await page.goto(f"{server.url}/ui/login")
                await screenshot(page, "login")
                await log_in(page, server.url)

                telegram.set_mode("blocked")
                first = await send(server.url, stripe_event("evt_1Q2w", order="121"))
                await wait_for(store, dead=1, succeeded=1)
                telegram.set_mode("ok")
                for n, order in enumerate(("122", "123")):
                    await send(server.url, stripe_event(f"evt_3Kx{n}", order=order))
                await send(server.url, stripe_event("evt_9Rf", type="charge.refunded", order="118"))
                shop = HmacConfig(provider="hmac", secret="shop-secret-0123456789",
                                  header="X-Signature", prefix="sha256=")  # fmt: skip
                async with httpx.AsyncClient() as client:
                    for order, status in (("1001", "paid"), ("1002", "pending")):
                        body = (b'{"order_id": "o-%s", "status": "%s", "items": 3}'
                                % (order.encode(), status.encode()))  # fmt: skip
                        await client.post(f"{server.url}/hooks/shop-orders", content=body,
                                          headers=sign(body, shop))  # fmt: skip
                await wait_for(store, dead=1, succeeded=6, retrying=1)

                await page.goto(f"{server.url}/ui/events")
                await expect(page.locator("tbody tr")).to_have_count(6)
                await screenshot(page, "events")

                await page.goto(f"{server.url}/ui/events/{first}")
                await page.get_by_role("button", name="Replay delivery").first.click()
                await expect(page.locator(".timeline li.o-succeeded").first).to_be_visible()
                await page.goto(f"{server.url}/ui/events/{first}")
                await screenshot(page, "event")

                await page.goto(f"{server.url}/ui/failures")
                await expect(page.get_by_text("1 delivery match")).to_be_visible()
                await screenshot(page, "failures")
                await page.get_by_role("button", name="Replay all 1…").click()
                await expect(page.get_by_role("heading", name="Replay 1 delivery?")).to_be_visible()
                await screenshot(page, "replay-confirm")
                await page.get_by_role("button", name="Yes, replay 1").click()
                await expect(page.locator(".job-state")).to_contain_text("1 of 1 replayed")
                await expect(page.locator(".job-state .badge")).to_have_text("done")
                await screenshot(page, "replay-job")

                await page.goto(f"{server.url}/ui/config")
                await expect(page.locator(".source input").first).to_have_value(
                    f"{server.url}/hooks/stripe"
                )
                await screenshot(page, "routes-and-sources")

                await page.goto(
                    f"{server.url}/ui/dry-run?event_id={first}&route=payment-to-manager"
                )
                await expect(page.locator(".bubble")).to_have_text(
                    EXPECTED_TEXT.replace("123", "121")
                )
                await screenshot(page, "dry-run")

                phone = await browser.new_context(viewport={"width": 390, "height": 844})
                mobile = await phone.new_page()
                await mobile.context.add_cookies(await page.context.cookies())
                await mobile.goto(f"{server.url}/ui/events")
                await expect(mobile.locator("tbody tr").first).to_be_visible()
                width = await mobile.evaluate("document.documentElement.scrollWidth")
                assert width <= 390  # no sideways scrolling on a phone
                await screenshot(mobile, "events-phone")
                await phone.close()


async def wait_for(store, **expected: int) -> None:
    """Wait until the store holds (at least) these numbers of deliveries by status."""

    async def reached() -> bool:
        counts = await store.count_by_status(EventFilter())
        return all(counts.get(status, 0) >= n for status, n in expected.items())

    await wait_until(reached)
