"""Dashboard pages about the gateway: failures and bulk replay, routes and sources."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hookline.bulk import REPLAYABLE
from hookline.configview import routes_view, sources_view
from hookline.errors import NotFoundError
from hookline.models import DeliveryStatus
from hookline.store.base import DeliveryFilter
from hookline.ui.app import Dashboard, guarded, secure

PAGE_SIZE = 50
NOTICES = {
    "delivery-replayed": "The delivery is queued again; it leaves this list once it succeeds.",
    "delivery-busy": "That delivery is being attempted right now; replay it once it ends.",
}


def failure_filter(params: Any) -> DeliveryFilter:
    """Dead and/or retrying deliveries, by route and source, oldest first."""
    status = params.get("status") or ""
    statuses = (DeliveryStatus(status),) if status in set(map(str, REPLAYABLE)) else REPLAYABLE
    return DeliveryFilter(
        statuses=statuses,
        route=params.get("route") or None,
        source=params.get("source") or None,
        cursor=params.get("cursor") or None,
        limit=PAGE_SIZE,
    )


def failure_query(query: DeliveryFilter, **changes: Any) -> str:
    values: dict[str, Any] = {
        "status": str(query.statuses[0]) if len(query.statuses) == 1 else None,
        "route": query.route,
        "source": query.source,
    }
    values.update(changes)
    return urlencode({k: v for k, v in values.items() if v})


def describe(query: DeliveryFilter) -> str:
    """The filter in words, for the confirmation."""
    parts = [" or ".join(str(s) for s in query.statuses) + " deliveries"]
    if query.route:
        parts.append(f"of route {query.route}")
    if query.source:
        parts.append(f"from source {query.source}")
    return " ".join(parts)


def routes(dashboard: Dashboard) -> list[Route]:
    runtime = dashboard.runtime
    store = runtime.store
    config = runtime.config

    async def failures(request: Request) -> Response:
        query = failure_filter(request.query_params)
        found = await store.list_deliveries(query)
        total = await store.count_deliveries(query)
        return await dashboard.page(
            request,
            request.state.session,
            "failures.html",
            query=query,
            deliveries=found,
            total=total,
            failure_query=failure_query,
            next_cursor=found[-1].id if len(found) == query.limit else None,
            route_names=[r.name for r in config.routes],
            sources=sorted(config.sources),
            redact=runtime.redactor.optional,
            notice=NOTICES.get(request.query_params.get("notice", "")),
        )

    async def bulk_replay(request: Request) -> Response:
        form = await dashboard.check_post(request, request.state.session)
        query = replace(failure_filter(QueryParams(form)), cursor=None)
        if form.get("confirm") != "yes":
            return await dashboard.page(
                request,
                request.state.session,
                "confirm.html",
                query=query,
                described=describe(query),
                count=await dashboard.jobs.count(query),
                back=f"/ui/failures?{failure_query(query)}",
            )
        job = await dashboard.jobs.start(query)
        return RedirectResponse(f"/ui/replays/{job.id}", status_code=303)

    async def job_page(request: Request) -> Response:
        try:
            job = dashboard.jobs.get(request.path_params["job_id"])
        except NotFoundError:
            message = "No such replay job (jobs are kept in memory until a restart)."
            return await dashboard.page(
                request, request.state.session, "error.html", status=404, title="Not found",
                message=message,
            )  # fmt: skip
        return await dashboard.page(
            request, request.state.session, "job.html", job=job, described=describe(job.query)
        )

    async def job_fragment(request: Request) -> Response:
        try:
            job = dashboard.jobs.get(request.path_params["job_id"])
        except NotFoundError:
            return secure(Response("gone", status_code=404))
        html = dashboard.render("_job.html", job=job, now=runtime.clock())
        return secure(HTMLResponse(html))

    async def configuration(request: Request) -> Response:
        stats = await store.route_stats(runtime.clock() - timedelta(hours=24))
        base = str(request.base_url).rstrip("/")
        return await dashboard.page(
            request,
            request.state.session,
            "config.html",
            sources=sources_view(config, runtime.redactor),
            routes=routes_view(config, runtime.redactor),
            stats=stats,
            base=base,
            config_path=config.path or "the config file",
        )

    return [
        Route("/ui/failures", guarded(dashboard, failures)),
        Route("/ui/failures/replay", guarded(dashboard, bulk_replay), methods=["POST"]),
        Route("/ui/replays/{job_id}", guarded(dashboard, job_page)),
        Route("/ui/replays/{job_id}/status", guarded(dashboard, job_fragment, fragment=True)),
        Route("/ui/config", guarded(dashboard, configuration)),
    ]
