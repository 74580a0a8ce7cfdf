"""The delivery worker: claim due deliveries under a lease, perform them, record attempts.

This loop is the one place with a broad `except Exception`: an unexpected error inside an
action becomes a recorded attempt (redacted) and the retry policy decides what follows, so
no failure is ever silent. Leases make crashes safe: a delivery claimed by a worker that
dies becomes due again when its lease runs out, and any worker takes it over; a live worker
renews the leases of what it has in flight (`leases.py`). When the database is away, claims
back off exponentially and attempt records are retried, so a restart of the database costs
a pause, not work. The worker also runs retention (`store/retention.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
import structlog

from hookline import __version__, metrics
from hookline.actions import ACTIONS
from hookline.actions.base import ActionContext, GiveUp, Outcome, RetryLater, Succeeded
from hookline.actions.outbound import GuardedResolver, OutboundGuard
from hookline.config.models import ActionSpec, Config
from hookline.deliver.leases import LeaseKeeper
from hookline.errors import MalformedPayloadError, StoreUnavailableError, TemplateError
from hookline.ingest.payload import parse_payload
from hookline.models import (
    AttemptOutcome,
    AttemptRecord,
    ClaimedDelivery,
    DeliveryStatus,
    Event,
    new_id,
    utcnow,
)
from hookline.redact import Redactor
from hookline.store.base import Store
from hookline.store.retention import Pruner
from hookline.templating import RenderContext, event_variables

log = structlog.get_logger("hookline.worker")

CLAIM_BATCH = 100
POLL_INTERVAL = 1.0  # seconds; the fallback for work committed by other processes
MAX_BACKOFF = 5.0  # seconds between claims while the database is away
RECORD_TRIES = 6  # an attempt record is retried for ~8 s while the database is away


def backoff(failures: int) -> float:
    """0.25 s, 0.5 s, 1 s, … up to MAX_BACKOFF after `failures` failures in a row."""
    return float(min(MAX_BACKOFF, 0.25 * 2 ** max(failures - 1, 0)))


class Worker:
    """Performs owed deliveries with bounded concurrency until stopped."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        redactor: Redactor | None = None,
        clock: Callable[[], datetime] = utcnow,
        worker_id: str | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self._redactor = redactor or Redactor(config.secrets())
        self.worker_id = worker_id or new_id("wrk")
        self._guard = OutboundGuard(allow_private_networks=config.delivery.allow_private_networks)
        self._concurrency = config.delivery.concurrency
        self._lease = lease_for(config)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._delivering: set[str] = set()  # ids of the deliveries being performed here
        self._stopping = asyncio.Event()
        self._actions = {name: ACTIONS.get(name)() for name in _action_names(config)}
        self._leases = LeaseKeeper(store, worker_id=self.worker_id, lease=self._lease, clock=clock)
        self._pruner = Pruner(store, config.retention, clock=clock)
        self._claim_failures = 0

    def stop(self) -> None:
        """Ask the loop to finish: no new claims; in-flight deliveries complete."""
        self._stopping.set()

    async def run(self, *, drain_timeout: float | None = None) -> None:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._guard), limit=0)
        headers = {"User-Agent": f"Hookline/{__version__}"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
            log.info("worker.started", worker_id=self.worker_id)
            background = [
                asyncio.create_task(self._leases.run(), name="hookline-leases"),
                asyncio.create_task(self._pruner.run(), name="hookline-retention"),
            ]
            try:
                while not self._stopping.is_set():
                    await self._tick(http)
                await self._drain(
                    drain_timeout or self._config.delivery.timeout.total_seconds() + 5
                )
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
        log.info("worker.stopped", worker_id=self.worker_id)

    async def _tick(self, http: aiohttp.ClientSession) -> None:
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            await self._wait_for_slot()
            return
        limit = min(free, CLAIM_BATCH)
        try:
            claimed = await self._store.claim_due(
                worker_id=self.worker_id, limit=limit, lease=self._lease, now=self._clock()
            )
        except Exception as exc:  # the database may be briefly away: back off, go on
            self._claim_failures += 1
            delay = backoff(self._claim_failures)
            log.warning("worker.claim_failed", error=self._redactor.text(repr(exc)),
                        retry_in=delay)  # fmt: skip
            await self._pause(delay)
            return
        if self._claim_failures:
            log.info("worker.reconnected", after_failures=self._claim_failures)
            self._claim_failures = 0
        for item in claimed:
            if item.delivery.id in self._delivering:
                # Our own delivery, still running, whose lease lapsed while the database was
                # away: the claim just renewed it; a second task would send it twice.
                continue
            self._delivering.add(item.delivery.id)
            self._leases.hold(item.delivery.id)
            task = asyncio.create_task(self._deliver(item, http))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if len(claimed) < limit:  # nothing more is due right now
            await self._pause(await self._idle_timeout())

    async def _wait_for_slot(self) -> None:
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait(
            [*self._in_flight, stop], return_when=asyncio.FIRST_COMPLETED, timeout=POLL_INTERVAL
        )
        stop.cancel()

    async def _idle_timeout(self) -> float:
        try:
            due = await self._store.next_due_at()
        except Exception:  # fall back to polling when the database is away
            return POLL_INTERVAL
        if due is None:
            return POLL_INTERVAL
        return min(POLL_INTERVAL, max(0.0, (due - self._clock()).total_seconds()))

    async def _pause(self, timeout: float) -> None:
        """Sleep until new work is committed, the stop flag is set, or `timeout` passes."""
        if timeout <= 0:
            return
        stop = asyncio.ensure_future(self._stopping.wait())
        work = asyncio.ensure_future(self._store.wait_for_work(timeout))
        await asyncio.wait([stop, work], return_when=asyncio.FIRST_COMPLETED)
        for future in (stop, work):
            future.cancel()

    async def _drain(self, timeout: float) -> None:
        if not self._in_flight:
            return
        log.info("worker.draining", in_flight=len(self._in_flight))
        _done, pending = await asyncio.wait(self._in_flight, timeout=timeout)
        for task in pending:  # their leases run out and another worker takes them over
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _deliver(self, claimed: ClaimedDelivery, http: aiohttp.ClientSession) -> None:
        try:
            await self._attempt(claimed, http)
        except Exception:  # a bug here must not leave the lease renewed forever
            log.exception("delivery.crashed", delivery_id=claimed.delivery.id)
        finally:
            self._leases.release(claimed.delivery.id)
            self._delivering.discard(claimed.delivery.id)

    async def _attempt(self, claimed: ClaimedDelivery, http: aiohttp.ClientSession) -> None:
        delivery = claimed.delivery
        started_at = self._clock()
        started = time.perf_counter()
        spec = self._spec(delivery.route, delivery.action_index, delivery.action)
        outcome = await self._perform(spec, claimed, http)
        duration_ms = (time.perf_counter() - started) * 1000
        status, next_at, error = self._decide(spec, claimed, outcome)
        metrics.observe_attempt(delivery.action, _attempt_outcome(status), duration_ms / 1000)
        record = AttemptRecord(
            started_at=started_at,
            duration_ms=duration_ms,
            outcome=_attempt_outcome(status),
            status_code=outcome.status_code if not isinstance(outcome, _Missing) else None,
            response_excerpt=self._redactor.optional(getattr(outcome, "excerpt", None)),
            error=self._redactor.optional(error),
            progress=outcome.progress if isinstance(outcome, RetryLater) else None,
        )
        try:
            await self._record(delivery.id, record, status, next_at)
        except Exception as exc:  # the lease will expire and the delivery be tried again
            log.warning("worker.record_failed", delivery_id=delivery.id,
                        error=self._redactor.text(repr(exc)))  # fmt: skip
            return
        # Successes are debug: one line per delivery would cost more than the delivery.
        emit = log.debug if status == DeliveryStatus.SUCCEEDED else log.info
        emit("delivery.attempted", delivery_id=delivery.id, event_id=delivery.event_id,
                 route=delivery.route, action=delivery.action, status=str(status),
                 attempt=claimed.series_attempt, error=record.error)  # fmt: skip

    async def _record(
        self,
        delivery_id: str,
        record: AttemptRecord,
        status: DeliveryStatus,
        next_at: datetime | None,
    ) -> None:
        """Record the attempt, retrying while the database is away: an attempt performed
        but not recorded would be performed again once its lease ran out."""
        for tries in range(1, RECORD_TRIES + 1):
            try:
                await self._store.record_attempt(
                    delivery_id,
                    worker_id=self.worker_id,
                    attempt=record,
                    status=status,
                    next_at=next_at,
                )
                return
            except StoreUnavailableError:
                if tries == RECORD_TRIES:
                    raise
                await asyncio.sleep(backoff(tries))

    def _spec(self, route_name: str, index: int, action: str) -> ActionSpec | _Missing:
        route = self._config.route(route_name)
        if route is None:
            return _Missing(f"route {route_name!r} is no longer in the configuration")
        spec = next((a for a in route.actions if a.index == index), None)
        if spec is None or spec.name != action:
            return _Missing(
                f"action #{index} ({action}) of route {route_name!r} is no longer configured"
            )
        return spec

    async def _perform(
        self, spec: ActionSpec | _Missing, claimed: ClaimedDelivery, http: aiohttp.ClientSession
    ) -> Outcome | _Missing:
        if isinstance(spec, _Missing):
            return spec
        timeout = spec.config.timeout or self._config.delivery.timeout
        try:
            ctx = ActionContext(render=render_context(claimed.event), http=http,
                                guard=self._guard, timeout=timeout,
                                progress=claimed.progress)  # fmt: skip
            return await asyncio.wait_for(
                self._actions[spec.name].perform(spec.config, ctx),
                timeout.total_seconds() * 4 + 5,  # a backstop; actions time out on their own
            )
        except TemplateError as exc:
            return GiveUp(f"template error: {exc.message}")
        except MalformedPayloadError as exc:
            return GiveUp(exc.message)
        except TimeoutError:
            return RetryLater("timed out")
        except Exception as exc:  # the one broad catch: a bug becomes a visible attempt
            log.exception("delivery.crashed", action=spec.name)
            return RetryLater(f"unexpected error: {exc!r}")

    def _decide(
        self, spec: ActionSpec | _Missing, claimed: ClaimedDelivery, outcome: Outcome | _Missing
    ) -> tuple[DeliveryStatus, datetime | None, str | None]:
        match outcome:
            case Succeeded():
                return DeliveryStatus.SUCCEEDED, None, None
            case GiveUp(reason=reason) | _Missing(reason=reason):
                return DeliveryStatus.DEAD, None, reason
            case RetryLater(reason=reason, after=after):
                assert not isinstance(spec, _Missing)
                policy = spec.config.retry or self._config.delivery.retry
                delay = policy.delay(claimed.series_attempt, retry_after=after)
                if delay is None:
                    return (
                        DeliveryStatus.DEAD,
                        None,
                        (f"gave up after {claimed.series_attempt} attempts: {reason}"),
                    )
                return DeliveryStatus.RETRYING, self._clock() + delay, reason
        raise AssertionError(outcome)  # pragma: no cover


class _Missing:
    """The delivery's route or action is gone from the config: nothing can be performed."""

    __match_args__ = ("reason",)
    status_code = None
    excerpt = None

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _attempt_outcome(status: DeliveryStatus) -> AttemptOutcome:
    if status == DeliveryStatus.SUCCEEDED:
        return AttemptOutcome.SUCCEEDED
    if status == DeliveryStatus.DEAD:
        return AttemptOutcome.DEAD
    return AttemptOutcome.RETRY


def render_context(event: Event) -> RenderContext:
    """What templates see for a stored event (the same as its route conditions saw)."""
    return RenderContext(
        event=event_variables(id=event.id, type=event.type, source=event.source,
                              received_at=event.received_at, external_id=event.external_id),
        payload=parse_payload(event.content_type, event.body),
        headers=event.headers,
        query=event.query,
    )  # fmt: skip


def _action_names(config: Config) -> set[str]:
    return {action.name for route in config.routes for action in route.actions}


def lease_for(config: Config) -> timedelta:
    return config.delivery.lease or config.delivery.timeout + timedelta(seconds=30)
