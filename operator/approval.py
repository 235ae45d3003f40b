"""Who approved the promoted report, and when: status.promotion.approvedBy / approvedAt and an Event.

The approver is the eventreplay.io/approved-by annotation written with spec.promotion.approvedReportHash;
the chart's ValidatingAdmissionPolicy makes it the authenticated user of that write, so the
operator only has to copy it. The first pass that sees an approval of the current report records
it; later passes carry it forward (a promotion status rebuilt from checkpoints keeps it).
"""

from __future__ import annotations

from .api.v1alpha1 import APPROVED_BY, Promotion, PromotionStatus, ReconciliationStatus
from .events import Event


def _recorded(status: PromotionStatus | None, report_hash: str) -> PromotionStatus | None:
    """`status` when it already records an approval of `report_hash`."""
    if status is not None and status.report_hash == report_hash and status.approved_at:
        return status
    return None


def record(
    old: PromotionStatus | None,
    new: PromotionStatus | None,
    promotion: Promotion,
    report: ReconciliationStatus | None,
    *,
    annotations: dict[str, str],
    now: str,
) -> PromotionStatus | None:
    """`new` (this pass's status.promotion) with the approval of the current report recorded, if any."""
    approved = promotion.approved_report_hash
    if promotion.policy != "Manual" or not approved or report is None or report.report_hash != approved:
        return new
    if _recorded(new, approved):
        return new
    earlier = _recorded(old, approved)
    by, at = (earlier.approved_by, earlier.approved_at) if earlier else (annotations.get(APPROVED_BY) or None, now)
    base = new if new is not None and new.report_hash == approved else PromotionStatus(report_hash=approved)
    return base.model_copy(update={"approved_by": by, "approved_at": at})


def approval_events(old: PromotionStatus | None, new: PromotionStatus | None) -> list[Event]:
    """One `Approved` Event naming the approver, on the pass that first records the approval."""
    if new is None or not new.report_hash or not _recorded(new, new.report_hash):
        return []
    if _recorded(old, new.report_hash):
        return []
    who = f"by {new.approved_by}" if new.approved_by else f"(no {APPROVED_BY} annotation names the approver)"
    return [Event("Normal", "Approved", f"report {new.report_hash} approved {who}")]
