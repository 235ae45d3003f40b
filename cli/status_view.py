"""Render an EventReplay's status for humans (pure: a dict from the API server in, text out).

Works on the raw object, not the pydantic status model: a newer operator may add status fields
(the reconciliation report, for one), and whatever exists is shown rather than refused.
"""

from __future__ import annotations

import json
from typing import Any

from .bars import RateTracker, Row, render_rows
from .table import table

TERMINAL = ("Ready", "Stalled")


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return {}


def current(obj: dict[str, Any]) -> bool:
    """kstatus: the status describes the latest spec only once observedGeneration caught up."""
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    return generation is None or observed is None or observed >= generation


def outcome(obj: dict[str, Any]) -> str | None:
    """'Ready' or 'Stalled' once the replay reached either (for `watch`); None while in progress."""
    if not current(obj):
        return None
    for kind in TERMINAL:
        if condition(obj, kind).get("status") == "True":
            return kind
    return None


def partition_rows(status: dict[str, Any], rates: RateTracker | None = None) -> list[Row]:
    plan = status.get("plan") or {}
    spans = {p["partition"]: p for p in plan.get("partitions") or [] if isinstance(p, dict) and "partition" in p}
    rows: list[Row] = []
    for entry in status.get("partitions") or []:
        p = entry.get("partition")
        span = spans.get(p, {})
        total = int(span.get("records", 0))
        state = str(entry.get("state", "Pending"))
        if state == "Done":
            done = total
        elif entry.get("committedOffset") is not None and "startOffset" in span:
            done = max(0, min(total, int(entry["committedOffset"]) - int(span["startOffset"])))
        else:
            done = total * int(entry.get("percent", 0)) // 100
        rate = rates.observe(str(p), done) if rates is not None else None
        counts = [f"{k} {entry[k]}" for k in ("emitted", "duplicate", "processed", "deadLettered") if entry.get(k)]
        note = ", ".join(counts)
        if entry.get("attempt"):
            note += f"{', ' if note else ''}attempt {entry['attempt']}"
        if entry.get("message"):
            note += f"{' - ' if note else ''}{entry['message']}"
        rows.append(Row(str(p), done, total, state, rate, note))
    return rows


def _kv(data: dict[str, Any]) -> str:
    return ", ".join(f"{k} {json.dumps(v) if isinstance(v, dict | list) else v}" for k, v in data.items())


def render(obj: dict[str, Any], *, rates: RateTracker | None = None, max_rows: int = 50, unicode: bool = True) -> str:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    lines = [
        f"EventReplay {meta.get('namespace')}/{meta.get('name')}   phase {status.get('phase') or 'Pending'}   "
        f"generation {meta.get('generation', '-')} (observed {status.get('observedGeneration', '-')})"
    ]
    plan = status.get("plan")
    if plan:
        lines.append(
            f"plan {plan.get('hash')}: {len(plan.get('partitions') or [])} partitions, {plan.get('records')} "
            f"records of {plan.get('topic')} as of {plan.get('asOf')}; sandbox {plan.get('sandboxTopic')}"
        )
    conds = status.get("conditions") or []
    if conds:
        rows = [[c.get("type"), c.get("status"), c.get("reason"), c.get("message", "")] for c in conds]
        lines += ["", table(["CONDITION", "STATUS", "REASON", "MESSAGE"], rows)]
    else:
        lines.append("no conditions yet (is the operator running?)")
    bars = partition_rows(status, rates)
    if bars:
        lines += ["", "partitions:", *render_rows(bars, max_rows, unicode=unicode)]
    progress = status.get("progress") or {}
    if progress:
        rate = progress.get("eventsPerSecond")
        lines.append(
            f"overall: {progress.get('partitions', '-')} partitions done, {progress.get('percent', 0)}%, "
            f"{f'{float(rate):.1f}' if rate is not None else '-'} events/s, ETA {progress.get('eta') or '-'}"
            + (f", {progress['partitionsFailed']} failed" if progress.get("partitionsFailed") else "")
        )
    totals = status.get("totals") or {}
    if totals:
        reasons = totals.get("deadLetterReasons") or {}
        shown = {k: v for k, v in totals.items() if k != "deadLetterReasons"}
        lines.append("totals: " + _kv(shown))
        if reasons:
            lines.append("dead letters: " + ", ".join(f"{r} {n}" for r, n in reasons.items()))
    lines += _report(spec, status)
    return "\n".join(lines)


def _report(spec: dict[str, Any], status: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    report = status.get("reconciliation")
    if report:
        lines += ["", "reconciliation report:", *(f"  {k}: {_value(v)}" for k, v in report.items())]
    promotion_status = status.get("promotion")
    if promotion_status:
        lines += ["promotion:", *(f"  {k}: {_value(v)}" for k, v in promotion_status.items())]
    promotion = spec.get("promotion") or {}
    policy = promotion.get("policy", "Manual")
    approved = promotion.get("approvedReportHash")
    if policy == "Manual" and report and report.get("reportHash"):
        if approved == report["reportHash"]:
            by = (
                (promotion_status or {}).get("approvedBy")
                if (promotion_status or {}).get("reportHash") == approved
                else None
            )
            lines.append(f"approval: report {approved} approved" + (f" by {by}" if by else ""))
        else:
            lines.append(
                f"approval: awaiting approval of report {report['reportHash']}"
                + (f" (approved: {approved}, another report)" if approved else "")
                + " - `eventreplay approve` sets it"
            )
    elif policy != "Manual":
        lines.append(f"promotion policy: {policy}")
    return lines


def _value(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
