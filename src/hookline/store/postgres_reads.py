"""PostgreSQL's side of the inspection queries (search, listings, counts, health).

The same filters as `sqlite_reads`, built as `AND`-ed clauses with numbered parameters.
Payload text search matches raw bodies byte-for-byte without decoding them (a body need not
be UTF-8): both sides go through PostgreSQL's `escape` encoding, then `ILIKE`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hookline.models import DeliveryStatus, EventFilter
from hookline.store.base import DeliveryFilter, EventSummary, LastError, QueueHealth, RouteStats

DELIVERY_COLUMNS = (
    "d.id, d.event_id, d.route, d.action_index, d.action, d.status, d.attempts,"
    " d.series_attempts, d.due_at, d.last_error, d.created_at, d.updated_at"
)
_OWED = [
    str(s) for s in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.IN_FLIGHT)
]


class _Clauses:
    """Collects `AND`-ed conditions and their parameters, numbering `$n` as it goes."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *values: Any) -> None:
        numbers = [f"${len(self.params) + i + 1}" for i in range(len(values))]
        self.parts.append(sql.format(*numbers))
        self.params.extend(values)

    def next(self) -> str:
        return f"${len(self.params) + 1}"

    @property
    def where(self) -> str:
        return " AND ".join(self.parts) or "true"


def escape_encoded(text: str) -> str:
    """`text` as PostgreSQL's `encode(convert_to(text, 'UTF8'), 'escape')` would print it,
    made safe for `ILIKE … ESCAPE '!'`."""
    out = []
    for byte in text.encode("utf-8"):
        if byte == 0 or byte >= 0x80:
            out.append(f"\\{byte:03o}")
        elif byte == 0x5C:
            out.append("\\\\")
        else:
            out.append(chr(byte))
    encoded = "".join(out)
    return encoded.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def event_clauses(query: EventFilter) -> _Clauses:
    clauses = _Clauses()
    if query.source is not None:
        clauses.add("e.source = {}", query.source)
    if query.type is not None:
        clauses.add("e.type = {}", query.type)
    if query.since is not None:
        clauses.add("e.received_at >= {}", query.since)
    if query.until is not None:
        clauses.add("e.received_at < {}", query.until)
    if query.text:
        clauses.add(
            "encode(e.body, 'escape') ILIKE {} ESCAPE '!'", f"%{escape_encoded(query.text)}%"
        )
    return clauses


async def list_events(conn: Any, query: EventFilter) -> list[EventSummary]:
    clauses = event_clauses(query)
    if query.status is not None:
        clauses.add(
            "EXISTS (SELECT FROM deliveries d WHERE d.event_id = e.id AND d.status = {})",
            str(query.status),
        )
    if query.before is not None:
        clauses.add("e.id < {}", query.before)
    limit = clauses.next()
    rows = await conn.fetch(
        "SELECT e.id, e.source, e.external_id, e.type, e.received_at FROM events e"
        f" WHERE {clauses.where} ORDER BY e.id DESC LIMIT {limit}",
        *clauses.params,
        query.limit,
    )
    counts: dict[str, dict[str, int]] = {row["id"]: {} for row in rows}
    if rows:
        for row in await conn.fetch(
            "SELECT event_id, status, count(*) FROM deliveries"
            " WHERE event_id = ANY($1::text[]) GROUP BY event_id, status",
            list(counts),
        ):
            counts[row["event_id"]][row["status"]] = row["count"]
    return [
        EventSummary(row["id"], row["source"], row["external_id"], row["type"],
                     row["received_at"], counts[row["id"]])
        for row in rows
    ]  # fmt: skip


async def count_by_status(conn: Any, query: EventFilter) -> dict[str, int]:
    clauses = event_clauses(query)
    rows = await conn.fetch(
        "SELECT d.status, count(*) FROM deliveries d JOIN events e ON e.id = d.event_id"
        f" WHERE {clauses.where} GROUP BY d.status",
        *clauses.params,
    )
    return {row["status"]: row["count"] for row in rows}


def delivery_clauses(query: DeliveryFilter) -> _Clauses:
    clauses = _Clauses()
    if query.statuses:
        clauses.add("d.status = ANY({}::text[])", [str(s) for s in query.statuses])
    for column, value in (
        ("d.route", query.route),
        ("d.action", query.action),
        ("d.event_id", query.event_id),
        ("e.source", query.source),
    ):
        if value is not None:
            clauses.add(f"{column} = {{}}", value)
    return clauses


async def list_deliveries(conn: Any, query: DeliveryFilter) -> list[Any]:
    """Rows for `PostgresStore` to map (it owns the row → `Delivery` mapping)."""
    clauses = delivery_clauses(query)
    if query.cursor is not None:
        clauses.add("d.id < {}" if query.newest_first else "d.id > {}", query.cursor)
    order = "DESC" if query.newest_first else "ASC"
    limit = clauses.next()
    rows: list[Any] = await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"
        f" WHERE {clauses.where} ORDER BY d.id {order} LIMIT {limit}",
        *clauses.params,
        query.limit,
    )
    return rows


async def count_deliveries(conn: Any, query: DeliveryFilter) -> int:
    clauses = delivery_clauses(query)
    value = await conn.fetchval(
        "SELECT count(*) FROM deliveries d JOIN events e ON e.id = d.event_id"
        f" WHERE {clauses.where}",
        *clauses.params,
    )
    return int(value)


async def route_stats(conn: Any, since: datetime) -> dict[str, RouteStats]:
    stats: dict[str, RouteStats] = {}
    for row in await conn.fetch(
        "SELECT route, count(DISTINCT event_id) AS matched FROM deliveries"
        " WHERE created_at >= $1 GROUP BY route",
        since,
    ):
        stats[row["route"]] = RouteStats(matched=row["matched"])
    for row in await conn.fetch(
        "SELECT route, status, count(*) FROM deliveries WHERE created_at >= $1"
        " GROUP BY route, status",
        since,
    ):
        stats[row["route"]].deliveries[row["status"]] = row["count"]
    return stats


async def queue_health(conn: Any, now: datetime) -> QueueHealth:
    depth = await conn.fetchval(
        "SELECT count(*) FROM deliveries WHERE status = ANY($1::text[])", _OWED
    )
    due = await conn.fetchrow(
        "SELECT count(*) AS n, min(due_at) AS oldest FROM deliveries"
        " WHERE status = ANY($1::text[]) AND due_at <= $2",
        [str(DeliveryStatus.PENDING), str(DeliveryStatus.RETRYING)],
        now,
    )
    stuck = await conn.fetchval(
        "SELECT count(*) FROM deliveries WHERE status = $1 AND due_at < $2",
        str(DeliveryStatus.IN_FLIGHT),
        now,
    )
    last = await conn.fetchrow(
        "SELECT delivery_id, started_at, error FROM attempts WHERE error IS NOT NULL"
        " ORDER BY id DESC LIMIT 1"
    )
    return QueueHealth(
        depth=int(depth),
        due=int(due["n"]),
        oldest_due_at=due["oldest"],
        stuck=int(stuck),
        last_error=None if last is None else LastError(last[0], last[1], last[2]),
    )
