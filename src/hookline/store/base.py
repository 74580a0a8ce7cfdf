"""The store contract every backend implements, and the factory choosing one by URL.

The worker and the web layer depend only on this module. Each backend keeps its SQL in
`sql/<backend>/`: `schema.sql` is the current schema, from which a new database is created;
`NNNN_<name>.sql` migrations bring an existing one up to it, applied in order and recorded in
`schema_migrations` (a test checks that both roads lead to the same schema).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from hookline.errors import ConfigError, StoreError
from hookline.models import (
    AttemptRecord,
    ClaimedDelivery,
    Delivery,
    DeliveryStatus,
    Event,
    EventFilter,
    IngestResult,
    NewDelivery,
    NewEvent,
)


@dataclass(frozen=True, slots=True)
class EventSummary:
    """An event as listed: no body, with its deliveries counted by status."""

    id: str
    source: str
    external_id: str | None
    type: str | None
    received_at: datetime
    deliveries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Which deliveries to list, count or replay in bulk; `cursor` is a delivery id."""

    statuses: tuple[DeliveryStatus, ...] = ()
    route: str | None = None
    source: str | None = None
    action: str | None = None
    event_id: str | None = None
    cursor: str | None = None  # continue after this id, in the listing's order
    newest_first: bool = False
    limit: int = 50


@dataclass(frozen=True, slots=True)
class RouteStats:
    """What one route did since a moment: events matched and deliveries by status."""

    matched: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LastError:
    delivery_id: str
    at: datetime
    error: str


@dataclass(frozen=True, slots=True)
class QueueHealth:
    """The delivery queue at a glance."""

    depth: int  # pending, retrying and in-flight deliveries: everything still owed
    due: int  # owed and due now (pending or retrying whose time has come)
    oldest_due_at: datetime | None  # when the longest-waiting due delivery became due
    stuck: int  # in flight past their lease (their worker is probably gone)
    last_error: LastError | None  # the most recent failed attempt


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What one retention batch removed."""

    events: int = 0
    dedup_keys: int = 0


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


_MIGRATION_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_QUERY_NAME = re.compile(r"^-- name: (?P<name>\w+)\s*$", re.MULTILINE)


def _sql_folder(backend: str) -> Any:
    return resources.files("hookline.store") / "sql" / backend


def migrations(backend: str) -> list[Migration]:
    """The backend's migrations in order, read from the package's `sql/<backend>/`."""
    found = []
    for entry in _sql_folder(backend).iterdir():
        if match := _MIGRATION_FILE.match(entry.name):
            found.append(Migration(int(match["version"]), match["name"], entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def schema_sql(backend: str) -> str:
    """The backend's current schema in one script, what a new database is created from."""
    return str((_sql_folder(backend) / "schema.sql").read_text())


def queries(backend: str) -> dict[str, str]:
    """The named queries of `sql/<backend>/queries.sql` (each starts with `-- name: x`)."""
    text = str((_sql_folder(backend) / "queries.sql").read_text())
    parts = _QUERY_NAME.split(text)[1:]
    pairs = zip(parts[::2], parts[1::2], strict=True)
    return {name: body.strip().removesuffix(";") for name, body in pairs}


def sql_statements(script: str) -> list[str]:
    """Split a script into statements (our SQL has no `;` or `--` inside literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


@dataclass(frozen=True, slots=True)
class SchemaPlan:
    """What opening a database has to do to its schema."""

    fresh: bool  # no schema yet: create it from schema.sql, record every migration as applied
    pending: list[Migration]


def plan_schema(
    backend: str, applied: set[int], *, where: str, migrate: bool, create: bool
) -> SchemaPlan:
    """Decide from the applied versions; refuse a schema that is behind (unless `migrate`),
    absent (unless `migrate` or `create`) or newer than this Hookline."""
    known = migrations(backend)
    latest = known[-1].version if known else 0
    if applied and max(applied) > latest:
        raise StoreError(
            f"the database schema of {where} is at version {max(applied)}, newer than this "
            f"Hookline knows ({latest}); upgrade Hookline"
        )
    if not applied:
        if migrate or create:
            return SchemaPlan(fresh=True, pending=known)
        raise StoreError(f"{where} has no Hookline schema yet; run `hookline migrate` first")
    pending = [m for m in known if m.version not in applied]
    if pending and not migrate:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise StoreError(
            f"the database schema of {where} is behind ({len(pending)} migration(s) pending: "
            f"{names}); run `hookline migrate` first"
        )
    return SchemaPlan(fresh=False, pending=pending)


class Store(Protocol):
    """Durable events, deliveries and attempts. All I/O is async."""

    async def open(self, *, migrate: bool, create: bool = False) -> None:
        """Connect; apply pending migrations when `migrate`, else refuse a schema behind.

        With `create`, a database with no schema at all is given the current one (the
        one-command quickstart); one that is behind is still refused.
        """

    async def aclose(self) -> None: ...

    @property
    def commits(self) -> int:
        """Transactions committed so far that carried ingests (SQLite counts every write):
        under load, group commit makes these far fewer than the events. For tests and
        metrics."""

    async def ping(self) -> None:
        """Raise `StoreUnavailableError` unless the database answers."""

    async def ingest(self, event: NewEvent, deliveries: Sequence[NewDelivery]) -> IngestResult:
        """Commit the event and its deliveries in one transaction, or nothing if the
        event's (source, external_id) is already stored."""

    async def claim_due(
        self, *, worker_id: str, limit: int, lease: timedelta, now: datetime
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` deliveries that are due (or whose lease expired)."""

    async def record_attempt(
        self,
        delivery_id: str,
        *,
        worker_id: str,
        attempt: AttemptRecord,
        status: DeliveryStatus,
        next_at: datetime | None,
    ) -> bool:
        """Store the attempt and move the delivery on; False if the lease was lost."""

    async def renew_lease(
        self, delivery_ids: Sequence[str], *, worker_id: str, lease: timedelta, now: datetime
    ) -> list[str]:
        """Extend this worker's leases to `now + lease`; return the ids it still holds."""

    async def next_due_at(self) -> datetime | None:
        """When the earliest owed delivery becomes due, if any."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new deliveries may be due, or after `timeout` seconds."""

    async def get_event(self, event_id: str) -> Event | None: ...

    async def list_events(self, query: EventFilter) -> list[EventSummary]: ...

    async def deliveries_for(self, event_id: str) -> list[Delivery]:
        """The event's deliveries, each with its attempt history."""

    async def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    async def add_deliveries(self, event_id: str, deliveries: Sequence[NewDelivery]) -> None:
        """Owe new deliveries for a stored event (replay of the event through the routes)."""

    async def replay_delivery(self, delivery_id: str, *, now: datetime) -> Delivery:
        """Start a new attempt series for a delivery that is not in flight."""

    async def count_by_status(self, query: EventFilter) -> dict[str, int]:
        """Deliveries by status, of the events matching `query` (its status, before and limit
        are ignored)."""

    async def list_deliveries(self, query: DeliveryFilter) -> list[Delivery]:
        """Deliveries matching `query`, ordered by id (creation), without attempt history."""

    async def count_deliveries(self, query: DeliveryFilter) -> int:
        """How many deliveries match `query` (cursor and limit ignored)."""

    async def route_stats(self, since: datetime) -> dict[str, RouteStats]:
        """Per route: events matched and deliveries by status, for deliveries created since."""

    async def queue_health(self, now: datetime) -> QueueHealth: ...

    async def prune(
        self, *, events_before: datetime | None, dedup_before: datetime | None, limit: int
    ) -> PruneResult:
        """Delete up to `limit` events received before `events_before` whose deliveries all
        succeeded before it (or that owe none), with their deliveries and attempts, and up to
        `limit` dedup keys created before `dedup_before`. `None` skips that kind."""

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store `value` unless the key exists; return what is stored."""


def open_store(url: str, *, config_dir: Path | None = None) -> Store:
    """Pick the backend from the database URL or path."""
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from hookline.store.postgres import PostgresStore
        except ImportError as exc:
            if exc.name != "asyncpg":
                raise
            raise ConfigError(
                "the PostgreSQL store needs the asyncpg driver: pip install 'hookline[postgres]'",
                key_path="database",
            ) from exc
        return PostgresStore(url)
    from hookline.store.sqlite import SqliteStore

    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    resolved = Path(path)
    if not resolved.is_absolute() and config_dir is not None:
        resolved = config_dir / resolved
    return SqliteStore(resolved)


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(value / 1000, UTC)
