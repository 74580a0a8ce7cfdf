"""Durations and byte sizes as written in YAML, and as pydantic field types."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from hookline.config.types import ByteSize, Duration, parse_duration, parse_size


class _Limits(BaseModel):
    timeout: Duration
    size: ByteSize


class TestParseDuration:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("500ms", timedelta(milliseconds=500)),  # milliseconds
            ("10s", timedelta(seconds=10)),  # seconds
            ("5m", timedelta(minutes=5)),  # minutes
            ("1h", timedelta(hours=1)),  # hours
            ("2d", timedelta(days=2)),  # days
            ("1.5h", timedelta(minutes=90)),  # a fraction of a unit
            ("10", timedelta(seconds=10)),  # no unit: seconds
            (" 10 s ", timedelta(seconds=10)),  # spaces around and between
            ("0s", timedelta(0)),  # zero is allowed
            (10, timedelta(seconds=10)),  # a YAML integer: seconds
            (2.5, timedelta(seconds=2.5)),  # a YAML float: seconds
            (timedelta(minutes=3), timedelta(minutes=3)),  # already a timedelta
        ],
    )
    def test_valid(self, value: object, expected: timedelta) -> None:
        """Numbers are seconds; strings take an ms, s, m, h or d unit."""
        assert parse_duration(value) == expected

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("forever", "expected a duration such as 10s, 5m or 1h, got 'forever'"),  # a word
            ("10x", "expected a duration such as 10s, 5m or 1h, got '10x'"),  # unknown unit
            ("10 min", "expected a duration such as 10s, 5m or 1h, got '10 min'"),  # spelled out
            ("-1s", "expected a duration such as 10s, 5m or 1h, got '-1s'"),  # signed string
            ("", "expected a duration such as 10s, 5m or 1h, got ''"),  # empty
            (None, "expected a duration such as 10s, 5m or 1h, got None"),  # YAML null
            ([10], "expected a duration such as 10s, 5m or 1h, got [10]"),  # a list
            (True, "expected a duration such as 10s, 5m or 1h"),  # YAML true is not 1 second
            (-5, "a duration cannot be negative"),  # negative number
            ("99999999999999d", "the duration '99999999999999d' is too large"),  # overflow
            (float("inf"), "the duration inf is too large"),
        ],
    )
    def test_invalid(self, value: object, message: str) -> None:
        """Anything else is a ValueError saying what a duration looks like."""
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            parse_duration(value)


class TestParseSize:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (1, 1),  # a YAML integer: bytes
            ("512", 512),  # no unit: bytes
            ("10B", 10),  # bytes, explicit
            ("512KB", 512_000),  # decimal kilobytes
            ("512KiB", 512 * 1024),  # binary kibibytes
            ("5MB", 5_000_000),  # decimal megabytes
            ("5MiB", 5 * 1024**2),  # binary mebibytes
            ("1GB", 1000**3),  # decimal gigabytes
            ("1GiB", 1024**3),  # binary gibibytes
            ("5mib", 5 * 1024**2),  # units are case-insensitive
            (" 5 MiB ", 5 * 1024**2),  # spaces around and between
        ],
    )
    def test_valid(self, value: object, expected: int) -> None:
        """Integers are bytes; strings take a decimal (KB) or binary (KiB) unit."""
        assert parse_size(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            0,  # an empty limit would refuse every request
            -1,  # negative
            True,  # YAML true is not 1 byte
            1.5,  # fractional bytes
            "1.5MiB",  # fractions are not accepted in strings either
            "5 MB/s",  # a rate, not a size
            "lots",  # a word
            "",  # empty
            None,  # YAML null
            pytest.param("0", id="zero-string"),  # zero written as a string is as empty as 0
            pytest.param("0MiB", id="zero-with-unit"),  # idem, with a unit
        ],
    )
    def test_invalid(self, value: object) -> None:
        """Anything else is a ValueError saying what a size looks like."""
        with pytest.raises(ValueError, match=r"^expected a size such as 5MiB or 512KB, got "):
            parse_size(value)


class TestPydanticTypes:
    def test_fields_parse_yaml_values(self) -> None:
        """`Duration` and `ByteSize` fields accept the YAML spellings."""
        limits = _Limits.model_validate({"timeout": "1m", "size": "2KiB"})

        assert limits.timeout == timedelta(minutes=1)
        assert limits.size == 2048

    def test_invalid_value_is_a_validation_error(self) -> None:
        """A bad value fails validation at its field, with the parser's message."""
        with pytest.raises(ValidationError) as info:
            _Limits.model_validate({"timeout": "soon", "size": "big"})

        assert [(e["loc"], e["msg"]) for e in info.value.errors(include_url=False)] == [
            (("timeout",), "Value error, expected a duration such as 10s, 5m or 1h, got 'soon'"),
            (("size",), "Value error, expected a size such as 5MiB or 512KB, got 'big'"),
        ]

    def test_duration_serializes_as_seconds(self) -> None:
        """A `Duration` is written back as seconds with an `s` unit."""
        dumped = _Limits(timeout=timedelta(milliseconds=1500), size=1).model_dump()

        assert dumped == {"timeout": "1.5s", "size": 1}

    @pytest.mark.parametrize(
        "duration",
        [
            timedelta(milliseconds=250),  # below a second
            timedelta(seconds=10),  # the default timeout
            timedelta(hours=1),  # the default max_backoff
            timedelta(days=1),  # a day
            timedelta(days=30),  # a month: 2592000 seconds, more than six digits
        ],
    )
    def test_duration_round_trips(self, duration: timedelta) -> None:
        """What a `Duration` serializes to parses back to the same duration."""
        dumped = _Limits(timeout=duration, size=1).model_dump()

        assert _Limits.model_validate(dumped).timeout == duration
