"""`python -m hookline` is the same as the `hookline` command."""

from __future__ import annotations

from hookline.cli import main

main()
