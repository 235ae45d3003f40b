"""Worker metrics follow the checkpoints: counters grow by the difference, never double count."""

from __future__ import annotations

from prometheus_client import REGISTRY

from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.replay.metrics import WorkerMetrics


def _value(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    assert value is not None, f"no sample {name} {labels}"
    return value


def test_counts_follow_checkpoints() -> None:
    metrics = WorkerMetrics("ns", "r-metrics", "orders", 4)
    labels = {"namespace": "ns", "replay": "r-metrics", "topic": "orders", "partition": "4"}
    ckpt = Checkpoint(
        partition=4, start_offset=0, end_offset=100, committed_offset=40, emitted=30, duplicate=5, dead_lettered=5
    )
    metrics.committed(ckpt)
    ckpt.committed_offset, ckpt.emitted = 100, 85
    metrics.committed(ckpt)
    assert _value("eventreplay_worker_events_total", bucket="emitted", **labels) == 85
    assert _value("eventreplay_worker_events_total", bucket="duplicate", **labels) == 5
    assert _value("eventreplay_worker_remaining_offsets", **labels) == 0
    assert _value("eventreplay_worker_transaction_commits_total", **labels) == 2
    metrics.batch(0.004)
    assert _value("eventreplay_worker_batch_seconds_count", **labels) == 1


def test_a_resumed_worker_counts_only_its_own_events() -> None:
    metrics = WorkerMetrics("ns", "r-resumed", "orders", 1)
    labels = {"namespace": "ns", "replay": "r-resumed", "topic": "orders", "partition": "1"}
    restored = Checkpoint(partition=1, start_offset=0, end_offset=100, committed_offset=60, emitted=50, duplicate=10)
    metrics.resumed(restored)
    assert _value("eventreplay_worker_remaining_offsets", **labels) == 40
    restored.committed_offset, restored.emitted = 100, 88
    metrics.committed(restored)
    assert _value("eventreplay_worker_events_total", bucket="emitted", **labels) == 38
    assert REGISTRY.get_sample_value("eventreplay_worker_events_total", {**labels, "bucket": "duplicate"}) in (None, 0)
