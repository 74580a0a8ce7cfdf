"""Test helpers: local servers speaking real protocols, usable in-process or standalone."""

from __future__ import annotations
