"""Per-replay series for alerts and dashboards (phase, gate wait, failures, progress, the workers'
totals), read from the status the operator writes, and removed with the replay."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from eventreplay.worker.contract.exit_codes import CLAIM_HELD, POISON_RATIO_EXCEEDED

from .steps.gate import WAITING_REASONS

LABELS = ("namespace", "replay")
PHASE = Gauge("eventreplay_replay_phase", "1 for the replay's current phase", [*LABELS, "phase"])
GATE_WAITING = "eventreplay_replay_gate_waiting_seconds"
FIGURES: dict[str, Gauge] = {
    "partitions_failed": Gauge("eventreplay_replay_partitions_failed", "Partitions whose Job failed", LABELS),
    "partitions_total": Gauge("eventreplay_replay_partitions_total", "Partitions planned", LABELS),
    "poison_breaker_tripped": Gauge(
        "eventreplay_replay_poison_breaker_tripped", "1 when the poison breaker stopped the replay", LABELS
    ),
    "promotion_blocked": Gauge(
        "eventreplay_replay_promotion_blocked",
        "1 while the promotion waits on (or stopped on) another replay's claim",
        LABELS,
    ),
    "progress_ratio": Gauge("eventreplay_replay_progress_ratio", "Committed offsets / planned offsets (0-1)", LABELS),
    "rollout_steps_done": Gauge(
        "eventreplay_replay_rollout_steps_done", "Rollout steps promoted (spec.promotion.rollout)", LABELS
    ),
    "rollout_paused": Gauge("eventreplay_replay_rollout_paused", "1 while a rollout is paused for a person", LABELS),
    "rollout_aborted": Gauge("eventreplay_replay_rollout_aborted", "1 once a rollout was aborted", LABELS),
    "events_per_second": Gauge("eventreplay_replay_events_per_second", "Records read per second (overall)", LABELS),
}
RECORDS = Gauge(
    "eventreplay_replay_records", "The workers' totals per bucket (from their checkpoints)", [*LABELS, "bucket"]
)
BUCKETS = ("read", "emitted", "duplicate", "processed", "deadLettered", "skippedOffsets", "bytesIn", "bytesOut")

_phase_of: dict[tuple[str, str], str] = {}
"""The phase series each replay has, so that a new phase (or deleting it) removes the old one."""
_gate_since: dict[tuple[str, str], datetime | None] = {}
"""Since when each replay's gate waits (None: it does not): the wait grows while the status rests
unpatched, so it is computed at scrape time, not set when the status changes."""


class _GateWaiting(Collector):
    def collect(self) -> Any:
        family = GaugeMetricFamily(
            GATE_WAITING, "Seconds the promotion gate has waited (approval, figures)", labels=LABELS
        )
        now = datetime.now(UTC)
        for (namespace, name), since in sorted(_gate_since.items()):
            family.add_metric([namespace, name], 0.0 if since is None else max(0.0, (now - since).total_seconds()))
        yield family


REGISTRY.register(_GateWaiting())


def _stamp(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def gate_since(status: dict[str, Any]) -> datetime | None:
    """When the gate started waiting (approval, thresholds, totals), or None when it does not wait."""
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    promoted = next((c for c in conditions if c.get("type") == "Promoted"), {})
    if promoted.get("status") == "False" and promoted.get("reason") in WAITING_REASONS:
        return _stamp(str(promoted.get("lastTransitionTime") or ""))
    return None


def promotion_blocked(status: dict[str, Any], conditions: list[dict[str, Any]]) -> bool:
    """The promotion waits on another replay's claim (status.promotion.blockedBy, while its Job
    retries) or stopped on one (a failed Job's message)."""
    promotion = status.get("promotion") or {}
    waiting = isinstance(promotion, dict) and bool(promotion.get("blockedBy"))
    return waiting or any(CLAIM_HELD in str(c.get("message") or "") for c in conditions)


def figures(status: dict[str, Any], now: datetime) -> dict[str, float]:
    """The per-replay figures a status says (pure: the table-driven unit tests call it)."""
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    since = gate_since(status)
    progress = status.get("progress") or {}
    return {
        "gate_waiting_seconds": 0.0 if since is None else max(0.0, (now - since).total_seconds()),
        "partitions_failed": float(progress.get("partitionsFailed") or 0),
        "partitions_total": float(progress.get("partitionsTotal") or 0),
        "poison_breaker_tripped": float(any(c.get("reason") == POISON_RATIO_EXCEEDED for c in conditions)),
        "promotion_blocked": float(promotion_blocked(status, conditions)),
        "progress_ratio": float(progress.get("percent") or 0) / 100,
        "events_per_second": float(progress.get("eventsPerSecond") or 0),
        **rollout_figures(status),
    }


def rollout_figures(status: dict[str, Any]) -> dict[str, float]:
    """A rollout's steps done, and whether it is paused or aborted (all 0 without one)."""
    promotion = status.get("promotion") or {}
    rollout = (promotion.get("rollout") if isinstance(promotion, dict) else None) or {}
    phase = rollout.get("phase")
    return {
        "rollout_steps_done": float(len(rollout.get("steps") or [])),
        "rollout_paused": float(phase == "Paused"),
        "rollout_aborted": float(phase == "Aborted"),
    }


def observe(namespace: str, name: str, status: dict[str, Any], now: datetime | None = None) -> None:
    """Set the replay's series from its status."""
    phase = str(status.get("phase") or "Pending")
    old = _phase_of.get((namespace, name))
    if old is not None and old != phase:
        remove(PHASE, namespace, name, old)
    _phase_of[(namespace, name)] = phase
    PHASE.labels(namespace, name, phase).set(1)
    _gate_since[(namespace, name)] = gate_since(status)
    for key, value in figures(status, now or datetime.now(UTC)).items():
        if key in FIGURES:
            FIGURES[key].labels(namespace, name).set(value)
    totals = status.get("totals") or {}
    for bucket in BUCKETS:
        RECORDS.labels(namespace, name, bucket).set(float(totals.get(bucket) or 0))


def forget(namespace: str, name: str) -> None:
    """A deleted replay leaves none of its series behind."""
    old = _phase_of.pop((namespace, name), None)
    if old is not None:
        remove(PHASE, namespace, name, old)
    _gate_since.pop((namespace, name), None)
    for gauge in FIGURES.values():
        remove(gauge, namespace, name)
    for bucket in BUCKETS:
        remove(RECORDS, namespace, name, bucket)


def remove(metric: Any, *labels: str) -> None:
    """Remove one labelled series, if it was ever set."""
    with contextlib.suppress(KeyError):  # never set
        metric.remove(*labels)
