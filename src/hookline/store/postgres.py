"""The scale-out store: PostgreSQL through an asyncpg pool, shared by any number of processes.

- Ingest is group-committed (`postgres_ingest.py`): concurrent requests share one statement.
- Workers claim with `FOR UPDATE SKIP LOCKED` in batches; a claim is a lease (`due_at` moves to
  the lease's end), so a worker that dies leaves deliveries that become due again.
- Wake-ups cross processes with `LISTEN/NOTIFY`: ingest and replay notify in their own
  transaction; a worker's `wait_for_work` listens on a dedicated connection, and the worker
  still polls, so a lost notification (or a listener reconnecting) only costs a poll interval.
- While PostgreSQL is unreachable every operation raises `StoreUnavailableError` (ingest
  answers 503); the pool connects again on its own once the server is back.

The URL is a libpq-style `postgresql://user:pass@host:port/db?...`; `pool_size=N` (default
10) is Hookline's own parameter and is taken out before the URL reaches asyncpg.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson
import structlog

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
from hookline.store import postgres_reads as reads
from hookline.store.base import (
    DeliveryFilter,
    EventSummary,
    PruneResult,
    QueueHealth,
    RouteStats,
    plan_schema,
    queries,
    schema_sql,
)
from hookline.store.postgres_conn import (
    CONNECT_TIMEOUT,
    DRIVER_ERRORS,
    Listener,
    keep_session,
    parse_url,
    store_error,
)
from hookline.store.postgres_ingest import IngestBatcher, delivery_arrays, text

log = structlog.get_logger("hookline.store")

Q = queries("postgres")
COMMAND_TIMEOUT = 30.0
MIGRATION_LOCK = 4741236500  # pg_advisory_xact_lock key: one migrating process at a time


class PostgresStore:
    """`Store` on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self._dsn, self.pool_size, self.where = parse_url(url)
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._work = asyncio.Event()
        self._batcher = IngestBatcher(self._connection, Q)
        self._listener = Listener(self._dsn, self._work.set)

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self, *, migrate: bool, create: bool = False) -> None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT)
        except DRIVER_ERRORS as exc:
            raise StoreUnavailableError(f"cannot connect to {self.where}: {exc}") from exc
        try:
            await _prepare_schema(conn, self.where, migrate=migrate, create=create)
        except DRIVER_ERRORS as exc:
            raise store_error(exc) from exc
        finally:
            await conn.close()
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=0,  # connect on demand: no background reconnect loop during outages
                max_size=self.pool_size,
                timeout=CONNECT_TIMEOUT,
                command_timeout=COMMAND_TIMEOUT,
                reset=keep_session,
                server_settings={"application_name": "hookline"},
            )
        except DRIVER_ERRORS as exc:
            raise StoreUnavailableError(f"cannot connect to {self.where}: {exc}") from exc
        self._batcher.start()

    async def aclose(self) -> None:
        await self._batcher.aclose()
        await self._listener.aclose()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT)
            except DRIVER_ERRORS:
                pool.terminate()

    @property
    def commits(self) -> int:
        return self._batcher.commits

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """A pooled connection; driver errors leave as `StoreError`s (503 at the edge)."""
        if self._pool is None:
            raise StoreUnavailableError("the store is closed")
        try:
            async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as conn:
                yield conn
        except DRIVER_ERRORS as exc:
            raise store_error(exc) from exc

    # -- ingest ----------------------------------------------------------------------------

    async def ingest(self, event: NewEvent, deliveries: Sequence[NewDelivery]) -> IngestResult:
        result = await self._batcher.submit(event, deliveries)
        if deliveries and not result.is_duplicate:
            self._work.set()  # this process's worker needs no round trip through NOTIFY
        return result

    # -- worker ----------------------------------------------------------------------------

    async def claim_due(
        self, *, worker_id: str, limit: int, lease: timedelta, now: datetime
    ) -> list[ClaimedDelivery]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                Q["claim"], worker_id, now + lease, now, limit, DeliveryStatus.IN_FLIGHT
            )
        return [
            ClaimedDelivery(_delivery(row, []), _event(row, id_column="event_id"),
                            row["series_attempts"] + 1, row["progress"])
            for row in rows
        ]  # fmt: skip

    async def record_attempt(
        self,
        delivery_id: str,
        *,
        worker_id: str,
        attempt: AttemptRecord,
        status: DeliveryStatus,
        next_at: datetime | None,
    ) -> bool:
        due = next_at if status == DeliveryStatus.RETRYING else None
        error = attempt.error if attempt.outcome != AttemptOutcome.SUCCEEDED else None
        async with self._connection() as conn:
            owned = await conn.fetchval(
                Q["record_attempt"],
                delivery_id,
                worker_id,
                status,
                due,
                text(error),
                utcnow(),
                attempt.started_at,
                attempt.duration_ms,
                attempt.outcome,
                attempt.status_code,
                text(attempt.response_excerpt),
                text(attempt.error),
                attempt.progress,
            )
        return bool(owned)

    async def renew_lease(
        self, delivery_ids: Sequence[str], *, worker_id: str, lease: timedelta, now: datetime
    ) -> list[str]:
        if not delivery_ids:
            return []
        async with self._connection() as conn:
            rows = await conn.fetch(
                Q["renew_leases"],
                list(delivery_ids),
                worker_id,
                now + lease,
                now,
                DeliveryStatus.IN_FLIGHT,
            )
        return [row["id"] for row in rows]

    async def next_due_at(self) -> datetime | None:
        async with self._connection() as conn:
            due: datetime | None = await conn.fetchval(Q["next_due_at"])
        return due

    async def wait_for_work(self, timeout: float) -> None:
        await self._listener.ensure()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._work.wait(), timeout)
        self._work.clear()

    # -- inspection and replay -------------------------------------------------------------

    async def get_event(self, event_id: str) -> Event | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(Q["event"], event_id)
        return None if row is None else _event(row)

    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        async with self._connection() as conn:
            return await reads.list_events(conn, query)

    async def count_by_status(self, query: EventFilter) -> dict[str, int]:
        async with self._connection() as conn:
            return await reads.count_by_status(conn, query)

    async def list_deliveries(self, query: DeliveryFilter) -> list[Delivery]:
        async with self._connection() as conn:
            return [_delivery(row, []) for row in await reads.list_deliveries(conn, query)]

    async def count_deliveries(self, query: DeliveryFilter) -> int:
        async with self._connection() as conn:
            return await reads.count_deliveries(conn, query)

    async def route_stats(self, since: datetime) -> dict[str, RouteStats]:
        async with self._connection() as conn:
            return await reads.route_stats(conn, since)

    async def queue_health(self, now: datetime) -> QueueHealth:
        async with self._connection() as conn:
            return await reads.queue_health(conn, now)

    async def deliveries_for(self, event_id: str) -> list[Delivery]:
        async with self._connection() as conn:
            return await _with_history(conn, await conn.fetch(Q["deliveries_of_event"], event_id))

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        async with self._connection() as conn:
            found = await _with_history(conn, await conn.fetch(Q["delivery"], delivery_id))
        return found[0] if found else None

    async def add_deliveries(self, event_id: str, deliveries: Sequence[NewDelivery]) -> None:
        now = utcnow()
        async with self._connection() as conn, conn.transaction():
            if not await conn.fetchval(Q["lock_event"], event_id):
                raise NotFoundError(f"no event {event_id}")
            await conn.execute(
                Q["add_deliveries"], *delivery_arrays([(event_id, now, d) for d in deliveries])
            )
        if deliveries:
            self._work.set()

    async def replay_delivery(self, delivery_id: str, *, now: datetime) -> Delivery:
        async with self._connection() as conn:
            async with conn.transaction():
                status = await conn.fetchval(Q["lock_delivery"], delivery_id)
                if status is None:
                    raise NotFoundError(f"no delivery {delivery_id}")
                if status == DeliveryStatus.IN_FLIGHT:
                    raise StoreError(f"delivery {delivery_id} is in flight; replay it once it ends")
                await conn.execute(Q["replay_delivery"], delivery_id, DeliveryStatus.PENDING, now)
                await conn.execute(Q["notify"])
            (delivery,) = await _with_history(conn, await conn.fetch(Q["delivery"], delivery_id))
        self._work.set()
        return delivery

    # -- retention and meta ----------------------------------------------------------------

    async def prune(
        self, *, events_before: datetime | None, dedup_before: datetime | None, limit: int
    ) -> PruneResult:
        async with self._connection() as conn, conn.transaction():
            if not await conn.fetchval(Q["try_prune_lock"]):
                return PruneResult()  # another process is pruning right now
            events = keys = 0
            if events_before is not None:
                done = await conn.execute(
                    Q["prune_events"], events_before, limit, DeliveryStatus.SUCCEEDED
                )
                events = int(done.split()[-1])
            if dedup_before is not None:
                keys = int((await conn.execute(Q["prune_dedup"], dedup_before, limit)).split()[-1])
        return PruneResult(events=events, dedup_keys=keys)

    async def get_meta(self, key: str) -> str | None:
        async with self._connection() as conn:
            value: str | None = await conn.fetchval(Q["get_meta"], key)
        return value

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        async with self._connection() as conn:
            await conn.execute(Q["put_meta"], key, text(value))
            kept: str = await conn.fetchval(Q["get_meta"], key)
        return kept


async def _prepare_schema(
    conn: asyncpg.Connection[asyncpg.Record], where: str, *, migrate: bool, create: bool
) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        applied: set[int] = set()
        if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        plan = plan_schema("postgres", applied, where=where, migrate=migrate, create=create)
        if plan.fresh:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                " name text NOT NULL, applied_at timestamptz NOT NULL)"
            )
            await conn.execute(schema_sql("postgres"))
        for migration in plan.pending:
            if not plan.fresh:
                log.info("store.migrating", version=migration.version, name=migration.name)
                await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
                migration.version,
                migration.name,
            )


# -- row mapping ------------------------------------------------------------------------------


def _event(row: Any, *, id_column: str = "id") -> Event:
    return Event(
        id=row[id_column],
        source=row["source"],
        external_id=row["external_id"],
        type=row["type"],
        received_at=row["received_at"],
        content_type=row["content_type"],
        headers=orjson.loads(row["headers"]),
        query=orjson.loads(row["query"]),
        body=bytes(row["body"]),
    )


def _delivery(row: Any, history: list[Attempt]) -> Delivery:
    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        route=row["route"],
        action_index=row["action_index"],
        action=row["action"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["due_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        history=history,
    )


async def _with_history(conn: Any, rows: list[Any]) -> list[Delivery]:
    history: dict[str, list[Attempt]] = {row["id"]: [] for row in rows}
    if rows:
        for a in await conn.fetch(Q["attempts_of"], list(history)):
            history[a["delivery_id"]].append(
                Attempt(a["delivery_id"], a["number"], a["started_at"], a["duration_ms"],
                        AttemptOutcome(a["outcome"]), a["status_code"], a["response_excerpt"],
                        a["error"])
            )  # fmt: skip
    return [_delivery(row, history[row["id"]]) for row in rows]
