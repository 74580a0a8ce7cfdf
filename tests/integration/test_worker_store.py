"""The worker against each real store: lease renewal, retention, recovery after an outage."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hookline.config.loader import loads
from hookline.config.models import RetentionModel
from hookline.deliver.worker import Worker, backoff
from hookline.models import AttemptOutcome, AttemptRecord, DeliveryStatus, utcnow
from hookline.store.retention import Pruner
from tests.conftest import wait_until
from tests.integration.test_store_contract import new_delivery, new_event
from tests.support.http_sink import HttpSink

SINK_CONFIG = """
sources:
  forms: {verify: {provider: none}}
routes:
  - name: r
    source: forms
    actions:
      - http: {url: "SINK/hook", json: {n: 1}}
delivery: {allow_private_networks: true, timeout: 5s, lease: 300ms,
           retry: {max_attempts: 3, backoff: 50ms}}
"""


class TestLeaseRenewal:
    async def test_slow_action_keeps_its_lease(self, store):
        """While an action runs past its lease, the worker renews it and nobody takes over."""
        async with HttpSink() as sink:
            sink.set_mode("slow")  # answers only when the sink closes
            config = loads(SINK_CONFIG.replace("SINK", sink.url), file="t.yaml", environ={})
            worker = Worker(config, store)
            running = asyncio.create_task(worker.run(drain_timeout=0.1))
            event = new_event("slow", source="forms")
            await store.ingest(event, [new_delivery(route="r")])
            await wait_until(lambda: len(sink.requests) == 1)
            (claimed,) = await store.deliveries_for(event.id)
            first_end = claimed.next_attempt_at

            async def renewed() -> bool:
                (now,) = await store.deliveries_for(event.id)
                return now.next_attempt_at > first_end

            await wait_until(renewed)
            # After the first lease has run out, the delivery is still not claimable.
            assert (
                await store.claim_due(
                    worker_id="other",
                    limit=10,
                    lease=timedelta(seconds=1),
                    now=first_end + timedelta(milliseconds=1),
                )
                == []
            )
            worker.stop()
            await running
        assert len(sink.requests) == 1


class TestRetentionPruner:
    async def test_prunes_in_batches_what_the_settings_no_longer_keep(self, store):
        """A month on, succeeded events and week-old dedup keys are gone; dead ones stay."""
        for i in range(5):
            event = new_event(f"ok{i}")
            await store.ingest(event, [new_delivery()])
        dead = new_event("dead")
        await store.ingest(dead, [new_delivery(error="condition failed")])
        for c in await store.claim_due(
            worker_id="w", limit=10, lease=timedelta(seconds=30), now=utcnow()
        ):
            await store.record_attempt(
                c.delivery.id,
                worker_id="w",
                attempt=AttemptRecord(utcnow(), 1.0, AttemptOutcome.SUCCEEDED, 200),
                status=DeliveryStatus.SUCCEEDED,
                next_at=None,
            )
        month_later = utcnow() + timedelta(days=31)
        pruner = Pruner(store, RetentionModel(batch_size=2), clock=lambda: month_later)
        result = await pruner.run_once()
        assert (result.events, result.dedup_keys) == (5, 6)
        assert await store.get_event(dead.id) is not None
        assert (await pruner.run_once()).events == 0

    async def test_nothing_is_pruned_when_kept_forever(self, store):
        """`succeeded: null` and `dedup: null` keep everything."""
        await store.ingest(new_event("x"), [])
        later = utcnow() + timedelta(days=3650)
        forever = RetentionModel(succeeded=None, dedup=None)
        result = await Pruner(store, forever, clock=lambda: later).run_once()
        assert (result.events, result.dedup_keys) == (0, 0)


class TestBackoff:
    @pytest.mark.parametrize(
        ("failures", "seconds"),
        [(1, 0.25), (2, 0.5), (3, 1.0), (5, 4.0), (6, 5.0), (50, 5.0)],  # capped at 5 s
    )
    def test_grows_and_is_capped(self, failures, seconds):
        """Claims back off exponentially while the database is away, up to 5 s."""
        assert backoff(failures) == seconds
