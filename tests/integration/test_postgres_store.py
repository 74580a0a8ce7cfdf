"""What only the PostgreSQL store does: cross-process wake-ups, batch isolation, its URL."""

from __future__ import annotations

import asyncio

import pytest

from hookline.errors import StoreError
from hookline.models import NewDelivery, NewEvent, new_id, utcnow
from hookline.store.postgres import PostgresStore
from hookline.store.postgres_conn import parse_url
from tests.integration.test_store_contract import new_delivery, new_event
from tests.support.postgres import database_of, fetch

pytestmark = pytest.mark.postgres
WAKE_LIMIT = 30.0  # seconds: only a missing wake-up gets near this (the wait is 60 s)


@pytest.fixture
async def pg(postgres_url):
    store = PostgresStore(postgres_url)
    await store.open(migrate=False)
    yield store
    await store.aclose()


@pytest.fixture
async def other(postgres_url):
    """A second store on the same database: another process."""
    store = PostgresStore(postgres_url)
    await store.open(migrate=False)
    yield store
    await store.aclose()


async def wait_woken(store: PostgresStore) -> asyncio.Task[None]:
    await store.wait_for_work(0)  # connects the listener
    return asyncio.create_task(store.wait_for_work(60))


class TestWakeUps:
    async def test_ingest_in_another_process_wakes_a_waiting_worker(self, pg, other):
        """NOTIFY at commit ends another store's wait_for_work long before its timeout."""
        waiting = await wait_woken(pg)
        await other.ingest(new_event("x"), [new_delivery()])
        await asyncio.wait_for(waiting, WAKE_LIMIT)

    async def test_replay_wakes_too(self, pg, other):
        """Replaying a delivery from another process (the CLI) wakes the worker."""
        event = new_event("x")
        await other.ingest(event, [new_delivery(error="condition failed")])
        (dead,) = await other.deliveries_for(event.id)
        waiting = await wait_woken(pg)
        await other.replay_delivery(dead.id, now=utcnow())
        await asyncio.wait_for(waiting, WAKE_LIMIT)

    async def test_listener_reconnects_after_losing_its_connection(self, pg, other, postgres_url):
        """A lost listener wakes its worker, listens again, and hears the next NOTIFY."""
        waiting = await wait_woken(pg)
        killed = await fetch(
            postgres_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'hookline-listen' AND datname = $1",
            database_of(postgres_url),
        )
        assert [row[0] for row in killed] == [True]
        await asyncio.wait_for(waiting, WAKE_LIMIT)  # woken by the loss itself
        waiting = await wait_woken(pg)  # listens on a new connection
        await other.ingest(new_event("y"), [new_delivery()])
        await asyncio.wait_for(waiting, WAKE_LIMIT)


class TestGroupCommit:
    async def test_an_event_the_database_refuses_fails_alone(self, pg):
        """One event PostgreSQL rejects gets an error; its batch-mates are stored."""
        bad = NewDelivery(new_id("dlv"), "r", 2**40, "http")  # out of integer range
        results = await asyncio.gather(
            *(pg.ingest(new_event(f"ok{i}"), [new_delivery()]) for i in range(20)),
            pg.ingest(new_event("bad"), [bad]),
            return_exceptions=True,
        )
        *good, refused = results
        assert isinstance(refused, StoreError)
        assert all(not isinstance(r, BaseException) and not r.is_duplicate for r in good)

    async def test_large_bodies_are_split_into_several_statements(self, pg):
        """Many large events at once are all stored, in more than one statement."""
        body = b"x" * (1024 * 1024)
        events = [
            NewEvent(new_id("evt"), "s", f"big{i}", "t", utcnow(), None, {}, {}, body)
            for i in range(20)
        ]
        before = pg.commits
        await asyncio.gather(*(pg.ingest(e, []) for e in events))
        assert pg.commits - before >= 3  # 20 MiB at 8 MiB per statement
        stored = [await pg.get_event(e.id) for e in events]
        assert all(event.body == body for event in stored)


class TestUrl:
    def test_pool_size_is_taken_out_and_secrets_kept_out_of_messages(self):
        """`pool_size` is Hookline's; the rest reaches asyncpg; messages never show a password."""
        dsn, size, where = parse_url(
            "postgresql://app:s3cret@db:6432/hooks?pool_size=4&sslmode=require"
        )
        assert size == 4 and "pool_size" not in dsn and "sslmode=require" in dsn
        assert where == "postgresql://db:6432/hooks" and "s3cret" not in where
