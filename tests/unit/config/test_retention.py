"""The `retention:` section: defaults, durations, and refusals that protect dedup."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hookline.config.loader import loads
from hookline.errors import ConfigErrors


class TestRetentionConfig:
    def test_defaults(self) -> None:
        """Without the section, succeeded events are kept 30 days and dedup keys 7."""
        config = loads("", file="x.yaml", environ={})
        assert config.retention.succeeded == timedelta(days=30)
        assert config.retention.dedup == timedelta(days=7)

    def test_durations_and_forever(self) -> None:
        """Durations are read as elsewhere; null keeps that kind forever."""
        config = loads(
            "retention: {succeeded: 90d, dedup: null, batch_size: 50}", file="x.yaml", environ={}
        )
        assert config.retention.succeeded == timedelta(days=90)
        assert config.retention.dedup is None and config.retention.batch_size == 50

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("dedup: 1d", "retention.dedup: must be at least 7d"),  # under retries
            ("succeeded: 0s", "retention.succeeded: must be longer than 0"),
            ("interval: 10ms", "retention.interval: must be at least 1s"),
            ("batch_size: 0", "retention.batch_size: Input should be greater than or equal to 1"),
        ],
    )
    def test_refusals_are_located(self, text: str, message: str) -> None:
        """A retention that would break dedup or prune nothing useful is a located error."""
        with pytest.raises(ConfigErrors) as caught:
            loads(f"retention:\n  {text}\n", file="x.yaml", environ={})
        (error,) = caught.value.errors
        assert str(error).startswith(f"x.yaml:2: {message}")
