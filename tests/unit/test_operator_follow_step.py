"""Following a step Job (`follow_step_job`), as a table: the combine and reconciliation steps share
one decision and differ only in their words."""

from __future__ import annotations

import pytest

from eventreplay.operator.conditions import RECONCILED
from eventreplay.operator.job_state import JobState, JobView
from eventreplay.operator.steps.combine import COMBINE, decide_combine
from eventreplay.operator.steps.follow import StepWords, follow_step_job
from eventreplay.operator.steps.reconciliation import RECONCILIATION


def job(state: JobState, attempt: int = 0, message: str = "") -> JobView:
    return JobView("r-step", None, attempt, state, message, "reconcile")


@pytest.mark.parametrize(
    ("words", "seen", "retry", "failure", "unavailable", "create", "attempt", "ready", "reconciled", "message"),
    [
        (COMBINE, None, 0, "", "", "combine", 0, "Combining", "Combining", "combine Job started"),
        (RECONCILIATION, None, 2, "", "", "reconcile", 0, "Reconciling", "Reconciling", "reconciliation Job started"),
        (COMBINE, job("Failed", 0), 1, "", "", "combine", 1, "Combining", "Combining", "combine retried"),
        (RECONCILIATION, job("Failed", 1), 2, "", "", "reconcile", 2, "Reconciling", "Reconciling", "retried"),
        (
            COMBINE,
            job("Failed", 1),
            1,
            "boom",
            "",
            None,
            0,
            "CombineFailed",
            "CombineFailed",
            "Job r-step failed: boom",
        ),
        (
            RECONCILIATION,
            job("Failed", 0, "BackoffLimitExceeded"),
            0,
            "",
            "",
            None,
            0,
            "ReconciliationFailed",
            "Failed",
            "reconciliation Job r-step failed: BackoffLimitExceeded; bump spec.retry to retry",
        ),
        (RECONCILIATION, job("Failed"), 0, "", "", None, 0, "ReconciliationFailed", "Failed", "failed: no message"),
        (
            COMBINE,
            job("Succeeded"),
            0,
            "",
            "down",
            None,
            0,
            "RedisUnavailable",
            "Combining",
            "cannot read the combined results yet: down",
        ),
        (
            RECONCILIATION,
            job("Succeeded"),
            0,
            "",
            "down",
            None,
            0,
            "RedisUnavailable",
            "Reconciling",
            "cannot read the report yet: down",
        ),
        (
            COMBINE,
            job("Succeeded"),
            0,
            "",
            "",
            None,
            0,
            "CombineSummaryMissing",
            "SummaryMissing",
            "combine Job r-step succeeded but its summary is gone from Redis (expired?)",
        ),
        (
            RECONCILIATION,
            job("Succeeded"),
            0,
            "",
            "",
            None,
            0,
            "ReportMissing",
            "ReportMissing",
            "reconciliation Job r-step succeeded but its report is gone from Redis (expired?)",
        ),
        (COMBINE, job("Running"), 0, "", "", None, 0, "Combining", "Combining", "combine Job r-step running"),
        (RECONCILIATION, job("Suspended"), 0, "", "", None, 0, "Reconciling", "Reconciling", "Job r-step running"),
    ],
)
def test_a_step_job_is_started_followed_retried_or_given_up(
    words: StepWords,
    seen: JobView | None,
    retry: int,
    failure: str,
    unavailable: str,
    create: str | None,
    attempt: int,
    ready: str,
    reconciled: str,
    message: str,
) -> None:
    decision = follow_step_job(words, retry, seen, failure, unavailable)
    assert (decision.create, decision.attempt) == (create, attempt)
    by_type = {w.type: w for w in decision.wants}
    assert by_type["Ready"].reason == ready and message in by_type["Ready"].message
    assert (by_type[RECONCILED].status, by_type[RECONCILED].reason) == ("False", reconciled)
    stalled = ready.endswith(("Failed", "Missing"))
    assert by_type["Stalled"].status == ("True" if stalled else "False")


def test_the_combine_step_is_the_shared_shape() -> None:
    assert decide_combine(1, job("Failed", 0), "", "") == follow_step_job(COMBINE, 1, job("Failed", 0), "", "")
