"""`/api/sources`, `/api/routes`, `/api/stats` and `/api/dry-run`: the gateway as configured
and as it is doing, read-only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter

from hookline.api.schemas import (
    DryRunOut,
    DryRunRequest,
    ErrorEnvelope,
    RouteOut,
    SourceOut,
    StatsOut,
)
from hookline.configview import routes_view, sources_view
from hookline.dryrun import DryRun, dry_run
from hookline.models import EventFilter
from hookline.runtime import Runtime
from hookline.store.base import QueueHealth, RouteStats

DAY = timedelta(hours=24)
BAD_EVENT: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "malformed request, or an unparsable event"}
}


def stats_json(stats: RouteStats | None) -> dict[str, Any]:
    if stats is None:
        return {"matched": 0, "deliveries": {}}
    return {"matched": stats.matched, "deliveries": dict(stats.deliveries)}


def queue_json(health: QueueHealth, now: datetime, runtime: Runtime) -> dict[str, Any]:
    oldest = health.oldest_due_at
    last = health.last_error
    return {
        "depth": health.depth,
        "due": health.due,
        "oldest_due_at": oldest,
        "oldest_due_age_seconds": None if oldest is None else (now - oldest).total_seconds(),
        "stuck": health.stuck,
        "last_error": None
        if last is None
        else {
            "delivery_id": last.delivery_id,
            "at": last.at,
            "error": runtime.redactor.text(last.error),
        },
    }


def dry_run_json(result: DryRun) -> dict[str, Any]:
    return {
        "event_id": result.event_id,
        "route": result.route,
        "source_matches": result.source_matches,
        "condition": result.condition,
        "condition_matches": result.condition_matches,
        "condition_error": result.condition_error,
        "would_deliver": result.would_deliver,
        "actions": [
            {"index": a.index, "name": a.name, "fields": a.fields, "error": a.error}
            for a in result.actions
        ],
    }


def system_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["configuration and stats"])
    store = runtime.store

    @router.get("/sources", response_model=list[SourceOut])
    async def sources() -> list[dict[str, Any]]:
        """Configured sources (secrets hidden) and where each receives webhooks."""
        return sources_view(runtime.config, runtime.redactor)

    @router.get("/routes", response_model=list[RouteOut])
    async def routes() -> list[dict[str, Any]]:
        """Configured routes (secrets hidden) with what each did in the last 24 hours."""
        stats = await store.route_stats(runtime.clock() - DAY)
        return [
            {**route, "last_24h": stats_json(stats.get(route["name"]))}
            for route in routes_view(runtime.config, runtime.redactor)
        ]

    @router.get("/stats", response_model=StatsOut)
    async def stats() -> dict[str, Any]:
        """Deliveries by status, per-route counts for 24 hours, and the queue's health."""
        now = runtime.clock()
        by_route = await store.route_stats(now - DAY)
        return {
            "deliveries": await store.count_by_status(EventFilter()),
            "routes_last_24h": {name: stats_json(s) for name, s in by_route.items()},
            "queue": queue_json(await store.queue_health(now), now, runtime),
        }

    @router.post("/dry-run", response_model=DryRunOut, responses=BAD_EVENT)
    async def dry(request: DryRunRequest) -> dict[str, Any]:
        """Would this route act on this stored event, and with what? Nothing is delivered."""
        result = await dry_run(
            runtime.config,
            store,
            runtime.redactor,
            event_id=request.event_id,
            route_name=request.route,
        )
        return dry_run_json(result)

    return router
