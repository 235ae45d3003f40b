"""Forward retention warnings: will the window's first records still be in the log when the
replay reaches them? Pure: the topic's retention (from describe_configs, `kafka.py`) and the plan.

Kafka deletes a segment once its newest record is older than `retention.ms`, so a record lives at
least `retention.ms` past its timestamp. The window's first records (its `from` time) thus leave
the log around `from + retention.ms`. Partition Jobs run `spec.worker.parallelism` at a time, so
the last wave starts after the earlier waves' largest ranges, at an assumed rate per worker. A
deletion due sooner than that plus a margin becomes a plan note starting with `RETENTION_RISK`
(status.plan.notes, the Planned condition's message, a Warning Event, `eventreplay plan`).

Offset windows say nothing about time and size-bound retention (`retention.bytes`) cannot be put
on a clock: neither is judged here; an expired start is refused by the planner either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .api.v1alpha1 import EventReplaySpec, Plan
from .planner import duration, format_time, read_times, window_times

RETENTION_RISK = "retention risk"
ASSUMED_EVENTS_PER_SECOND = 20_000
"""Per worker; about half of what `bench/bench_worker.py` measures on a 2-core machine."""
MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class TopicRetention:
    """What describe_configs says about time-based deletion of a topic."""

    retention_ms: int | None
    """None: records are never deleted by age (retention.ms = -1, or cleanup.policy without delete)."""


def time_to_reach_last_start(plan: Plan, parallelism: int, rate: float) -> float:
    """Seconds from the first Job's start until the last wave of partitions starts reading."""
    sizes = [p.records for p in plan.partitions if p.records > 0]
    waves = [sizes[i : i + parallelism] for i in range(0, len(sizes), parallelism)]
    return sum(max(wave) for wave in waves[:-1]) / rate


def retention_notes(
    spec: EventReplaySpec,
    plan: Plan,
    retention: TopicRetention,
    now: datetime,
    *,
    rate: float = ASSUMED_EVENTS_PER_SECOND,
    margin: timedelta = MARGIN,
) -> list[str]:
    times = read_times(spec, window_times(spec, now))  # the read range: its first records leave first
    if times is None or retention.retention_ms is None:
        return []
    leaves = times[0] / 1000 + retention.retention_ms / 1000
    left = leaves - now.timestamp()
    reach = time_to_reach_last_start(plan, spec.worker.parallelism, rate)
    if left >= reach + margin.total_seconds():
        return []
    when = format_time(datetime.fromtimestamp(leaves, now.tzinfo))
    due = f"{duration(left)} from now" if left > 0 else "overdue: Kafka may delete them at any moment"
    return [
        f"{RETENTION_RISK}: {plan.topic} keeps records {duration(retention.retention_ms / 1000)} (retention.ms), "
        f"so the window's first records leave the log around {when}, {due}; at ~{rate:.0f} events/s per worker "
        f"the last partitions start ~{duration(reach)} after the first (margin {duration(margin.total_seconds())}): "
        "replay now, raise the topic's retention.ms, or narrow the window"
    ]


def with_retention_notes(plan: Plan, spec: EventReplaySpec, retention: TopicRetention, now: datetime) -> Plan:
    notes = retention_notes(spec, plan, retention, now)
    return plan.model_copy(update={"notes": [*plan.notes, *notes]}) if notes else plan
