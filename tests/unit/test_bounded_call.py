"""A client call with a deadline of our own (`worker/runtime/bounded.py`)."""

from __future__ import annotations

import threading

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
