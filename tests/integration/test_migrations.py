"""Migrations: a new database (created from schema.sql) and an old one brought up to date
step by step must end with the same schema, for each backend.

The schema is compared as the catalog describes it (columns with types, nullability and
defaults; indexes with their definitions; constraints; WITHOUT ROWID), not as SQL text, so a
migration that forgets an index, types a column differently or drops a constraint is caught,
and so is a change to schema.sql that has no migration.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hookline.errors import StoreError
from hookline.models import utcnow
from hookline.store.base import migrations, open_store, sql_statements
from tests.integration.test_store_contract import new_delivery, new_event
from tests.support.postgres import fetch

FIRST = 1  # the oldest schema a database can be upgraded from


# -- an "old" database, as an older Hookline left it ------------------------------------------


async def make_old(backend: str, url: str, version: int = FIRST) -> None:
    """Apply migrations 1..version by hand and record them, as earlier releases did."""
    steps = [m for m in migrations(backend) if m.version <= version]
    if backend == "sqlite":
        conn = sqlite3.connect(url, isolation_level=None)
        conn.execute(
            "CREATE TABLE schema_migrations"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )
        for m in steps:
            for statement in sql_statements(m.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (m.version, m.name))
        conn.close()
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL)"
        )
        for m in steps:
            await conn.execute(m.sql)
            await conn.execute(
                "INSERT INTO schema_migrations VALUES ($1, $2, now())", m.version, m.name
            )
    finally:
        await conn.close()


async def execute(backend: str, url: str, statement: str, *args: Any) -> None:
    if backend == "sqlite":
        conn = sqlite3.connect(url, isolation_level=None)
        conn.execute(statement, args)
        conn.close()
    else:
        await fetch(url, statement, *args)


# -- the schema as the catalog describes it -------------------------------------------------


def _squash(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def sqlite_schema(path: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name != 'schema_migrations' ORDER BY name"
        )
    ]
    shape: dict[str, Any] = {}
    for table in tables:
        create = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        shape[table] = {
            # (name, type, not null, default, primary key position); order-independent
            "columns": sorted(row[1:6] for row in conn.execute(f"PRAGMA table_xinfo({table})")),
            "foreign_keys": sorted(
                row[2:] for row in conn.execute(f"PRAGMA foreign_key_list({table})")
            ),
            "without_rowid": "WITHOUT ROWID" in create[0].upper(),
            "indexes": sorted(
                (name, _squash(sql or ""))
                for name, sql in conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                    (table,),
                )
            ),
        }  # fmt: skip
    conn.close()
    return shape


async def postgres_schema(url: str) -> dict[str, Any]:
    columns = await fetch(
        url,
        "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity,"
        " identity_generation FROM information_schema.columns WHERE table_schema = 'public'"
        " AND table_name <> 'schema_migrations' ORDER BY table_name, column_name",
    )
    indexes = await fetch(
        url,
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " AND tablename <> 'schema_migrations' ORDER BY indexname",
    )
    constraints = await fetch(
        url,
        "SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS def"
        " FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        " AND conrelid::regclass::text <> 'schema_migrations' ORDER BY conname",
    )
    others = await fetch(
        url,
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p')"
        " AND c.relname NOT LIKE 'schema_migrations%' ORDER BY c.relname",
    )
    triggers = await fetch(
        url, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"
    )
    functions = await fetch(
        url,
        "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY proname",
    )
    return {
        "columns": [tuple(r) for r in columns],
        "indexes": [tuple(r) for r in indexes],
        "constraints": [tuple(r) for r in constraints],
        "relations": [tuple(r) for r in others],
        "triggers": [tuple(r) for r in triggers],
        "functions": [tuple(r) for r in functions],
    }


async def schema_of(backend: str, url: str) -> dict[str, Any]:
    return sqlite_schema(url) if backend == "sqlite" else await postgres_schema(url)


@pytest.fixture
async def second_empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    if backend == "sqlite":
        yield str(tmp_path / "second.db")
        return
    databases = request.getfixturevalue("postgres")
    url = await databases.empty()
    yield url
    await databases.drop(url)


async def migrated(url: str) -> None:
    store = open_store(url)
    await store.open(migrate=True)
    await store.aclose()


class TestFreshEqualsMigrated:
    async def test_step_by_step_equals_schema_sql(
        self, backend, empty_database_url, second_empty_url
    ):
        """A database upgraded from the first schema equals one created new from schema.sql."""
        await migrated(empty_database_url)  # new: schema.sql
        await make_old(backend, second_empty_url)
        await migrated(second_empty_url)  # old: migrations 2..N
        fresh = await schema_of(backend, empty_database_url)
        stepped = await schema_of(backend, second_empty_url)
        assert fresh == stepped
        assert fresh  # the comparison saw tables

    async def test_the_comparison_catches_a_drift(
        self, backend, empty_database_url, second_empty_url
    ):
        """A schema missing one index compares unequal (the check above can fail)."""
        await migrated(empty_database_url)
        await migrated(second_empty_url)
        await execute(backend, second_empty_url, "DROP INDEX events_received")
        assert await schema_of(backend, empty_database_url) != await schema_of(
            backend, second_empty_url
        )

    async def test_every_version_is_recorded(self, backend, empty_database_url):
        """A new database records every migration as applied, so none runs on it later."""
        await migrated(empty_database_url)
        again = open_store(empty_database_url)
        await again.open(migrate=False)  # would refuse a schema behind
        await again.aclose()


class TestUpgrade:
    async def test_events_and_dedup_survive_the_upgrade(self, backend, empty_database_url):
        """Events stored by the first schema keep deduplicating after the upgrade."""
        await make_old(backend, empty_database_url)
        placeholder = "?" if backend == "sqlite" else "$"
        values = ", ".join(f"{placeholder}{i if backend != 'sqlite' else ''}" for i in range(1, 10))
        when: Any = utcnow() - timedelta(days=1)
        when = int(when.timestamp() * 1000) if backend == "sqlite" else when
        headers: Any = b"{}" if backend == "sqlite" else "{}"
        await execute(
            backend,
            empty_database_url,
            "INSERT INTO events (id, source, external_id, type, received_at, content_type,"
            f" headers, query, body) VALUES ({values})",
            "evt_old", "stripe", "ext-old", "t", when, None, headers, headers, b"{}",
        )  # fmt: skip
        store = open_store(empty_database_url)
        await store.open(migrate=True)
        try:
            result = await store.ingest(new_event("ext-old"), [new_delivery()])
            assert result.is_duplicate and result.event_id == "evt_old"
            assert (await store.get_event("evt_old")).external_id == "ext-old"
        finally:
            await store.aclose()

    async def test_schema_behind_is_refused_with_the_fix(self, backend, empty_database_url):
        """serve/worker/run refuse an old schema, even where an empty one would be created."""
        await make_old(backend, empty_database_url)
        store = open_store(empty_database_url)
        with pytest.raises(StoreError, match=r"behind .*run `hookline migrate` first"):
            await store.open(migrate=False, create=True)
        await store.aclose()

    async def test_newer_schema_is_refused(self, backend, empty_database_url):
        """A schema from a newer Hookline is refused, even by migrate."""
        await migrated(empty_database_url)
        await execute(
            backend,
            empty_database_url,
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', "
            + ("0)" if backend == "sqlite" else "now())"),
        )
        store = open_store(empty_database_url)
        with pytest.raises(StoreError, match="newer than this Hookline"):
            await store.open(migrate=True)
        await store.aclose()

    async def test_pending_delivery_is_claimable_after_upgrade(self, backend, empty_database_url):
        """A delivery owed before the upgrade (written by the first schema) is still due
        after it, from the start of its message."""
        await make_old(backend, empty_database_url)
        sqlite = backend == "sqlite"
        marks = ", ".join("?" if sqlite else f"${i}" for i in range(1, 10))
        when: Any = utcnow() - timedelta(minutes=1)
        when = int(when.timestamp() * 1000) if sqlite else when
        headers: Any = b"{}" if sqlite else "{}"
        await execute(
            backend, empty_database_url,
            "INSERT INTO events (id, source, external_id, type, received_at, content_type,"
            f" headers, query, body) VALUES ({marks})",
            "evt_old", "stripe", "ext-old", "t", when, None, headers, headers, b"{}",
        )  # fmt: skip
        await execute(
            backend, empty_database_url,
            "INSERT INTO deliveries (id, event_id, route, action_index, action, status, due_at,"
            f" created_at, updated_at) VALUES ({marks})",
            "dlv_old", "evt_old", "r", 0, "http", "pending", when, when, when,
        )  # fmt: skip
        store = open_store(empty_database_url)
        await store.open(migrate=True)
        try:
            (claimed,) = await store.claim_due(
                worker_id="w", limit=5, lease=timedelta(seconds=30), now=utcnow()
            )
            assert (claimed.delivery.id, claimed.delivery.status) == ("dlv_old", "in_flight")
            assert (claimed.event.id, claimed.series_attempt, claimed.progress) == ("evt_old", 1, 0)
        finally:
            await store.aclose()
