"""The store contract every backend implements, and the factory choosing one by URL.

The worker and the web layer depend only on this module. Each backend keeps its SQL in
`sql/<backend>/NNNN_<name>.sql` migrations, applied in order and recorded in
`schema_migrations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Protocol

from hookline.errors import ConfigError
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
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """The backend's migrations in order, read from the package's `sql/<backend>/`."""
    folder = resources.files("hookline.store") / "sql" / backend
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


class Store(Protocol):
    """Durable events, deliveries and attempts. All I/O is async."""

    async def open(self, *, migrate: bool) -> None:
        """Connect; apply pending migrations when `migrate`, else refuse a schema behind."""

    async def aclose(self) -> None: ...

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

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store `value` unless the key exists; return what is stored."""


def open_store(url: str, *, config_dir: Path | None = None) -> Store:
    """Pick the backend from the database URL or path."""
    if url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "PostgreSQL is not supported yet in this version; use SQLite", key_path="database"
        )
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
