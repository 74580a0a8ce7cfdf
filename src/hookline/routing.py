"""Decide, inside the ingest transaction, which deliveries an event owes.

Routes are grouped by source once, at startup. A condition that fails to evaluate does
not lose the event: its deliveries are created already `dead` with the error, visible and
replayable once the route is fixed.
"""

from __future__ import annotations

from collections import defaultdict

from hookline.config.models import Config, Route
from hookline.errors import TemplateError
from hookline.models import NewDelivery, new_id
from hookline.templating import RenderContext


class Router:
    def __init__(self, config: Config) -> None:
        by_source: dict[str, list[Route]] = defaultdict(list)
        for route in config.routes:
            by_source[route.source].append(route)
        self._by_source = dict(by_source)

    def deliveries(self, source: str, ctx: RenderContext) -> list[NewDelivery]:
        owed: list[NewDelivery] = []
        for route in self._by_source.get(source, ()):
            error: str | None = None
            if route.condition is not None:
                try:
                    if not route.condition.matches(ctx):
                        continue
                except TemplateError as exc:
                    error = f"route condition failed: {exc.message}"
            owed.extend(
                NewDelivery(new_id("dlv"), route.name, action.index, action.name, error)
                for action in route.actions
            )
        return owed
