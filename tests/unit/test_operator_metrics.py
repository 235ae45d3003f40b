"""Operator metrics follow the statuses it writes."""

from __future__ import annotations

from prometheus_client import REGISTRY

from eventreplay.operator import metrics


def _replays(phase: str) -> float:
    return REGISTRY.get_sample_value("eventreplay_replays", {"phase": phase}) or 0.0


def test_phases_and_partition_progress() -> None:
    # Other tests' replays are counted too (one registry per process): count from what they left.
    replaying, ready = _replays("Replaying"), _replays("Ready")
    status = {
        "phase": "Replaying",
        "plan": {"partitions": [{"partition": 0, "startOffset": 10, "endOffset": 110, "records": 100}]},
        "partitions": [{"partition": 0, "state": "Running", "committedOffset": 60, "emitted": 45, "deadLettered": 5}],
    }
    metrics.observe_status("ns", "m1", status)
    metrics.observe_status("ns", "m2", {"phase": "Replaying"})
    assert _replays("Replaying") == replaying + 2
    labels = {"namespace": "ns", "replay": "m1", "partition": "0"}
    assert REGISTRY.get_sample_value("eventreplay_partition_remaining_offsets", labels) == 50
    assert REGISTRY.get_sample_value("eventreplay_partition_events", {**labels, "bucket": "emitted"}) == 45
    metrics.observe_status("ns", "m1", {**status, "phase": "Ready"})
    assert _replays("Replaying") == replaying + 1
    metrics.forget("ns", "m2")
    assert _replays("Replaying") == replaying
    assert _replays("Ready") == ready + 1
