"""Bulk replay: start a new attempt series for every failed delivery a filter selects.

A job runs in the background of the process that accepted it and is tracked in memory
(its status is lost on restart; the replays it already made are not). It replays only the
deliveries that existed when it started, in id order, a page at a time; one that is in
flight at that moment is skipped and counted as such. Only `dead` and `retrying`
deliveries can be replayed in bulk: re-sending succeeded deliveries en masse is never
what someone means by "replay the failures".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import structlog

from hookline.errors import NotFoundError, StoreError, StoreUnavailableError
from hookline.models import DeliveryStatus, new_id, utcnow
from hookline.store.base import DeliveryFilter, Store

log = structlog.get_logger("hookline.bulk")

REPLAYABLE = (DeliveryStatus.DEAD, DeliveryStatus.RETRYING)
PAGE = 200
KEPT_JOBS = 100

JobState = Literal["running", "done", "failed"]


@dataclass
class ReplayJob:
    id: str
    query: DeliveryFilter
    total: int  # matching deliveries when the job started
    started_at: datetime
    state: JobState = "running"
    replayed: int = 0
    skipped: int = 0  # in flight (or gone) when their turn came
    error: str | None = None
    finished_at: datetime | None = None


def replay_filter(query: DeliveryFilter) -> DeliveryFilter:
    """The query restricted to replayable statuses, listed oldest first from the start."""
    statuses = tuple(s for s in (query.statuses or REPLAYABLE) if s in REPLAYABLE)
    return replace(query, statuses=statuses or REPLAYABLE, cursor=None, newest_first=False)


class BulkReplays:
    """Starts, runs and remembers bulk replay jobs (the last `KEPT_JOBS`)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._jobs: OrderedDict[str, ReplayJob] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    async def count(self, query: DeliveryFilter) -> int:
        return await self._store.count_deliveries(replay_filter(query))

    async def start(self, query: DeliveryFilter) -> ReplayJob:
        query = replay_filter(query)
        newest = await self._store.list_deliveries(replace(query, newest_first=True, limit=1))
        job = ReplayJob(new_id("job"), query, await self._store.count_deliveries(query), utcnow())
        self._jobs[job.id] = job
        while len(self._jobs) > KEPT_JOBS:
            self._jobs.popitem(last=False)
        if not newest:
            job.state, job.finished_at = "done", utcnow()
            return job
        task = asyncio.create_task(self._run(job, upto=newest[0].id), name=f"replay-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def get(self, job_id: str) -> ReplayJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no replay job {job_id}")
        return job

    async def wait(self) -> None:
        """Wait until every running job has finished (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.wait()

    async def _run(self, job: ReplayJob, *, upto: str) -> None:
        query = replace(job.query, limit=PAGE)
        try:
            while True:
                page = [d for d in await self._store.list_deliveries(query) if d.id <= upto]
                for delivery in page:
                    try:
                        await self._store.replay_delivery(delivery.id, now=utcnow())
                        job.replayed += 1
                    except StoreUnavailableError:
                        raise
                    except (StoreError, NotFoundError):  # in flight now, or gone
                        job.skipped += 1
                if len(page) < PAGE:
                    break
                query = replace(query, cursor=page[-1].id)
            job.state = "done"
        except Exception as exc:  # a job never dies silently: its status says why
            log.warning("bulk_replay.failed", job_id=job.id, error=repr(exc))
            job.state, job.error = "failed", "the replay stopped on a storage error; run it again"
        finally:
            job.finished_at = utcnow()
