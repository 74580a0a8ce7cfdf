"""Lease renewal: a delivery in flight keeps its lease for as long as its action runs.

A claim leases a delivery until `now + lease`; past that, any worker may take it over. An
action slower than the lease (a slow API, a long SMTP conversation, the worker's backstop
timeout) would then be performed twice. So while a worker holds deliveries, it renews all
their leases together, every third of the lease, in one statement; a worker that dies stops
renewing, and its deliveries become due again one lease later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from hookline.store.base import Store

log = structlog.get_logger("hookline.worker")


class LeaseKeeper:
    """Renews the leases of the deliveries this worker has in flight."""

    def __init__(
        self,
        store: Store,
        *,
        worker_id: str,
        lease: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._worker_id = worker_id
        self._lease = lease
        self._clock = clock
        self._held: set[str] = set()
        self.interval = max(lease.total_seconds() / 3, 0.01)

    def hold(self, delivery_id: str) -> None:
        self._held.add(delivery_id)

    def release(self, delivery_id: str) -> None:
        self._held.discard(delivery_id)

    async def run(self) -> None:
        """Renew every `interval` until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.renew()

    async def renew(self) -> None:
        ids = sorted(self._held)
        if not ids:
            return
        try:
            kept = set(
                await self._store.renew_lease(
                    ids, worker_id=self._worker_id, lease=self._lease, now=self._clock()
                )
            )
        except Exception as exc:  # the database may be away; the next round tries again
            log.warning("worker.renew_failed", deliveries=len(ids), error=str(exc))
            return
        for delivery_id in ids:
            if delivery_id not in kept and delivery_id in self._held:
                # Recorded meanwhile, or taken over after the lease ran out: stop renewing.
                log.info("worker.lease_not_renewed", delivery_id=delivery_id)
                self._held.discard(delivery_id)
