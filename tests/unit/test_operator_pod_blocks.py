"""Blocked worker pods: the classifier on pod statuses shaped as the kubelet and the scheduler write
them, the deciders, and a pass that surfaces a blocked pod as a condition and one Event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from operator_fakes import NOW, World, replayed

from eventreplay.operator.api.v1alpha1 import BlockedPod, BlockedStep, PartitionProgress
from eventreplay.operator.job_state import JobView
from eventreplay.operator.planner import format_time
from eventreplay.operator.pod_blocks import (
    STALL_AFTER,
    Block,
    blocked_cause,
    blocked_conditions,
    blocked_events,
    decide_blocked,
    decide_look,
    decide_step_blocked,
    running_step,
    step_blocked_conditions,
    step_blocked_events,
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


def step_job(step: str, state: str = "Running", attempt: int = 0) -> JobView:
    return JobView(f"r-{step}", None, attempt, state, step=step)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("jobs", "running"),
    [
        ([], None),
        ([JobView("r-0", 0, 0, "Running")], None),  # a partition's Job is not a step
        ([step_job("combine", "Succeeded"), step_job("reconcile")], "reconcile"),
        ([step_job("promote", "Suspended")], None),
        ([step_job("reconcile"), step_job("promote")], "promote"),
    ],
)
def test_running_step(jobs: list[JobView], running: str | None) -> None:
    found = running_step(jobs)
    assert (found and found.step) == running


STEP_BLOCK = {"r-promote": Block("r-promote-abcde", "worker", "ImagePullBackOff", "m")}


@pytest.mark.parametrize(
    ("old", "job", "since"),
    [
        (None, "r-promote", format_time(NOW)),  # first seen now
        ("r-promote", "r-promote", "2026-11-20T12:00:00.000Z"),  # the same Job, pod and cause: kept
        ("r-promote-old", "r-promote", format_time(NOW)),  # another attempt's Job: seen anew
    ],
)
def test_decide_step_blocked_keeps_since_for_the_same_job(old: str | None, job: str, since: str) -> None:
    was = (
        None
        if old is None
        else BlockedStep(step="promote", job=old, **record("ImagePullBackOff", pod="r-promote-abcde").model_dump())
    )
    new = decide_step_blocked(step_job("promote"), was, STEP_BLOCK, NOW)
    assert new is not None and (new.step, new.job, new.cause, new.since) == ("promote", job, "ImagePullBackOff", since)
    assert decide_step_blocked(step_job("promote"), was, {}, NOW) is None
    assert decide_step_blocked(None, was, STEP_BLOCK, NOW) is None


def test_step_blocked_conditions_and_one_event() -> None:
    new = decide_step_blocked(step_job("promote"), None, STEP_BLOCK, NOW)
    wants = step_blocked_conditions(new, NOW)
    assert {w.type: (w.status, w.reason) for w in wants}["Reconciling"] == ("True", "PodsBlocked")
    assert "the promote step's worker pod cannot run: pod r-promote-abcde container worker" in wants[0].message
    assert step_blocked_conditions(None, NOW) == []
    assert [e.message for e in step_blocked_events(None, new)] == [
        "promote step: pod r-promote-abcde container worker: ImagePullBackOff: m"
    ]
    assert step_blocked_events(new, new) == [], "one Event, not one per pass"


def test_a_pass_surfaces_a_blocked_step_pod_once() -> None:
    world = replayed()
    world.sync()  # creates the reconciliation Job
    world.kube.pod("r-reconcile", "r-reconcile-abcde", waiting("ErrImagePull", "failed to resolve reference"))
    first = world.sync()
    assert world.kstatus() == ("False", "True", "False", "PodsBlocked")
    assert (world.status["blockedStep"]["step"], world.status["blockedStep"]["pod"]) == (
        "reconcile",
        "r-reconcile-abcde",
    )
    warnings = [(e.type, e.message) for e in first.events if e.reason == "PodBlocked"]
    assert warnings == [
        (
            "Warning",
            "reconcile step: pod r-reconcile-abcde container worker: ImagePullBackOff: failed to resolve reference",
        )
    ]
    assert [e for e in world.sync().events if e.reason == "PodBlocked"] == [], "one Event, not one per pass"
    world.kube.pods["r-reconcile"][0]["status"] = RUNNING
    world.sync()
    assert "blockedStep" not in world.status
    assert world.kstatus()[3] == "Reconciling"
