"""When to try a delivery again: exponential backoff with jitter, bounded attempts.

The provider's own word wins: a `Retry-After` header or Telegram's `retry_after` sets the
earliest next attempt (never sooner), whatever the backoff says.
"""

from __future__ import annotations

import random
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from hookline.config.types import Duration

# A remote server must not park a delivery for years (or overflow the clock) by answering
# `Retry-After: 999999999999`; longer requests are capped and the next try may be refused again.
RETRY_AFTER_CEILING = timedelta(days=1)
MAX_RETRY_AFTER_SECONDS = 10**8  # what a header may say before it is read as a number at all


class RetryPolicy(BaseModel):
    """`retry: {max_attempts: 10, backoff: 5s, max_backoff: 1h}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=10, ge=1, le=1000)
    backoff: Duration = timedelta(seconds=5)
    max_backoff: Duration = timedelta(hours=1)

    def delay(
        self,
        attempt: int,
        *,
        retry_after: timedelta | None = None,
        rng: random.Random | None = None,
    ) -> timedelta | None:
        """How long to wait after failed attempt number `attempt` (1-based); None: give up.

        The backoff doubles per attempt up to `max_backoff`; "equal jitter" picks a point in
        its upper half so retries from a burst spread out but never come early.
        """
        if attempt >= self.max_attempts:
            return None
        base = min(
            self.backoff.total_seconds() * 2 ** min(attempt - 1, 62),
            self.max_backoff.total_seconds(),
        )
        jittered = base / 2 + (rng or random).uniform(0, base / 2)
        if retry_after is not None:
            # Obeyed, within reason: never sooner than `backoff` (a `Retry-After: 0` or a date
            # already past must not burn every attempt within a second), never later than a
            # day, or max_backoff if longer.
            ceiling = max(self.max_backoff, RETRY_AFTER_CEILING)
            return min(max(retry_after, self.backoff), ceiling)
        return timedelta(seconds=jittered)
