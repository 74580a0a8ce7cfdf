"""The configuration as the API and dashboard show it: plain data, every secret hidden.

Two nets, as everywhere: `SecretStr` values become `***` while walking the models, and the
redactor then masks every secret value of the config wherever else it appears (a token
interpolated into a header template, a URL).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, SecretStr

from hookline.config.models import ActionSpec, Config, Route, Source
from hookline.redact import MASK, Redactor
from hookline.templating import Condition, Template

Leaf = Callable[[Template], Any]


def plain(value: Any, template: Leaf = lambda t: t.source) -> Any:
    """A config value as JSON-ready data; templates become `template(t)`, secrets `***`."""
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Template):
        return template(value)
    if isinstance(value, Condition):
        return value.source
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, BaseModel):
        return model_fields(value, template)
    if isinstance(value, dict):
        return {str(k): plain(v, template) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, template) for v in value]
    return value


def model_fields(model: BaseModel, template: Leaf = lambda t: t.source) -> dict[str, Any]:
    """A model's set fields by their YAML names (aliases), None and defaults left out."""
    shown: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None or (name not in model.model_fields_set and not info.is_required()):
            continue
        shown[info.alias or name] = plain(value, template)
    return shown


def source_view(source: Source, redactor: Redactor) -> dict[str, Any]:
    shown: dict[str, Any] = redactor.deep(
        {
            "name": source.name,
            "path": f"/hooks/{source.name}",
            "provider": source.verify.provider,
            "verify": model_fields(source.verify),
            "id": source.id.source if source.id else None,
            "type": source.type.source if source.type else None,
            "max_body_size": source.max_body_size,
        }
    )
    return shown


def action_view(action: ActionSpec, redactor: Redactor) -> dict[str, Any]:
    config: dict[str, Any] = redactor.deep(model_fields(action.config))
    return {"index": action.index, "name": action.name, "config": config}


def route_view(route: Route, redactor: Redactor) -> dict[str, Any]:
    return {
        "name": route.name,
        "source": route.source,
        "condition": redactor.optional(route.condition.source if route.condition else None),
        "actions": [action_view(a, redactor) for a in route.actions],
    }


def sources_view(config: Config, redactor: Redactor) -> list[dict[str, Any]]:
    return [source_view(s, redactor) for s in config.sources.values()]


def routes_view(config: Config, redactor: Redactor) -> list[dict[str, Any]]:
    return [route_view(r, redactor) for r in config.routes]
