"""Prometheus metrics of one worker, served on $EVENTREPLAY_METRICS_PORT when it is set.

Updated per batch and per transaction (never per event), so they cost nothing measurable.
Pods are scraped with a PodMonitor on the `metrics` port; the operator also exports the same
per-partition counts from the checkpoints, so nothing is lost when a pod is not scraped.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from ..contract.checkpoints import BUCKETS, Checkpoint
from ..contract.environment import METRICS_PORT_ENV

LABELS = ("namespace", "replay", "topic", "partition")

EVENTS = Counter("eventreplay_worker_events_total", "Source records by outcome bucket", [*LABELS, "bucket"])
REMAINING = Gauge("eventreplay_worker_remaining_offsets", "Offsets left in the frozen range", LABELS)
BATCH_SECONDS = Histogram(
    "eventreplay_worker_batch_seconds",
    "Time to prepare and finish one batch",
    LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
COMMITS = Counter("eventreplay_worker_transaction_commits_total", "Committed Kafka transactions", LABELS)


class WorkerMetrics:
    def __init__(self, namespace: str, replay: str, topic: str, partition: int) -> None:
        self._labels = (namespace, replay, topic, str(partition))
        self._seen = dict.fromkeys(BUCKETS, 0)
        port = os.environ.get(METRICS_PORT_ENV)
        if port:
            start_http_server(int(port))

    def resumed(self, ckpt: Checkpoint) -> None:
        """Start from the restored checkpoint: a retried worker counts only the events it processes
        (its counter starts at zero again; adding the restored totals would count them twice)."""
        self._seen = {bucket: int(getattr(ckpt, bucket)) for bucket in BUCKETS}
        REMAINING.labels(*self._labels).set(ckpt.remaining)

    def batch(self, seconds: float) -> None:
        BATCH_SECONDS.labels(*self._labels).observe(seconds)

    def committed(self, ckpt: Checkpoint) -> None:
        COMMITS.labels(*self._labels).inc()
        REMAINING.labels(*self._labels).set(ckpt.remaining)
        for bucket in BUCKETS:
            now = int(getattr(ckpt, bucket))
            if now > self._seen[bucket]:
                EVENTS.labels(*self._labels, bucket).inc(now - self._seen[bucket])
            self._seen[bucket] = now
