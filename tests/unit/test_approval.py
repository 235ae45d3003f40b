"""Recording who approved the promoted report (status.promotion.approvedBy / approvedAt) and its Event."""

from __future__ import annotations

from eventreplay.operator.api.v1alpha1 import APPROVED_BY, Promotion, PromotionStatus, ReconciliationStatus
from eventreplay.operator.approval import approval_events, record
from eventreplay.operator.events import Event

REPORT = "aaaabbbbccccdddd"
OTHER = "1111222233334444"
MANUAL = Promotion(policy="Manual", approved_report_hash=REPORT)
REC = ReconciliationStatus(report_hash=REPORT)
BOB = {APPROVED_BY: "bob"}


def test_the_first_pass_that_sees_the_approval_records_the_annotation_and_the_time() -> None:
    got = record(None, None, MANUAL, REC, annotations=BOB, now="t1")
    assert got == PromotionStatus(report_hash=REPORT, approved_by="bob", approved_at="t1")
    assert approval_events(None, got) == [Event("Normal", "Approved", f"report {REPORT} approved by bob")]


def test_a_promotion_started_this_pass_keeps_its_job_and_gains_the_approval() -> None:
    started = PromotionStatus(report_hash=REPORT, job="promote-1", started_at="t1")
    got = record(None, started, MANUAL, REC, annotations=BOB, now="t1")
    assert got == started.model_copy(update={"approved_by": "bob", "approved_at": "t1"})


def test_later_passes_carry_the_first_record_forward_without_a_new_event() -> None:
    first = PromotionStatus(report_hash=REPORT, approved_by="bob", approved_at="t1")
    # The finished promotion is rebuilt from checkpoints (without the approval); the annotation
    # has meanwhile been edited: the record of the approval stays as first seen.
    rebuilt = PromotionStatus(report_hash=REPORT, written=3, completed_at="t3")
    got = record(first, rebuilt, MANUAL, REC, annotations={APPROVED_BY: "carol"}, now="t3")
    assert got == rebuilt.model_copy(update={"approved_by": "bob", "approved_at": "t1"})
    assert approval_events(first, got) == []


def test_nothing_is_recorded_without_an_approval_of_the_current_report() -> None:
    waiting = PromotionStatus(report_hash=OTHER, written=1, completed_at="t0")
    stale = Promotion(policy="Manual", approved_report_hash=OTHER)
    assert record(None, waiting, stale, REC, annotations=BOB, now="t1") is waiting
    assert record(None, None, Promotion(policy="Manual"), REC, annotations=BOB, now="t1") is None
    assert record(None, None, MANUAL, None, annotations=BOB, now="t1") is None
    assert record(None, None, MANUAL, ReconciliationStatus(), annotations=BOB, now="t1") is None
    assert approval_events(None, waiting) == []


def test_a_new_report_approved_replaces_the_record_of_the_old_one() -> None:
    old = PromotionStatus(report_hash=OTHER, approved_by="alice", approved_at="t0", completed_at="t0")
    got = record(old, old, MANUAL, REC, annotations=BOB, now="t5")
    assert got == PromotionStatus(report_hash=REPORT, approved_by="bob", approved_at="t5")
    assert [e.message for e in approval_events(old, got)] == [f"report {REPORT} approved by bob"]


def test_an_approval_without_the_annotation_is_recorded_as_naming_no_one() -> None:
    got = record(None, None, MANUAL, REC, annotations={}, now="t1")
    assert got is not None and got.approved_by is None and got.approved_at == "t1"
    (event,) = approval_events(None, got)
    assert event.message == f"report {REPORT} approved (no {APPROVED_BY} annotation names the approver)"
