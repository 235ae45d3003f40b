"""The controller pass in-process for windowed-aggregate replays: after the replay, the combine Job
once; reconciliation only once its summary is recorded (and then for good); a failed combine
stalls until spec.retry is bumped."""

from __future__ import annotations

from typing import Any

import operator_fakes
import orjson
from operator_fakes import World
from operator_fixtures import env_of
from summary_fixtures import combine_summary

from eventreplay.worker.contract.names import ReplayTopics, combine_key

AGGREGATE = {
    "eventTimeField": "ts",
    "keyField": "shop",
    "windowSeconds": 60,
    "aggregations": [{"name": "n", "function": "count"}],
}
SUMMARY = combine_summary(results=42, late=3, no_event_time=1)


def replayed(**spec: Any) -> World:
    """An aggregate replay whose partition Jobs succeeded (no checkpoints in Redis)."""
    return operator_fakes.replayed(checkpoints=(), transform={"aggregate": AGGREGATE}, **spec)


def test_the_combine_job_runs_once_before_reconciliation() -> None:
    world = replayed()
    world.sync()
    assert world.kube.created[-1] == "r-combine" and world.status["aggregation"]["job"] == "r-combine"
    assert world.kstatus() == ("False", "True", "False", "Combining")
    world.sync()
    assert world.kube.created.count("r-combine") == 1 and "r-reconcile" not in world.kube.jobs


def test_reconciliation_reads_the_results_once_they_are_recorded() -> None:
    world = replayed()
    world.sync()
    world.kube.finish("r-combine")
    world.checkpoints.keys[combine_key("ns", "u-1")] = SUMMARY
    world.sync()
    agg = world.status["aggregation"]
    assert (agg["results"], agg["late"], agg["noEventTime"], agg["job"]) == (42, 3, 1, "r-combine")
    assert world.kube.created[-1] == "r-reconcile"
    task = orjson.loads(env_of(world.kube.jobs["r-reconcile"])["EVENTREPLAY_RECONCILE_TASK"]["value"])
    assert task["sandboxTopic"] == ReplayTopics.of("ns", "r", "u-1").results  # the results, not the sandbox
    world.checkpoints.keys.clear()  # the summary expires: status is the record
    world.sync()
    assert world.status["aggregation"]["results"] == 42 and world.kube.created.count("r-combine") == 1


def test_a_failed_combine_stalls_with_its_message_until_retry() -> None:
    world = replayed()
    world.sync()
    world.step_failed("combine", "permanent: results topic already holds 3 other results", condition="exit 10")
    world.sync()
    assert world.kstatus()[2] == "True" and world.condition("Reconciled") == ("False", "CombineFailed")
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] == "CombineFailed" and "already holds 3 other results" in stalled["message"]
    world.edit(retry=1)
    world.sync()
    assert world.kube.created[-1] == "r-combine-r1"
