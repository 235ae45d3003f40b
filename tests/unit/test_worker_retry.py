"""In-process retries of transient failures: bounded backoff, only for retriable failures."""

from __future__ import annotations

import itertools
import random

import pytest

from eventreplay.worker.contract.exit_codes import Fenced, PermanentFailure, RetriableFailure
from eventreplay.worker.runtime.retry import delays, waits, with_retries


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_up_to_a_cap_and_stays_within_the_budget() -> None:
    assert delays(0) == []
    assert delays(3) == [1, 2]
    assert delays(120) == [1, 2, 4, 8, 15, 15, 15, 15, 15, 15, 15]
    assert sum(delays(180)) <= 180


def test_a_minute_long_outage_is_outlived() -> None:
    clock = Clock()
    calls: list[float] = []

    def attempt() -> str:
        calls.append(clock.now)
        if clock.now < 60:  # the broker is back after a minute
            raise RetriableFailure("cannot reach Kafka")
        return "done"

    assert with_retries(attempt, 180, "replay", sleep=clock.sleep, clock=clock) == "done"
    assert len(calls) > 2 and calls[-1] >= 60


def test_the_last_retriable_failure_is_raised_once_the_budget_is_spent() -> None:
    clock = Clock()

    def attempt() -> None:
        clock.now += 10  # each attempt itself takes time (client timeouts)
        raise RetriableFailure("still down")

    with pytest.raises(RetriableFailure, match="still down"):
        with_retries(attempt, 60, "replay", sleep=clock.sleep, clock=clock)
    assert clock.now <= 60 + 10


@pytest.mark.parametrize("failure", [PermanentFailure("bad task"), Fenced("newer worker")])
def test_permanent_and_fenced_failures_are_never_retried(failure: Exception) -> None:
    clock, calls = Clock(), []

    def attempt() -> None:
        calls.append(1)
        raise failure

    with pytest.raises(type(failure)):
        with_retries(attempt, 180, "replay", sleep=clock.sleep, clock=clock)
    assert calls == [1] and clock.slept == []


def test_waits_are_jittered_below_each_step_and_differ_between_workers() -> None:
    steps = [*delays(120), 15.0, 15.0]
    first = list(itertools.islice(waits(120, random.Random(1)), len(steps)))
    second = list(itertools.islice(waits(120, random.Random(2)), len(steps)))
    assert first != second  # two workers failed by the same outage do not come back in lock-step
    for drawn in (first, second):
        assert all(0 <= wait <= step for wait, step in zip(drawn, steps, strict=True))
    assert first == list(itertools.islice(waits(120, random.Random(1)), len(steps)))  # the source decides


def test_jittered_retries_still_stop_at_the_budget() -> None:
    clock = Clock()
    calls: list[float] = []

    def attempt() -> None:
        calls.append(clock.now)
        raise RetriableFailure("down")

    with pytest.raises(RetriableFailure):
        with_retries(attempt, 100, "replay", sleep=clock.sleep, clock=clock, rng=random.Random(7))
    assert clock.now <= 100 and all(0 <= s <= 15 for s in clock.slept)
    assert len(calls) == len(clock.slept) + 1 and len(calls) > len(delays(100))  # jitter leaves room for more tries
