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
    Attempt,
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
from hookline.store.base import EventSummary, PruneResult, from_ms, ms
from hookline.store.sqlite_maintenance import prepare_schema, prune
from hookline.store.sqlite_writer import SqliteWriter, connect

T = TypeVar("T")
_EVENT_COLUMNS = "id, source, external_id, type, received_at, content_type, headers, query, body"
_DELIVERY_COLUMNS = (
    "id, event_id, route, action_index, action, status, attempts, series_attempts, due_at,"
    " last_error, created_at, updated_at"
)


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
        result = await self._writer.run(lambda conn: _ingest(conn, event, deliveries))
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
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)
            ).fetchone()
        )
        return None if row is None else _event(row)

    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        return await self._read(lambda conn: _list_events(conn, query))

    async def deliveries_for(self, event_id: str) -> list[Delivery]:
        return await self._read(lambda conn: _deliveries(conn, "event_id = ?", (event_id,)))

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        found = await self._read(lambda conn: _deliveries(conn, "id = ?", (delivery_id,)))
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
                "UPDATE deliveries SET status = ?, series_attempts = 0, due_at = ?,"
                " lease_owner = NULL, updated_at = ? WHERE id = ?",
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


def _ingest(
    conn: sqlite3.Connection, event: NewEvent, deliveries: Sequence[NewDelivery]
) -> IngestResult:
    received_at = ms(event.received_at)
    if event.external_id is not None:
        cursor = conn.execute(
            "INSERT INTO dedup_keys (source, external_id, event_id, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (event.source, event.external_id, event.id, received_at),
        )
        if cursor.rowcount == 0:
            row = conn.execute(
                "SELECT event_id FROM dedup_keys WHERE source = ? AND external_id = ?",
                (event.source, event.external_id),
            ).fetchone()
            return IngestResult(row[0], is_duplicate=True)
    conn.execute(
        f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.id,
            event.source,
            event.external_id,
            event.type,
            received_at,
            event.content_type,
            orjson.dumps(event.headers),
            orjson.dumps(event.query),
            event.body,
        ),
    )
    _insert_deliveries(conn, event.id, deliveries, received_at)
    return IngestResult(event.id, is_duplicate=False)


def _insert_deliveries(
    conn: sqlite3.Connection, event_id: str, deliveries: Sequence[NewDelivery], now: int
) -> None:
    conn.executemany(
        "INSERT INTO deliveries (id, event_id, route, action_index, action, status, due_at,"
        " last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                d.id,
                event_id,
                d.route,
                d.action_index,
                d.action,
                DeliveryStatus.DEAD if d.error else DeliveryStatus.PENDING,
                None if d.error else now,
                d.error,
                now,
                now,
            )
            for d in deliveries
        ],
    )


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
    deliveries = _deliveries(conn, f"id IN ({marks})", ids, with_history=False)
    events = {
        row[0]: _event(row)
        for row in conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN"
            f" (SELECT event_id FROM deliveries WHERE id IN ({marks}))",
            ids,
        )
    }
    series = dict(
        conn.execute(f"SELECT id, series_attempts FROM deliveries WHERE id IN ({marks})", ids)
    )
    return [ClaimedDelivery(d, events[d.event_id], series[d.id] + 1) for d in deliveries]


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
        " last_error = ?, updated_at = ? WHERE id = ? AND lease_owner = ? RETURNING attempts",
        (status, due, error, now, delivery_id, worker_id),
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


# -- row mapping ------------------------------------------------------------------------------


def _event(row: Any) -> Event:
    return Event(
        id=row[0],
        source=row[1],
        external_id=row[2],
        type=row[3],
        received_at=from_ms(row[4]),
        content_type=row[5],
        headers=orjson.loads(row[6]),
        query=orjson.loads(row[7]),
        body=bytes(row[8]),
    )


def _deliveries(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], *, with_history: bool = True
) -> list[Delivery]:
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE {where} ORDER BY id", params
    ).fetchall()
    history: dict[str, list[Attempt]] = {row[0]: [] for row in rows}
    if with_history and rows:
        marks = ",".join("?" * len(rows))
        for a in conn.execute(
            "SELECT delivery_id, number, started_at, duration_ms, outcome, status_code,"
            f" response_excerpt, error FROM attempts WHERE delivery_id IN ({marks})"
            " ORDER BY delivery_id, number",
            list(history),
        ):
            history[a[0]].append(
                Attempt(a[0], a[1], from_ms(a[2]), a[3], AttemptOutcome(a[4]), a[5], a[6], a[7])
            )
    return [_delivery(row, history[row[0]]) for row in rows]


def _delivery(row: Any, history: list[Attempt]) -> Delivery:
    status = DeliveryStatus(row[5])
    return Delivery(
        id=row[0],
        event_id=row[1],
        route=row[2],
        action_index=row[3],
        action=row[4],
        status=status,
        attempts=row[6],
        next_attempt_at=from_ms(row[8]) if row[8] is not None else None,
        last_error=row[9],
        created_at=from_ms(row[10]),
        updated_at=from_ms(row[11]),
        history=history,
    )


def _list_events(conn: sqlite3.Connection, query: EventFilter) -> list[EventSummary]:
    clauses, params = [], []
    for column, value in (("source", query.source), ("type", query.type)):
        if value is not None:
            clauses.append(f"e.{column} = ?")
            params.append(value)
    if query.status is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = ?)"
        )
        params.append(str(query.status))
    if query.before is not None:
        clauses.append("e.id < ?")
        params.append(query.before)
    where = " AND ".join(clauses) or "1"
    rows = conn.execute(
        f"SELECT e.id, e.source, e.external_id, e.type, e.received_at FROM events e"
        f" WHERE {where} ORDER BY e.id DESC LIMIT ?",
        [*params, query.limit],
    ).fetchall()
    counts: dict[str, dict[str, int]] = {row[0]: {} for row in rows}
    if rows:
        marks = ",".join("?" * len(rows))
        for event_id, status, count in conn.execute(
            f"SELECT event_id, status, count(*) FROM deliveries WHERE event_id IN ({marks})"
            " GROUP BY event_id, status",
            list(counts),
        ):
            counts[event_id][status] = count
    return [
        EventSummary(row[0], row[1], row[2], row[3], from_ms(row[4]), counts[row[0]])
        for row in rows
    ]
