"""Jinja2 filters for the dashboard: times, durations, JSON and status names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import orjson


def when(value: datetime | str | None) -> str:
    """An absolute UTC time, to the second (from a datetime or an ISO string)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span(seconds: float | None) -> str:
    """A short human duration: 850 ms, 12 s, 4 min 5 s, 3 h 2 min, 2 d 1 h."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    delta = (now - value).total_seconds()
    if delta < 0:
        return f"in {span(-delta)}"
    if delta < 1:
        return "just now"
    return f"{span(delta)} ago"


def milliseconds(value: float) -> str:
    return span(value / 1000)


def pretty(value: Any) -> str:
    """JSON, indented; text stays text."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def label(status: str) -> str:
    return str(status).replace("_", " ")


def local_input(value: datetime | None) -> str:
    """A datetime as an `<input type="datetime-local">` value (UTC)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def install(env: jinja2.Environment) -> None:
    env.filters.update(
        when=when,
        span=span,
        ago=ago,
        ms=milliseconds,
        pretty=pretty,
        label=label,
        local_input=local_input,
    )
    env.globals.update(STATUSES=("pending", "in_flight", "retrying", "succeeded", "dead"))
    env.globals.update(timedelta=timedelta)
