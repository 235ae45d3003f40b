"""Blocked worker pods: the classifier on pod statuses shaped as the kubelet and the scheduler write
them, the deciders, and a pass that surfaces a blocked pod as a condition and one Event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from operator_fakes import NOW, World

from eventreplay.operator.api.v1alpha1 import BlockedPod, PartitionProgress
from eventreplay.operator.planner import format_time
from eventreplay.operator.pod_blocks import (
    STALL_AFTER,
    Block,
    blocked_cause,
    blocked_conditions,
    blocked_events,
    decide_blocked,
    decide_look,
)

JSON = dict[str, Any]


def waiting(reason: str, message: str, *, init: bool = False) -> JSON:
    status = {
        "name": "worker",
        "ready": False,
        "restartCount": 0,
        "state": {"waiting": {"reason": reason, "message": message}},
    }
    return {"phase": "Pending", ("initContainerStatuses" if init else "containerStatuses"): [status]}


UNSCHEDULABLE: JSON = {
    "phase": "Pending",
    "conditions": [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
            "lastTransitionTime": "2026-11-20T12:00:00Z",
        }
    ],
}
OOM_KILLED: JSON = {
    "phase": "Failed",
    "containerStatuses": [
        {"name": "worker", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}, "restartCount": 0}
    ],
}
RUNNING: JSON = {
    "phase": "Running",
    "conditions": [{"type": "PodScheduled", "status": "True"}],
    "containerStatuses": [{"name": "worker", "state": {"running": {"startedAt": "2026-11-20T12:00:00Z"}}}],
}
PULL = 'Back-off pulling image "registry.invalid/worker:nope"'
CONFIG = 'secret "kafka-client" not found'


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (waiting("ErrImagePull", "failed to resolve reference"), ("worker", "ImagePullBackOff")),
        (waiting("ImagePullBackOff", PULL), ("worker", "ImagePullBackOff")),
        (waiting("InvalidImageName", 'couldn\'t parse image name "Bad:Name"'), ("worker", "InvalidImageName")),
        (waiting("CreateContainerConfigError", CONFIG), ("worker", "CreateContainerConfigError")),
        (
            waiting("CrashLoopBackOff", "back-off 40s restarting failed container", init=True),
            ("worker", "CrashLoopBackOff"),
        ),
        (UNSCHEDULABLE, ("", "Unschedulable")),
        (OOM_KILLED, ("worker", "OOMKilled")),
        (RUNNING, None),
        (waiting("ContainerCreating", ""), None),
        ({}, None),
    ],
)
def test_blocked_cause(status: JSON, expected: tuple[str, str] | None) -> None:
    block = blocked_cause({"metadata": {"name": "r-0-abcde"}, "status": status})
    assert (block and (block.container, block.cause)) == expected
    assert block is None or block.pod == "r-0-abcde"


def part(partition: int, *, state: str = "Running", committed: int | None = None, **more: Any) -> PartitionProgress:
    return PartitionProgress(partition=partition, state=state, job=f"r-{partition}", committed_offset=committed, **more)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new", "look"),
    [
        ([], [part(0)], True),  # a new Job
        ([part(0, committed=10)], [part(0, committed=10)], True),  # not moving
        ([part(0, committed=10)], [part(0, committed=20)], False),  # progressing
        ([part(0, state="Done")], [part(0, state="Done")], False),
        ([part(0, state="Suspended")], [part(0, state="Suspended")], False),
    ],
)
def test_decide_look(old: list[PartitionProgress], new: list[PartitionProgress], look: bool) -> None:
    assert decide_look(old, new) is look


def record(cause: str, since: str = "2026-11-20T12:00:00.000Z", pod: str = "r-0-abcde") -> BlockedPod:
    return BlockedPod(pod=pod, container="worker", cause=cause, message="m", since=since)


def test_decide_blocked_keeps_since_while_the_pod_and_cause_stay() -> None:
    later = NOW + timedelta(minutes=2)
    old = [part(0, blocked=record("ImagePullBackOff")), part(1)]
    blocks = {
        "r-0": Block("r-0-abcde", "worker", "ImagePullBackOff", "m"),
        "r-1": Block("r-1-x", "", "Unschedulable", ""),
    }
    new = decide_blocked([part(0), part(1), part(2, state="Done")], old, blocks, later)
    assert [p.blocked and (p.blocked.cause, p.blocked.since) for p in new] == [
        ("ImagePullBackOff", "2026-11-20T12:00:00.000Z"),
        ("Unschedulable", format_time(later)),
        None,
    ]


@pytest.mark.parametrize(
    ("cause", "held", "state"),
    [
        ("ImagePullBackOff", timedelta(0), "PodsBlocked"),
        ("ImagePullBackOff", STALL_AFTER, "PodsStalled"),
        ("Unschedulable", timedelta(minutes=1), "PodsBlocked"),
        ("CreateContainerConfigError", timedelta(0), "PodsStalled"),
        ("InvalidImageName", timedelta(0), "PodsStalled"),
    ],
)
def test_blocked_conditions_wait_then_stall(cause: str, held: timedelta, state: str) -> None:
    wants = blocked_conditions([part(0, blocked=record(cause, since=format_time(NOW)))], NOW + held)
    triple = {w.type: (w.status, w.reason) for w in wants}
    stalled = state == "PodsStalled"
    assert triple == {
        "Ready": ("False", state),
        "Reconciling": ("False" if stalled else "True", state),
        "Stalled": ("True" if stalled else "False", state),
    }
    assert f"partition 0: pod r-0-abcde container worker: {cause}: m" in wants[0].message
    assert blocked_conditions([part(0)], NOW) == []


def test_one_event_per_pod_and_cause() -> None:
    old = [part(0, blocked=record("ImagePullBackOff"))]
    assert blocked_events(old, [part(0, blocked=record("ImagePullBackOff"))]) == []
    assert [e.message for e in blocked_events(old, [part(0, blocked=record("OOMKilled"))])] == [
        "partition 0: pod r-0-abcde container worker: OOMKilled: m"
    ]
    assert len(blocked_events(old, [part(0, blocked=record("ImagePullBackOff", pod="r-0-fghij"))])) == 1


def test_a_pass_surfaces_a_blocked_pod_once() -> None:
    world = World()
    world.sync()
    world.kube.pod("r-0", "r-0-abcde", waiting("ErrImagePull", "failed to resolve reference"))
    first = world.sync()
    assert world.kstatus() == ("False", "True", "False", "PodsBlocked")
    assert world.status["partitions"][0]["blocked"]["pod"] == "r-0-abcde"
    assert "blocked" not in world.status["partitions"][1]
    warnings = [e for e in first.events if e.reason == "PodBlocked"]
    assert [(e.type, e.message) for e in warnings] == [
        ("Warning", "partition 0: pod r-0-abcde container worker: ImagePullBackOff: failed to resolve reference")
    ]
    world.kube.pods["r-0"][0]["status"] = waiting("ImagePullBackOff", PULL)  # the kubelet's next word
    assert [e for e in world.sync().events if e.reason == "PodBlocked"] == [], "one Event, not one per pass"
    world.sync(now=NOW + STALL_AFTER)
    assert world.kstatus() == ("False", "False", "True", "PodsStalled")
    world.kube.pods["r-0"][0]["status"] = RUNNING
    world.sync(now=NOW + STALL_AFTER)
    assert world.kstatus() == ("False", "True", "False", "Replaying")
    assert "blocked" not in world.status["partitions"][0]
    assert world.kube.pod_listings == [f"eventreplay.io/replay-uid={world.kube.obj['metadata']['uid']}"] * 5  # type: ignore[index]
