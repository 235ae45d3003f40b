"""Progressive promotion, the operator's side (`steps/rollout.py`): quotas per step, one Job per step
with its quota, the consumer groups' lag checked between steps, a pause a person lifts through the
spec, an abort, and the last step finishing the promotion as a one-shot one does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from operator_fakes import NOW, PROMOTE, REPORT_HASH, World, reconciled
from pydantic import ValidationError

from eventreplay.operator.api.v1alpha1.rollout import Rollout
from eventreplay.operator.steps.rollout import quotas
from eventreplay.worker.contract.checkpoints import PromotionCheckpoint
from eventreplay.worker.contract.environment import PROMOTE_TASK_ENV
from eventreplay.worker.contract.step_tasks import PromoteTask

APPROVED = {"policy": "Manual", "approvedReportHash": REPORT_HASH}


@pytest.mark.parametrize(
    ("steps", "delta", "expected"),
    [
        (["10%", "50%"], {"0": 20}, [{"0": 2}, {"0": 10}, None]),
        (["1%", "100%"], {"0": 20, "1": 3}, [{"0": 1, "1": 1}, None]),  # a 100 % step is the last
        (["5", "12"], {"0": 20, "1": 10}, [{"0": 3, "1": 2}, {"0": 8, "1": 4}, None]),
        (["50", "100"], {"0": 20, "1": 10}, [None]),  # a count beyond the delta: one step writes it all
    ],
)
def test_quotas_split_each_step_over_the_partitions(steps: list[str], delta: dict[str, int], expected: Any) -> None:
    assert quotas(Rollout(steps=steps), delta) == expected


@pytest.mark.parametrize("steps", [["50%", "10%"], ["10%", "20"], ["0%"], ["120%"], ["5", "5"]])
def test_steps_must_increase(steps: list[str]) -> None:
    with pytest.raises(ValidationError):
        Rollout(steps=steps)


def _rollout(**more: Any) -> dict[str, Any]:
    analysis = {"consumerGroups": ["dashboard"], "maxLag": 5}
    return {**APPROVED, "rollout": {"steps": ["10%", "50%"], "analysis": analysis, **more}}


def _step_task(world: World, name: str) -> PromoteTask:
    env = {e["name"]: e for e in world.kube.jobs[name]["spec"]["template"]["spec"]["containers"][0]["env"]}
    return PromoteTask.model_validate_json(env[PROMOTE_TASK_ENV]["value"])


def _step_done(world: World, step: int, written: int, *, done: bool = False) -> None:
    """Step `step`'s Job succeeds: partition 0's promoter has handled `written` delta records (and
    stopped at its quota, `paused`, unless `done`); partition 1, with no delta, finished at step 1."""
    world.kube.finish(f"{PROMOTE}-s{step}")
    mirror = {"report_hash": REPORT_HASH, "start_offset": 0, "end_offset": 10, "step": step}
    world.checkpoints.promotions_done = {
        0: PromotionCheckpoint(
            partition=0, committed_offset=5, written=written, state="done" if done else "paused", **mirror
        ),
        1: PromotionCheckpoint(partition=1, committed_offset=10, state="done", **mirror),
    }


def _rollout_status(world: World) -> dict[str, Any]:
    return dict(world.status["promotion"]["rollout"])


def test_a_rollout_promotes_step_by_step_pauses_on_lag_and_resumes_through_the_spec() -> None:
    world = reconciled(promotion=_rollout())
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s1"
    first = _step_task(world, f"{PROMOTE}-s1").rollout
    assert first is not None and (first.index, first.quota) == (1, {"0": 2})
    world.kube.jobs[f"{PROMOTE}-s1"]["status"] = {}  # running
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s1", "one Job per step"

    _step_done(world, 1, written=2)
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s2", "lag 0: the next step"
    assert _rollout_status(world)["steps"][0] | {"completedAt": None} == {
        "index": 1,
        "handled": 2,
        "completedAt": None,
        "lag": {"dashboard": 0},
        "lagGrowth": {"dashboard": 0},
        "verdict": "Passed",
    }

    world.kafka.lags = {"dashboard": 9}
    _step_done(world, 2, written=10)
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s2", "over maxLag: no third step"
    assert world.condition("Promoted") == ("False", "PromotionPaused")
    assert world.kstatus()[3] == "PromotionPaused"
    status = _rollout_status(world)
    assert (status["phase"], status["pausedAfterStep"]) == ("Paused", 2)
    assert "dashboard: lag 9 > maxLag 5" in status["message"]

    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s2", "a pause holds until a person acts"
    world.edit(promotion=_rollout(resumeAfterStep=2))
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s3"
    last = _step_task(world, f"{PROMOTE}-s3").rollout
    assert last is not None and last.quota is None, "the last step: everything left"

    _step_done(world, 3, written=20, done=True)
    world.sync()
    assert world.kstatus()[3] == "Promoted"
    status = _rollout_status(world)
    assert status["phase"] == "Completed" and [s["index"] for s in status["steps"]] == [1, 2, 3]
    assert status["steps"][1]["verdict"] == "Resumed"


def test_an_abort_writes_no_more_steps() -> None:
    world = reconciled(promotion=_rollout(onFailure="Abort"))
    world.sync()
    world.kafka.lags = {"dashboard": 50}
    _step_done(world, 1, written=2)
    world.sync()
    assert world.kstatus()[3] == "PromotionAborted" and _rollout_status(world)["phase"] == "Aborted"
    assert world.kube.created[-1] == f"{PROMOTE}-s1"
    world.kafka.lags = {}
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s1", "aborted for good"


def test_a_person_aborts_between_steps_through_the_spec() -> None:
    world = reconciled(promotion=_rollout(abort=True))
    world.sync()
    assert world.kstatus()[3] == "PromotionAborted" and world.kube.created[-1] != f"{PROMOTE}-s1"


def test_the_pause_between_steps_is_waited_out() -> None:
    world = reconciled(promotion=_rollout(pauseSeconds=60))
    world.sync()
    _step_done(world, 1, written=2)
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s1"
    assert world.condition("Promoted") == ("False", "PromotionStep")
    world.sync(now=NOW + timedelta(seconds=61))
    assert world.kube.created[-1] == f"{PROMOTE}-s2"


def test_an_unreadable_lag_waits() -> None:
    world = reconciled(promotion=_rollout())
    world.sync()
    _step_done(world, 1, written=2)
    world.kafka.down = "broker gone"
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-s1"
    assert "reading the consumer groups' lag" in next(
        c["message"] for c in world.status["conditions"] if c["type"] == "Promoted"
    )
