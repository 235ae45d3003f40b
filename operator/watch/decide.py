"""The watch's decisions, pure: whether a scan is due, what a scan's result does to status (which
gaps are new, the bounded gap list), and the conditions it all amounts to.

A gap is known when it overlaps, in the same partition, a gap the previous scan recorded: it keeps
that gap's key (so its draft's name) and first sighting, whatever the rolling window cuts off it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from eventreplay.worker.contract.gap_summary import GapEntry, GapSummary

from .. import conditions as cond
from ..api.v1alpha1 import ActiveScan, EventReplayWatchSpec, EventReplayWatchStatus, LastScan, WatchGap, parse_time
from ..api.v1alpha1.watch_status import MAX_GAPS, MAX_SAMPLE_IDS
from ..conditions import Want
from .replay_spec import gap_key, rfc3339

DEGRADED = "Degraded"


def scan_due(spec: EventReplayWatchSpec, status: EventReplayWatchStatus, now: datetime) -> bool:
    """A new scan starts when none runs, the watch is not suspended and the schedule's interval has
    passed since the last one started (at once for the first)."""
    if spec.suspend or status.active_scan is not None:
        return False
    last = status.last_scan
    if last is None:
        return True
    started = parse_time(last.time) - timedelta(seconds=last.duration_seconds)
    return now >= started + timedelta(seconds=spec.schedule.interval_seconds)


def next_scan_in(spec: EventReplayWatchSpec, status: EventReplayWatchStatus, now: datetime) -> float:
    """Seconds until the next scan is due (0: due now or running)."""
    last = status.last_scan
    if last is None or status.active_scan is not None:
        return 0.0
    started = parse_time(last.time) - timedelta(seconds=last.duration_seconds)
    due = started + timedelta(seconds=spec.schedule.interval_seconds)
    return max(0.0, (due - now).total_seconds())


def _overlaps(a: WatchGap, entry: GapEntry) -> bool:
    return (
        a.partition == entry.partition
        and parse_time(a.from_) <= parse_time(entry.last_time)
        and parse_time(entry.first_time) <= parse_time(a.to)
    )


@dataclass(frozen=True)
class Merged:
    gaps: list[WatchGap]
    """The gaps to record, the largest first, at most MAX_GAPS."""
    new: list[WatchGap] = field(default_factory=list)
    """Gaps no earlier scan recorded: one Warning Event each, one draft each."""


def merge_gaps(known: list[WatchGap], found: list[GapEntry], now: datetime) -> Merged:
    """The scan's gaps as recorded: a known gap keeps its key, first sighting and draft."""
    gaps: list[WatchGap] = []
    new: list[WatchGap] = []
    for entry in found:
        before = next((k for k in known if _overlaps(k, entry)), None)
        gap = WatchGap(
            key=before.key if before else gap_key(entry.partition, entry.first_time, entry.last_time),
            partition=entry.partition,
            from_=entry.first_time,
            to=entry.last_time,
            first_offset=entry.first_offset,
            last_offset=entry.last_offset,
            missing=entry.missing,
            sample_ids=entry.sample_ids[:MAX_SAMPLE_IDS],
            first_seen=before.first_seen if before else rfc3339(now),
            draft=before.draft if before else None,
        )
        gaps.append(gap)
        if before is None:
            new.append(gap)
    gaps.sort(key=lambda g: (-g.missing, g.partition, g.first_offset))
    kept = gaps[:MAX_GAPS]
    return Merged(kept, [g for g in new if g in kept])


def succeeded(
    status: EventReplayWatchStatus, active: ActiveScan, summary: GapSummary, now: datetime
) -> tuple[EventReplayWatchStatus, list[WatchGap]]:
    """The status after a successful scan, and its new gaps."""
    merged = merge_gaps(status.gaps, summary.gaps, now)
    message = f"{summary.missing} missing events in {len(summary.gaps)} gaps of {summary.source_records} read"
    last = _last(active, now, "Succeeded", message, read=summary.source_records, missing=summary.missing)
    update = {
        "active_scan": None,
        "last_scan": last,
        "consecutive_failures": 0,
        "gaps": merged.gaps,
        "gaps_total": len(summary.gaps),
        "missing_events": summary.missing,
    }
    return status.model_copy(update=update), merged.new


def failed(status: EventReplayWatchStatus, active: ActiveScan, message: str, now: datetime) -> EventReplayWatchStatus:
    """The status after a failed scan: the gaps of the last good scan stay, the failures count."""
    last = _last(active, now, "Failed", message[:1024], read=0, missing=0)
    update = {"active_scan": None, "last_scan": last, "consecutive_failures": status.consecutive_failures + 1}
    return status.model_copy(update=update)


def _last(active: ActiveScan, now: datetime, result: str, message: str, *, read: int, missing: int) -> LastScan:
    duration = max(0.0, (now - parse_time(active.started_at)).total_seconds())
    return LastScan.model_validate(
        {
            "number": active.number,
            "time": rfc3339(now),
            "durationSeconds": round(duration, 3),
            "result": result,
            "message": message,
            "from": active.from_,
            "to": active.to,
            "sourceRecords": read,
            "missing": missing,
        }
    )


def watch_conditions(spec: EventReplayWatchSpec, status: EventReplayWatchStatus) -> list[Want]:
    """Ready: the last scan succeeded (the watch sees); Degraded: gaps found, or scans failing."""
    last = status.last_scan
    if last is None:
        reason = "Suspended" if spec.suspend else "FirstScan"
        ready = Want(cond.READY, "False", reason, "no scan has finished yet")
    elif last.result == "Failed":
        ready = Want(cond.READY, "False", "ScanFailed", last.message)
    else:
        ready = Want(cond.READY, "True", "Suspended" if spec.suspend else "Scanned", last.message)
    if status.consecutive_failures:
        text = f"{status.consecutive_failures} scans failed in a row: {last.message if last else ''}"
        degraded = Want(DEGRADED, "True", "ScansFailing", text)
    elif status.missing_events:
        text = f"{status.missing_events} source events missing from {spec.sink.topic} in {status.gaps_total} gaps"
        degraded = Want(DEGRADED, "True", "GapsFound", text)
    else:
        degraded = Want(DEGRADED, "False", "NoGaps", "")
    return [ready, degraded]


def refused_conditions(reason: str, message: str) -> list[Want]:
    """A watch the operator may not scan (invalid spec, policy): Ready False, not Degraded."""
    return [Want(cond.READY, "False", reason, message), Want(DEGRADED, "False", reason, "")]
