"""A client call with a deadline of our own (`worker/runtime/bounded.py`)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from eventreplay.worker.contract.exit_codes import RetriableFailure
from eventreplay.worker.runtime.bounded import call_within


def test_a_call_that_returns_in_time_is_done() -> None:
    seen: list[int] = []
    call_within(lambda: seen.append(1), 5, "quick")
    assert seen == [1]


def test_what_the_call_raises_reaches_the_caller() -> None:
    def fails() -> None:
        raise KeyError("from the client")

    with pytest.raises(KeyError, match="from the client"):
        call_within(fails, 5, "failing")


def test_a_call_blocked_past_the_deadline_fails_retriable_and_is_left_behind() -> None:
    release = threading.Event()
    try:
        with pytest.raises(RetriableFailure, match=r"stuck commit: no answer within 0s .* fence this one"):
            call_within(lambda: release.wait(30) and None, 0.2, "stuck commit")
    finally:
        release.set()


def test_work_meanwhile_runs_while_the_call_does_and_stops_when_it_returns() -> None:
    release = threading.Event()
    rounds: list[bool] = []

    def meanwhile(returned: Any) -> None:
        while not returned():
            rounds.append(returned())
            if len(rounds) == 3:
                release.set()  # the call can return only once work has been done alongside it
            time.sleep(0.01)

    call_within(lambda: release.wait(5) and None, 5, "commit", meanwhile)
    assert len(rounds) >= 3 and not any(rounds)


def test_the_calls_failure_comes_first_then_the_work_meanwhile() -> None:
    def fails() -> None:
        time.sleep(0.05)
        raise KeyError("commit refused")

    def broken(returned: Any) -> None:
        raise ValueError("ledger down")

    with pytest.raises(KeyError, match="commit refused"):
        call_within(fails, 5, "commit", broken)
    done: list[int] = []
    with pytest.raises(ValueError, match="ledger down"):  # raised only after the call returned
        call_within(lambda: time.sleep(0.1) or done.append(1), 5, "commit", broken)
    assert done == [1]


def test_the_deadline_counts_the_work_meanwhile() -> None:
    release = threading.Event()
    try:
        with pytest.raises(RetriableFailure, match="no answer within"):
            call_within(lambda: release.wait(30) and None, 0.3, "stuck commit", lambda returned: time.sleep(0.2))
    finally:
        release.set()
