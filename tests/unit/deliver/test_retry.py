"""RetryPolicy.delay: exponential backoff, equal jitter, the cap, the end, and Retry-After."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hookline.deliver.retry import RetryPolicy

# No deadline: a slow CI machine must not turn into a failure (no timing thresholds).
PROPERTY = settings(deadline=None)

S = timedelta(seconds=1)
DEFAULT = RetryPolicy()  # 10 attempts, 5s backoff, 1h cap


class _HighestJitter(random.Random):
    """A random source that always picks the top of the range: the delay is the full base."""

    def uniform(self, a: float, b: float) -> float:
        return b


class _LowestJitter(random.Random):
    """A random source that always picks the bottom of the range: the delay is half the base."""

    def uniform(self, a: float, b: float) -> float:
        return a


class TestPolicy:
    def test_defaults(self) -> None:
        """The default policy: 10 attempts, 5s backoff, capped at 1h."""
        assert (DEFAULT.max_attempts, DEFAULT.backoff, DEFAULT.max_backoff) == (
            10,
            5 * S,
            timedelta(hours=1),
        )

    def test_parses_yaml_spellings(self) -> None:
        """Durations are accepted as written in YAML."""
        policy = RetryPolicy.model_validate(
            {"max_attempts": 3, "backoff": "500ms", "max_backoff": "2m"}
        )

        assert policy == RetryPolicy(
            max_attempts=3, backoff=timedelta(milliseconds=500), max_backoff=timedelta(minutes=2)
        )

    @pytest.mark.parametrize(
        "data",
        [
            {"max_attempts": 0},  # at least one attempt
            {"max_attempts": 1001},  # bounded
            {"backoff": "soon"},  # not a duration
            {"tries": 3},  # unknown key
        ],
    )
    def test_invalid(self, data: dict[str, object]) -> None:
        """Out-of-range values and unknown keys fail validation."""
        with pytest.raises(ValidationError):
            RetryPolicy.model_validate(data)


class TestExponentialBackoff:
    @pytest.mark.parametrize(
        ("policy", "attempt", "expected"),
        [
            (DEFAULT, 1, 5 * S),  # 5s * 2**0 = 5s
            (DEFAULT, 2, 10 * S),  # 5s * 2**1 = 10s
            (DEFAULT, 3, 20 * S),  # 5s * 2**2 = 20s
            (DEFAULT, 4, 40 * S),  # 5s * 2**3 = 40s
            (DEFAULT, 9, 1280 * S),  # 5s * 2**8 = 1280s, still under the 1h cap
            (RetryPolicy(max_attempts=20), 10, 2560 * S),  # 5s * 2**9 = 2560s
            (RetryPolicy(max_attempts=20), 11, 3600 * S),  # 5s * 2**10 = 5120s, capped at 1h
            (RetryPolicy(max_attempts=1000), 999, 3600 * S),  # huge exponents stay capped
            (RetryPolicy(backoff=timedelta(milliseconds=500)), 3, 2 * S),  # 0.5s * 2**2 = 2s
            (RetryPolicy(backoff=S, max_backoff=S), 5, S),  # 1s * 2**4 = 16s, capped at 1s
            (RetryPolicy(backoff=2 * S, max_backoff=S), 1, S),  # backoff above the cap: the cap
            (RetryPolicy(backoff=timedelta(0)), 3, timedelta(0)),  # zero backoff: no wait
        ],
    )
    def test_upper_bound(self, policy: RetryPolicy, attempt: int, expected: timedelta) -> None:
        """The delay's upper bound doubles per attempt from `backoff`, up to `max_backoff`."""
        assert policy.delay(attempt, rng=_HighestJitter()) == expected

    @pytest.mark.parametrize(
        ("attempt", "expected"),
        [
            (1, 2.5 * S),  # half of 5s
            (3, 10 * S),  # half of 20s
            (20, 1800 * S),  # half of the 1h cap
        ],
    )
    def test_lower_bound_is_half(self, attempt: int, expected: timedelta) -> None:
        """Equal jitter never waits less than half the exponential delay."""
        policy = RetryPolicy(max_attempts=50)

        assert policy.delay(attempt, rng=_LowestJitter()) == expected


class TestJitter:
    @pytest.mark.parametrize("seed", [0, 1, 42, 2024])
    def test_within_equal_jitter_bounds(self, seed: int) -> None:
        """With real randomness each delay lies in [base/2, base]."""
        rng = random.Random(seed)
        policy = RetryPolicy(max_attempts=20)

        for attempt in range(1, 20):
            base = min(5 * 2 ** (attempt - 1), 3600) * S
            delay = policy.delay(attempt, rng=rng)
            assert delay is not None
            assert base / 2 <= delay <= base

    def test_seeded_rng_is_deterministic(self) -> None:
        """The same seed gives the same delays."""
        first = [DEFAULT.delay(n, rng=random.Random(7)) for n in range(1, 10)]
        second = [DEFAULT.delay(n, rng=random.Random(7)) for n in range(1, 10)]

        assert first == second

    def test_delays_spread_out(self) -> None:
        """Retries from a burst do not all pick the same delay."""
        rng = random.Random(3)

        delays = {DEFAULT.delay(1, rng=rng) for _ in range(20)}

        assert len(delays) > 1

    def test_default_rng(self) -> None:
        """Without an rng the module's random source is used, within the same bounds."""
        delay = DEFAULT.delay(2)

        assert delay is not None
        assert 5 * S <= delay <= 10 * S


class TestGivingUp:
    @pytest.mark.parametrize(
        ("max_attempts", "attempt", "gives_up"),
        [
            (3, 1, False),  # two attempts left
            (3, 2, False),  # one attempt left
            (3, 3, True),  # the last attempt failed
            (3, 4, True),  # past the end (e.g. the policy was lowered)
            (1, 1, True),  # a single attempt: no retry at all
            (1000, 999, False),  # the largest policy still retries before its end
        ],
    )
    def test_none_once_attempts_reach_max(
        self, max_attempts: int, attempt: int, gives_up: bool
    ) -> None:
        """After attempt number `max_attempts` there is no next delay."""
        policy = RetryPolicy(max_attempts=max_attempts)

        assert (policy.delay(attempt, rng=random.Random(0)) is None) is gives_up

    def test_retry_after_does_not_extend_attempts(self) -> None:
        """A provider's retry_after does not buy attempts beyond the policy."""
        assert RetryPolicy(max_attempts=2).delay(2, retry_after=S) is None


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("attempt", "retry_after", "expected"),
        [
            (1, 30 * S, 30 * S),  # longer than the 5s backoff: obeyed
            (5, 10 * S, 10 * S),  # shorter than the 80s backoff of attempt 5: obeyed exactly
            (1, timedelta(hours=3), timedelta(hours=3)),  # beyond max_backoff: still obeyed
            (1, timedelta(milliseconds=1500), 5 * S),  # sooner than `backoff`: backoff
            (1, timedelta(0), 5 * S),  # "retry now" must not burn the attempts in a burst
            (1, -5 * S, 5 * S),  # a date in the past: likewise
        ],
    )
    def test_retry_after_wins_exactly(
        self, attempt: int, retry_after: timedelta, expected: timedelta
    ) -> None:
        """A provider's Retry-After sets the delay exactly, without jitter, but never
        sooner than the policy's `backoff` (nor later than a day)."""
        delay = DEFAULT.delay(attempt, retry_after=retry_after, rng=random.Random(1))

        assert delay == expected


durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))


class TestProperties:
    @PROPERTY
    @given(
        backoff=durations,
        max_backoff=durations,
        max_attempts=st.integers(min_value=1, max_value=1000),
        attempt=st.integers(min_value=1, max_value=1100),
        seed=st.integers(),
    )
    def test_delay_within_zero_and_max_backoff(
        self,
        backoff: timedelta,
        max_backoff: timedelta,
        max_attempts: int,
        attempt: int,
        seed: int,
    ) -> None:
        """Without retry_after, a delay is None or lies in [0, max_backoff]."""
        policy = RetryPolicy(max_attempts=max_attempts, backoff=backoff, max_backoff=max_backoff)

        delay = policy.delay(attempt, rng=random.Random(seed))

        if attempt >= max_attempts:
            assert delay is None
        else:
            assert delay is not None
            assert timedelta(0) <= delay <= max_backoff


class TestRetryAfterCeiling:
    def test_a_huge_retry_after_is_capped_at_a_day(self):
        """The provider's word is obeyed up to a day (or max_backoff when that is longer)."""
        from datetime import timedelta

        from hookline.deliver.retry import RetryPolicy

        policy = RetryPolicy(max_attempts=5)
        assert policy.delay(1, retry_after=timedelta(days=9999)) == timedelta(days=1)
        long = RetryPolicy(max_attempts=5, max_backoff=timedelta(days=3))
        assert long.delay(1, retry_after=timedelta(days=9999)) == timedelta(days=3)
        assert policy.delay(1, retry_after=timedelta(seconds=20)) == timedelta(seconds=20)

    def test_header_values_beyond_reason_do_not_overflow(self):
        """A Retry-After header of absurd size parses to a bounded duration."""
        from hookline.actions.base import parse_retry_after

        assert parse_retry_after("9" * 40) is not None
