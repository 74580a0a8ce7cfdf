"""SQLite reads for inspection (API, dashboard, CLI, metrics) and the row mapping they share.

Every function takes a connection and runs plain, portable SQL: filters are `AND`-ed clauses
with `?` marks, listings page by id (ids sort by creation time), and text search is a
case-insensitive `LIKE` over the raw body (SQLite folds ASCII case only).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from hookline.models import (
    Attempt,
    AttemptOutcome,
    Delivery,
    DeliveryStatus,
    Event,
    EventFilter,
)
from hookline.store.base import (
    DeliveryFilter,
    EventSummary,
    LastError,
    QueueHealth,
    RouteStats,
    from_ms,
    ms,
)

EVENT_COLUMNS = "id, source, external_id, type, received_at, content_type, headers, query, body"
DELIVERY_COLUMNS = (
    "id, event_id, route, action_index, action, status, attempts, series_attempts, due_at,"
    " last_error, created_at, updated_at"
)
_D_COLUMNS = ", ".join(f"d.{c.strip()}" for c in DELIVERY_COLUMNS.split(","))
_OWED = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.IN_FLIGHT)


# -- row mapping ------------------------------------------------------------------------------


def event_from_row(row: Any) -> Event:
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


def deliveries(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], *, with_history: bool = True
) -> list[Delivery]:
    rows = conn.execute(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {where} ORDER BY id", params
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
    return [delivery_from_row(row, history[row[0]]) for row in rows]


def delivery_from_row(row: Any, history: list[Attempt]) -> Delivery:
    return Delivery(
        id=row[0],
        event_id=row[1],
        route=row[2],
        action_index=row[3],
        action=row[4],
        status=DeliveryStatus(row[5]),
        attempts=row[6],
        next_attempt_at=from_ms(row[8]) if row[8] is not None else None,
        last_error=row[9],
        created_at=from_ms(row[10]),
        updated_at=from_ms(row[11]),
        history=history,
    )


# -- events -----------------------------------------------------------------------------------


def _event_clauses(query: EventFilter) -> tuple[list[str], list[Any]]:
    """WHERE clauses on `events e` for the filter's source, type, time range and text."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("source", query.source), ("type", query.type)):
        if value is not None:
            clauses.append(f"e.{column} = ?")
            params.append(value)
    if query.since is not None:
        clauses.append("e.received_at >= ?")
        params.append(ms(query.since))
    if query.until is not None:
        clauses.append("e.received_at < ?")
        params.append(ms(query.until))
    if query.text:
        clauses.append("CAST(e.body AS TEXT) LIKE ? ESCAPE '\\'")
        params.append(f"%{_like_escape(query.text)}%")
    return clauses, params


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_events(conn: sqlite3.Connection, query: EventFilter) -> list[EventSummary]:
    clauses, params = _event_clauses(query)
    if query.status is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = ?)"
        )
        params.append(str(query.status))
    if query.before is not None:
        clauses.append("e.id < ?")
        params.append(query.before)
    where = " AND ".join(clauses) or "1 = 1"
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


def count_by_status(conn: sqlite3.Connection, query: EventFilter) -> dict[str, int]:
    clauses, params = _event_clauses(query)
    if clauses:
        sql = (
            "SELECT d.status, count(*) FROM deliveries d JOIN events e ON e.id = d.event_id"
            f" WHERE {' AND '.join(clauses)} GROUP BY d.status"
        )
    else:
        sql = "SELECT status, count(*) FROM deliveries GROUP BY status"
    return {status: count for status, count in conn.execute(sql, params)}


# -- deliveries -------------------------------------------------------------------------------


def _delivery_clauses(query: DeliveryFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.statuses:
        clauses.append(f"d.status IN ({','.join('?' * len(query.statuses))})")
        params.extend(str(s) for s in query.statuses)
    for column, value in (
        ("d.route", query.route),
        ("d.action", query.action),
        ("d.event_id", query.event_id),
        ("e.source", query.source),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return clauses, params


def list_deliveries(conn: sqlite3.Connection, query: DeliveryFilter) -> list[Delivery]:
    clauses, params = _delivery_clauses(query)
    if query.cursor is not None:
        clauses.append("d.id < ?" if query.newest_first else "d.id > ?")
        params.append(query.cursor)
    where = " AND ".join(clauses) or "1 = 1"
    order = "DESC" if query.newest_first else "ASC"
    rows = conn.execute(
        f"SELECT {_D_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"
        f" WHERE {where} ORDER BY d.id {order} LIMIT ?",
        [*params, query.limit],
    ).fetchall()
    return [delivery_from_row(row, []) for row in rows]


def count_deliveries(conn: sqlite3.Connection, query: DeliveryFilter) -> int:
    clauses, params = _delivery_clauses(query)
    where = " AND ".join(clauses) or "1 = 1"
    row = conn.execute(
        f"SELECT count(*) FROM deliveries d JOIN events e ON e.id = d.event_id WHERE {where}",
        params,
    ).fetchone()
    return int(row[0])


# -- statistics -------------------------------------------------------------------------------


def route_stats(conn: sqlite3.Connection, since: datetime) -> dict[str, RouteStats]:
    since_ms = ms(since)
    matched = dict(
        conn.execute(
            "SELECT route, count(DISTINCT event_id) FROM deliveries WHERE created_at >= ?"
            " GROUP BY route",
            (since_ms,),
        ).fetchall()
    )
    stats = {route: RouteStats(matched=count) for route, count in matched.items()}
    for route, status, count in conn.execute(
        "SELECT route, status, count(*) FROM deliveries WHERE created_at >= ?"
        " GROUP BY route, status",
        (since_ms,),
    ):
        stats[route].deliveries[status] = count
    return stats


def queue_health(conn: sqlite3.Connection, now: datetime) -> QueueHealth:
    now_ms = ms(now)
    owed = ",".join("?" * len(_OWED))
    depth = conn.execute(
        f"SELECT count(*) FROM deliveries WHERE status IN ({owed})", [str(s) for s in _OWED]
    ).fetchone()[0]
    due, oldest = conn.execute(
        "SELECT count(*), min(due_at) FROM deliveries WHERE status IN (?, ?) AND due_at <= ?",
        (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, now_ms),
    ).fetchone()
    stuck = conn.execute(
        "SELECT count(*) FROM deliveries WHERE status = ? AND due_at < ?",
        (DeliveryStatus.IN_FLIGHT, now_ms),
    ).fetchone()[0]
    last = conn.execute(
        "SELECT delivery_id, started_at, error FROM attempts WHERE error IS NOT NULL"
        " ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return QueueHealth(
        depth=int(depth),
        due=int(due),
        oldest_due_at=None if oldest is None else from_ms(oldest),
        stuck=int(stuck),
        last_error=None if last is None else LastError(last[0], from_ms(last[1]), last[2]),
    )
