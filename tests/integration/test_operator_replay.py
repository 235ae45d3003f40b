"""Replays run by the operator on the real stack: completion, operator restart, suspend/resume.

Truth comes from the independent oracle (tests/support/oracle.py) over the seeded partitions;
the Jobs run the real worker through the node harness.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from operator_helpers import (
    condition,
    create_replay,
    events_of,
    get_replay,
    jobs_of,
    patch_spec,
    replay_manifest,
    running_operator,
    wait_for,
    wait_for_condition,
)

from datagen.orders import ORDER_SCHEMA, generate
from devstack import config
from eventreplay.operator.kube import Kube, KubeError
from support.kafka_tools import create_topic, key_values, produce
from support.oracle import Expected, replay

pytestmark = pytest.mark.stack
PARTITIONS = 3


def seed(admin: Any, bootstrap: str, topic: str, per_partition: int) -> dict[int, Expected]:
    """Seed a mixed workload (duplicates, conflicts, malformed, schema, missing id, tombstones)."""
    create_topic(admin, topic, partitions=PARTITIONS)
    # The destination (`spec.sink`): after the replay, reconciliation compares the sandbox with it.
    create_topic(admin, "out-" + topic.removeprefix("orders-"), partitions=1)
    start = datetime.now(UTC) - timedelta(hours=1)
    for p in range(PARTITIONS):
        produce(bootstrap, topic, generate(per_partition, seed=100 + p, start=start), partition=p)
    # Offsets are contiguous from 0 in a fresh topic written by one idempotent, non-transactional producer.
    return {
        p: replay(list(enumerate(v for _, v in key_values(bootstrap, topic, p))), ORDER_SCHEMA)
        for p in range(PARTITIONS)
    }


Seeder = Callable[[int], tuple[str, dict[int, Expected]]]


@pytest.fixture
def seeded(kafka_admin: Any, kafka_bootstrap: str, unique: str) -> Seeder:
    """seeded(n) seeds topic `orders-<unique>` with n records per partition: (topic, truth per partition)."""

    def seed_topic(per_partition: int) -> tuple[str, dict[int, Expected]]:
        topic = f"orders-{unique}"
        return topic, seed(kafka_admin, kafka_bootstrap, topic, per_partition)

    return seed_topic


def spec(topic: str, unique: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": topic},
        "window": {"offsets": {"from": 0, "to": 1_000_000}},
        "validation": {"eventIdField": "event_id", "jsonSchema": ORDER_SCHEMA},
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": f"ledger-{unique}"},
        "sink": {"topic": f"out-{unique}"},
        "promotion": {"policy": "Never"},
        **extra,
    }


def replayed(k: Kube, ns: str, name: str) -> dict[str, Any]:
    return wait_for_condition(k, ns, name, "Replayed")


def finished(k: Kube, ns: str, name: str) -> dict[str, Any]:
    """Replayed and reconciled (policy Never: the end state, Ready)."""
    return wait_for_condition(k, ns, name, "Ready")


def check_output(bootstrap: str, got: dict[str, Any], truth: dict[int, Expected]) -> None:
    status = got["status"]
    totals = status["totals"]
    assert totals["emitted"] == sum(len(t.emitted) for t in truth.values())
    assert totals["duplicate"] == sum(t.duplicate for t in truth.values())
    assert totals["deadLettered"] == sum(t.dead_lettered for t in truth.values())
    assert totals.get("processed", 0) == 0
    reasons: dict[str, int] = {}
    for t in truth.values():
        for reason, count in t.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    assert totals["deadLetterReasons"] == reasons
    assert totals["read"] == totals["records"] == status["plan"]["records"]
    for p, t in truth.items():
        assert key_values(bootstrap, status["plan"]["sandboxTopic"], p) == t.emitted, f"partition {p}"


def test_replay_runs_to_completion(
    k: Kube, *, namespace: str, seeded: Seeder, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic, truth = seeded(400)
    with running_operator(k, namespace, tmp_path) as op:
        create_replay(k, replay_manifest(namespace, "full", spec(topic, unique)))
        got = finished(k, namespace, "full")
        check_output(kafka_bootstrap, got, truth)
        status = got["status"]
        assert status["phase"] == "Reconciled"
        assert status["observedGeneration"] == got["metadata"]["generation"]
        assert status["progress"]["partitions"] == "3/3" and status["progress"]["percent"] == 100
        assert [p["state"] for p in status["partitions"]] == ["Done"] * 3
        for kind, value in (
            ("Ready", "True"),
            ("Reconciling", "False"),
            ("Stalled", "False"),
            ("Planned", "True"),
            ("Replayed", "True"),
            ("Reconciled", "True"),
        ):
            assert condition(got, kind)["status"] == value, kind
        assert condition(got, "Promoted")["reason"] == "PolicyNever"
        jobs = jobs_of(k, got)
        assert sorted(j["metadata"]["name"] for j in jobs) == ["full-0", "full-1", "full-2", "full-reconcile"]
        # The destination is empty: every replayed id is missing there; Never promotes nothing.
        report = status["reconciliation"]
        assert report["missing"] == report["replayedIds"] > 0 and report["unchanged"] == report["changed"] == 0
        assert len(report["reportHash"]) == 64 and condition(got, "Promoted")["status"] == "False"
        for job in jobs:
            assert job["metadata"]["ownerReferences"][0]["uid"] == got["metadata"]["uid"]
        reasons = [e["reason"] for e in events_of(k, got)]
        assert "Planned" in reasons and "Replayed" in reasons and reasons.count("PartitionFinished") == 3
        assert "Reconciled" in reasons
        columns = subprocess.run(
            [
                "kubectl",
                "--kubeconfig",
                str(config.kubeconfig_path()),
                "get",
                "er",
                "full",
                "-n",
                namespace,
                "--no-headers",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        assert columns[:5] == ["full", "Reconciled", topic, "3/3", "100"], columns
        assert "Traceback" not in op.log()


def test_finished_jobs_drive_the_replay_without_the_timer(
    k: Kube, *, namespace: str, seeded: Seeder, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    """With a status timer of an hour, only the Job watch can carry the replay from its worker Jobs
    through the reconciliation Job to Ready: a finished Job is noticed when it finishes."""
    topic, truth = seeded(50)
    with running_operator(k, namespace, tmp_path, args=("--status-interval", "3600")) as op:
        create_replay(k, replay_manifest(namespace, "watched", spec(topic, unique)))
        got = wait_for_condition(k, namespace, "watched", "Ready", timeout=180)
        assert condition(got, "Ready")["status"] == "True", op.log()
        check_output(kafka_bootstrap, got, truth)
        assert got["status"]["phase"] == "Reconciled"


def test_operator_killed_mid_replay_converges(
    k: Kube, *, namespace: str, seeded: Seeder, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic, truth = seeded(400)
    with running_operator(k, namespace, tmp_path) as op:
        create_replay(k, replay_manifest(namespace, "restart", spec(topic, unique, worker={"parallelism": 1})))
        first = wait_for(lambda: jobs_of(k, get_replay(k, namespace, "restart")), 60, "the first Job")
        assert len(first) == 1
        op.kill()
        time.sleep(3)
        op.start()
        got = replayed(k, namespace, "restart")
        check_output(kafka_bootstrap, got, truth)
        names = sorted(j["metadata"]["name"] for j in jobs_of(k, got) if "-reconcile" not in j["metadata"]["name"])
        assert names == ["restart-0", "restart-1", "restart-2"]


def test_suspend_then_resume(
    k: Kube, *, namespace: str, seeded: Seeder, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic, truth = seeded(400)
    with running_operator(k, namespace, tmp_path):
        create_replay(k, replay_manifest(namespace, "pause", spec(topic, unique, worker={"parallelism": 1})))
        wait_for(lambda: jobs_of(k, get_replay(k, namespace, "pause")), 60, "the first Job")
        patch_spec(k, namespace, "pause", {"suspend": True})
        paused = wait_for(
            lambda: (r := get_replay(k, namespace, "pause"))["status"].get("phase") == "Suspended" and r,
            30,
            "suspended",
        )
        # Parallelism 1: the other two partitions wait behind the first Job, so the replay cannot
        # be finished when the suspension lands.
        assert condition(paused, "Ready")["reason"] == "Suspended"
        before = {j["metadata"]["name"] for j in jobs_of(k, paused)}
        time.sleep(8)
        jobs = jobs_of(k, get_replay(k, namespace, "pause"))
        assert {j["metadata"]["name"] for j in jobs} == before, "no Job may start while suspended"
        live = [
            j
            for j in jobs
            if not any(
                c["type"] in ("Complete", "Failed") and c["status"] == "True"
                for c in (j.get("status") or {}).get("conditions") or []
            )
        ]
        assert all(j["spec"]["suspend"] for j in live)
        patch_spec(k, namespace, "pause", {"suspend": False})
        got = replayed(k, namespace, "pause")
        check_output(kafka_bootstrap, got, truth)
        assert len([j for j in jobs_of(k, got) if "-reconcile" not in j["metadata"]["name"]]) == 3
        reasons = [e["reason"] for e in events_of(k, got)]
        assert "Suspended" in reasons and "Resumed" in reasons


def test_permanent_failure_stalls_and_retry_reruns_only_failed_partitions(
    k: Kube, *, namespace: str, seeded: Seeder, unique: str, tmp_path: Path
) -> None:
    topic, _ = seeded(50)
    broken = spec(topic, unique, transform={"function": "no_such_module_xyz:fn"}, worker={"backoffLimit": 2})
    broken["source"]["partitions"] = ["0-1"]
    with running_operator(k, namespace, tmp_path):
        create_replay(k, replay_manifest(namespace, "broken", broken))

        def stalled() -> dict[str, Any] | None:
            got = get_replay(k, namespace, "broken")
            return got if condition(got, "Stalled").get("status") == "True" else None

        got = wait_for(stalled, 120, "stalled on failed partitions", interval=1)
        cond = condition(got, "Stalled")
        assert cond["reason"] == "PartitionsFailed"
        assert "partitions 0-1 failed" in cond["message"], cond
        assert "cannot import transform 'no_such_module_xyz:fn'" in cond["message"], "the worker's own reason"
        assert [p["state"] for p in got["status"]["partitions"]] == ["Failed", "Failed"]
        jobs = jobs_of(k, got)
        assert sorted(j["metadata"]["name"] for j in jobs) == ["broken-0", "broken-1"]
        # exit 10 is permanent: the podFailurePolicy fails the Job at once, without using the backoff
        assert all((j.get("status") or {}).get("failed", 0) == 1 for j in jobs)
        patch_spec(k, namespace, "broken", {"retry": 1})
        wait_for(
            lambda: (
                sorted(j["metadata"]["name"] for j in jobs_of(k, get_replay(k, namespace, "broken")))
                == ["broken-0", "broken-0-r1", "broken-1", "broken-1-r1"]
            ),
            60,
            "retry Jobs",
        )
        again = wait_for(
            lambda: (
                (r := get_replay(k, namespace, "broken"))["status"]["partitions"][0].get("attempt") == 1
                and condition(r, "Stalled").get("status") == "True"
                and r
            ),
            120,
            "stalled again",
        )
        assert again["status"]["observedRetry"] == 1
        assert any(e["reason"] == "PartitionFailed" for e in events_of(k, again))


def test_failed_partition_carries_the_workers_message(
    k: Kube, *, namespace: str, seeded: Seeder, unique: str, tmp_path: Path
) -> None:
    topic, _ = seeded(10)
    broken = spec(topic, unique, transform={"function": "no_such_module_xyz:fn"})
    broken["source"]["partitions"] = ["0"]
    with running_operator(k, namespace, tmp_path):
        create_replay(k, replay_manifest(namespace, "why", broken))
        got = wait_for(
            lambda: condition(r := get_replay(k, namespace, "why"), "Stalled").get("status") == "True" and r,
            120,
            "stalled",
        )
        assert "no_such_module_xyz" in condition(got, "Stalled")["message"]


def test_an_invalid_status_edit_is_refused_by_the_api_and_the_plan_stays(
    k: Kube, *, namespace: str, seeded: Seeder, unique: str, tmp_path: Path
) -> None:
    # The CRD's status schema is generated from the same model the operator reads it with: an edit
    # the model would refuse is refused by the API server (422, the field named) and never lands.
    # (The operator's own answer to an invalid status that did land, InvalidStatus with the plan and
    # Jobs untouched, is tests/unit/test_operator_invalid_status.py.)
    topic, _ = seeded(20)
    with running_operator(k, namespace, tmp_path) as op:
        create_replay(k, replay_manifest(namespace, "edited", spec(topic, unique, dryRun=True)))
        planned = wait_for_condition(k, namespace, "edited", "Planned")
        path = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/edited/status"
        bad_offset = {"op": "replace", "path": "/status/plan/partitions/0/startOffset", "value": "not a number"}
        bad_state = {"op": "add", "path": "/status/partitions", "value": [{"partition": 0, "state": "Exploded"}]}
        for edit, field in ((bad_offset, "startOffset"), (bad_state, "state")):
            with pytest.raises(KubeError) as refused:
                k.call("PATCH", path, [edit], content_type="application/json-patch+json")
            assert refused.value.status == 422 and field in str(refused.value), str(refused.value)
        time.sleep(6)  # passes of the operator after the attempts
        after = get_replay(k, namespace, "edited")
        assert after["status"]["plan"] == planned["status"]["plan"], "the pinned plan is untouched"
        assert condition(after, "Stalled").get("status") != "True", op.log()
