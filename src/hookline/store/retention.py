"""Retention: prune succeeded history and old dedup keys, in small batches, in the background.

Workers run this every `retention.interval`. Each batch is one short transaction (on SQLite
one operation in the writer's queue, between ingest group commits), so ingest never waits
behind a big delete. On PostgreSQL an advisory lock lets one process prune at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from hookline.config.models import RetentionModel
from hookline.errors import StoreError
from hookline.models import utcnow
from hookline.store.base import PruneResult, Store

log = structlog.get_logger("hookline.retention")


class Pruner:
    """Deletes what the retention settings no longer keep."""

    def __init__(
        self,
        store: Store,
        config: RetentionModel,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock

    async def run_once(self) -> PruneResult:
        """Prune everything that is due now, batch by batch; return the totals."""
        now = self._clock()
        limit = self._config.batch_size
        events_before = None if self._config.succeeded is None else now - self._config.succeeded
        dedup_before = None if self._config.dedup is None else now - self._config.dedup
        events = keys = 0
        while events_before is not None or dedup_before is not None:
            result = await self._store.prune(
                events_before=events_before, dedup_before=dedup_before, limit=limit
            )
            events, keys = events + result.events, keys + result.dedup_keys
            if result.events < limit:
                events_before = None
            if result.dedup_keys < limit:
                dedup_before = None
            await asyncio.sleep(0)  # let ingest and deliveries go between batches
        if events or keys:
            log.info("retention.pruned", events=events, dedup_keys=keys)
        return PruneResult(events=events, dedup_keys=keys)

    async def run(self) -> None:
        """Prune every `interval` until cancelled; a failure is retried the next round."""
        while True:
            try:
                await self.run_once()
            except StoreError as exc:
                log.warning("retention.failed", error=exc.message)
            await asyncio.sleep(self._config.interval.total_seconds())
