"""The operator's Prometheus metrics, served on $EVENTREPLAY_METRICS_PORT (default 9090, the chart's
`metrics` port): replays by phase, reconcile errors, handler latency, and the workers' progress per
replay and partition (read from their checkpoints, so nothing is lost when worker pods are not scraped);
the per-replay series alerts use are in replay_metrics.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from eventreplay import installed_version

from . import replay_metrics
from .replay_metrics import remove

REPLAYS = Gauge("eventreplay_replays", "EventReplays by phase", ["phase"])
RECONCILE_ERRORS = Counter("eventreplay_reconcile_errors_total", "Reconcile passes that failed", ["reason"])
HANDLER_SECONDS = Histogram(
    "eventreplay_handler_seconds", "Time of one reconcile pass", buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
)
EVENTS = Gauge(
    "eventreplay_partition_events",
    "Source records per bucket (from checkpoints)",
    ["namespace", "replay", "partition", "bucket"],
)
REMAINING = Gauge(
    "eventreplay_partition_remaining_offsets", "Offsets left per partition", ["namespace", "replay", "partition"]
)

POLICY_PERMISSIVE = Gauge(
    "eventreplay_operator_policy_permissive", "1 when the operator runs with policy.permissive: true, else 0"
)

STATUS_PATCH_BYTES = Counter(
    "eventreplay_status_patch_bytes", "Bytes of status patches sent to the API server", ["namespace", "replay"]
)

BUILD_INFO = Gauge("eventreplay_build_info", "Always 1: the running operator's version as a label", ["version"])
BUILD_INFO.labels(installed_version()).set(1)

_phases: dict[tuple[str, str], str] = {}
_partitions: dict[tuple[str, str], set[str]] = {}
"""The partition series each replay has, so that deleting the replay removes exactly those."""
_seen: set[str] = set()


def _recount() -> None:
    for value in _seen:
        REPLAYS.labels(value).set(sum(1 for p in _phases.values() if p == value))


def serve() -> None:
    port = int(os.environ.get("EVENTREPLAY_METRICS_PORT", "9090"))
    if port:
        start_http_server(port)


def observe_status(namespace: str, name: str, status: dict[str, Any]) -> None:
    """Record what a status says: the replay's phase and its partitions' counts."""
    phase = str(status.get("phase") or "Pending")
    _phases[(namespace, name)] = phase
    _seen.add(phase)
    _recount()
    replay_metrics.observe(namespace, name, status)
    ends = {p["partition"]: p for p in (status.get("plan") or {}).get("partitions") or []}
    seen = _partitions.setdefault((namespace, name), set())
    for part in status.get("partitions") or []:
        labels = (namespace, name, str(part.get("partition")))
        seen.add(labels[2])
        for bucket in ("emitted", "duplicate", "processed", "deadLettered"):
            EVENTS.labels(*labels, bucket).set(float(part.get(bucket) or 0))
        planned = ends.get(part.get("partition"))
        if planned is not None:
            committed = part.get("committedOffset", planned["startOffset"])
            REMAINING.labels(*labels).set(max(0, int(planned["endOffset"]) - int(committed)))


def forget(namespace: str, name: str) -> None:
    """A deleted replay leaves no series behind (1,000 partitions x 5 series each)."""
    _phases.pop((namespace, name), None)
    _recount()
    replay_metrics.forget(namespace, name)
    for partition in _partitions.pop((namespace, name), set()):
        for bucket in ("emitted", "duplicate", "processed", "deadLettered"):
            remove(EVENTS, namespace, name, partition, bucket)
        remove(REMAINING, namespace, name, partition)
    remove(STATUS_PATCH_BYTES, namespace, name)
