"""Shared fixtures: real stores (SQLite and PostgreSQL), the real ASGI app, a fake Telegram,
Stripe signing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from hookline.config.loader import loads
from hookline.config.models import Config
from hookline.store.base import Store, open_store
from hookline.verify.stripe import sign
from tests.support.fake_telegram import DEFAULT_TOKEN, FakeTelegram
from tests.support.postgres import REQUIRED, PostgresDatabases, run_sync

STRIPE_SECRET = "whsec_test_0123456789abcdefghijklmnop"
API_TOKEN = "test-api-token-0123456789abcdef"


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    """The session's PostgreSQL template database (skipped, or failed in CI, if unreachable)."""
    databases = PostgresDatabases()
    problem = run_sync(databases.setup())
    if problem is not None:
        if REQUIRED:
            pytest.fail(problem)
        pytest.skip(problem)
    yield databases
    run_sync(databases.teardown())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A migrated database of its own for this test: a SQLite file, or a PostgreSQL clone."""
    if backend == "sqlite":
        yield str(tmp_path / "hookline.db")
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    url = await databases.clone()
    yield url
    await databases.drop(url)


@pytest.fixture
async def postgres_url(postgres: PostgresDatabases) -> AsyncIterator[str]:
    """A migrated PostgreSQL database of its own for this test."""
    url = await postgres.clone()
    yield url
    await postgres.drop(url)


@pytest.fixture
async def empty_database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A database of this test's backend with no schema at all."""
    if backend == "sqlite":
        yield str(tmp_path / "empty.db")
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    url = await databases.empty()
    yield url
    await databases.drop(url)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store of each backend."""
    opened = open_store(database_url)
    await opened.open(migrate=True)
    yield opened
    await opened.aclose()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(DEFAULT_TOKEN) as fake:
        yield fake


def stripe_event(
    event_id: str = "evt_1", *, type: str = "payment_intent.succeeded", order: str = "123"
) -> bytes:
    """A realistic Stripe `payment_intent.succeeded` body for order `order`, paid by Ivan."""
    return orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type,
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": "pi_3Nabc",
                    "object": "payment_intent",
                    "amount": 500000,
                    "currency": "rub",
                    "status": "succeeded",
                    "metadata": {"order_id": order, "client": "Ivan"},
                }
            },
        }
    )


def stripe_headers(
    body: bytes, *, secret: str = STRIPE_SECRET, at: int | None = None
) -> dict[str, str]:
    return {
        "Stripe-Signature": sign(body, secret, int(time.time()) if at is None else at),
        "Content-Type": "application/json",
    }


def gateway_config(telegram_url: str, *, extra: str = "", retry: str = "") -> str:
    """The canonical Stripe → Telegram config, pointed at a local Bot API server."""
    return f"""
sources:
  stripe:
    verify: {{provider: stripe, secret: "{STRIPE_SECRET}"}}
routes:
  - name: payment-to-manager
    source: stripe
    if: "event.type == 'payment_intent.succeeded'"
    actions:
      - telegram:
          token: "{DEFAULT_TOKEN}"
          chat_id: 42
          api_url: "{telegram_url}"
          text: "New payment! Order #{{{{ payload.data.object.metadata.order_id }}}}, \\
            {{{{ payload.data.object.metadata.client }}}}, \\
            {{{{ payload.data.object.amount // 100 }}}} \\
            {{{{ payload.data.object.currency | upper }}}}"
{retry}
delivery:
  allow_private_networks: true
  timeout: 5s
  retry: {{max_attempts: 10, backoff: 100ms, max_backoff: 500ms}}
api: {{token: "{API_TOKEN}"}}
{extra}
"""


@pytest.fixture
def make_config() -> Callable[..., Config]:
    def build(text: str, **environ: str) -> Config:
        return loads(text, file="test.yaml", environ=environ)

    return build


async def wait_until(predicate: Callable[[], Any], *, timeout: float = 10.0) -> None:
    """Poll an async or sync predicate until it is true; fail after `timeout` seconds."""
    import asyncio
    import inspect

    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


def api_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://hookline.test",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
