"""The canonical scenario through a real `hookline run` process, as DESIGN.md tells it.

Stripe (played by our signer, checked against the official library elsewhere) sends a signed
`payment_intent.succeeded`; the manager's Telegram (a local server speaking the Bot API)
gets "New payment! Order #123, Ivan, 5000 RUB" once.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import API_TOKEN, gateway_config, stripe_event, stripe_headers, wait_until
from tests.support.fake_telegram import FakeTelegram
from tests.support.process import HooklineProcess, hookline

pytestmark = pytest.mark.slow
EXPECTED_TEXT = "New payment! Order #123, Ivan, 5000 RUB"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "hookline.yaml"


async def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers)


class TestRunProcess:
    async def test_stripe_to_telegram_end_to_end(self, config_file: Path, telegram: FakeTelegram):
        """Exact text once; duplicate collapsed; bad signatures stored nothing; CLI shows it all."""
        config_file.write_text(gateway_config(telegram.url))
        assert hookline("check", "-c", str(config_file)).returncode == 0
        server = HooklineProcess(config_file).start()
        try:
            body = stripe_event("evt_3Nreal")
            first = await post(f"{server.url}/hooks/stripe", body, stripe_headers(body))
            assert first.status_code == 200 and first.json()["duplicate"] is False
            second = await post(f"{server.url}/hooks/stripe", body, stripe_headers(body))
            assert second.json() == {"id": first.json()["id"], "duplicate": True}
            forged = await post(
                f"{server.url}/hooks/stripe",
                body,
                {"Stripe-Signature": f"t={int(time.time())},v1={'ab' * 32}"},
            )
            stale = await post(
                f"{server.url}/hooks/stripe", body, stripe_headers(body, at=int(time.time()) - 3600)
            )
            missing = await post(
                f"{server.url}/hooks/stripe", body, {"Content-Type": "application/json"}
            )
            assert (forged.status_code, stale.status_code, missing.status_code) == (401, 401, 401)
            other = stripe_event("evt_other", type="customer.created")
            assert (
                await post(f"{server.url}/hooks/stripe", other, stripe_headers(other))
            ).status_code == 200

            await wait_until(lambda: len(telegram.messages) == 1)
            event_id = first.json()["id"]
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {API_TOKEN}"}) as api:
                await wait_until(lambda: _statuses(api, server.url, event_id, ["succeeded"]))
                listed = (await api.get(f"{server.url}/api/events")).json()["events"]
            assert [e["external_id"] for e in listed] == ["evt_other", "evt_3Nreal"]
            assert [m.text for m in telegram.messages] == [EXPECTED_TEXT]

            shown = hookline("event", event_id, "--json", "-c", str(config_file))
            assert shown.returncode == 0, shown.stderr
            detail = orjson.loads(shown.stdout)
            assert detail["deliveries"][0]["status"] == "succeeded"
            assert detail["deliveries"][0]["history"][0]["status_code"] == 200
            listing = hookline("events", "-c", str(config_file))
            assert event_id in listing.stdout

            replayed = hookline("replay", event_id, "-c", str(config_file))
            assert replayed.returncode == 0 and "1 new delivery" in replayed.stdout
            await wait_until(lambda: len(telegram.messages) == 2)  # the worker's poll picks it up
        finally:
            assert server.terminate() in (0, -15), server.logs()  # uvicorn re-raises SIGTERM
        for secret in (telegram.token, API_TOKEN):
            assert secret not in server.logs()

    async def test_retry_after_two_seconds(self, config_file: Path, telegram: FakeTelegram):
        """Telegram's 429 with retry_after 2 is resent no sooner than 2 s later."""
        telegram.set_mode("retry_after", retry_after=2, times=1)
        config_file.write_text(gateway_config(telegram.url))
        server = HooklineProcess(config_file).start()
        try:
            body = stripe_event("evt_rl")
            assert (
                await post(f"{server.url}/hooks/stripe", body, stripe_headers(body))
            ).status_code == 200
            await wait_until(lambda: len(telegram.messages) == 1, timeout=20)
            limited, delivered = telegram.requests
            assert limited.status == 429
            assert (delivered.received_at - limited.received_at).total_seconds() >= 2.0
        finally:
            server.terminate()

    async def test_sigterm_drains_and_exits_cleanly(
        self, config_file: Path, telegram: FakeTelegram
    ):
        """SIGTERM stops the process with exit code 0 after finishing its work."""
        config_file.write_text(gateway_config(telegram.url))
        server = HooklineProcess(config_file).start()
        body = stripe_event("evt_term")
        assert (
            await post(f"{server.url}/hooks/stripe", body, stripe_headers(body))
        ).status_code == 200
        await wait_until(lambda: len(telegram.messages) == 1)
        assert server.terminate() in (0, -15)  # uvicorn re-raises SIGTERM once drained
        assert "worker.stopped" in server.logs()


async def _statuses(api: httpx.AsyncClient, url: str, event_id: str, expected: list[str]) -> bool:
    detail = (await api.get(f"{url}/api/events/{event_id}")).json()
    return [d["status"] for d in detail["deliveries"]] == expected
