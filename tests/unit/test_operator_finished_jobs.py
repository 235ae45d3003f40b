"""A replay's finished Jobs expire once its outcome is recorded (issue #14): the operator sets
their ttlSecondsAfterFinished when the replay is promoted (or reconciled under a `Never` gate), and
a replay whose Jobs the TTL controller deleted keeps its status and creates none again."""

from __future__ import annotations

from operator_fakes import NOW, PROMOTE, REPORT_HASH, FakeKube, World, reconciled, replay
from operator_fixtures import operator_config

from eventreplay.operator.config import from_args


def promoted(ttl: int = 600) -> World:
    world = reconciled(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.config, world.clients = operator_config(finished_job_ttl=ttl), None
    world.sync()
    world.promotion_finished()
    world.sync()
    assert world.kstatus()[3] == "Promoted"
    return world


def test_a_promoted_replay_hands_each_finished_job_to_the_ttl_controller_once() -> None:
    world = promoted(ttl=120)
    assert sorted(world.kube.expired) == sorted((n, 120) for n in ("r-0", "r-1", "r-reconcile", PROMOTE))
    world.sync()
    world.sync()
    assert len(world.kube.expired) == 4, "a Job already expiring is not patched again"


def test_nothing_expires_before_the_outcome_is_recorded() -> None:
    waiting = reconciled(promotion={"policy": "Manual"})
    waiting.sync()
    assert waiting.kstatus()[3] == "AwaitingApproval"
    assert waiting.kube.expired == [], "a replay waiting for approval keeps its Jobs"
    failed = World(kube=FakeKube(replay()))
    failed.sync()
    failed.kube.finish("r-0", failed="exit 10")
    failed.kube.finish("r-1")
    failed.sync()
    assert failed.kube.expired == [], "a failed replay keeps its Jobs: they are the evidence"


def test_never_gate_reconciled_is_final_and_expires_its_jobs() -> None:
    world = reconciled(promotion={"policy": "Never"})
    world.sync()
    assert world.kstatus() == ("True", "False", "False", "Reconciled")
    assert {n for n, _ in world.kube.expired} == {"r-0", "r-1", "r-reconcile"}


def test_jobs_deleted_by_the_ttl_controller_are_not_created_again() -> None:
    world = promoted()
    before = {k: v for k, v in world.status.items() if k != "conditions"}
    created = list(world.kube.created)
    assert sorted(world.kube.ttl_controller()) == sorted(["r-0", "r-1", "r-reconcile", PROMOTE])
    world.clients = None  # an operator restart as well: nothing held in memory
    for _ in range(3):
        world.sync()
    assert world.kube.created == created and world.kube.jobs == {}
    assert world.kstatus()[3] == "Promoted"
    assert {k: v for k, v in world.status.items() if k != "conditions"} == before
    assert [p["state"] for p in world.status["partitions"]] == ["Done", "Done"]


def test_a_new_window_after_the_jobs_expired_stalls_and_keeps_the_plan() -> None:
    # With the Jobs gone a window edit (which the CRD refuses once planned; here as an object an
    # older CRD let through) no longer re-plans: a planned replay is frozen (issue 25), so the pinned
    # plan and the partitions it recorded Done stay, no Job is created, and the replay says why.
    world = promoted()
    before = world.status["plan"]
    world.kube.ttl_controller()
    world.kube.created.clear()
    world.kafka.high = 150
    world.edit(window={"offsets": {"from": 0, "to": 140}})
    world.sync()
    assert world.status["plan"] == before and world.kube.created == []
    assert [p["state"] for p in world.status["partitions"]] == ["Done", "Done"]
    assert world.condition("Stalled") == ("True", "PlanFrozen")


def test_the_ttl_comes_from_the_flag_or_the_environment() -> None:
    assert from_args([], env={}).finished_job_ttl == 600
    assert from_args([], env={"EVENTREPLAY_FINISHED_JOB_TTL": "30"}).finished_job_ttl == 30
    assert from_args(["--finished-job-ttl", "0"], env={}).finished_job_ttl == 0
    assert NOW is not None
