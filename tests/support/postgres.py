"""Real PostgreSQL databases for tests: one migrated template per session, cloned per test.

Cloning (`CREATE DATABASE … TEMPLATE …`) costs tens of milliseconds, far less than
migrating, and every test gets a database of its own (procrastinate's `db_factory`). The
server is `HOOKLINE_TEST_POSTGRES_URL` (default: the local one CI starts); when it cannot be
reached the PostgreSQL tests are skipped, unless `HOOKLINE_TEST_POSTGRES_REQUIRED=1` (CI),
which makes that a failure.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

T = TypeVar("T")
BASE_URL = os.environ.get("HOOKLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRED = os.environ.get("HOOKLINE_TEST_POSTGRES_REQUIRED") == "1"


def url_for(database: str) -> str:
    """BASE_URL pointed at another database on the same server."""
    return urlunsplit(urlsplit(BASE_URL)._replace(path=f"/{database}"))


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def admin(*statements: str) -> None:
    conn = await asyncpg.connect(BASE_URL, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """One query on its own connection (tests look into the database behind Hookline)."""
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


class PostgresDatabases:
    """Creates the session's template and hands out clones of it (or empty databases)."""

    def __init__(self) -> None:
        self.prefix = f"hookline_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self._numbers = itertools.count()

    async def setup(self) -> str | None:
        """Create and migrate the template; return why not, if the server is unreachable."""
        try:
            await admin(
                f"DROP DATABASE IF EXISTS {self.template} WITH (FORCE)",
                f"CREATE DATABASE {self.template}",
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            return f"PostgreSQL at {BASE_URL} is not reachable: {exc}"
        from hookline.store.postgres import PostgresStore

        store = PostgresStore(url_for(self.template))
        await store.open(migrate=True)
        await store.aclose()
        return None

    async def clone(self) -> str:
        """A new database with the current schema (a copy of the template)."""
        name = f"{self.prefix}_{next(self._numbers)}"
        await admin(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return url_for(name)

    async def empty(self) -> str:
        """A new database with no schema at all."""
        name = f"{self.prefix}_{next(self._numbers)}"
        await admin(f"CREATE DATABASE {name}")
        return url_for(name)

    async def drop(self, url: str) -> None:
        await admin(f"DROP DATABASE IF EXISTS {database_of(url)} WITH (FORCE)")

    async def teardown(self) -> None:
        await admin(f"DROP DATABASE IF EXISTS {self.template} WITH (FORCE)")


class PostgresServer:
    """Stop and start the local PostgreSQL cluster (for the outage test), if we may."""

    def __init__(self) -> None:
        versions = (
            sorted(Path("/etc/postgresql").glob("*/main"))
            if Path("/etc/postgresql").exists()
            else []
        )
        self.version = versions[-1].parent.name if versions else None
        host = urlsplit(BASE_URL).hostname or "localhost"
        self.controllable = (
            self.version is not None
            and shutil.which("pg_ctlcluster") is not None
            and host in ("127.0.0.1", "localhost", "::1")
        )

    def _ctl(self, action: str) -> None:
        assert self.version is not None
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, "main", action],  # noqa: S607
            check=True,
            capture_output=True,
            timeout=60,
        )

    def stop(self) -> None:
        self._ctl("stop")

    def start(self) -> None:
        self._ctl("start")

    def is_running(self) -> bool:
        done = subprocess.run(
            ["pg_isready", "-q", "-h", urlsplit(BASE_URL).hostname or "127.0.0.1"],  # noqa: S607
            check=False,
            timeout=10,
        )
        return done.returncode == 0
