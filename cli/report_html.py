"""The self-contained HTML report (`eventreplay report NAME --html FILE`): aggregates streamed ids, renders one page.

No network is needed to open it: CSS and script are inline, charts are SVG drawn here
(`report_svg.py`). Figures that status shows carry `data-figure` attributes and are taken from
status itself, so the page and `eventreplay status` cannot disagree.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from .report_read import CLASSES, Entry
from .report_svg import Bar, bar_chart, hbar_chart

EXAMPLES = 3  # per changed field
FIELDS_SHOWN = 40
EXTRA_SHOWN = 20  # extra ids listed with their value (all of them are counted)
STATUS_FIGURES = ("changed", "missing", "extra", "unchanged", "replayedIds", "existingIds", "duplicates", "superseded")
CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.figures{display:flex;flex-wrap:wrap;gap:10px}.figure{border:1px solid #ddd;border-radius:6px;padding:6px 12px}
.figure b{display:block;font-size:20px}.note{color:#666}.empty{fill:#888;font-size:14px}
.gate-approved{color:#2a7d2a}.gate-waiting{color:#b36b00}code{font-size:12px;word-break:break-all}"""
# Hovering a bar already shows its <title>; the script only sums the drawn charts into the header
# (so a reader sees at a glance whether every chart has data) and marks the page ready.
SCRIPT = """document.querySelectorAll('svg.chart').forEach(function(svg){
  var n=svg.querySelectorAll('rect').length;svg.setAttribute('data-drawn',String(n));});
document.body.setAttribute('data-ready','true');"""


@dataclass
class Aggregate:
    """What the page shows of the ids, built one id at a time (memory: minutes, partitions, fields)."""

    classes: Counter[str] = field(default_factory=Counter)
    minutes: dict[int, Counter[str]] = field(default_factory=dict)
    partitions: dict[int, Counter[str]] = field(default_factory=dict)
    fields: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)
    extra: list[tuple[str, Any]] = field(default_factory=list)
    """The first EXTRA_SHOWN extra ids with their existing value."""

    def add(self, entry: Entry) -> None:
        self.classes[entry.cls] += 1
        if entry.cls == "extra" and len(self.extra) < EXTRA_SHOWN:
            self.extra.append((entry.id, entry.as_json().get("existing")))
        if entry.replayed is not None:
            minute = entry.replayed.timestamp_ms // 60000
            self.minutes.setdefault(minute, Counter())[entry.cls] += 1
            self.partitions.setdefault(entry.replayed.partition, Counter())[entry.cls] += 1
        for path, (old, new) in entry.changes.items():
            self.fields[path] += 1
            shown = self.examples.setdefault(path, [])
            if len(shown) < EXAMPLES:
                shown.append((entry.id, old, new))


def aggregate(entries: Iterable[Entry]) -> Aggregate:
    agg = Aggregate()
    for entry in entries:
        agg.add(entry)
    return agg


def _minute(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%d %H:%M")


def charts(agg: Aggregate, reasons: dict[str, int]) -> dict[str, str]:
    """Chart id -> SVG."""
    timeline = [Bar(_minute(m), m, dict(c)) for m, c in sorted(agg.minutes.items())]
    parts = [Bar(f"partition {p}", p, dict(c)) for p, c in sorted(agg.partitions.items())]
    fields = agg.fields.most_common(FIELDS_SHOWN)
    return {
        "timeline": bar_chart("timeline", "missing and changed events per minute of event time", timeline),
        "partitions": bar_chart("partitions", "missing and changed events per sandbox partition", parts),
        "fields": hbar_chart("fields", "how often each field changes", fields),
        "dead-letters": hbar_chart("dead-letters", "dead-lettered records by reason", sorted(reasons.items())),
    }


def _figure(name: str, label: str, value: Any) -> str:
    return f'<div class="figure">{escape(label)}<b data-figure="{escape(name)}">{escape(str(value))}</b></div>'


def _gate(obj: dict[str, Any]) -> str:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    rec, promo = status.get("reconciliation") or {}, status.get("promotion") or {}
    policy = (spec.get("promotion") or {}).get("policy", "Manual")
    approved = (spec.get("promotion") or {}).get("approvedReportHash")
    current = rec.get("reportHash")
    by = promo.get("approvedBy") if promo.get("reportHash") == current else None
    if policy != "Manual":
        state, css = f"policy {policy}: no approval needed", "gate-approved"
    elif current and approved == current:
        state, css = "approved" + (f" by {by}" if by else ""), "gate-approved"
    else:
        state, css = "awaiting approval (eventreplay approve)", "gate-waiting"
    rows = [
        ("report hash", f'<code data-figure="reportHash">{escape(str(current))}</code>'),
        ("approval", f'<span class="{css}" data-figure="approval">{escape(state)}</span>'),
        ("approved by", f'<span data-figure="approvedBy">{escape(str(by or "-"))}</span>'),
        ("promotion", escape(json.dumps(promo, sort_keys=True)) if promo else "not started"),
    ]
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _plan(status: dict[str, Any]) -> str:
    plan = status.get("plan") or {}
    rec = status.get("reconciliation") or {}
    rows = [
        ("plan hash", f'<code data-figure="planHash">{escape(str(plan.get("hash")))}</code>'),
        ("source", escape(f"{plan.get('records')} records of {plan.get('topic')} as of {plan.get('asOf')}")),
        ("partitions", f'<span data-figure="planPartitions">{len(plan.get("partitions") or [])}</span>'),
        ("sandbox", escape(str(plan.get("sandboxTopic")))),
        ("compared with", escape(str(rec.get("existingTopic")))),
        ("report topic", escape(str(rec.get("reportTopic")))),
    ]
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _examples(agg: Aggregate) -> str:
    rows = []
    for path, n in agg.fields.most_common(FIELDS_SHOWN):
        for event_id, old, new in agg.examples.get(path, []):
            rows.append(
                f"<tr><td>{escape(path)}</td><td>{n}</td><td><code>{escape(event_id)}</code></td>"
                f"<td><code>{escape(json.dumps(old))}</code></td><td><code>{escape(json.dumps(new))}</code></td></tr>"
            )
    if not rows:
        return '<p class="note">no changed ids</p>'
    head = "<tr><th>field</th><th>ids changed</th><th>example id</th><th>existing</th><th>replayed</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _extra(agg: Aggregate) -> str:
    if not agg.extra:
        return '<p class="note">no extra ids listed</p>'
    rows = "".join(
        f"<tr><td><code>{escape(event_id)}</code></td><td><code>{escape(json.dumps(value))}</code></td></tr>"
        for event_id, value in agg.extra
    )
    more = agg.classes["extra"] - len(agg.extra)
    tail = f'<p class="note">and {more} more (eventreplay report NAME --class extra)</p>' if more > 0 else ""
    return f"<table><tr><th>extra id</th><th>existing value</th></tr>{rows}</table>{tail}"


def render(obj: dict[str, Any], agg: Aggregate) -> str:
    """The page for EventReplay `obj` (as the API server returns it) and its aggregated report."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    rec, totals = status.get("reconciliation") or {}, status.get("totals") or {}
    reasons = {str(k): int(v) for k, v in (totals.get("deadLetterReasons") or {}).items()}
    svg = charts(agg, reasons)
    figures = "".join(_figure(k, k, rec.get(k, 0)) for k in STATUS_FIGURES)
    figures += _figure("deadLettered", "dead-lettered", totals.get("deadLettered", 0))
    listed = ", ".join(f'<b data-figure="listed-{c}">{agg.classes[c]}</b> {c}' for c in CLASSES)
    title = f"EventReplay {meta.get('namespace')}/{meta.get('name')}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}: reconciliation report</title>
<style>{CSS}</style></head><body>
<h1>{escape(title)}: what promotion would write</h1>
<p class="note">A replay re-ran the events below into a sandbox topic and compared the result with what
production holds. <b>Missing</b> events are absent from production; <b>changed</b> events exist there
with other content. Promotion writes both into production once the report is approved. <b>Extra</b>
events are in production but the replay did not produce them; promotion leaves them as they are.</p>
<h2>Plan and gate</h2>{_plan(status)}{_gate(obj)}
<h2>Numbers (as status shows them)</h2><div class="figures">{figures}</div>
<p class="note">Listed from the report topic: {listed}.</p>
<h2>Missing and changed events per minute of event time</h2>{svg["timeline"]}
<h2>Per sandbox partition</h2>{svg["partitions"]}
<h2>Which fields change</h2>{svg["fields"]}{_examples(agg)}
<h2>Extra events (in production, not replayed)</h2>{_extra(agg)}
<h2>Dead-letter reasons</h2>{svg["dead-letters"]}
<script>{SCRIPT}</script></body></html>
"""
