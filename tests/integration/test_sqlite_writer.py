"""SQLite's group-commit writer: one bad operation never fails the rest of its batch."""

from __future__ import annotations

import asyncio

import pytest

from hookline.errors import StoreError
from hookline.models import NewDelivery, new_id
from tests.integration.test_store_contract import new_delivery, new_event


class TestBulkIngest:
    async def test_a_failing_event_does_not_fail_its_batch_mates(self, store):
        """An ingest that breaks a constraint fails alone; the others in its batch are stored."""
        taken = new_delivery()
        await store.ingest(new_event("first"), [taken])
        clash = NewDelivery(taken.id, "r", 0, "http")  # the same delivery id again
        results = await asyncio.gather(
            store.ingest(new_event("a"), [new_delivery()]),
            store.ingest(new_event("bad"), [clash]),
            store.ingest(new_event("b"), [new_delivery()]),
            return_exceptions=True,
        )
        assert isinstance(results[1], StoreError)
        assert not results[0].is_duplicate and not results[2].is_duplicate
        for result in (results[0], results[2]):
            assert await store.get_event(result.event_id) is not None
        assert len(await store.deliveries_for(results[0].event_id)) == 1

    async def test_failed_event_leaves_nothing_behind(self, store):
        """The event whose deliveries could not be stored is not stored either."""
        taken = new_delivery()
        await store.ingest(new_event("first"), [taken])
        event = new_event("orphan")
        with pytest.raises(StoreError):
            await store.ingest(event, [NewDelivery(taken.id, "r", 0, "http")])
        assert await store.get_event(event.id) is None
        again = await store.ingest(
            new_event("orphan"), [NewDelivery(new_id("dlv"), "r", 0, "http")]
        )
        assert not again.is_duplicate


class TestShutdown:
    async def test_writes_after_close_are_refused_not_left_waiting(self, tmp_path):
        """Once the store is closing, a write fails at once with StoreUnavailableError."""
        from hookline.errors import StoreUnavailableError
        from hookline.store.sqlite import SqliteStore

        store = SqliteStore(tmp_path / "h.db")
        await store.open(migrate=True)
        await store.aclose()
        with pytest.raises(StoreUnavailableError):
            await asyncio.wait_for(store.ingest(new_event("late"), []), timeout=5)


class TestMultiRowInserts:
    def test_rows_beyond_one_statements_parameter_limit_are_all_inserted(self):
        """A batch wider than SQLite's bound-parameter limit is split across statements."""
        import sqlite3

        from hookline.store.sqlite import insert_rows

        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (a INTEGER, b TEXT, c BLOB)")
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 10)  # 3 rows of 3 per statement
        rows = [(n, f"row {n}", bytes([n])) for n in range(11)]
        insert_rows(conn, "INSERT INTO t (a, b, c)", rows)
        insert_rows(conn, "INSERT INTO t (a, b, c)", [])
        assert conn.execute("SELECT a, b, c FROM t ORDER BY a").fetchall() == rows
