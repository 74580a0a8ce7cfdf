"""`/api/deliveries` and `/api/replays`: list, count, inspect, replay one or many."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from hookline.api.schemas import (
    AttemptOut,
    Count,
    DeliveryOut,
    DeliveryPage,
    ErrorEnvelope,
    ReplayJobOut,
    ReplayRequest,
)
from hookline.bulk import BulkReplays, ReplayJob
from hookline.errors import HooklineError, NotFoundError, StoreError, StoreUnavailableError
from hookline.models import DeliveryStatus
from hookline.runtime import Runtime
from hookline.store.base import DeliveryFilter
from hookline.views import attempt_json, delivery_json

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorEnvelope, "description": "the delivery is in flight; replay it later"}
}


class ConflictError(HooklineError):
    """The request conflicts with the object's current state."""


def delivery_filter(
    status: Annotated[list[DeliveryStatus] | None, Query(description="any of these")] = None,
    route: str | None = None,
    source: str | None = None,
    action: str | None = None,
    event_id: str | None = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the last page")] = None,
    order: Annotated[Literal["oldest", "newest"], Query(description="by creation")] = "oldest",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryFilter:
    return DeliveryFilter(
        statuses=tuple(status or ()),
        route=route,
        source=source,
        action=action,
        event_id=event_id,
        cursor=cursor,
        newest_first=order == "newest",
        limit=limit,
    )


def job_json(job: ReplayJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "state": job.state,
        "total": job.total,
        "replayed": job.replayed,
        "skipped": job.skipped,
        "error": job.error,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def deliveries_router(runtime: Runtime, jobs: BulkReplays) -> APIRouter:
    router = APIRouter(tags=["deliveries"])
    store = runtime.store
    redactor = runtime.redactor

    @router.get("/deliveries", response_model=DeliveryPage)
    async def list_deliveries(
        query: Annotated[DeliveryFilter, Depends(delivery_filter)],
    ) -> dict[str, Any]:
        """Deliveries by creation time (oldest first unless `order=newest`), without attempts."""
        found = await store.list_deliveries(query)
        return {
            "deliveries": [delivery_json(d, redactor) for d in found],
            "next_cursor": found[-1].id if len(found) == query.limit else None,
        }

    @router.get("/deliveries/count", response_model=Count)
    async def count_deliveries(
        query: Annotated[DeliveryFilter, Depends(delivery_filter)],
    ) -> dict[str, Any]:
        """How many deliveries match (`cursor`, `order` and `limit` are ignored)."""
        return {"count": await store.count_deliveries(query)}

    @router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
    async def get_delivery(delivery_id: str) -> dict[str, Any]:
        """One delivery with its attempts."""
        delivery = await store.get_delivery(delivery_id)
        if delivery is None:
            raise NotFoundError(f"no delivery {delivery_id}")
        return delivery_json(delivery, redactor)

    @router.get("/deliveries/{delivery_id}/attempts", response_model=list[AttemptOut])
    async def attempts(delivery_id: str) -> list[dict[str, Any]]:
        """The delivery's attempts, first to last."""
        delivery = await store.get_delivery(delivery_id)
        if delivery is None:
            raise NotFoundError(f"no delivery {delivery_id}")
        return [attempt_json(a, redactor) for a in delivery.history]

    @router.post(
        "/deliveries/{delivery_id}/replay",
        status_code=202,
        response_model=DeliveryOut,
        responses=CONFLICT,
    )
    async def replay_one(delivery_id: str) -> dict[str, Any]:
        """Start a new attempt series for one delivery (e.g. a dead one, once fixed)."""
        try:
            delivery = await store.replay_delivery(delivery_id, now=runtime.clock())
        except StoreUnavailableError:
            raise
        except StoreError as exc:
            raise ConflictError(exc.message) from exc
        return delivery_json(delivery, redactor)

    @router.post("/replays", status_code=202, response_model=ReplayJobOut)
    async def replay_many(request: ReplayRequest) -> dict[str, Any]:
        """Replay every dead or retrying delivery matching the filter, in the background.

        Count first with `GET /api/deliveries/count`; follow the job at `/api/replays/{id}`.
        """
        query = DeliveryFilter(
            statuses=tuple(DeliveryStatus(s) for s in request.statuses),
            route=request.route,
            source=request.source,
            action=request.action,
        )
        return job_json(await jobs.start(query))

    @router.get("/replays/{job_id}", response_model=ReplayJobOut)
    async def replay_job(job_id: str) -> dict[str, Any]:
        """A bulk replay's progress."""
        return job_json(jobs.get(job_id))

    return router
