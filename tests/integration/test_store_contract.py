"""The store contract: what every backend must do. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from hookline.errors import NotFoundError, StoreError
from hookline.models import (
    AttemptOutcome,
    AttemptRecord,
    DeliveryStatus,
    EventFilter,
    NewDelivery,
    NewEvent,
    new_id,
    utcnow,
)
from hookline.store.base import DeliveryFilter, migrations, open_store


def new_event(
    external_id: str | None = "ext-1",
    *,
    source: str = "stripe",
    type: str = "t",
    received_at: datetime | None = None,
) -> NewEvent:
    return NewEvent(
        id=new_id("evt"),
        source=source,
        external_id=external_id,
        type=type,
        received_at=received_at or utcnow(),
        content_type="application/json",
        headers={"content-type": "application/json"},
        query={"a": "1"},
        body=b'{"id": "ext-1"}',
    )


def new_delivery(route: str = "r", index: int = 0, error: str | None = None) -> NewDelivery:
    return NewDelivery(new_id("dlv"), route, index, "http", error)


def attempt(outcome: AttemptOutcome, error: str | None = None) -> AttemptRecord:
    return AttemptRecord(utcnow(), 12.5, outcome, 503, "excerpt", error)


class TestIngest:
    async def test_stores_event_and_deliveries_together(self, store):
        """An ingested event comes back whole, with its deliveries pending."""
        event = new_event()
        result = await store.ingest(event, [new_delivery(index=0), new_delivery(index=1)])
        assert result.event_id == event.id and not result.is_duplicate
        stored = await store.get_event(event.id)
        assert stored is not None
        assert (stored.body, stored.query, stored.headers) == (
            event.body,
            event.query,
            event.headers,
        )
        deliveries = await store.deliveries_for(event.id)
        assert [d.status for d in deliveries] == [DeliveryStatus.PENDING] * 2

    async def test_duplicate_external_id_collapses(self, store):
        """A second event with the same source and external id returns the first, adds nothing."""
        first = await store.ingest(new_event("same"), [new_delivery()])
        second = await store.ingest(new_event("same"), [new_delivery()])
        assert second.is_duplicate and second.event_id == first.event_id
        assert len(await store.deliveries_for(first.event_id)) == 1
        assert len(await store.list_events(EventFilter())) == 1

    async def test_same_external_id_in_other_source_is_distinct(self, store):
        """Dedup is per source: the same id from two sources is two events."""
        await store.ingest(new_event("same", source="a"), [])
        result = await store.ingest(new_event("same", source="b"), [])
        assert not result.is_duplicate

    async def test_events_without_external_id_never_collapse(self, store):
        """Events with no provider id are all kept."""
        results = [await store.ingest(new_event(None), []) for _ in range(3)]
        assert not any(r.is_duplicate for r in results)

    async def test_concurrent_duplicates_in_one_batch_collapse(self, store):
        """Many copies of one event ingested at once (one group commit) store it once."""
        results = await asyncio.gather(
            *(store.ingest(new_event("x"), [new_delivery()]) for _ in range(50))
        )
        assert sum(not r.is_duplicate for r in results) == 1
        assert len({r.event_id for r in results}) == 1

    async def test_concurrent_ingests_are_group_committed(self, store):
        """A burst of ingests is committed in far fewer transactions than events."""
        before = store.commits
        await asyncio.gather(
            *(store.ingest(new_event(f"e{i}"), [new_delivery()]) for i in range(500))
        )
        assert len(await store.list_events(EventFilter(limit=1000))) == 500
        assert store.commits - before < 500

    async def test_delivery_with_error_starts_dead(self, store):
        """A delivery created with an error (a failed condition) is dead and not due."""
        event = new_event()
        await store.ingest(event, [new_delivery(error="route condition failed: boom")])
        (delivery,) = await store.deliveries_for(event.id)
        assert delivery.status == DeliveryStatus.DEAD and delivery.last_error.endswith("boom")
        assert (
            await store.claim_due(
                worker_id="w", limit=10, lease=timedelta(seconds=30), now=utcnow()
            )
            == []
        )


class TestClaims:
    async def test_claim_leases_due_deliveries_once(self, store):
        """A due delivery is claimed by one worker; a second claim finds nothing."""
        event = new_event()
        await store.ingest(event, [new_delivery()])
        now = utcnow()
        claimed = await store.claim_due(
            worker_id="w1", limit=10, lease=timedelta(seconds=30), now=now
        )
        assert (
            len(claimed) == 1 and claimed[0].event.id == event.id and claimed[0].series_attempt == 1
        )
        assert claimed[0].delivery.status == DeliveryStatus.IN_FLIGHT
        assert (
            await store.claim_due(worker_id="w2", limit=10, lease=timedelta(seconds=30), now=now)
            == []
        )

    async def test_expired_lease_is_taken_over(self, store):
        """When a worker's lease runs out, another worker claims the delivery."""
        await store.ingest(new_event(), [new_delivery()])
        now = utcnow()
        await store.claim_due(worker_id="dead", limit=10, lease=timedelta(seconds=5), now=now)
        later = now + timedelta(seconds=6)
        taken = await store.claim_due(
            worker_id="alive", limit=10, lease=timedelta(seconds=5), now=later
        )
        assert len(taken) == 1

    async def test_late_record_from_lost_lease_does_not_move_delivery(self, store):
        """A worker whose lease was taken over records its attempt but cannot change the status."""
        await store.ingest(new_event(), [new_delivery()])
        now = utcnow()
        (first,) = await store.claim_due(
            worker_id="slow", limit=1, lease=timedelta(seconds=1), now=now
        )
        await store.claim_due(
            worker_id="fast", limit=1, lease=timedelta(seconds=30), now=now + timedelta(seconds=2)
        )
        owned = await store.record_attempt(
            first.delivery.id,
            worker_id="slow",
            attempt=attempt(AttemptOutcome.SUCCEEDED),
            status=DeliveryStatus.SUCCEEDED,
            next_at=None,
        )
        delivery = await store.get_delivery(first.delivery.id)
        assert (
            not owned and delivery.status == DeliveryStatus.IN_FLIGHT and len(delivery.history) == 1
        )

    async def test_claim_respects_limit_and_due_time(self, store):
        """Only deliveries that are due are claimed, at most `limit` of them."""
        for i in range(5):
            await store.ingest(new_event(f"e{i}"), [new_delivery()])
        claimed = await store.claim_due(
            worker_id="w", limit=3, lease=timedelta(seconds=30), now=utcnow()
        )
        assert len(claimed) == 3
        past = utcnow() - timedelta(hours=1)
        assert (
            await store.claim_due(worker_id="w", limit=10, lease=timedelta(seconds=30), now=past)
            == []
        )


class TestLeases:
    async def test_renewal_extends_only_leases_still_held(self, store):
        """Renewing moves a held lease's end forward and reports leases lost to others."""
        for i in range(2):
            await store.ingest(new_event(f"e{i}"), [new_delivery()])
        now = utcnow()
        lease = timedelta(seconds=5)
        mine = await store.claim_due(worker_id="w", limit=2, lease=lease, now=now)
        later = now + timedelta(seconds=6)  # both leases ran out; another worker takes one
        (taken,) = await store.claim_due(worker_id="other", limit=1, lease=lease, now=later)
        held = await store.renew_lease(
            [c.delivery.id for c in mine], worker_id="w", lease=lease, now=later
        )
        assert len(held) == 1 and held[0] != taken.delivery.id
        delivery = await store.get_delivery(held[0])
        assert delivery.next_attempt_at >= later + lease - timedelta(milliseconds=1)
        assert await store.claim_due(worker_id="x", limit=10, lease=lease, now=later) == []

    async def test_renewing_nothing_is_a_no_op(self, store):
        """An empty renewal touches nothing and returns nothing."""
        assert await store.renew_lease([], worker_id="w", lease=timedelta(1), now=utcnow()) == []

    async def test_two_stores_never_claim_one_delivery_twice(self, store, database_url):
        """Two stores on one database (two processes) claiming at once split the queue."""
        for i in range(60):
            await store.ingest(new_event(f"e{i}"), [new_delivery()])
        other = open_store(database_url)
        await other.open(migrate=False)
        try:
            now = utcnow()
            claims = await asyncio.gather(
                *(
                    s.claim_due(worker_id=f"w{n}", limit=7, lease=timedelta(seconds=30), now=now)
                    for n in range(10)
                    for s in (store, other)
                )
            )
        finally:
            await other.aclose()
        ids = [c.delivery.id for batch in claims for c in batch]
        assert len(ids) == len(set(ids)) == 60


class TestAttempts:
    async def test_retrying_delivery_becomes_due_at_next_at(self, store):
        """A retrying delivery is not claimed before its next attempt time, and is after."""
        await store.ingest(new_event(), [new_delivery()])
        now = utcnow()
        (c,) = await store.claim_due(worker_id="w", limit=1, lease=timedelta(seconds=30), now=now)
        next_at = now + timedelta(seconds=10)
        await store.record_attempt(
            c.delivery.id,
            worker_id="w",
            attempt=attempt(AttemptOutcome.RETRY, "HTTP 503"),
            status=DeliveryStatus.RETRYING,
            next_at=next_at,
        )
        assert (
            await store.claim_due(worker_id="w", limit=1, lease=timedelta(seconds=30), now=now)
            == []
        )
        assert await store.next_due_at() is not None
        (again,) = await store.claim_due(
            worker_id="w", limit=1, lease=timedelta(seconds=30), now=next_at
        )
        assert again.series_attempt == 2

    async def test_history_records_every_attempt(self, store):
        """Each attempt is kept with its outcome, status code, excerpt and error."""
        event = new_event()
        await store.ingest(event, [new_delivery()])
        (c,) = await store.claim_due(
            worker_id="w", limit=1, lease=timedelta(seconds=30), now=utcnow()
        )
        await store.record_attempt(
            c.delivery.id,
            worker_id="w",
            attempt=attempt(AttemptOutcome.DEAD, "HTTP 404"),
            status=DeliveryStatus.DEAD,
            next_at=None,
        )
        (d,) = await store.deliveries_for(event.id)
        assert d.status == DeliveryStatus.DEAD and d.attempts == 1 and d.last_error == "HTTP 404"
        (a,) = d.history
        assert (a.number, a.outcome, a.status_code, a.response_excerpt) == (
            1,
            AttemptOutcome.DEAD,
            503,
            "excerpt",
        )


class TestProgress:
    async def test_progress_is_kept_across_retries_and_reset_by_a_replay(self, store):
        """How far a multi-send action got comes back with the next claim; an attempt that
        reports none keeps it; a replay starts the new series from 0."""
        await store.ingest(new_event(), [new_delivery()])
        lease = timedelta(seconds=30)

        async def claim_and_record(progress: int | None, status: DeliveryStatus) -> int:
            (c,) = await store.claim_due(worker_id="w", limit=1, lease=lease, now=utcnow())
            record = replace(attempt(AttemptOutcome.RETRY), progress=progress)
            await store.record_attempt(c.delivery.id, worker_id="w", attempt=record,
                                       status=status, next_at=utcnow())  # fmt: skip
            return c.progress

        assert await claim_and_record(2, DeliveryStatus.RETRYING) == 0
        assert await claim_and_record(None, DeliveryStatus.RETRYING) == 2
        assert await claim_and_record(3, DeliveryStatus.DEAD) == 2
        (dead,) = await store.list_deliveries(DeliveryFilter(statuses=(DeliveryStatus.DEAD,)))
        await store.replay_delivery(dead.id, now=utcnow())
        (again,) = await store.claim_due(worker_id="w", limit=1, lease=lease, now=utcnow())
        assert (again.series_attempt, again.progress) == (1, 0)


class TestReplay:
    async def test_replay_delivery_starts_new_series(self, store):
        """A dead delivery replayed is pending and due now, its history kept."""
        event = new_event()
        await store.ingest(event, [new_delivery()])
        (c,) = await store.claim_due(
            worker_id="w", limit=1, lease=timedelta(seconds=30), now=utcnow()
        )
        await store.record_attempt(
            c.delivery.id,
            worker_id="w",
            attempt=attempt(AttemptOutcome.DEAD),
            status=DeliveryStatus.DEAD,
            next_at=None,
        )
        replayed = await store.replay_delivery(c.delivery.id, now=utcnow())
        assert replayed.status == DeliveryStatus.PENDING and len(replayed.history) == 1
        (again,) = await store.claim_due(
            worker_id="w", limit=1, lease=timedelta(seconds=30), now=utcnow()
        )
        assert again.series_attempt == 1

    async def test_replay_in_flight_delivery_is_refused(self, store):
        """A delivery being performed cannot be replayed under the worker's feet."""
        await store.ingest(new_event(), [new_delivery()])
        (c,) = await store.claim_due(
            worker_id="w", limit=1, lease=timedelta(seconds=30), now=utcnow()
        )
        with pytest.raises(StoreError, match="in flight"):
            await store.replay_delivery(c.delivery.id, now=utcnow())

    async def test_replay_unknown_ids(self, store):
        """Replaying what does not exist says so."""
        with pytest.raises(NotFoundError):
            await store.replay_delivery("dlv_nope", now=utcnow())
        with pytest.raises(NotFoundError):
            await store.add_deliveries("evt_nope", [new_delivery()])


class TestRetention:
    async def settle(self, store, event, outcome=AttemptOutcome.SUCCEEDED):
        """Ingest `event` with one delivery and end that delivery with `outcome`."""
        await store.ingest(event, [new_delivery()])
        (c,) = await store.claim_due(
            worker_id="w", limit=1, lease=timedelta(seconds=30), now=utcnow()
        )
        status = {
            AttemptOutcome.SUCCEEDED: DeliveryStatus.SUCCEEDED,
            AttemptOutcome.DEAD: DeliveryStatus.DEAD,
            AttemptOutcome.RETRY: DeliveryStatus.RETRYING,
        }[outcome]
        await store.record_attempt(
            c.delivery.id,
            worker_id="w",
            attempt=attempt(outcome),
            status=status,
            next_at=utcnow() + timedelta(hours=1),
        )

    async def test_prunes_only_succeeded_events_before_the_cutoff(self, store):
        """Succeeded and delivery-less events go with their history; dead, retrying, pending
        and recent ones stay."""
        old = utcnow() - timedelta(days=40)
        succeeded, nothing_owed = new_event("a", received_at=old), new_event("b", received_at=old)
        dead, retrying = new_event("c", received_at=old), new_event("d", received_at=old)
        pending, recent = new_event("e", received_at=old), new_event("f")
        await self.settle(store, succeeded)
        await store.ingest(nothing_owed, [])
        await self.settle(store, dead, AttemptOutcome.DEAD)
        await self.settle(store, retrying, AttemptOutcome.RETRY)
        await self.settle(store, recent)
        await store.ingest(pending, [new_delivery()])
        cutoff = utcnow() + timedelta(seconds=1)  # everything that ended is "old enough"
        result = await store.prune(
            events_before=utcnow() - timedelta(days=30), dedup_before=None, limit=100
        )
        assert result.events == 1  # nothing_owed: the succeeded one ended just now
        result = await store.prune(events_before=cutoff, dedup_before=None, limit=100)
        assert (result.events, result.dedup_keys) == (2, 0)  # succeeded and recent
        assert await store.get_event(succeeded.id) is None
        assert await store.deliveries_for(succeeded.id) == []
        for kept in (dead, retrying, pending):
            assert await store.get_event(kept.id) is not None
            assert len(await store.deliveries_for(kept.id)) == 1

    async def test_pruning_goes_in_batches(self, store):
        """Each call removes at most `limit` events; repeated calls remove them all."""
        old = utcnow() - timedelta(days=40)
        for i in range(7):
            await store.ingest(new_event(f"e{i}", received_at=old), [])
        counts = []
        while (
            result := await store.prune(events_before=utcnow(), dedup_before=None, limit=3)
        ).events:
            counts.append(result.events)
        assert counts == [3, 3, 1]
        assert await store.list_events(EventFilter()) == []

    async def test_dedup_key_outlives_its_event(self, store):
        """A duplicate of a pruned event is still answered with the original id while its
        key is kept, and stored anew once the key is pruned too."""
        old = utcnow() - timedelta(days=10)
        first = await store.ingest(new_event("k", received_at=old), [])
        await store.prune(events_before=utcnow(), dedup_before=None, limit=10)
        assert await store.get_event(first.event_id) is None
        again = await store.ingest(new_event("k"), [])
        assert again.is_duplicate and again.event_id == first.event_id
        result = await store.prune(
            events_before=None, dedup_before=utcnow() - timedelta(days=7), limit=10
        )
        assert (result.events, result.dedup_keys) == (0, 1)
        fresh = await store.ingest(new_event("k"), [])
        assert not fresh.is_duplicate and fresh.event_id != first.event_id


class TestText:
    async def test_nul_characters_are_stored(self, store):
        """NUL in an id, a header, the query or an error excerpt never fails a write."""
        event = NewEvent(
            id=new_id("evt"),
            source="stripe",
            external_id="a\x00b",
            type="t\x00",
            received_at=utcnow(),
            content_type="text/plain",
            headers={"x-h": "v\x00"},
            query={"q": "\x00"},
            body=b"\x00\xff",
        )
        result = await store.ingest(event, [new_delivery()])
        assert not result.is_duplicate
        stored = await store.get_event(event.id)
        assert (stored.headers, stored.query, stored.body) == (
            event.headers,
            event.query,
            event.body,
        )
        assert (await store.ingest(replace(event, id=new_id("evt")), [])).is_duplicate
        (c,) = await store.claim_due(
            worker_id="w", limit=1, lease=timedelta(seconds=30), now=utcnow()
        )
        nul = AttemptRecord(utcnow(), 1.0, AttemptOutcome.RETRY, 500, "bad\x00body", "e\x00")
        owned = await store.record_attempt(
            c.delivery.id, worker_id="w", attempt=nul, status=DeliveryStatus.RETRYING,
            next_at=utcnow(),
        )  # fmt: skip
        assert owned
        (a,) = (await store.get_delivery(c.delivery.id)).history
        assert a.response_excerpt.startswith("bad") and a.response_excerpt.endswith("body")


class TestListing:
    async def test_filters_and_pagination(self, store):
        """Events list newest first, filter by source, type and status, and page by id."""
        ids = []
        for i in range(5):
            e = new_event(f"e{i}", source="a" if i % 2 else "b", type=f"t{i % 2}")
            await store.ingest(e, [new_delivery()] if i == 4 else [])
            ids.append(e.id)
        listed = await store.list_events(EventFilter(limit=2))
        assert [e.id for e in listed] == ids[::-1][:2]
        older = await store.list_events(EventFilter(before=listed[-1].id, limit=10))
        assert [e.id for e in older] == ids[::-1][2:]
        assert {e.source for e in await store.list_events(EventFilter(source="a"))} == {"a"}
        assert {e.type for e in await store.list_events(EventFilter(type="t0"))} == {"t0"}
        (pending,) = await store.list_events(EventFilter(status=DeliveryStatus.PENDING))
        assert pending.id == ids[4] and pending.deliveries == {"pending": 1}


class TestSchema:
    async def test_reopening_applies_nothing_and_keeps_data(self, store, database_url):
        """A store opened again on the same database finds its schema current and its events."""
        event = new_event()
        await store.ingest(event, [])
        again = open_store(database_url)
        await again.open(migrate=False)
        assert (await again.get_event(event.id)) is not None
        await again.aclose()

    async def test_unmigrated_database_is_refused(self, empty_database_url):
        """Opening without migrating a database that has no schema names the fix."""
        fresh = open_store(empty_database_url)
        with pytest.raises(StoreError, match="hookline migrate"):
            await fresh.open(migrate=False)
        await fresh.aclose()

    async def test_empty_database_is_created_when_asked(self, empty_database_url):
        """`create` gives a database with no schema the current one (the quickstart)."""
        fresh = open_store(empty_database_url)
        await fresh.open(migrate=False, create=True)
        result = await fresh.ingest(new_event(), [new_delivery()])
        await fresh.aclose()
        again = open_store(empty_database_url)
        await again.open(migrate=False)
        assert await again.get_event(result.event_id) is not None
        await again.aclose()

    def test_migrations_are_numbered_in_order(self, backend):
        """Migrations are found in the package and numbered without gaps."""
        found = migrations(backend)
        assert [m.version for m in found] == list(range(1, len(found) + 1))

    async def test_meta_first_value_wins(self, store):
        """set_meta_if_absent keeps the first value written."""
        assert await store.set_meta_if_absent("k", "one") == "one"
        assert await store.set_meta_if_absent("k", "two") == "one"
        assert await store.get_meta("k") == "one"


async def _finish(store, delivery_id: str, status: DeliveryStatus, error: str | None) -> None:
    """Claim everything due and record one attempt for `delivery_id` ending in `status`."""
    await store.claim_due(worker_id="w", limit=100, lease=timedelta(seconds=30), now=utcnow())
    outcome = {
        DeliveryStatus.SUCCEEDED: AttemptOutcome.SUCCEEDED,
        DeliveryStatus.DEAD: AttemptOutcome.DEAD,
    }.get(status, AttemptOutcome.RETRY)
    await store.record_attempt(
        delivery_id,
        worker_id="w",
        attempt=attempt(outcome, error),
        status=status,
        next_at=utcnow() + timedelta(hours=1) if status == DeliveryStatus.RETRYING else None,
    )


class TestInspection:
    async def test_text_search_and_time_range(self, store):
        """Events filter by a case-insensitive substring of the body and by receive time."""
        old = replace(new_event("a"), received_at=utcnow() - timedelta(days=2))
        await store.ingest(old, [])
        hit = new_event("b")
        await store.ingest(replace(hit, body=b'{"client": "Ivan_100%"}'), [])
        found = await store.list_events(EventFilter(text="ivan_100%"))
        assert [e.id for e in found] == [hit.id]
        assert await store.list_events(EventFilter(text="ivan_1000")) == []
        assert await store.list_events(EventFilter(text="Ivan-100")) == []  # `_` is literal
        recent = await store.list_events(EventFilter(since=utcnow() - timedelta(days=1)))
        assert [e.id for e in recent] == [hit.id]
        older = await store.list_events(EventFilter(until=utcnow() - timedelta(days=1)))
        assert [e.id for e in older] == [old.id]

    async def test_text_search_over_non_utf8_and_non_ascii_bodies(self, store):
        """Search finds non-ASCII text and is not broken by a body that is not UTF-8."""
        binary = new_event("bin")
        await store.ingest(replace(binary, body=b"\xff\xfe raw \\ bytes"), [])
        accented = new_event("acc")
        await store.ingest(replace(accented, body='{"client": "Иван"}'.encode()), [])
        assert [e.id for e in await store.list_events(EventFilter(text="Иван"))] == [accented.id]
        assert [e.id for e in await store.list_events(EventFilter(text="raw \\ b"))] == [binary.id]

    async def test_counts_by_status_follow_the_event_filter(self, store):
        """Delivery counts per status cover the events the filter selects."""
        a, b = new_event("a", source="a"), new_event("b", source="b")
        await store.ingest(a, [new_delivery(), new_delivery(error="boom")])
        await store.ingest(b, [new_delivery()])
        assert await store.count_by_status(EventFilter()) == {"pending": 2, "dead": 1}
        assert await store.count_by_status(EventFilter(source="a")) == {"pending": 1, "dead": 1}
        assert await store.count_by_status(EventFilter(text="nothing like it")) == {}

    async def test_list_and_count_deliveries(self, store):
        """Deliveries filter by status, route and source, oldest first, paged by cursor."""
        made = []
        for i in range(4):
            d = new_delivery(route="r1" if i < 3 else "r2", error="boom" if i != 1 else None)
            await store.ingest(new_event(f"e{i}", source="s" if i else "t"), [d])
            made.append(d.id)
        dead = DeliveryFilter(statuses=(DeliveryStatus.DEAD,), limit=2)
        first = await store.list_deliveries(dead)
        assert [d.id for d in first] == [made[0], made[2]]
        rest = await store.list_deliveries(DeliveryFilter(statuses=(DeliveryStatus.DEAD,),
                                                          cursor=first[-1].id))  # fmt: skip
        assert [d.id for d in rest] == [made[3]]
        assert await store.count_deliveries(dead) == 3
        assert await store.count_deliveries(DeliveryFilter(route="r1", source="s")) == 2
        newest = await store.list_deliveries(DeliveryFilter(newest_first=True, limit=1))
        assert [d.id for d in newest] == [made[3]]

    async def test_route_stats(self, store):
        """Per route: distinct events matched and deliveries by status since a moment."""
        e1, e2 = new_event("1"), new_event("2")
        d1, d2 = new_delivery("r", 0), new_delivery("r", 1)
        await store.ingest(e1, [d1, d2])
        await store.ingest(e2, [new_delivery("r", 0, error="boom")])
        await _finish(store, d1.id, DeliveryStatus.SUCCEEDED, None)
        stats = await store.route_stats(utcnow() - timedelta(hours=24))
        assert stats["r"].matched == 2
        assert stats["r"].deliveries == {"succeeded": 1, "in_flight": 1, "dead": 1}
        assert await store.route_stats(utcnow() + timedelta(hours=1)) == {}

    async def test_queue_health(self, store):
        """Queue depth, due deliveries, stuck leases and the last error are reported."""
        empty = await store.queue_health(utcnow())
        assert (empty.depth, empty.due, empty.oldest_due_at, empty.stuck) == (0, 0, None, 0)
        assert empty.last_error is None
        d1, d2, d3 = new_delivery(), new_delivery(), new_delivery()
        await store.ingest(new_event("1"), [d1, d2, d3])
        await _finish(store, d1.id, DeliveryStatus.RETRYING, "HTTP 503")
        health = await store.queue_health(utcnow())
        assert (health.depth, health.due, health.stuck) == (3, 0, 0)  # two in flight, one later
        later = await store.queue_health(utcnow() + timedelta(minutes=5))
        assert later.stuck == 2 and later.last_error is not None
        assert (later.last_error.delivery_id, later.last_error.error) == (d1.id, "HTTP 503")
        much_later = await store.queue_health(utcnow() + timedelta(hours=2))
        assert much_later.due == 1 and much_later.oldest_due_at is not None
