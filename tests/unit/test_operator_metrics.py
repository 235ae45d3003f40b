"""Operator metrics follow the statuses it writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

from eventreplay.operator import metrics, replay_metrics
from eventreplay.worker.contract.exit_codes import CLAIM_HELD, POISON_RATIO_EXCEEDED


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


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _promoted(status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "conditions": [
            {
                "type": "Promoted",
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2026-01-01T11:50:00Z",
            }
        ]
    }


@pytest.mark.parametrize(
    ("status", "key", "value"),
    [
        (_promoted("False", "AwaitingApproval"), "gate_waiting_seconds", 600.0),
        (_promoted("False", "ThresholdExceeded"), "gate_waiting_seconds", 600.0),
        (_promoted("False", "PolicyNever"), "gate_waiting_seconds", 0.0),
        (_promoted("False", "Promoting"), "gate_waiting_seconds", 0.0),
        (_promoted("False", "Failed", f"promotion Job p failed: {CLAIM_HELD}: event 'a'"), "promotion_blocked", 1.0),
        (_promoted("False", "Failed", "promotion Job p failed: boom"), "promotion_blocked", 0.0),
        ({"promotion": {"blockedBy": "uid-of-another"}}, "promotion_blocked", 1.0),
        ({"promotion": {"job": "p"}}, "promotion_blocked", 0.0),
        ({"conditions": [{"type": "Stalled", "reason": POISON_RATIO_EXCEEDED}]}, "poison_breaker_tripped", 1.0),
        ({"conditions": [{"type": "Stalled", "reason": "PartitionsFailed"}]}, "poison_breaker_tripped", 0.0),
        ({"progress": {"partitionsFailed": 2, "partitionsTotal": 3}}, "partitions_failed", 2.0),
        ({"progress": {"percent": 40}}, "progress_ratio", 0.4),
        ({}, "progress_ratio", 0.0),
    ],
)
def test_replay_figures_from_status(status: dict[str, Any], key: str, value: float) -> None:
    assert replay_metrics.figures(status, NOW)[key] == value


def test_a_deleted_replay_leaves_no_replay_series() -> None:
    status = {"phase": "Replaying", "progress": {"percent": 50}, "totals": {"read": 7}}
    metrics.observe_status("gone", "r", status)
    metrics.observe_status("gone", "r", {**status, "phase": "Stalled"})
    names = [m.name for m in REGISTRY.collect() for s in m.samples if s.labels.get("namespace") == "gone"]
    assert {"eventreplay_replay_phase", "eventreplay_replay_progress_ratio", "eventreplay_replay_records"} <= set(names)
    phases = [
        s.labels["phase"]
        for m in REGISTRY.collect()
        for s in m.samples
        if m.name == "eventreplay_replay_phase" and s.labels.get("namespace") == "gone"
    ]
    assert phases == ["Stalled"]  # the old phase's series went with the change
    metrics.forget("gone", "r")
    assert not [s for m in REGISTRY.collect() for s in m.samples if s.labels.get("namespace") == "gone"]
