"""The controller pass in-process, up to the replay: spec checks, the plan, the partition Jobs, status.

Each test drives `sync()` against fakes (`operator_fakes.py`) through one decision path and
checks what reached Kubernetes (Jobs, status patches), as the cluster would see it.
"""

from __future__ import annotations

from typing import Any

import pytest
from operator_fake_backends import FakeKafka
from operator_fakes import FakeKube, World, checkpoint, replay
from operator_fixtures import operator_config

from eventreplay.operator.phases.plan import REFUSALS
from eventreplay.operator.pod_messages import MAX_POD_LOOKUPS
from eventreplay.worker.contract.names import ReplayTopics, short_uid


def test_an_invalid_spec_stalls_without_asking_kafka() -> None:
    world = World(kube=FakeKube(replay(window={"offsets": {"from": 5, "to": 5}})))
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "InvalidSpec")
    assert world.kafka.observed == 0 and world.kube.jobs == {}


def test_an_image_outside_the_allowlist_stalls_until_the_operator_allows_it() -> None:
    world = World(kube=FakeKube(replay(worker={"image": "evil:latest"})))
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "ImageNotAllowed") and world.kube.jobs == {}
    allowed = World(kube=world.kube, config=operator_config(image_allowlist=frozenset({"evil:latest"})))
    allowed.sync()
    assert world.condition("Planned") == ("True", "Planned") and len(world.kube.jobs) == 2


REFUSED: dict[str, tuple[dict[str, Any], FakeKafka]] = {
    "TopicNotFound": ({}, FakeKafka(partitions=None)),
    "PartitionOutOfRange": (
        {"source": {"bootstrapServers": "k:9092", "topic": "orders", "partitions": ["5"]}},
        FakeKafka(),
    ),
    "PartitionNotSelected": (
        {
            "source": {"bootstrapServers": "k:9092", "topic": "orders", "partitions": ["0"]},
            "window": {"offsets": {"perPartition": [{"partition": 1, "from": 0, "to": 10}]}},
        },
        FakeKafka(),
    ),
    "RetentionExpired": ({}, FakeKafka(low=50)),
    "EmptyWindow": ({}, FakeKafka(high=0)),
}


def test_every_refusal_reason_is_covered() -> None:
    assert set(REFUSED) == REFUSALS


@pytest.mark.parametrize("reason", sorted(REFUSED))
def test_a_refused_plan_stalls_and_waits_for_a_spec_change(reason: str) -> None:
    spec, kafka = REFUSED[reason]
    world = World(kube=FakeKube(replay(**spec)), kafka=kafka)
    world.sync()
    assert world.kstatus() == ("False", "False", "True", reason)
    assert world.condition("Planned") == ("False", reason) and world.kube.jobs == {}
    world.sync()
    assert kafka.observed == 1, "the same spec is not planned again"
    world.edit(retry=1)
    world.sync()
    assert kafka.observed == 2, "a new generation is planned again"


def test_kafka_unavailable_keeps_reconciling_then_plans() -> None:
    world = World()
    world.kafka.down = "broker down"
    world.sync()
    assert world.kstatus() == ("False", "True", "False", "KafkaUnavailable")
    assert world.condition("Planned") == ("False", "KafkaUnavailable") and world.kube.jobs == {}
    world.kafka.down = ""
    world.sync()
    assert world.condition("Planned") == ("True", "Planned") and sorted(world.kube.jobs) == ["r-0", "r-1"]


def test_the_plan_is_pinned_before_any_job_exists() -> None:
    world = World()
    seen: list[bool] = []
    create = world.kube.create_job

    def create_checking_status(job: dict[str, Any]) -> bool:
        seen.append(bool((world.kube.obj or {}).get("status", {}).get("plan")))
        return create(job)

    world.kube.create_job = create_checking_status  # type: ignore[method-assign]
    world.sync()
    assert seen == [True, True]
    first = world.kube.patches[0]
    assert first["plan"]["partitions"][0] == {"partition": 0, "startOffset": 0, "endOffset": 100, "records": 100}


def test_jobs_are_created_once_and_the_sandbox_topics_ensured_once() -> None:
    world = World()
    world.sync()
    assert world.kube.created == ["r-0", "r-1"]
    tag = short_uid("u-1")  # the replay's uid names its topics
    assert world.kafka.ensured == [([f"eventreplay.ns.r.{tag}.sandbox", f"eventreplay.ns.r.{tag}.dlq"], 2)]
    assert world.kstatus() == ("False", "True", "False", "Replaying") and world.status["phase"] == "Replaying"
    patches = len(world.kube.patches)
    world.sync()
    assert world.kube.created == ["r-0", "r-1"] and len(world.kafka.ensured) == 1
    assert len(world.kube.patches) == patches, "an unchanged replay patches nothing"


def test_parallelism_caps_the_running_jobs() -> None:
    world = World(kube=FakeKube(replay(worker={"parallelism": 1})))
    world.sync()
    assert world.kube.created == ["r-0"]
    world.kube.finish("r-0")
    world.sync()
    assert world.kube.created == ["r-0", "r-1"]


def test_suspend_then_resume() -> None:
    world = World()
    world.sync()
    world.edit(suspend=True)
    world.sync()
    assert world.kube.suspended == [("r-0", True), ("r-1", True)]
    assert world.kstatus() == ("False", "False", "False", "Suspended") and world.status["phase"] == "Suspended"
    world.edit(suspend=False)
    world.sync()
    assert world.kube.suspended[2:] == [("r-0", False), ("r-1", False)]
    assert world.kstatus() == ("False", "True", "False", "Replaying")


def test_a_failed_job_reads_its_pods_message_once_then_waits_for_a_retry() -> None:
    world = World()
    world.sync()
    world.kube.finish("r-0", failed="Job has reached the specified backoff limit")
    world.kube.finish("r-1")
    world.kube.terminated_pod("r-0", "permanent: schema file missing")
    world.sync()
    part = world.status["partitions"][0]
    assert (part["state"], part["message"]) == ("Failed", "permanent: schema file missing")
    assert world.kstatus() == ("False", "False", "True", "PartitionsFailed")
    world.sync()
    assert world.kube.pod_lookups == ["r-0"], "the message is kept in status, not looked up again"
    world.edit(retry=1)
    world.sync()
    assert world.kube.created == ["r-0", "r-1", "r-0-r1"]
    assert world.kstatus() == ("False", "True", "False", "Replaying")


def test_pod_lookups_are_capped_per_pass() -> None:
    world = World(kube=FakeKube(replay(worker={"parallelism": 100})), kafka=FakeKafka(partitions=30))
    world.sync()
    for name in list(world.kube.jobs):
        world.kube.finish(name, failed="BackoffLimitExceeded")
    world.sync()
    assert len(world.kube.pod_lookups) == MAX_POD_LOOKUPS
    assert all(p["message"] == "BackoffLimitExceeded: BackoffLimitExceeded" for p in world.status["partitions"])


def test_checkpoints_unavailable_carry_the_last_status_forward() -> None:
    world = World()
    world.sync()
    world.checkpoints.checkpoints = {0: checkpoint(0, 40, emitted=40), 1: checkpoint(1, 10, emitted=10)}
    world.sync()
    before = world.status["partitions"], world.status["totals"]
    world.checkpoints.down = "redis down"
    world.sync()
    assert (world.status["partitions"], world.status["totals"]) == before
    assert world.status["totals"]["emitted"] == 50


def test_finished_totals_are_kept_when_checkpoints_expire() -> None:
    world = World()
    world.sync()
    world.checkpoints.checkpoints = {0: checkpoint(0, 100, emitted=90), 1: checkpoint(1, 100, emitted=100)}
    world.kube.finish("r-0")
    world.kube.finish("r-1")
    world.sync()
    assert world.status["totals"]["emitted"] == 190
    world.checkpoints.checkpoints = {}
    world.sync()
    assert world.status["totals"]["emitted"] == 190


def test_a_dry_run_plans_and_creates_no_job() -> None:
    world = World(kube=FakeKube(replay(dryRun=True)))
    world.sync()
    assert world.kube.jobs == {} and world.kafka.ensured == []
    assert world.kstatus() == ("True", "False", "False", "DryRun") and world.status["phase"] == "Planned"


def test_a_deleted_or_deleting_replay_is_left_alone() -> None:
    gone = World(kube=FakeKube(None))
    assert gone.sync().events == [] and gone.kube.patches == []
    deleting = replay()
    deleting["metadata"]["deletionTimestamp"] = "2026-11-20T12:00:00Z"
    world = World(kube=FakeKube(deleting))
    assert world.sync().events == [] and world.kube.patches == [] and world.kube.jobs == {}


def test_a_sandbox_holding_another_replays_records_is_refused_until_it_is_gone() -> None:
    """Replay identity: planning onto output topics another uid wrote stalls with SandboxInUse, no
    plan pinned and no Job; once the topic holds only this replay's records (or none), it plans."""
    world = World()
    sandbox = ReplayTopics.of("ns", "r", "u-1").sandbox
    world.kafka.written = {sandbox: {"u-0", "u-1"}}
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "SandboxInUse")
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert sandbox in stalled["message"] and "uid u-0" in stalled["message"]
    assert "plan" not in world.status and world.kube.jobs == {}
    world.kafka.written = {sandbox: {"u-1"}}  # its own records (a restarted operator): fine
    world.sync()
    assert world.status["plan"]["sandboxTopic"] == sandbox and world.status["plan"]["replayUid"] == "u-1"
    assert world.kube.created == ["r-0", "r-1"]
