"""The dashboard's time filter: what a datetime-local input (or a hand-edited URL) gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookline.ui.pages import parse_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-04T10:30", datetime(2026, 12, 4, 10, 30, tzinfo=UTC)),  # the input's own form
        ("2026-12-04T12:30+02:00", datetime(2026, 12, 4, 10, 30, tzinfo=UTC)),  # to UTC
        ("9999-12-31T23:59-14:00", None),  # past year 9999 in UTC: no filter, not a 500
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_times_are_read_as_utc_or_ignored(value: str | None, expected: datetime | None) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC
