"""The controller pass in-process for windowed-aggregate replays: after the replay, the combine Job
once; reconciliation only once its summary is recorded (and then for good); a failed combine
stalls until spec.retry is bumped."""

from __future__ import annotations

from typing import Any

import orjson
from operator_fakes import FakeKube, World, replay
from summary_fixtures import combine_summary

from eventreplay.worker.contract.names import ReplayTopics, combine_key, failure_key

AGGREGATE = {
    "eventTimeField": "ts",
    "keyField": "shop",
    "windowSeconds": 60,
    "aggregations": [{"name": "n", "function": "count"}],
}
SUMMARY = combine_summary(results=42, late=3, no_event_time=1)


def replayed(**spec: Any) -> World:
    world = World(kube=FakeKube(replay(transform={"aggregate": AGGREGATE}, **spec)))
    world.sync()
    world.kube.finish("r-0")
    world.kube.finish("r-1")
    return world


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
    world.checkpoints.keys[combine_key("u-1")] = SUMMARY
    world.sync()
    agg = world.status["aggregation"]
    assert (agg["results"], agg["late"], agg["noEventTime"], agg["job"]) == (42, 3, 1, "r-combine")
    assert world.kube.created[-1] == "r-reconcile"
    env = world.kube.jobs["r-reconcile"]["spec"]["template"]["spec"]["containers"][0]["env"]
    task = orjson.loads(next(e["value"] for e in env if e["name"] == "EVENTREPLAY_RECONCILE_TASK"))
    assert task["sandboxTopic"] == ReplayTopics.of("ns", "r", "u-1").results  # the results, not the sandbox
    world.checkpoints.keys.clear()  # the summary expires: status is the record
    world.sync()
    assert world.status["aggregation"]["results"] == 42 and world.kube.created.count("r-combine") == 1


def test_a_failed_combine_stalls_with_its_message_until_retry() -> None:
    world = replayed()
    world.sync()
    world.kube.finish("r-combine", failed="exit 10")
    world.checkpoints.keys[failure_key("u-1", "combine")] = b"permanent: results topic already holds 3 other results"
    world.sync()
    assert world.kstatus()[2] == "True" and world.condition("Reconciled") == ("False", "CombineFailed")
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] == "CombineFailed" and "already holds 3 other results" in stalled["message"]
    world.edit(retry=1)
    world.sync()
    assert world.kube.created[-1] == "r-combine-r1"
