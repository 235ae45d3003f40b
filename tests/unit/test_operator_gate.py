"""The promotion gate and the post-replay steps, as pure functions (no cluster)."""

from __future__ import annotations

from typing import Any

import pytest
from operator_fixtures import spec

from eventreplay.operator.api.v1alpha1 import Promotion, PromotionStatus, ReconciliationStatus, Totals
from eventreplay.operator.job_state import JobView, newest_step, read_jobs
from eventreplay.operator.steps import post_replay
from eventreplay.operator.steps.facts import Decision, Facts
from eventreplay.operator.steps.gate import decide

HASH = "ab" * 32
REPORT = ReconciliationStatus(report_hash=HASH, unchanged=80, changed=10, missing=10, extra=3, replayed_ids=100)
TOTALS = Totals(records=200, read=200, emitted=190, dead_lettered=10, dead_letter_reasons={"schema": 8, "conflict": 2})


def test_manual_opens_only_on_the_exact_current_hash() -> None:
    assert decide(Promotion(policy="Manual", approved_report_hash=HASH), REPORT, TOTALS).open
    closed = decide(Promotion(policy="Manual"), REPORT, TOTALS)
    assert (closed.open, closed.reason) == (False, "AwaitingApproval") and HASH in closed.message
    stale = decide(Promotion(policy="Manual", approved_report_hash="cd" * 32), REPORT, TOTALS)
    assert stale.reason == "AwaitingApproval" and "cd" * 32 in stale.message and HASH in stale.message
    prefix = decide(Promotion(policy="Manual", approved_report_hash=HASH[:16]), REPORT, TOTALS)
    assert not prefix.open, "a prefix does not name the report"


def test_never_stays_closed() -> None:
    assert decide(Promotion(policy="Never"), REPORT, TOTALS).reason == "PolicyNever"


@pytest.mark.parametrize(
    ("thresholds", "named"),
    [
        ({"maxInvalidRatio": 0.01, "allowConflicts": True}, ["invalid ratio 0.0500 (10/200 dead-lettered)"]),
        ({"maxInvalidRatio": 1, "maxChangedRatio": 0.05, "allowConflicts": True}, ["changed ratio 0.1000 (10/100"]),
        ({"maxInvalidRatio": 1, "maxMissingRatio": 0.0, "allowConflicts": True}, ["maxMissingRatio 0"]),
        ({"maxInvalidRatio": 1}, ["2 conflicting event(s)"]),
        ({"maxInvalidRatio": 1, "maxChangedRatio": 0.1, "maxMissingRatio": 0.1, "allowConflicts": True}, []),
    ],
)
def test_automatic_names_each_exceeded_threshold_with_figures(thresholds: dict[str, Any], named: list[str]) -> None:
    gate = decide(Promotion.model_validate({"policy": "Automatic", "thresholds": thresholds}), REPORT, TOTALS)
    if not named:
        assert gate.open and gate.reason == "ThresholdsHeld"
        return
    assert gate.reason == "ThresholdExceeded" and not gate.open
    for text in named:
        assert text in gate.message, gate.message


def test_automatic_judges_only_totals_covering_the_whole_plan() -> None:
    automatic = Promotion.model_validate({"policy": "Automatic", "thresholds": {"maxInvalidRatio": 1}})
    short = TOTALS.model_copy(update={"records": 260})
    gate = decide(automatic, REPORT, short)
    assert (gate.open, gate.reason) == (False, "IncompleteTotals")
    assert "200 records read of the plan's 260" in gate.message
    assert decide(Promotion(policy="Manual", approved_report_hash=HASH), REPORT, short).open, "a person may judge"


AUTOMATIC = Promotion.model_validate(
    {
        "policy": "Automatic",
        "thresholds": {"maxInvalidRatio": 1, "maxChangedRatio": 1, "maxMissingRatio": 1, "allowConflicts": True},
    }
)


@pytest.mark.parametrize(
    ("records", "read", "skipped", "reason"),
    [
        (200, 200, 0, "ThresholdsHeld"),  # every offset a record
        (230, 200, 30, "ThresholdsHeld"),  # transaction markers, aborted or compacted-away records
        (260, 200, 30, "IncompleteTotals"),  # 30 offsets never reached
        (230, 200, 0, "IncompleteTotals"),  # a worker from before skippedOffsets: still judged closed
        (200, 200, 5, "IncompleteTotals"),  # more than the plan: something is miscounted
    ],
)
def test_automatic_judges_records_read_plus_offsets_holding_none(
    records: int, read: int, skipped: int, reason: str
) -> None:
    totals = TOTALS.model_copy(update={"records": records, "read": read, "skipped_offsets": skipped})
    gate = decide(AUTOMATIC, REPORT, totals)
    assert gate.reason == reason, gate.message
    if reason == "IncompleteTotals":
        assert f"{read} records read of the plan's {records} offsets and {skipped} offsets holding none" in gate.message


def facts(policy: dict[str, Any], **kw: Any) -> Facts:
    base: dict[str, Any] = {
        "spec": spec(promotion=policy),
        "totals": TOTALS,
        "reconciliation": None,
        "promotion": None,
        "reconcile_job": None,
        "promote_job": None,
    }
    return Facts(**{**base, **kw})


def by_type(decision: Decision) -> dict[str, tuple[str, str]]:
    return {w.type: (w.status, w.reason) for w in decision.wants}


def job(step: Any, state: Any, attempt: int = 0) -> JobView:
    return JobView(f"r-{step}", None, attempt, state, "BackoffLimitExceeded", step, HASH if step == "promote" else "")


def test_the_steps_reconcile_first_and_reports_progress() -> None:
    first = post_replay.decide(facts({"policy": "Manual"}))
    assert (first.create, by_type(first)["Reconciling"]) == ("reconcile", ("True", "Reconciling"))
    running = post_replay.decide(facts({"policy": "Manual"}, reconcile_job=job("reconcile", "Running")))
    assert running.create is None and by_type(running)["Ready"] == ("False", "Reconciling")


def test_a_failed_reconciliation_stalls_with_the_workers_message_until_retry() -> None:
    failed = job("reconcile", "Failed")
    stalled = post_replay.decide(
        facts({"policy": "Manual"}, reconcile_job=failed, failure="permanent: topic 'x' missing")
    )
    assert by_type(stalled)["Stalled"] == ("True", "ReconciliationFailed") and stalled.create is None
    assert "topic 'x' missing" in next(w.message for w in stalled.wants if w.type == "Stalled")
    retried = post_replay.decide(facts({"policy": "Manual"}, spec=spec(retry=1), reconcile_job=failed))
    assert (retried.create, retried.attempt) == ("reconcile", 1)


def test_the_gate_decides_whether_a_promotion_job_is_created() -> None:
    waiting = post_replay.decide(facts({"policy": "Manual"}, reconciliation=REPORT))
    assert waiting.create is None
    assert by_type(waiting) | {} == {
        "Ready": ("False", "AwaitingApproval"),
        "Reconciling": ("False", "AwaitingApproval"),
        "Stalled": ("False", "AwaitingApproval"),
        "Reconciled": ("True", "Reconciled"),
        "Promoted": ("False", "AwaitingApproval"),
    }
    approved = post_replay.decide(facts({"policy": "Manual", "approvedReportHash": HASH}, reconciliation=REPORT))
    assert approved.create == "promote" and by_type(approved)["Promoted"] == ("False", "Promoting")
    never = post_replay.decide(facts({"policy": "Never"}, reconciliation=REPORT))
    assert never.create is None and by_type(never)["Ready"] == ("True", "Reconciled")


def test_a_recorded_promotion_is_final_and_creates_nothing() -> None:
    done = PromotionStatus(report_hash=HASH, written=20, completed_at="2026-11-20T12:00:00Z", sha256="0" * 64)
    final = post_replay.decide(
        facts({"policy": "Manual", "approvedReportHash": HASH}, reconciliation=REPORT, promotion=done)
    )
    assert final.create is None
    assert by_type(final)["Ready"] == ("True", "Promoted") and by_type(final)["Promoted"] == ("True", "Promoted")


def test_a_running_or_failed_promotion_is_tracked_even_if_the_approval_is_withdrawn() -> None:
    running = post_replay.decide(
        facts({"policy": "Manual"}, reconciliation=REPORT, promote_job=job("promote", "Running"))
    )
    assert running.create is None and by_type(running)["Reconciling"] == ("True", "Promoting")
    failed = post_replay.decide(
        facts({"policy": "Manual"}, reconciliation=REPORT, promote_job=job("promote", "Failed"))
    )
    assert by_type(failed)["Stalled"] == ("True", "PromotionFailed") and failed.create is None


def test_read_jobs_reads_step_labels_state_and_report_hash() -> None:
    raw = {
        "metadata": {
            "name": "r-promote-abab",
            "labels": {"eventreplay.io/step": "promote", "eventreplay.io/attempt": "2"},
            "annotations": {"eventreplay.io/report-hash": HASH},
        },
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    partition_job = {"metadata": {"name": "r-0", "labels": {"eventreplay.io/partition": "0"}}}
    (seen,) = [view for view in read_jobs([raw, partition_job]) if view.step is not None]
    assert (seen.step, seen.attempt, seen.state, seen.report_hash) == ("promote", 2, "Succeeded", HASH)
    assert newest_step([seen], "promote", HASH) == seen and newest_step([seen], "promote", "x") is None
