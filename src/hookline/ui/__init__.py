"""The dashboard at `/ui`: server-rendered pages over the same store and token as the API."""

from __future__ import annotations

from hookline.ui.app import create_ui

__all__ = ["create_ui"]
