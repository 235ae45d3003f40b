"""Starting and following a watch's scan: the scan is recorded in status before its Job exists (a
restart finds it and, should the Job be missing, creates it again under the same name); a finished
Job's summary is read from Redis and folded into status (`decide.succeeded` / `decide.failed`)."""

from __future__ import annotations

from eventreplay.worker.contract.gap_summary import GapSummary
from eventreplay.worker.contract.names import watch_scan_key

from ..api.v1alpha1 import ActiveScan, EventReplaySpec, EventReplayWatchStatus, WatchGap
from ..checkpoints import CheckpointsUnavailable
from ..events import Event
from ..job_state import job_state
from ..kafka import KafkaUnavailable
from ..planner import PlanRefused, make_plan
from . import decide, metrics
from .context import WatchPass
from .owner import scan_job_name, scans_of
from .replay_spec import rfc3339
from .scan_job import read_summary, scan_job
from .status_write import write

EMPTY = "EmptyWindow"
"""The plan's refusal of a window without source events: a scan that found nothing to miss."""


def start(p: WatchPass, spec: EventReplaySpec, window: tuple[str, str]) -> EventReplayWatchStatus:
    """Record the next scan, then create its Job."""
    number = p.old.scans + 1
    active = ActiveScan.model_validate(
        {
            "number": number,
            "job": scan_job_name(p.name, number),
            "startedAt": rfc3339(p.now),
            "from": window[0],
            "to": window[1],
        }
    )
    status = p.old.model_copy(update={"scans": number, "active_scan": active})
    write(p, status)  # before the Job: a restart finds the scan it started
    return create_job(p, spec, status, active)


def create_job(
    p: WatchPass, spec: EventReplaySpec, status: EventReplayWatchStatus, active: ActiveScan
) -> EventReplayWatchStatus:
    """The scan's Job over its recorded window; an impossible plan ends the scan at once."""
    try:
        plan = make_plan(spec, p.owner, p.c.kafka.observe(spec, p.now), p.now)
    except PlanRefused as refused:
        if refused.reason == EMPTY:
            return _empty(p, status, active)
        return _failed(p, status, active, f"{refused.reason}: {refused.message}")
    except KafkaUnavailable as err:
        return _failed(p, status, active, f"cannot plan the scan: {err}")
    p.kube.create_job(scan_job(p.spec, spec, plan, p.owner, scan=active.number, config=p.c.config))
    return status


def follow(p: WatchPass, spec: EventReplaySpec, active: ActiveScan) -> EventReplayWatchStatus:
    """The running scan: wait for its Job, then record its result."""
    status = p.old
    jobs = {j["metadata"]["name"]: j for j in p.kube.list_jobs(p.ns, scans_of(p.owner))}
    job = jobs.get(active.job)
    if job is None:
        return create_job(p, spec, status, active)
    state, message = job_state(job)
    if state == "Failed":
        return _failed(p, status, active, f"scan Job {active.job} failed: {message or 'see its pod'}")
    if state != "Succeeded":
        return status
    try:
        raw = p.c.checkpoints.get(spec.dedup.redis.url, watch_scan_key(p.ns, p.owner.uid, active.number))
    except CheckpointsUnavailable:
        return status  # Redis is away: the next pass reads it
    summary = read_summary(raw)
    if summary is None:
        return _failed(p, status, active, f"scan Job {active.job} succeeded but left no summary in Redis (expired?)")
    done, new = decide.succeeded(status, active, summary, p.now)
    p.events.extend(gap_event(spec.sink.topic, gap) for gap in new)
    return done


def gap_event(sink: str, gap: WatchGap) -> Event:
    """One Warning per new gap (a gap seen again is not news)."""
    samples = ", ".join(gap.sample_ids)
    return Event(
        "Warning",
        "GapFound",
        f"partition {gap.partition}: {gap.missing} events never reached {sink} between {gap.from_} and "
        f"{gap.to} (offsets {gap.first_offset}-{gap.last_offset}; e.g. {samples})",
    )


def _empty(p: WatchPass, status: EventReplayWatchStatus, active: ActiveScan) -> EventReplayWatchStatus:
    nothing = GapSummary(version=1, counts={}, missing_ids=0, existing_topic="", existing=[], gaps=[], outages=[])
    return decide.succeeded(status, active, nothing, p.now)[0]


def _failed(p: WatchPass, status: EventReplayWatchStatus, active: ActiveScan, message: str) -> EventReplayWatchStatus:
    metrics.scan_failed(p.ns, p.name)
    p.events.append(Event("Warning", "ScanFailed", f"scan {active.number}: {message}"))
    return decide.failed(status, active, message, p.now)
