"""Lazy registries of import strings, keyed by the names users write in YAML.

Adding a provider or an action touches its own module and one line here; optional
dependencies load only when a config names the thing that needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


class Registry:
    """Maps user-facing names to `module:Class` strings, imported on first use."""

    def __init__(self, kind: str, entries: Mapping[str, str]) -> None:
        self.kind = kind
        self._entries = dict(entries)
        self._loaded: dict[str, Any] = {}

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> Any:
        if name not in self._entries:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        if name not in self._loaded:
            module_name, _, attr = self._entries[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module_name), attr)
        return self._loaded[name]
