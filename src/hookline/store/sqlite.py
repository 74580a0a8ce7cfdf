"""The embedded default store: SQLite in WAL mode, writes group-committed by one thread.

Reads (API, CLI) use their own connections in worker threads; WAL lets them run beside the
writer. The in-process worker is woken by an asyncio event the moment an ingest that owes
deliveries commits; another process writing the same file (the CLI's `replay`) is seen by
the worker's poll fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson

from hookline.errors import NotFoundError, StoreError, StoreUnavailableError
from hookline.models import (
    AttemptOutcome,
    AttemptRecord,
    ClaimedDelivery,
    Delivery,
    DeliveryStatus,
    Event,
    EventFilter,
    IngestResult,
    NewDelivery,
    NewEvent,
    utcnow,
)
from hookline.store import sqlite_reads as reads
from hookline.store.base import (
    DeliveryFilter,
    EventSummary,
    PruneResult,
    QueueHealth,
    RouteStats,
    from_ms,
    ms,
)
from hookline.store.sqlite_maintenance import prepare_schema, prune
from hookline.store.sqlite_reads import (
    EVENT_COLUMNS,
    event_from_row,
)
from hookline.store.sqlite_writer import SqliteWriter, connect

T = TypeVar("T")


class SqliteStore:
    """`Store` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = SqliteWriter(path)
        self._work = asyncio.Event()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self, *, migrate: bool, create: bool = False) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailableError(f"cannot create {self.path.parent}: {exc}") from exc
        self._writer.start()
        where = str(self.path)
        await self._writer.run(lambda conn: prepare_schema(conn, where, migrate, create))

    async def aclose(self) -> None:
        await asyncio.to_thread(self._writer.stop)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    @property
    def batches(self) -> int:
        return self._writer.batches

    @property
    def commits(self) -> int:
        return self._writer.batches

    # -- ingest ----------------------------------------------------------------------------

    async def ingest(self, event: NewEvent, deliveries: Sequence[NewDelivery]) -> IngestResult:
        result = await self._writer.run_bulk(_ingest_many, (event, deliveries))
        if deliveries and not result.is_duplicate:
            self._work.set()
        return result

    # -- worker ----------------------------------------------------------------------------

    async def claim_due(
        self, *, worker_id: str, limit: int, lease: timedelta, now: datetime
    ) -> list[ClaimedDelivery]:
        return await self._writer.run(lambda conn: _claim(conn, worker_id, limit, lease, now))

    async def record_attempt(
        self,
        delivery_id: str,
        *,
        worker_id: str,
        attempt: AttemptRecord,
        status: DeliveryStatus,
        next_at: datetime | None,
    ) -> bool:
        return await self._writer.run(
            lambda conn: _record(conn, delivery_id, worker_id, attempt, status, next_at)
        )

    async def renew_lease(
        self, delivery_ids: Sequence[str], *, worker_id: str, lease: timedelta, now: datetime
    ) -> list[str]:
        if not delivery_ids:
            return []
        marks = ",".join("?" * len(delivery_ids))

        def renew(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                f"UPDATE deliveries SET due_at = ?, updated_at = ? WHERE id IN ({marks})"
                " AND lease_owner = ? AND status = ? RETURNING id",
                (ms(now + lease), ms(now), *delivery_ids, worker_id, DeliveryStatus.IN_FLIGHT),
            )
            return [row[0] for row in rows]

        return await self._writer.run(renew)

    async def next_due_at(self) -> datetime | None:
        row = await self._read(
            lambda conn: conn.execute("SELECT min(due_at) FROM deliveries").fetchone()
        )
        return None if row[0] is None else from_ms(row[0])

    async def wait_for_work(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._work.wait(), timeout)
        self._work.clear()

    # -- inspection and replay -------------------------------------------------------------

    async def get_event(self, event_id: str) -> Event | None:
        row = await self._read(
            lambda conn: conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)
            ).fetchone()
        )
        return None if row is None else event_from_row(row)

    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        return await self._read(lambda conn: reads.list_events(conn, query))

    async def count_by_status(self, query: EventFilter) -> dict[str, int]:
        return await self._read(lambda conn: reads.count_by_status(conn, query))

    async def list_deliveries(self, query: DeliveryFilter) -> list[Delivery]:
        return await self._read(lambda conn: reads.list_deliveries(conn, query))

    async def count_deliveries(self, query: DeliveryFilter) -> int:
        return await self._read(lambda conn: reads.count_deliveries(conn, query))

    async def route_stats(self, since: datetime) -> dict[str, RouteStats]:
        return await self._read(lambda conn: reads.route_stats(conn, since))

    async def queue_health(self, now: datetime) -> QueueHealth:
        return await self._read(lambda conn: reads.queue_health(conn, now))

    async def deliveries_for(self, event_id: str) -> list[Delivery]:
        return await self._read(lambda conn: reads.deliveries(conn, "event_id = ?", (event_id,)))

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        found = await self._read(lambda conn: reads.deliveries(conn, "id = ?", (delivery_id,)))
        return found[0] if found else None

    async def add_deliveries(self, event_id: str, deliveries: Sequence[NewDelivery]) -> None:
        def add(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is None:
                raise NotFoundError(f"no event {event_id}")
            _insert_deliveries(conn, event_id, deliveries, ms(utcnow()))

        await self._writer.run(add)
        if deliveries:
            self._work.set()

    async def replay_delivery(self, delivery_id: str, *, now: datetime) -> Delivery:
        def replay(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT status FROM deliveries WHERE id = ?", (delivery_id,))
            found = row.fetchone()
            if found is None:
                raise NotFoundError(f"no delivery {delivery_id}")
            if found[0] == DeliveryStatus.IN_FLIGHT:
                raise StoreError(f"delivery {delivery_id} is in flight; replay it once it ends")
            conn.execute(
                "UPDATE deliveries SET status = ?, series_attempts = 0, progress = 0,"
                " due_at = ?, lease_owner = NULL, updated_at = ? WHERE id = ?",
                (DeliveryStatus.PENDING, ms(now), ms(now), delivery_id),
            )

        await self._writer.run(replay)
        self._work.set()
        delivery = await self.get_delivery(delivery_id)
        assert delivery is not None
        return delivery

    async def prune(
        self, *, events_before: datetime | None, dedup_before: datetime | None, limit: int
    ) -> PruneResult:
        return await self._writer.run(lambda conn: prune(conn, events_before, dedup_before, limit))

    async def get_meta(self, key: str) -> str | None:
        row = await self._read(
            lambda conn: conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        def put(conn: sqlite3.Connection) -> str:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (key, value)
            )
            return str(conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

        return await self._writer.run(put)

    # -- reads -----------------------------------------------------------------------------

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._read_sync, query)

    def _read_sync(self, query: Callable[[sqlite3.Connection], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        try:
            if conn is None:
                conn = connect(self.path)
                self._local.conn = conn
                with self._readers_lock:
                    self._readers.append(conn)
            return query(conn)
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite read failed: {exc}") from exc


# -- operations run on the writer thread ------------------------------------------------------


def _ingest_many(
    conn: sqlite3.Connection, items: list[tuple[NewEvent, Sequence[NewDelivery]]]
) -> list[IngestResult]:
    """Ingest a batch: one duplicate lookup and a few multi-row INSERTs for all its events.

    Dedup keys live in `dedup_keys` (they may outlive their events). The writer holds
    SQLite's write lock (BEGIN IMMEDIATE), so nothing can slip in between the lookup and the
    inserts; duplicates inside the batch collapse onto the first."""
    by_source: dict[str, list[str]] = {}
    for e, _ in items:
        if e.external_id is not None:
            by_source.setdefault(e.source, []).append(e.external_id)
    known: dict[tuple[str, str], str] = {}
    for source, ids in by_source.items():  # `source = ? AND external_id IN (...)` uses the key
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for external_id, event_id in conn.execute(
                "SELECT external_id, event_id FROM dedup_keys"
                f" WHERE source = ? AND external_id IN ({marks})",
                [source, *chunk],
            ):
                known[(source, external_id)] = event_id
    results: list[IngestResult] = []
    new_events: list[NewEvent] = []
    new_deliveries: list[tuple[str, NewDelivery, int]] = []
    for event, deliveries in items:
        key = (event.source, event.external_id)
        if event.external_id is not None and key in known:
            results.append(IngestResult(known[key], is_duplicate=True))
            continue
        if event.external_id is not None:
            known[key] = event.id  # type: ignore[index]
        new_events.append(event)
        now = ms(event.received_at)
        new_deliveries.extend((event.id, d, now) for d in deliveries)
        results.append(IngestResult(event.id, is_duplicate=False))
    insert_rows(
        conn,
        "INSERT INTO dedup_keys (source, external_id, event_id, created_at)",
        [
            (e.source, e.external_id, e.id, ms(e.received_at))
            for e in new_events
            if e.external_id is not None
        ],
    )
    insert_rows(
        conn,
        f"INSERT INTO events ({EVENT_COLUMNS})",
        [
            (e.id, e.source, e.external_id, e.type, ms(e.received_at), e.content_type,
             orjson.dumps(e.headers), orjson.dumps(e.query), e.body)
            for e in new_events
        ],
    )  # fmt: skip
    insert_rows(
        conn,
        _INSERT_DELIVERY_HEAD,
        [_delivery_row(event_id, d, now) for event_id, d, now in new_deliveries],
    )
    return results


_INSERT_DELIVERY_HEAD = (
    "INSERT INTO deliveries (id, event_id, route, action_index, action, status, due_at,"
    " last_error, created_at, updated_at)"
)


def insert_rows(conn: sqlite3.Connection, head: str, rows: list[tuple[Any, ...]]) -> None:
    """`head VALUES (…), (…), …`: many rows per statement.

    Each statement SQLite steps releases and retakes the GIL; `executemany` steps once per
    row, and under load every retake waits on the event loop. A few multi-row statements per
    batch keep the writer thread from queueing behind the loop hundreds of times a commit.
    """
    if not rows:
        return
    width = len(rows[0])
    per_statement = max(1, min(500, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    marks = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = ", ".join([marks] * len(chunk))
        conn.execute(f"{head} VALUES {values}", [v for row in chunk for v in row])


def _delivery_row(event_id: str, d: NewDelivery, now: int) -> tuple[Any, ...]:
    """A delivery owed from now, or dead from the start when its route's condition failed."""
    status = DeliveryStatus.DEAD if d.error else DeliveryStatus.PENDING
    return (d.id, event_id, d.route, d.action_index, d.action, status,
            None if d.error else now, d.error, now, now)  # fmt: skip


def _insert_deliveries(
    conn: sqlite3.Connection, event_id: str, deliveries: Sequence[NewDelivery], now: int
) -> None:
    insert_rows(conn, _INSERT_DELIVERY_HEAD, [_delivery_row(event_id, d, now) for d in deliveries])


def _claim(
    conn: sqlite3.Connection, worker_id: str, limit: int, lease: timedelta, now: datetime
) -> list[ClaimedDelivery]:
    now_ms = ms(now)
    ids = [
        row[0]
        for row in conn.execute(
            "UPDATE deliveries SET status = ?, lease_owner = ?, due_at = ?, updated_at = ?"
            " WHERE id IN (SELECT id FROM deliveries WHERE due_at <= ? ORDER BY due_at LIMIT ?)"
            " RETURNING id",
            (DeliveryStatus.IN_FLIGHT, worker_id, ms(now + lease), now_ms, now_ms, limit),
        )
    ]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    claimed = reads.deliveries(conn, f"id IN ({marks})", ids, with_history=False)
    events = {
        row[0]: event_from_row(row)
        for row in conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN"
            f" (SELECT event_id FROM deliveries WHERE id IN ({marks}))",
            ids,
        )
    }
    series = {
        row[0]: (row[1] + 1, row[2])
        for row in conn.execute(
            f"SELECT id, series_attempts, progress FROM deliveries WHERE id IN ({marks})", ids
        )
    }
    return [ClaimedDelivery(d, events[d.event_id], *series[d.id]) for d in claimed]


def _record(
    conn: sqlite3.Connection,
    delivery_id: str,
    worker_id: str,
    attempt: AttemptRecord,
    status: DeliveryStatus,
    next_at: datetime | None,
) -> bool:
    now = ms(utcnow())
    due = ms(next_at) if next_at is not None and status == DeliveryStatus.RETRYING else None
    error = attempt.error if attempt.outcome != AttemptOutcome.SUCCEEDED else None
    cursor = conn.execute(
        "UPDATE deliveries SET status = ?, attempts = attempts + 1,"
        " series_attempts = series_attempts + 1, due_at = ?, lease_owner = NULL,"
        " last_error = ?, updated_at = ?, progress = coalesce(?, progress)"
        " WHERE id = ? AND lease_owner = ? RETURNING attempts",
        (status, due, error, now, attempt.progress, delivery_id, worker_id),
    )
    row = cursor.fetchone()
    owned = row is not None
    if not owned:  # the lease ran out and someone else took over; keep the history honest
        row = conn.execute(
            "SELECT attempts + 1 FROM deliveries WHERE id = ?", (delivery_id,)
        ).fetchone()
        if row is None:
            return False
    conn.execute(
        "INSERT INTO attempts (delivery_id, number, started_at, duration_ms, outcome,"
        " status_code, response_excerpt, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            delivery_id,
            row[0],
            ms(attempt.started_at),
            attempt.duration_ms,
            attempt.outcome,
            attempt.status_code,
            attempt.response_excerpt,
            attempt.error,
        ),
    )
    return owned
