"""Dry run: what a route would do with a stored event, without delivering anything.

The condition is evaluated on the event exactly as routing does, and each action's
templated fields are rendered with the same context the worker uses. An action may offer
`preview(config, render) -> dict` to show what it would really send (Telegram: the text
escaped for its parse mode and split as it would be); any other action is rendered
generically: every template field of its config, secrets shown as `***`. Everything shown
goes through the redactor, so a secret interpolated into a field stays hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hookline.actions import ACTIONS
from hookline.config.models import ActionSpec, Config
from hookline.configview import model_fields
from hookline.deliver.worker import render_context
from hookline.errors import HooklineError, MalformedPayloadError, NotFoundError, TemplateError
from hookline.redact import Redactor
from hookline.store.base import Store
from hookline.templating import RenderContext, Template, render_structure

_NOT_RENDERED = frozenset({"retry", "timeout"})


@dataclass(frozen=True, slots=True)
class RenderedAction:
    index: int
    name: str
    fields: dict[str, Any] | None  # None when rendering failed
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DryRun:
    event_id: str
    route: str
    source_matches: bool  # the event came from the route's source
    condition: str | None
    condition_matches: bool
    condition_error: str | None
    actions: list[RenderedAction] = field(default_factory=list)

    @property
    def would_deliver(self) -> bool:
        return self.source_matches and self.condition_matches and self.condition_error is None


async def dry_run(
    config: Config, store: Store, redactor: Redactor, *, event_id: str, route_name: str
) -> DryRun:
    event = await store.get_event(event_id)
    if event is None:
        raise NotFoundError(f"no event {event_id}")
    route = config.route(route_name)
    if route is None:
        raise NotFoundError(f"no route {route_name}")
    try:
        ctx = render_context(event)
    except MalformedPayloadError as exc:  # stored bodies parsed once; keep the message
        raise HooklineError(f"the event's body cannot be parsed: {exc.message}") from exc
    matches, error = True, None
    if route.condition is not None:
        try:
            matches = route.condition.matches(ctx)
        except TemplateError as exc:
            matches, error = False, exc.message
    return DryRun(
        event_id=event.id,
        route=route.name,
        source_matches=event.source == route.source,
        condition=redactor.optional(route.condition.source if route.condition else None),
        condition_matches=matches,
        condition_error=redactor.optional(error),
        actions=[_render(spec, ctx, redactor) for spec in route.actions],
    )


def _render(spec: ActionSpec, ctx: RenderContext, redactor: Redactor) -> RenderedAction:
    action = ACTIONS.get(spec.name)()
    try:
        preview = getattr(action, "preview", None)
        if preview is not None:
            fields = preview(spec.config, ctx)
        else:
            fields = {
                name: value
                for name, value in model_fields(spec.config, lambda t: _render_one(t, ctx)).items()
                if name not in _NOT_RENDERED
            }
    except TemplateError as exc:
        return RenderedAction(spec.index, spec.name, None, redactor.text(exc.message))
    return RenderedAction(spec.index, spec.name, redactor.deep(fields))


def _render_one(template: Template, ctx: RenderContext) -> Any:
    return render_structure(template, ctx)
