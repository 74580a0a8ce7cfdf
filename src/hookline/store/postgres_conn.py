"""Connecting to PostgreSQL: the URL, which driver errors mean "unavailable", the pool's
reset, and the dedicated LISTEN connection that wakes workers across processes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import structlog

from hookline.errors import ConfigError, StoreError, StoreUnavailableError

log = structlog.get_logger("hookline.store")

CHANNEL = "hookline_work"  # what ingest and replay NOTIFY (queries.sql)
DEFAULT_POOL_SIZE = 10
CONNECT_TIMEOUT = 5.0  # seconds: an unreachable server must turn into a 503 quickly

# Errors that mean "the database is not there right now" (-> 503, retry) rather than "this
# statement is wrong": network errors, a closed connection, a server starting, stopping or
# out of connections. asyncpg raises InternalClientError ("cannot switch to state …") when
# the server goes away in the middle of an operation.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)
DRIVER_ERRORS: tuple[type[BaseException], ...] = (*UNAVAILABLE, asyncpg.PostgresError)


def store_error(exc: BaseException) -> StoreError:
    if isinstance(exc, UNAVAILABLE):
        return StoreUnavailableError(f"PostgreSQL is unavailable: {str(exc) or type(exc).__name__}")
    return StoreError(f"PostgreSQL error: {exc}")


def parse_url(url: str) -> tuple[str, int, str]:
    """(the DSN for asyncpg, the pool size, where: host:port/db for messages, no secrets)."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    size = next((value for key, value in params if key == "pool_size"), str(DEFAULT_POOL_SIZE))
    if not size.isdigit() or int(size) < 1:
        raise ConfigError(f"pool_size must be a whole number of connections, got {size!r}",
                          key_path="database")  # fmt: skip
    rest = urlencode([(key, value) for key, value in params if key != "pool_size"])
    where = f"postgresql://{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    return urlunsplit(parts._replace(query=rest)), int(size), where


async def keep_session(_conn: object) -> None:
    """Pool reset: asyncpg still rolls back an open transaction; we skip its reset query
    (UNLISTEN, RESET ALL, ...), which costs a round trip per use and undoes nothing we do."""


class Listener:
    """A dedicated connection that LISTENs for work; reconnects lazily, with backoff."""

    def __init__(self, dsn: str, on_notify: Callable[[], None]) -> None:
        self._dsn = dsn
        self._on_notify = on_notify
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        self._retry_at = 0.0
        self._backoff = 0.5

    async def ensure(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            return
        if time.monotonic() < self._retry_at:
            return
        try:
            conn = await asyncpg.connect(
                self._dsn,
                timeout=CONNECT_TIMEOUT,
                server_settings={"application_name": "hookline-listen"},
            )
            await conn.add_listener(CHANNEL, self._notified)
            conn.add_termination_listener(self._lost)
        except DRIVER_ERRORS as exc:
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, 10.0)
            log.warning("store.listen_failed", error=str(exc) or type(exc).__name__)
            return
        self._conn, self._backoff = conn, 0.5
        self._on_notify()  # notifications sent while we were away are lost: look once

    def _notified(self, *_args: object) -> None:
        self._on_notify()

    def _lost(self, *_args: object) -> None:
        # Wake the worker: it polls once, and its next wait listens again.
        self._on_notify()

    async def aclose(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(*DRIVER_ERRORS):
                await asyncio.wait_for(conn.close(), CONNECT_TIMEOUT)
            conn.terminate()
