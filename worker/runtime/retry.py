"""Transient failures retried in-process, with a bounded exponential backoff, before the Job gives up.

A broker roll or a Redis restart takes tens of seconds. Exiting on the first error spends the Job's
backoffLimit (and its pods' start-up) on an outage that a short wait would have outlived. Only a
`RetriableFailure` is retried here; each attempt starts from scratch (new clients, the last committed
transaction), which is what the exactly-once loop already does after a crash. A permanent or fenced
failure ends the process at once; once the budget is spent the last retriable failure is raised,
loudly, and the Job's own retries take over.

Each wait is drawn at random below its step of the backoff ("full jitter"): a broker restart fails
every worker at the same instant, and a thousand workers on the same schedule would all come back
in the same second, again and again. Attempts go on, at most `MAX_DELAY_SECONDS` apart, until the
budget is spent.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from ..contract.exit_codes import RetriableFailure

log = logging.getLogger("eventreplay.worker")
R = TypeVar("R")

FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 15.0


def delays(budget_seconds: float) -> list[float]:
    """The backoff's steps: 1, 2, 4, 8, 15, 15, ... seconds, summing to at most the budget (each
    wait is drawn below its step, see `waits`)."""
    out: list[float] = []
    delay, total = FIRST_DELAY_SECONDS, 0.0
    while total + delay <= budget_seconds:
        out.append(delay)
        total += delay
        delay = min(delay * 2, MAX_DELAY_SECONDS)
    return out


def waits(budget_seconds: float, rng: random.Random) -> Iterator[float]:
    """Full jitter: each wait uniform in [0, step], the steps of `delays`, then the cap for ever
    (`with_retries` stops at the budget)."""
    steps = itertools.chain(delays(budget_seconds), itertools.repeat(MAX_DELAY_SECONDS))
    return (rng.uniform(0, step) for step in steps)


def with_retries(
    attempt: Callable[[], R],
    budget_seconds: float,
    what: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> R:
    """`attempt()` until it returns, a non-retriable failure, or `budget_seconds` of waiting and trying.

    `rng` draws the jitter; by default one seeded from the OS, so no two workers share a schedule."""
    began = clock()
    pauses = waits(budget_seconds, rng or random.Random())
    tries = 0
    while True:
        tries += 1
        try:
            return attempt()
        except RetriableFailure as err:
            delay = next(pauses)
            if clock() - began + delay > budget_seconds:
                log.error("%s: giving up after %d attempt(s) in %.0fs: %s", what, tries, clock() - began, err)
                raise
            log.warning("%s: attempt %d failed (%s); retrying in %.1fs", what, tries, err, delay)
            sleep(delay)
