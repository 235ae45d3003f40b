"""The operator's handler retries are spread out: replays failed by one outage come back apart."""

from __future__ import annotations

import random

from eventreplay.operator.handlers import retry_delay


def test_retry_delays_stay_within_one_to_two_times_the_base_and_differ() -> None:
    drawn = [retry_delay(5, random.Random(seed)) for seed in range(50)]
    assert all(5 <= d < 10 for d in drawn)
    assert len(set(drawn)) == len(drawn)
    assert retry_delay(5, random.Random(3)) == retry_delay(5, random.Random(3))
