"""Hookline: a self-hosted webhook automation gateway."""

from __future__ import annotations

__version__ = "0.1.0"
