"""The controller pass in-process, after the replay: the reconciliation Job and its report, the gate
(Manual, Automatic, Never), the promotion Job once per report, retries, and the final Ready.
"""

from __future__ import annotations

from operator_fakes import NOW, PROMOTE, REPORT_HASH, reconciled, replayed

from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.operator.events import Event
from eventreplay.operator.planner import format_time


def test_all_partitions_done_starts_the_reconciliation_job_once() -> None:
    world = replayed()
    world.sync()
    assert world.kube.created[-1] == "r-reconcile" and world.status["reconciliation"]["job"] == "r-reconcile"
    assert world.kstatus() == ("False", "True", "False", "Reconciling")
    assert world.condition("Replayed") == ("True", "Replayed")
    world.sync()
    assert world.kube.created.count("r-reconcile") == 1


def test_the_report_is_recorded_and_the_manual_gate_stays_closed() -> None:
    world = reconciled(promotion={"policy": "Manual"})
    world.sync()
    rec = world.status["reconciliation"]
    assert (rec["reportHash"], rec["changed"], rec["missing"], rec["job"]) == (REPORT_HASH, 10, 10, "r-reconcile")
    assert world.condition("Reconciled") == ("True", "Reconciled")
    assert world.kstatus() == ("False", "False", "False", "AwaitingApproval")
    assert not any(name.startswith("r-promote") for name in world.kube.jobs)
    world.checkpoints.keys.clear()  # the report expires: status is the record
    world.sync()
    assert world.status["reconciliation"]["reportHash"] == REPORT_HASH


def test_manual_opens_only_on_the_matching_hash_and_promotes_once() -> None:
    world = reconciled(promotion={"policy": "Manual", "approvedReportHash": "cd" * 32})
    world.sync()
    assert world.condition("Promoted") == ("False", "AwaitingApproval") and PROMOTE not in world.kube.jobs
    world.edit(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.sync()
    assert world.kube.created[-1] == PROMOTE and world.status["promotion"]["job"] == PROMOTE
    assert world.kstatus() == ("False", "True", "False", "Promoting") and world.status["phase"] == "Promoting"
    world.sync()
    assert world.kube.created.count(PROMOTE) == 1


def test_the_approver_and_time_are_recorded_once_with_an_approved_event() -> None:
    world = reconciled(promotion={"policy": "Manual"})
    world.sync()
    assert world.kube.obj is not None
    world.kube.obj["metadata"]["annotations"] = {APPROVED_BY: "bob"}
    world.edit(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    outcome = world.sync()
    promotion = world.status["promotion"]
    assert (promotion["approvedBy"], promotion["approvedAt"], promotion["job"]) == ("bob", format_time(NOW), PROMOTE)
    assert Event("Normal", "Approved", f"report {REPORT_HASH} approved by bob") in outcome.events
    again = world.sync()
    assert world.status["promotion"] == promotion
    assert [e for e in again.events if e.reason == "Approved"] == []


def test_automatic_promotes_when_the_thresholds_hold() -> None:
    held = reconciled(promotion={"policy": "Automatic", "thresholds": {"maxChangedRatio": 0.2, "maxMissingRatio": 0.2}})
    held.sync()
    assert held.kube.created[-1] == PROMOTE
    exceeded = reconciled(promotion={"policy": "Automatic", "thresholds": {"maxChangedRatio": 0.05}})
    exceeded.sync()
    assert exceeded.kstatus() == ("False", "False", "False", "ThresholdExceeded")
    assert PROMOTE not in exceeded.kube.jobs


def test_automatic_stays_closed_on_totals_that_miss_a_partition() -> None:
    # Partition 1's Job succeeded but its checkpoint was gone when the totals were frozen: ratios
    # over half the replay must not open the gate.
    partial = reconciled(checkpoints=(0,), promotion={"policy": "Automatic", "thresholds": {"maxChangedRatio": 0.2}})
    partial.sync()
    assert partial.kstatus() == ("False", "False", "False", "IncompleteTotals")
    assert any("100 records read of the plan's 200 offsets" in c["message"] for c in partial.status["conditions"])
    assert PROMOTE not in partial.kube.jobs


def test_never_ends_ready_with_the_report_in_the_sandbox() -> None:
    world = reconciled(promotion={"policy": "Never"})
    world.sync()
    assert world.kstatus() == ("True", "False", "False", "Reconciled")
    assert world.condition("Promoted") == ("False", "PolicyNever") and PROMOTE not in world.kube.jobs


def test_a_finished_promotion_is_ready_and_final() -> None:
    world = reconciled(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.sync()
    world.promotion_finished()
    world.sync()
    assert world.kstatus() == ("True", "False", "False", "Promoted") and world.status["phase"] == "Promoted"
    assert world.status["promotion"]["written"] == 10 and world.status["promotion"]["startedAt"]
    created = list(world.kube.created)
    world.checkpoints.promotions_done = {}
    world.sync()
    assert world.kube.created == created and world.kstatus()[3] == "Promoted"


def test_a_promotion_that_left_production_rewrites_says_so() -> None:
    world = reconciled(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.sync()
    world.promotion_finished(rewritten=(1, 2), rewritten_ids=(["e9"], ["e2", "e5"]))
    world.sync()
    promo = world.status["promotion"]
    assert (promo["rewritten"], promo["rewrittenIds"]) == (3, ["e2", "e5", "e9"])
    promoted = next(c for c in world.status["conditions"] if c["type"] == "Promoted")
    assert promoted["status"] == "True" and "3 left as production rewrote them" in promoted["message"]


def test_a_failed_reconciliation_stalls_with_the_workers_message_until_retry() -> None:
    world = replayed()
    world.sync()
    world.step_failed("reconcile", "permanent: topic orders-out missing")
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "ReconciliationFailed")
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert "topic orders-out missing" in stalled["message"]
    world.edit(retry=1)
    world.sync()
    assert world.kube.created[-1] == "r-reconcile-r1"


def test_a_failed_promotion_is_retried_as_r_n() -> None:
    world = reconciled(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.sync()
    world.kube.finish(PROMOTE, failed="BackoffLimitExceeded")
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "PromotionFailed")
    world.edit(retry=2)
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-r2"


def test_redis_unavailable_after_the_reconciliation_waits() -> None:
    world = replayed()
    world.sync()
    world.kube.finish("r-reconcile")
    world.checkpoints.down = "redis down"
    world.sync()
    assert world.kstatus() == ("False", "True", "False", "RedisUnavailable")


def test_suspend_after_the_replay_starts_no_step_job_and_suspends_a_running_one() -> None:
    early = replayed()
    early.edit(suspend=True)  # suspended as the last partition finished, before reconciliation started
    early.sync()
    assert "r-reconcile" not in early.kube.jobs
    assert early.condition("Reconciling") == ("False", "Suspended") and early.condition("Ready")[1] == "Suspended"

    world = reconciled(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.sync()
    assert world.kube.created[-1] == PROMOTE  # the promotion runs ...
    world.edit(suspend=True)
    world.sync()  # ... and is suspended: its pod stops, nothing more is written
    assert world.kube.suspended[-1] == (PROMOTE, True)
    assert world.condition("Ready") == ("False", "Suspended")
    created = list(world.kube.created)
    world.sync()
    assert world.kube.created == created and world.kube.suspended.count((PROMOTE, True)) == 1

    world.edit(suspend=False)
    world.sync()  # resumed: the same Job goes on (it resumes from its checkpoint), no second one
    assert world.kube.suspended[-1] == (PROMOTE, False) and world.kube.created == created
