"""Replay: an event goes through the current routes again; a delivery starts a new series.

Replaying an event creates fresh deliveries (as if it had just arrived, minus dedup), so a
route fixed after the fact is honoured. Replaying one delivery re-queues exactly that
action, keeping its attempt history, for the common "Telegram was misconfigured" case.
"""

from __future__ import annotations

from hookline.config.models import Config
from hookline.deliver.worker import render_context
from hookline.errors import NotFoundError
from hookline.models import Delivery, NewDelivery, utcnow
from hookline.routing import Router
from hookline.store.base import Store


async def replay_event(config: Config, store: Store, event_id: str) -> list[NewDelivery]:
    event = await store.get_event(event_id)
    if event is None:
        raise NotFoundError(f"no event {event_id}")
    deliveries = Router(config).deliveries(event.source, render_context(event))
    await store.add_deliveries(event_id, deliveries)
    return deliveries


async def replay_delivery(store: Store, delivery_id: str) -> Delivery:
    return await store.replay_delivery(delivery_id, now=utcnow())
