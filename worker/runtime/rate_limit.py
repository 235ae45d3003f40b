"""A token bucket: at most `per_second` actions a second, in bursts of at most `burst`.

Tokens accrue at `per_second` up to `burst`; an action takes one and waits while none is left. Over
any window of T seconds at most `burst + per_second * T` actions pass, so over any 1 s window the
rate is exceeded by at most one burst. An empty bucket waits until it is full again (one sleep
per burst, not one per action: a high rate would otherwise sleep thousands of times a second).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

_ROUNDING = 1e-9  # a refill that should give a whole token may give a hair less

BURST_SECONDS = 0.1
"""A burst is this long at the capped rate (at least one action, at most a read batch)."""


def burst_for(per_second: float, batch: int) -> int:
    """The burst of a rate: a tenth of a second's actions, at least one, at most one batch."""
    return max(1, min(batch, math.ceil(per_second * BURST_SECONDS)))


class TokenBucket:
    def __init__(
        self,
        per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs a positive rate and burst, not {per_second}/s, {burst}")
        self.per_second, self.burst = per_second, burst
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._at = clock()
        self.waited = 0.0
        """Seconds spent waiting for tokens, in all."""

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.per_second)
        self._at = now

    def take(self) -> None:
        """One action's token, waiting (for the bucket to fill up again) while none is left."""
        self._refill()
        while self._tokens < 1.0 - _ROUNDING:
            pause = (self.burst - self._tokens) / self.per_second
            self._sleep(pause)
            self.waited += pause
            self._refill()
        self._tokens -= 1.0
