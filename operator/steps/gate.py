"""The promotion gate, purely: policy + reconciliation report + replay totals -> open or closed, and why.

- Manual opens only when spec.promotion.approvedReportHash is exactly the current report's hash:
  an approval written for an earlier report (or a typo) names another report and opens nothing.
- Automatic opens when the totals cover the whole plan (every planned offset read as a record or
  counted as holding none: a transaction marker, an aborted or compacted-away record) and every
  threshold holds; ratios are over the replay's totals (invalid =
  dead-lettered / read) and over the replayed ids (changed, missing).
- Never stays closed: the replay ends with the report in the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..api.v1alpha1 import Promotion, ReconciliationStatus, Thresholds, Totals

OPEN_REASONS = frozenset({"Approved", "ThresholdsHeld"})
WAITING_REASONS = frozenset({"AwaitingApproval", "IncompleteTotals", "ThresholdExceeded"})
"""A closed gate that waits for a person or for figures (PolicyNever is closed by design)."""


@dataclass(frozen=True)
class Gate:
    reason: str
    """Approved | ThresholdsHeld (open); AwaitingApproval | IncompleteTotals | ThresholdExceeded |
    PolicyNever (closed)."""
    message: str

    @property
    def open(self) -> bool:
        return self.reason in OPEN_REASONS


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def figures(report: ReconciliationStatus, totals: Totals | None) -> dict[str, float]:
    t = totals or Totals()
    ids = report.replayed_ids or 0
    return {
        "invalid": ratio(t.dead_lettered, t.read),
        "changed": ratio(report.changed or 0, ids),
        "missing": ratio(report.missing or 0, ids),
        "conflicts": float(t.dead_letter_reasons.get("conflict", 0)),
    }


def exceeded(limits: Thresholds, report: ReconciliationStatus, totals: Totals | None) -> list[str]:
    """One line per threshold that does not hold, with the figures."""
    f = figures(report, totals)
    t = totals or Totals()
    ids = report.replayed_ids or 0
    out: list[str] = []
    checks = (
        ("invalid", "maxInvalidRatio", limits.max_invalid_ratio, f"{t.dead_lettered}/{t.read} dead-lettered"),
        ("changed", "maxChangedRatio", limits.max_changed_ratio, f"{report.changed or 0}/{ids} ids changed"),
        ("missing", "maxMissingRatio", limits.max_missing_ratio, f"{report.missing or 0}/{ids} ids missing"),
    )
    for key, name, limit, detail in checks:
        if f[key] > limit:
            out.append(f"{key} ratio {f[key]:.4f} ({detail}) exceeds {name} {limit:g}")
    if f["conflicts"] and not limits.allow_conflicts:
        out.append(f"{int(f['conflicts'])} conflicting event(s) and allowConflicts is false")
    return out


def decide(promotion: Promotion, report: ReconciliationStatus, totals: Totals | None) -> Gate:
    current = report.report_hash or ""
    if promotion.policy == "Never":
        return Gate("PolicyNever", "promotion.policy is Never: sandbox only; the report is in status.reconciliation")
    if promotion.policy == "Manual":
        approved = promotion.approved_report_hash
        if approved == current:
            return Gate("Approved", f"report {current} approved")
        ask = f"set spec.promotion.approvedReportHash to {current} to promote this report's delta"
        if approved:
            return Gate(
                "AwaitingApproval",
                f"spec.promotion.approvedReportHash {approved} does not name the current report {current}; {ask}",
            )
        return Gate("AwaitingApproval", f"report {current} awaits approval: {ask}")
    t = totals or Totals()
    if t.read + t.skipped_offsets != t.records:
        # Ratios over partial totals (a checkpoint missing when they were frozen) could pass by luck.
        return Gate(
            "IncompleteTotals",
            f"the totals count {t.read} records read of the plan's {t.records} offsets and {t.skipped_offsets} "
            "offsets holding none (transaction markers, aborted or compacted-away records): the Automatic gate "
            "judges only a replay that accounts for every planned offset",
        )
    failed = exceeded(promotion.thresholds or Thresholds(), report, totals)
    if failed:
        return Gate("ThresholdExceeded", "; ".join(failed))
    return Gate("ThresholdsHeld", f"report {current}: every promotion threshold holds")
