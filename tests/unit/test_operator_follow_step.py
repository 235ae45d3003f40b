"""Following a step Job (`follow_step_job`), as a table: the combine and reconciliation steps share
one decision and differ only in their words."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from eventreplay.operator.conditions import RECONCILED
from eventreplay.operator.job_state import JobState, JobView
from eventreplay.operator.steps.combine import COMBINE, decide_combine
from eventreplay.operator.steps.follow import StepWords, follow_step_job
from eventreplay.operator.steps.reconciliation import RECONCILIATION


class Seen(NamedTuple):
    job: JobView | None
    retry: int = 0
    failure: str = ""
    unavailable: str = ""


class Wanted(NamedTuple):
    create: str | None
    attempt: int
    ready: str
    """The Ready reason; Stalled when it names a failure or a missing output."""
    reconciled: str
    message: str
    """A part of the Ready message."""


def job(state: JobState, attempt: int = 0, message: str = "") -> JobView:
    return JobView("r-step", None, attempt, state, message, "reconcile")


FAILED = "reconciliation Job r-step failed: BackoffLimitExceeded; bump spec.retry to retry"
COMBINE_GONE = "combine Job r-step succeeded but its summary is gone from Redis (expired?)"
REPORT_GONE = "reconciliation Job r-step succeeded but its report is gone from Redis (expired?)"


@pytest.mark.parametrize(
    ("words", "seen", "wanted"),
    [
        (COMBINE, Seen(None), Wanted("combine", 0, "Combining", "Combining", "combine Job started")),
        (RECONCILIATION, Seen(None, 2), Wanted("reconcile", 0, "Reconciling", "Reconciling", "Job started")),
        (COMBINE, Seen(job("Failed", 0), 1), Wanted("combine", 1, "Combining", "Combining", "combine retried")),
        (RECONCILIATION, Seen(job("Failed", 1), 2), Wanted("reconcile", 2, "Reconciling", "Reconciling", "retried")),
        (COMBINE, Seen(job("Failed", 1), 1, "boom"), Wanted(None, 0, "CombineFailed", "CombineFailed", "failed: boom")),
        (
            RECONCILIATION,
            Seen(job("Failed", 0, "BackoffLimitExceeded")),
            Wanted(None, 0, "ReconciliationFailed", "Failed", FAILED),
        ),
        (RECONCILIATION, Seen(job("Failed")), Wanted(None, 0, "ReconciliationFailed", "Failed", "failed: no message")),
        (
            COMBINE,
            Seen(job("Succeeded"), unavailable="down"),
            Wanted(None, 0, "RedisUnavailable", "Combining", "cannot read the combined results yet: down"),
        ),
        (
            RECONCILIATION,
            Seen(job("Succeeded"), unavailable="down"),
            Wanted(None, 0, "RedisUnavailable", "Reconciling", "cannot read the report yet: down"),
        ),
        (COMBINE, Seen(job("Succeeded")), Wanted(None, 0, "CombineSummaryMissing", "SummaryMissing", COMBINE_GONE)),
        (RECONCILIATION, Seen(job("Succeeded")), Wanted(None, 0, "ReportMissing", "ReportMissing", REPORT_GONE)),
        (COMBINE, Seen(job("Running")), Wanted(None, 0, "Combining", "Combining", "combine Job r-step running")),
        (RECONCILIATION, Seen(job("Suspended")), Wanted(None, 0, "Reconciling", "Reconciling", "Job r-step running")),
    ],
)
def test_a_step_job_is_started_followed_retried_or_given_up(words: StepWords, seen: Seen, wanted: Wanted) -> None:
    decision = follow_step_job(words, seen.retry, seen.job, seen.failure, seen.unavailable)
    assert (decision.create, decision.attempt) == (wanted.create, wanted.attempt)
    by_type = {w.type: w for w in decision.wants}
    assert by_type["Ready"].reason == wanted.ready and wanted.message in by_type["Ready"].message
    assert (by_type[RECONCILED].status, by_type[RECONCILED].reason) == ("False", wanted.reconciled)
    stalled = wanted.ready.endswith(("Failed", "Missing"))
    assert by_type["Stalled"].status == ("True" if stalled else "False")


def test_the_combine_step_is_the_shared_shape() -> None:
    assert decide_combine(1, job("Failed", 0), "", "") == follow_step_job(COMBINE, 1, job("Failed", 0), "", "")
