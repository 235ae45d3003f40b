"""Operator metrics follow the statuses it writes."""

from __future__ import annotations

from prometheus_client import REGISTRY

from eventreplay.operator import metrics


def test_phases_and_partition_progress() -> None:
    status = {
        "phase": "Replaying",
        "plan": {"partitions": [{"partition": 0, "startOffset": 10, "endOffset": 110, "records": 100}]},
        "partitions": [{"partition": 0, "state": "Running", "committedOffset": 60, "emitted": 45, "deadLettered": 5}],
    }
    metrics.observe_status("ns", "m1", status)
    metrics.observe_status("ns", "m2", {"phase": "Replaying"})
    assert REGISTRY.get_sample_value("eventreplay_replays", {"phase": "Replaying"}) == 2
    labels = {"namespace": "ns", "replay": "m1", "partition": "0"}
    assert REGISTRY.get_sample_value("eventreplay_partition_remaining_offsets", labels) == 50
    assert REGISTRY.get_sample_value("eventreplay_partition_events", {**labels, "bucket": "emitted"}) == 45
    metrics.observe_status("ns", "m1", {**status, "phase": "Ready"})
    assert REGISTRY.get_sample_value("eventreplay_replays", {"phase": "Replaying"}) == 1
    metrics.forget("ns", "m2")
    assert REGISTRY.get_sample_value("eventreplay_replays", {"phase": "Replaying"}) == 0
    assert REGISTRY.get_sample_value("eventreplay_replays", {"phase": "Ready"}) == 1
