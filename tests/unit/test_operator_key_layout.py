"""The operator picks a replay's Redis key layout from its status.plan: a plan it makes records
keyLayout 2; a plan made by chart 0.1.0 (no keyLayout) is the legacy layout, whose keys the
operator reads and whose Jobs' tasks say so, so new workers resume the replay on its own keys.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from operator_fakes import PROMOTE, REPORT_HASH, UID, World, replayed
from operator_fixtures import env_of, operator_config, plan, spec

from eventreplay.operator.job_names import Owner
from eventreplay.operator.jobs import build_job, combine_job, promotion_job, reconciliation_job
from eventreplay.worker.contract.environment import COMBINE_TASK_ENV, PROMOTE_TASK_ENV, RECONCILE_TASK_ENV, TASK_ENV
from eventreplay.worker.contract.names import KEY_LAYOUT, LEGACY_KEY_LAYOUT, report_key

TASK_ENVS = (TASK_ENV, RECONCILE_TASK_ENV, PROMOTE_TASK_ENV, COMBINE_TASK_ENV)


def _layout_of(job: dict[str, Any]) -> int:
    """The key layout a Job's task gives its worker (the task contract's default when absent)."""
    env = env_of(job)
    (task,) = [json.loads(env[name]["value"]) for name in TASK_ENVS if name in env]
    return int(task["replay"].get("keyLayout", KEY_LAYOUT))


@pytest.mark.parametrize(("recorded", "layout"), [(None, LEGACY_KEY_LAYOUT), (1, LEGACY_KEY_LAYOUT), (2, KEY_LAYOUT)])
def test_every_job_of_a_replay_tells_its_worker_the_plans_layout(recorded: int | None, layout: int) -> None:
    pl, owner, config = plan([(0, 0, 100)], key_layout=recorded), Owner("ns", "r", "uid-1"), operator_config()
    counts = {"eventTimeField": "ts", "keyField": "shop", "windowSeconds": 60}
    aggregate = spec(transform={"aggregate": {**counts, "aggregations": [{"name": "n", "function": "count"}]}})
    jobs = [
        build_job(spec(), pl, pl.partitions[0], owner, config),
        reconciliation_job(spec(), pl, owner, config),
        promotion_job(spec(), pl, owner, config, "cd" * 32),
        combine_job(aggregate, pl, owner, config),
    ]
    assert [_layout_of(job) for job in jobs] == [layout] * 4


def _as_planned_by_0_1_0(world: World) -> None:
    """The plan as chart 0.1.0 stored it: every field of today's but keyLayout."""
    assert world.kube.obj is not None
    del world.kube.obj["status"]["plan"]["keyLayout"]


def test_a_new_plan_records_layout_2_and_every_job_says_it() -> None:
    world = replayed(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    assert world.status["plan"]["keyLayout"] == KEY_LAYOUT and world.key_tenant == "ns"
    world.sync()
    world.reconciliation_finished()
    world.sync()
    assert {name: _layout_of(job) for name, job in world.kube.jobs.items()} == {
        "r-0": KEY_LAYOUT,
        "r-1": KEY_LAYOUT,
        "r-reconcile": KEY_LAYOUT,
        PROMOTE: KEY_LAYOUT,
    }
    assert world.checkpoints.tenants == {"ns"}


def test_a_replay_planned_by_0_1_0_is_resumed_on_its_legacy_keys() -> None:
    world = World()
    world.kube.obj["spec"]["promotion"] = {"policy": "Manual"}  # type: ignore[index]
    world.sync()
    _as_planned_by_0_1_0(world)
    plan = dict(world.status["plan"])
    world.checkpoints.tenants.clear()  # read once by the pass that planned it
    world.partitions_finished()
    world.sync()
    assert world.checkpoints.tenants == {None}, "checkpoints read at eventreplay:ckpt:<uid>:<p>"
    assert world.kube.created[-1] == "r-reconcile"
    assert _layout_of(world.kube.jobs["r-reconcile"]) == LEGACY_KEY_LAYOUT

    world.reconciliation_finished()
    assert set(world.checkpoints.keys) == {report_key(None, UID)} == {f"eventreplay:report:{UID}"}
    world.sync()
    assert world.status["reconciliation"]["reportHash"] == REPORT_HASH  # read from the legacy key
    world.edit(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.sync()
    assert world.kube.created[-1] == PROMOTE and _layout_of(world.kube.jobs[PROMOTE]) == LEGACY_KEY_LAYOUT
    world.promotion_finished()
    world.sync()
    assert world.condition("Promoted") == ("True", "Promoted")
    assert world.status["plan"] == plan, "the frozen plan is never given a layout it was not made in"


def test_a_legacy_replays_failure_is_read_from_its_legacy_key() -> None:
    world = World()
    world.sync()
    _as_planned_by_0_1_0(world)
    world.partitions_finished()
    world.sync()
    world.step_failed("reconcile", "sink topic is gone")
    assert f"eventreplay:failure:{UID}:reconcile" in world.checkpoints.keys
    world.sync()
    assert "sink topic is gone" in json.dumps(world.status["conditions"])
