"""Per-replay series for alerts and dashboards (phase, gate wait, failures, progress, the workers'
totals), read from the status the operator writes, and removed with the replay."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge

from eventreplay.worker.contract.exit_codes import CLAIM_HELD, POISON_RATIO_EXCEEDED

from .steps.gate import WAITING_REASONS

LABELS = ("namespace", "replay")
PHASE = Gauge("eventreplay_replay_phase", "1 for the replay's current phase", [*LABELS, "phase"])
FIGURES: dict[str, Gauge] = {
    "gate_waiting_seconds": Gauge(
        "eventreplay_replay_gate_waiting_seconds", "Seconds the promotion gate has waited (approval, figures)", LABELS
    ),
    "partitions_failed": Gauge("eventreplay_replay_partitions_failed", "Partitions whose Job failed", LABELS),
    "partitions_total": Gauge("eventreplay_replay_partitions_total", "Partitions planned", LABELS),
    "poison_breaker_tripped": Gauge(
        "eventreplay_replay_poison_breaker_tripped", "1 when the poison breaker stopped the replay", LABELS
    ),
    "promotion_blocked": Gauge(
        "eventreplay_replay_promotion_blocked", "1 when the promotion stopped on another replay's claim", LABELS
    ),
    "progress_ratio": Gauge("eventreplay_replay_progress_ratio", "Committed offsets / planned offsets (0-1)", LABELS),
    "events_per_second": Gauge("eventreplay_replay_events_per_second", "Records read per second (overall)", LABELS),
}
RECORDS = Gauge(
    "eventreplay_replay_records", "The workers' totals per bucket (from their checkpoints)", [*LABELS, "bucket"]
)
BUCKETS = ("read", "emitted", "duplicate", "processed", "deadLettered", "skippedOffsets", "bytesIn", "bytesOut")

_phase_of: dict[tuple[str, str], str] = {}
"""The phase series each replay has, so that a new phase (or deleting it) removes the old one."""


def _since(stamp: str, now: datetime) -> float:
    try:
        return max(0.0, (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds())
    except ValueError:
        return 0.0


def figures(status: dict[str, Any], now: datetime) -> dict[str, float]:
    """The per-replay figures a status says (pure: the table-driven unit tests call it)."""
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    promoted = next((c for c in conditions if c.get("type") == "Promoted"), {})
    waiting = promoted.get("status") == "False" and promoted.get("reason") in WAITING_REASONS
    progress = status.get("progress") or {}
    return {
        "gate_waiting_seconds": _since(str(promoted.get("lastTransitionTime") or ""), now) if waiting else 0.0,
        "partitions_failed": float(progress.get("partitionsFailed") or 0),
        "partitions_total": float(progress.get("partitionsTotal") or 0),
        "poison_breaker_tripped": float(any(c.get("reason") == POISON_RATIO_EXCEEDED for c in conditions)),
        "promotion_blocked": float(any(CLAIM_HELD in str(c.get("message") or "") for c in conditions)),
        "progress_ratio": float(progress.get("percent") or 0) / 100,
        "events_per_second": float(progress.get("eventsPerSecond") or 0),
    }


def observe(namespace: str, name: str, status: dict[str, Any], now: datetime | None = None) -> None:
    """Set the replay's series from its status."""
    phase = str(status.get("phase") or "Pending")
    old = _phase_of.get((namespace, name))
    if old is not None and old != phase:
        remove(PHASE, namespace, name, old)
    _phase_of[(namespace, name)] = phase
    PHASE.labels(namespace, name, phase).set(1)
    for key, value in figures(status, now or datetime.now(UTC)).items():
        FIGURES[key].labels(namespace, name).set(value)
    totals = status.get("totals") or {}
    for bucket in BUCKETS:
        RECORDS.labels(namespace, name, bucket).set(float(totals.get(bucket) or 0))


def forget(namespace: str, name: str) -> None:
    """A deleted replay leaves none of its series behind."""
    old = _phase_of.pop((namespace, name), None)
    if old is not None:
        remove(PHASE, namespace, name, old)
    for gauge in FIGURES.values():
        remove(gauge, namespace, name)
    for bucket in BUCKETS:
        remove(RECORDS, namespace, name, bucket)


def remove(metric: Any, *labels: str) -> None:
    """Remove one labelled series, if it was ever set."""
    with contextlib.suppress(KeyError):  # never set
        metric.remove(*labels)
