"""Durable storage: one async `Store` contract, one module per database."""

from __future__ import annotations

from hookline.store.base import Store, open_store

__all__ = ["Store", "open_store"]
