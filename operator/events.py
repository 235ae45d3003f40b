"""Kubernetes Events worth posting, derived purely from the old and the new status.

One Event per transition: planned, partition started/finished/failed, suspended/resumed,
replayed, reconciled, gate closed (AwaitingApproval, ThresholdExceeded) or opened (Promoting),
promoted, stalled. With 1,000 partitions a single pass may see many transitions; past
`MAX_PARTITION_EVENTS` they are folded into one summary Event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from . import conditions as cond
from .api.v1alpha1 import Condition, PartitionProgress, Plan
from .planner import ranges_text
from .retention import RETENTION_RISK

REPORTING_COMPONENT = "eventreplay-operator"
"""Who posts the Events: their `source.component` and `reportingComponent` (`kubectl describe`'s From)."""
EVENT_NAME_PREFIX = "eventreplay-"
"""The Events' generated names start with it (kopf's default is `kopf-event-`)."""
MAX_PARTITION_EVENTS = 20
GATE_EVENTS: dict[str, Literal["Normal", "Warning"]] = {
    "AwaitingApproval": "Normal",
    "ThresholdExceeded": "Warning",
    "IncompleteTotals": "Warning",
    "Promoting": "Normal",
    "PromotionStep": "Normal",  # a rollout's steps (`steps/rollout.py`): each new message is news
    "PromotionPaused": "Warning",
}


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def partition_events(plan: Plan, old: list[PartitionProgress], new: list[PartitionProgress]) -> list[Event]:
    before = {p.partition: p.state for p in old}
    spans = {p.partition: p for p in plan.partitions}
    events: list[Event] = []
    folded: dict[str, list[int]] = {}
    for entry in new:
        was = before.get(entry.partition, "Pending")
        if was == entry.state:
            continue
        span = spans[entry.partition]
        event: Event | None = None
        if entry.state == "Running" and was in ("Pending", "Failed"):
            event = Event(
                "Normal",
                "PartitionStarted",
                f"partition {entry.partition}: Job {entry.job} started (offsets {span.start_offset}-{span.end_offset})",
            )
        elif entry.state == "Done":
            event = Event(
                "Normal",
                "PartitionFinished",
                f"partition {entry.partition}: {entry.emitted} emitted, "
                f"{entry.duplicate} duplicate, {entry.processed} processed, "
                f"{entry.dead_lettered} dead-lettered",
            )
        elif entry.state == "Failed":
            event = Event("Warning", "PartitionFailed", f"partition {entry.partition}: {entry.message}")
        if event is None:
            continue
        if len(events) < MAX_PARTITION_EVENTS:
            events.append(event)
        else:
            folded.setdefault(event.reason, []).append(entry.partition)
    for reason, parts in folded.items():
        kind: Literal["Normal", "Warning"] = "Warning" if reason == "PartitionFailed" else "Normal"
        events.append(Event(kind, reason, f"and partitions {ranges_text(parts)}"))
    return events


def condition_events(old: list[Condition], new: list[Condition]) -> list[Event]:
    events: list[Event] = []
    previous = {c.type: c for c in old}
    for c in new:  # a closed gate with a new message (e.g. a stale approval) is news too
        was = previous.get(c.type)
        same = was is not None and (was.status, was.reason) == (c.status, c.reason)
        if (
            c.type == cond.PROMOTED
            and c.reason in GATE_EVENTS
            and same
            and was is not None
            and was.message != c.message
        ):
            events.append(Event(GATE_EVENTS[c.reason], c.reason, c.message))
    for c in cond.transitions(old, new):
        was = previous.get(c.type)
        if c.type == cond.PLANNED and c.status == "True":
            events.append(Event("Normal", "Planned", c.message))
            if RETENTION_RISK in c.message:
                events.append(Event("Warning", "RetentionRisk", c.message[c.message.index(RETENTION_RISK) :]))
        elif c.type == cond.REPLAYED and c.status == "True":
            events.append(Event("Normal", "Replayed", c.message))
        elif c.type == cond.RECONCILED and c.status == "True":
            events.append(Event("Normal", "Reconciled", c.message))
        elif c.type == cond.PROMOTED and c.status == "True":
            events.append(Event("Normal", "Promoted", c.message))
        elif c.type == cond.PROMOTED and c.reason in GATE_EVENTS:
            events.append(Event(GATE_EVENTS[c.reason], c.reason, c.message))
        elif c.type in (cond.STALLED, cond.POLICY_PERMISSIVE) and c.status == "True":
            events.append(Event("Warning", c.reason, c.message))
        elif c.type == cond.RECONCILING and c.reason == "Suspended":
            events.append(Event("Normal", "Suspended", "worker Jobs suspended"))
        elif c.type == cond.RECONCILING and was is not None and was.reason == "Suspended" and c.reason == "Replaying":
            events.append(Event("Normal", "Resumed", "worker Jobs resumed"))
    return events
