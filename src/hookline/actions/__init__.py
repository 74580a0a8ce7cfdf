"""Actions: one module each, registered by the YAML key that names them in a route."""

from __future__ import annotations

from hookline.registry import Registry

ACTIONS = Registry(
    "action",
    {
        "telegram": "hookline.actions.telegram:TelegramAction",
        "http": "hookline.actions.http:HttpAction",
        "email": "hookline.actions.email:EmailAction",
    },
)
