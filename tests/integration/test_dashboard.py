"""The dashboard without a browser: login, sessions, CSRF, every page, and no secret anywhere."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest

from hookline.auth import SESSION_COOKIE
from tests.conftest import API_TOKEN, gateway_config, stripe_event, wait_until
from tests.integration.test_api import dead_delivery
from tests.integration.test_gateway import gateway, send_stripe

PAGES = ["/ui/events", "/ui/failures", "/ui/config", "/ui/dry-run", "/ui/events/evt_x"]
FRAGMENTS = ["/ui/health", "/ui/events/rows", "/ui/replays/job_x/status"]
POSTS = ["/ui/events/evt_x/replay", "/ui/deliveries/dlv_x/replay", "/ui/failures/replay"]


async def login(client: httpx.AsyncClient, token: str = API_TOKEN) -> str:
    """Log in through the form; return a CSRF token from the events page."""
    response = await client.post("/ui/login", data={"token": token, "next": "/ui/events"})
    assert response.status_code == 303, response.text
    page = await client.get("/ui/events")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same app, as a browser: no bearer token, cookies kept."""
    return httpx.AsyncClient(transport=client._transport, base_url="http://hookline.test")


class TestLogin:
    async def test_pages_need_a_session(self, tmp_path, telegram):
        """Without a session, pages redirect to the login form, fragments and posts refuse."""
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, _),
            browser(client) as anonymous,
        ):
            for path in PAGES:
                response = await anonymous.get(path)
                assert response.status_code == 303, path
                assert response.headers["location"] == f"/ui/login?next={quote(path, safe='')}"
            for path in FRAGMENTS:
                assert (await anonymous.get(path)).status_code == 401, path
            for path in POSTS:
                response = await anonymous.post(path, data={"csrf": "x"})
                assert response.headers["location"].startswith("/ui/login"), path
            bearer = await anonymous.get(
                "/ui/events", headers={"Authorization": f"Bearer {API_TOKEN}"}
            )
            assert bearer.status_code == 303  # the dashboard takes the token only at login

    async def test_wrong_token_and_tampered_cookie(self, tmp_path, telegram):
        """A wrong token is refused; a session cookie that was altered is not accepted."""
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, _),
            browser(client) as user,
        ):
            refused = await user.post("/ui/login", data={"token": "nope"})
            assert refused.status_code == 401 and SESSION_COOKIE not in refused.cookies
            await login(user)
            value = user.cookies[SESSION_COOKIE]
            expires, nonce, signature = value.split(".")
            for forged in (f"{int(expires) + 1}.{nonce}.{signature}", f"{expires}.x.{signature}",
                           API_TOKEN, ""):  # fmt: skip
                user.cookies.set(SESSION_COOKIE, forged, domain="hookline.test", path="/ui")
                assert (await user.get("/ui/events")).status_code == 303

    async def test_guessing_the_token_is_slowed_down(self, tmp_path, telegram):
        """After 10 wrong tokens, the login form refuses the address for a while, even the
        right token, and says when to try again."""
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, _),
            browser(client) as user,
        ):
            for _ in range(10):
                assert (await user.post("/ui/login", data={"token": "guess"})).status_code == 401
            refused = await user.post("/ui/login", data={"token": API_TOKEN})
            assert refused.status_code == 429 and SESSION_COOKIE not in refused.cookies
            assert "too many wrong tokens" in refused.text
            assert 290 <= int(refused.headers["retry-after"]) <= 300

    async def test_cookie_flags(self, tmp_path, telegram):
        """The cookie is HttpOnly and SameSite=Strict, Secure over https, and not the token."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            for base, secure in (("http://hookline.test", False), ("https://hookline.test", True)):
                async with httpx.AsyncClient(transport=client._transport, base_url=base) as user:
                    response = await user.post("/ui/login", data={"token": API_TOKEN})
                    cookie = response.headers["set-cookie"]
                    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
                    assert ("Secure" in cookie) is secure
                    assert API_TOKEN not in cookie

    async def test_login_redirects_only_inside_the_dashboard(self, tmp_path, telegram):
        """`next` after login is followed only to dashboard paths (no open redirect)."""
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, _),
            browser(client) as user,
        ):
            for target in ("https://evil.example/", "//evil.example/ui/", "/ui//evil.example"):
                response = await user.post("/ui/login", data={"token": API_TOKEN, "next": target})
                assert response.headers["location"] == "/ui/events"

    async def test_logout(self, tmp_path, telegram):
        """Logging out clears the session cookie."""
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, _),
            browser(client) as user,
        ):
            csrf = await login(user)
            response = await user.post("/ui/logout", data={"csrf": csrf})
            assert response.status_code == 303 and SESSION_COOKIE not in user.cookies
            assert (await user.get("/ui/events")).status_code == 303


class TestCsrf:
    @pytest.mark.parametrize(
        ("csrf", "origin"),
        [(None, None), ("forged", None), ("VALID", "https://evil.example")],
    )
    async def test_state_changes_need_the_csrf_token(self, tmp_path, telegram, csrf, origin):
        """A replay without the session's CSRF token, or from another origin, is refused."""
        telegram.set_mode("blocked")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            _event_id, delivery_id = await dead_delivery(client, telegram)
            async with browser(client) as user:
                valid = await login(user)
                data = {} if csrf is None else {"csrf": valid if csrf == "VALID" else csrf}
                headers = {} if origin is None else {"Origin": origin}
                response = await user.post(
                    f"/ui/deliveries/{delivery_id}/replay", data=data, headers=headers
                )
                assert response.status_code == 403
            delivery = (await client.get(f"/api/deliveries/{delivery_id}")).json()
            assert delivery["status"] == "dead"  # nothing happened

    async def test_a_token_from_another_session_is_refused(self, tmp_path, telegram):
        """CSRF tokens are bound to their session."""
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, _),
            browser(client) as first,
            browser(client) as second,
        ):
            token_of_first = await login(first)
            await login(second)
            response = await second.post("/ui/failures/replay", data={"csrf": token_of_first})
            assert response.status_code == 403


class TestHealthStrip:
    async def test_the_last_error_is_shown_without_secrets(self, tmp_path, telegram):
        """An error stored with a secret in it (by a worker that did not know it) reaches
        the health strip masked."""
        from hookline.models import AttemptOutcome, AttemptRecord, DeliveryStatus, utcnow
        from tests.support.fake_telegram import DEFAULT_TOKEN

        telegram.set_mode("blocked")
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, runtime),
            browser(client) as user,
        ):
            _, delivery_id = await dead_delivery(client, telegram)
            leaked = AttemptRecord(utcnow(), 1.0, AttemptOutcome.DEAD,
                                   error=f"refused: /bot{DEFAULT_TOKEN}/sendMessage")  # fmt: skip
            await runtime.store.record_attempt(
                delivery_id,
                worker_id="another",
                attempt=leaked,
                status=DeliveryStatus.DEAD,
                next_at=None,
            )
            await login(user)
            for path in ("/ui/health", "/ui/events"):
                page = (await user.get(path)).text
                assert "refused: /bot***" in page and DEFAULT_TOKEN not in page, path


class TestPages:
    async def test_replay_from_the_event_page(self, tmp_path, telegram):
        """Replaying a dead delivery from its event page queues it; it then succeeds."""
        telegram.set_mode("blocked")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            event_id, delivery_id = await dead_delivery(client, telegram)
            telegram.set_mode("ok")
            async with browser(client) as user:
                csrf = await login(user)
                page = await user.get(f"/ui/events/{event_id}")
                assert "bot was blocked by the user" in page.text
                response = await user.post(
                    f"/ui/deliveries/{delivery_id}/replay", data={"csrf": csrf}
                )
                assert response.status_code == 303
                assert response.headers["location"].startswith(f"/ui/events/{event_id}?notice=")
                await wait_until(lambda: len(telegram.messages) == 1)

    async def test_bulk_replay_asks_first(self, tmp_path, telegram):
        """Bulk replay shows the count and waits for the confirmation before running."""
        telegram.set_mode("blocked")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _runtime):
            await dead_delivery(client, telegram, "1")
            await dead_delivery(client, telegram, "2")
            telegram.set_mode("ok")
            async with browser(client) as user:
                csrf = await login(user)
                ask = await user.post("/ui/failures/replay", data={"csrf": csrf, "status": "dead"})
                assert ask.status_code == 200 and "Replay 2 deliveries?" in ask.text
                assert telegram.messages == []
                go = await user.post(
                    "/ui/failures/replay", data={"csrf": csrf, "status": "dead", "confirm": "yes"}
                )
                assert go.status_code == 303 and go.headers["location"].startswith("/ui/replays/")
                await wait_until(lambda: len(telegram.messages) == 2)
                job = await user.get(go.headers["location"])
                assert job.status_code == 200 and "Bulk replay" in job.text

    async def test_search_and_fragments(self, tmp_path, telegram):
        """The events page filters by text; its live fragments carry the same filter."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            await send_stripe(client, stripe_event("evt_a", order="ALPHA-1"))
            await send_stripe(client, stripe_event("evt_b", order="BETA-2"))
            async with browser(client) as user:
                await login(user)
                page = await user.get("/ui/events", params={"q": "alpha"})
                assert "evt_a" in page.text and "evt_b" not in page.text
                assert 'data-poll-url="/ui/events/rows?q=alpha"' in page.text
                rows = await user.get("/ui/events/rows", params={"q": "beta"})
                assert "evt_b" in rows.text and "evt_a" not in rows.text
                assert rows.headers["content-security-policy"].startswith("default-src 'none'")

    async def test_raw_body_is_a_download(self, tmp_path, telegram):
        """The raw body is served as an attachment that a browser will not render."""
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            event_id = (await client.post("/hooks/stripe", content=b"<script>x</script>")).json()
            async with browser(client) as user:
                await login(user)
                stored = await send_stripe(client, stripe_event("evt_raw"))
                raw = await user.get(f"/ui/events/{stored.json()['id']}/raw")
                assert raw.headers["content-type"] == "application/octet-stream"
                assert raw.headers["content-disposition"].startswith("attachment")
            assert "error" in event_id  # the unsigned body was refused, nothing stored

    async def test_unknown_things_are_404_pages(self, tmp_path, telegram):
        """Unknown events, deliveries, jobs and paths are 404 pages."""
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, _),
            browser(client) as user,
        ):
            await login(user)
            for path in ("/ui/events/evt_x", "/ui/deliveries/dlv_x", "/ui/replays/job_x",
                         "/ui/nothing"):  # fmt: skip
                assert (await user.get(path)).status_code == 404, path


class TestFailuresPage:
    async def test_replay_one_from_the_list_returns_to_it(self, tmp_path, telegram):
        """Replaying one delivery from the failures list comes back to the list, filtered."""
        telegram.set_mode("blocked")
        async with gateway(tmp_path, gateway_config(telegram.url)) as (client, _):
            _event_id, delivery_id = await dead_delivery(client, telegram)
            telegram.set_mode("ok")
            async with browser(client) as user:
                csrf = await login(user)
                page = await user.get("/ui/failures", params={"status": "dead"})
                assert delivery_id in page.text and "1</strong> delivery match" in page.text
                back = "/ui/failures?status=dead"
                response = await user.post(
                    f"/ui/deliveries/{delivery_id}/replay", data={"csrf": csrf, "back": back}
                )
                assert response.headers["location"] == f"{back}&notice=delivery-replayed"
                await wait_until(lambda: len(telegram.messages) == 1)
                shown = await user.get(response.headers["location"])
                assert "queued again" in shown.text

    async def test_storage_down_is_a_clear_page(self, tmp_path, telegram):
        """When the database cannot be read, pages say so with a 503 instead of crashing."""
        async with (
            gateway(tmp_path, gateway_config(telegram.url)) as (client, runtime),
            browser(client) as user,
        ):
            await login(user)
            await runtime.store.aclose()
            response = await user.get("/ui/failures")
            assert response.status_code == 503 and "Storage unavailable" in response.text
