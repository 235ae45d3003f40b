"""`engine: External` aggregate replays: no combine Job; the operator waits for the signal
(AwaitingExternalResults, with the exact commands), verifies the results topic an external job wrote,
records it, and reconciles it as it reconciles the combine Job's results."""

from __future__ import annotations

from typing import Any

import operator_fakes
import orjson
import pytest
from operator_fakes import World
from operator_fixtures import env_of
from pydantic import ValidationError

from eventreplay.operator.api.v1alpha1 import ROOT_RULES, EventReplaySpec
from eventreplay.operator.job_names import Owner
from eventreplay.operator.results_scan import ResultsScan, tally
from eventreplay.operator.steps.external import ExternalFacts, decide_external
from eventreplay.worker.contract.names import ReplayTopics

AGGREGATE = {
    "eventTimeField": "ts",
    "keyField": "shop",
    "windowSeconds": 60,
    "aggregations": [{"name": "n", "function": "count"}],
    "engine": "External",
}
OWNER = Owner("ns", "r", "u-1")
TOPIC = ReplayTopics.of("ns", "r", "u-1").results
GOOD = ResultsScan(records=12, foreign=0, unkeyed=0, results=10, windows=4)
COMPLETE = {"externalResults": {"complete": True}}


def facts(complete: bool, scan: ResultsScan | None = None, unavailable: str = "") -> ExternalFacts:
    return ExternalFacts(OWNER, TOPIC, complete, scan, unavailable)


INVALID = "ExternalResultsInvalid"
STALLED = ("False", "False", "True")


@pytest.mark.parametrize(
    ("given", "reason", "ready", "says"),
    [
        (facts(False), "AwaitingExternalResults", ("False", "False", "False"), "eventreplay export flink-sql -"),
        (facts(True, None, "broker down"), "KafkaUnavailable", ("False", "True", "False"), "broker down"),
        (facts(True), INVALID, STALLED, "does not exist"),
        (facts(True, ResultsScan(0, 0, 0, 0, 0)), INVALID, STALLED, "is empty"),
        (facts(True, ResultsScan(5, 2, 0, 3, 1)), INVALID, STALLED, "2 of 5"),
        (facts(True, ResultsScan(5, 0, 1, 4, 1)), INVALID, STALLED, "no result id"),
    ],
)
def test_the_step_waits_then_refuses_what_reconciliation_cannot_trust(
    given: ExternalFacts, reason: str, ready: tuple[str, ...], says: str
) -> None:
    verdict = decide_external(given, "now")
    by_type = {w.type: w for w in verdict.wants}
    assert verdict.aggregation is None
    assert by_type["Ready"].reason == reason and says in by_type["Ready"].message
    assert (by_type["Ready"].status, by_type["Reconciling"].status, by_type["Stalled"].status) == ready
    assert by_type["Reconciled"].status == "False"


def test_the_waiting_message_names_the_export_and_the_signal() -> None:
    verdict = decide_external(facts(False), "now")
    message = verdict.wants[0].message
    assert "kubectl get eventreplay r -n ns -o yaml | eventreplay export flink-sql - > r.sql" in message
    assert '"externalResults":{"complete":true}' in message and TOPIC in message


def test_verified_results_are_recorded_with_their_counts() -> None:
    verdict = decide_external(facts(True, GOOD), "2026-11-20T12:00:00Z")
    agg = verdict.aggregation
    assert verdict.wants == [] and agg is not None
    assert (agg.engine, agg.results_topic, agg.records, agg.results, agg.windows) == ("External", TOPIC, 12, 10, 4)
    assert agg.job is None and agg.completed_at == "2026-11-20T12:00:00Z"


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([], ResultsScan(0, 0, 0, 0, 0)),
        ([(b"60000|a", b"u-1"), (b"60000|b", b"u-1"), (b"0|a", b"u-1")], ResultsScan(3, 0, 0, 3, 2)),
        ([(b"0|a", b"u-1"), (b"0|a", b"u-1")], ResultsScan(2, 0, 0, 1, 1)),  # a job run twice
        ([(b"0|a", b"u-2"), (b"0|a", None), (None, b"u-1")], ResultsScan(3, 2, 1, 0, 0)),
    ],
)
def test_tally(records: list[tuple[bytes | None, bytes | None]], expected: ResultsScan) -> None:
    assert tally(records, "u-1") == expected


def replayed(**spec: Any) -> World:
    return operator_fakes.replayed(checkpoints=(), transform={"aggregate": AGGREGATE}, **spec)


def test_no_combine_job_runs_and_the_replay_waits_at_rest_for_the_signal() -> None:
    world = replayed()
    assert any(TOPIC in names for names, _ in world.kafka.ensured)  # created for the external job
    world.sync()
    world.sync()
    assert not any("combine" in name or "reconcile" in name for name in world.kube.created)
    assert world.kstatus() == ("False", "False", "False", "AwaitingExternalResults")
    assert world.condition("Reconciled") == ("False", "AwaitingExternalResults")
    assert world.kafka.scanned == []  # nothing read before the signal


def test_the_signal_verifies_records_and_reconciles_the_results_topic() -> None:
    world = replayed()
    world.sync()
    world.kafka.results = GOOD
    world.edit(reconciliation=COMPLETE)
    world.sync()
    agg = world.status["aggregation"]
    assert (agg["engine"], agg["records"], agg["results"], agg["windows"]) == ("External", 12, 10, 4)
    assert world.kube.created[-1] == "r-reconcile"
    task = orjson.loads(env_of(world.kube.jobs["r-reconcile"])["EVENTREPLAY_RECONCILE_TASK"]["value"])
    assert task["sandboxTopic"] == TOPIC
    world.sync()
    assert world.kafka.scanned == [TOPIC]  # recorded: never read again
    assert not any("combine" in name for name in world.kube.created)


def test_an_empty_results_topic_stalls_until_a_retry_finds_it_written() -> None:
    world = replayed()
    world.kafka.results = ResultsScan(0, 0, 0, 0, 0)
    world.edit(reconciliation=COMPLETE)
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "ExternalResultsInvalid")
    world.kafka.results = GOOD
    world.edit(retry=1)
    world.sync()
    assert world.kube.created[-1] == "r-reconcile"


def test_external_results_without_the_external_engine_are_refused() -> None:
    spec: dict[str, Any] = {
        "source": {"bootstrapServers": "kafka:9092", "topic": "orders"},
        "window": {"offsets": {"from": 0, "to": 10}},
        "dedup": {"redis": {"url": "redis://r:6379/0"}, "ledger": "orders"},
        "transform": {"aggregate": {**AGGREGATE, "engine": "Combine"}},
        "sink": {"topic": "orders-out"},
        "reconciliation": COMPLETE,
    }
    with pytest.raises(ValidationError, match=r"hand-off signal of transform\.aggregate\.engine External"):
        EventReplaySpec.model_validate(spec)
    del spec["transform"]
    with pytest.raises(ValidationError, match="hand-off signal"):
        EventReplaySpec.model_validate(spec)
    assert any("externalResults" in r["rule"] for r in ROOT_RULES)
    spec["transform"] = {"aggregate": AGGREGATE}
    assert EventReplaySpec.model_validate(spec).external_engine
