"""SQLite operations that keep the database in shape: schema creation and migrations, and
retention. Like every write, they run on the writer thread, inside its transactions."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from hookline.models import DeliveryStatus, utcnow
from hookline.store.base import PruneResult, ms, plan_schema, schema_sql, sql_statements


def prepare_schema(conn: sqlite3.Connection, where: str, migrate: bool, create: bool) -> None:
    """Create, upgrade or check the schema, as `Store.open` describes."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    plan = plan_schema("sqlite", applied, where=where, migrate=migrate, create=create)
    if plan.fresh:
        for statement in sql_statements(schema_sql("sqlite")):
            conn.execute(statement)
    for migration in plan.pending:
        if not plan.fresh:
            for statement in sql_statements(migration.sql):
                conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, ms(utcnow())),
        )


def prune(
    conn: sqlite3.Connection,
    events_before: datetime | None,
    dedup_before: datetime | None,
    limit: int,
) -> PruneResult:
    """One retention batch, on the writer thread between ingest batches (never blocks long)."""
    events = 0
    if events_before is not None:
        cutoff = ms(events_before)
        doomed = [
            row[0]
            for row in conn.execute(
                "SELECT e.id FROM events e WHERE e.received_at < ? AND NOT EXISTS ("
                " SELECT 1 FROM deliveries d WHERE d.event_id = e.id"
                " AND (d.status <> ? OR d.updated_at >= ?)) ORDER BY e.received_at LIMIT ?",
                (cutoff, DeliveryStatus.SUCCEEDED, cutoff, limit),
            )
        ]
        if doomed:
            marks = ",".join("?" * len(doomed))
            conn.execute(
                "DELETE FROM attempts WHERE delivery_id IN"
                f" (SELECT id FROM deliveries WHERE event_id IN ({marks}))",
                doomed,
            )
            conn.execute(f"DELETE FROM deliveries WHERE event_id IN ({marks})", doomed)
            events = conn.execute(f"DELETE FROM events WHERE id IN ({marks})", doomed).rowcount
    keys = 0
    if dedup_before is not None:
        keys = conn.execute(
            "DELETE FROM dedup_keys WHERE (source, external_id) IN (SELECT source, external_id"
            " FROM dedup_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)",
            (ms(dedup_before), limit),
        ).rowcount
    return PruneResult(events=events, dedup_keys=keys)
