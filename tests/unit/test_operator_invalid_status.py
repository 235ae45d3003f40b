"""A status someone edited into something the model refuses: the replay stalls with a reason that
names the field, and neither its pinned plan nor its Jobs are touched (no re-plan at a new as-of
time while the old Jobs run). Fixing the status resumes the replay where it was."""

from __future__ import annotations

import copy

from operator_fakes import World


def test_an_invalid_status_stalls_with_the_field_and_leaves_plan_and_jobs_alone() -> None:
    world = World()
    world.sync()
    assert world.condition("Planned") == ("True", "Planned") and len(world.kube.jobs) == 2
    plan, jobs, observed = copy.deepcopy(world.status["plan"]), dict(world.kube.jobs), world.kafka.observed

    good = world.status["plan"]["partitions"][0]["startOffset"]
    world.status["plan"]["partitions"][0]["startOffset"] = "not a number"
    world.sync()
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidStatus")
    assert "status.plan.partitions.0.startOffset" in stalled["message"]
    assert world.status["phase"] == "Stalled"
    assert {k: v for k, v in world.status["plan"].items()} == {
        **plan,
        "partitions": [{**plan["partitions"][0], "startOffset": "not a number"}, *plan["partitions"][1:]],
    }
    assert world.kube.jobs == jobs and world.kafka.observed == observed
    patches = len(world.kube.patches)
    world.sync()  # nothing changed: nothing written again
    assert len(world.kube.patches) == patches

    world.status["plan"]["partitions"][0]["startOffset"] = good
    world.sync()
    assert world.condition("Stalled")[0] == "False"
    assert world.status["plan"] == plan and world.kube.jobs == jobs and world.kafka.observed == observed
