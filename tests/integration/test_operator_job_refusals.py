"""Job creation refused by the real API server (issue #13): a ResourceQuota on Jobs keeps the replay
waiting with reason JobCreateFailed, the API's message and one Warning Event, and the Jobs appear
once the quota is gone; a Job of someone else holding a Job's name (409) is never taken for ours:
the replay stalls with JobRejected naming it, and goes on once that Job is deleted."""

from __future__ import annotations

from typing import Any

import pytest

from support.kafka_tools import seed_partitions
from support.operator_driver import OperatorDriver
from support.replay_specs import stack_replay

pytestmark = pytest.mark.stack


def spec(topic: str) -> dict[str, Any]:
    return stack_replay(topic, ledger=f"refusals-{topic}", sink_topic=f"{topic}-out")


def no_jobs_quota(core: Any, namespace: str) -> None:
    """A quota of zero Jobs. Admission judges a quota by its status, which the stack (no
    resource-quota controller) never fills: the test writes it as that controller would."""
    hard = {"count/jobs.batch": "0"}
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "no-jobs"}, "spec": {"hard": hard}})
    core.patch_namespaced_resource_quota_status(
        "no-jobs", namespace, {"status": {"hard": hard, "used": {"count/jobs.batch": "0"}}}
    )


def foreign_job(name: str) -> dict[str, Any]:
    """Somebody else's Job (no owner), suspended so that it runs nothing."""
    container = {"name": "c", "image": "busybox", "command": ["true"]}
    return {
        "metadata": {"name": name},
        "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never", "containers": [container]}}},
    }


def reasons(driver: OperatorDriver, replay: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["type"], e["reason"]) for e in driver.events(replay)]


def test_refused_job_creation_reaches_a_condition_and_an_event(
    driver: OperatorDriver, *, namespace: str, kube_api: Any, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    from kubernetes import client

    core, batch = client.CoreV1Api(kube_api), client.BatchV1Api(kube_api)
    topic = f"refusals-{unique}"
    seed_partitions(kafka_admin, kafka_bootstrap, topic, (20, 20))
    no_jobs_quota(core, namespace)
    with driver.running():
        driver.create("quota", spec(topic))
        waiting = driver.wait_for_replay(
            "quota", lambda r: driver.condition(r, "Reconciling").get("reason") == "JobCreateFailed", "waiting"
        )
        assert driver.condition(waiting, "Reconciling")["status"] == "True"
        assert "exceeded quota: no-jobs" in driver.condition(waiting, "Reconciling")["message"]
        assert driver.condition(waiting, "Stalled")["status"] == "False"
        driver.wait_for(
            lambda: ("Warning", "JobCreateFailed") in reasons(driver, waiting), 30, "a JobCreateFailed Event"
        )
        assert driver.jobs(waiting) == []

        core.delete_namespaced_resource_quota("no-jobs", namespace)
        driver.wait_for(lambda: len(driver.jobs(waiting)) == 2 or None, 60, "quota: Jobs once the quota is gone")
        assert reasons(driver, waiting).count(("Warning", "JobCreateFailed")) == 1, "one Event, not one per pass"

        batch.create_namespaced_job(namespace, foreign_job("taken-0"))
        driver.create("taken", spec(topic))
        is_stalled = lambda r: driver.condition(r, "Stalled").get("status") == "True"  # noqa: E731
        stalled = driver.wait_for_replay("taken", is_stalled, "stalled", stalled_fails=False)
        assert driver.condition(stalled, "Stalled")["reason"] == "JobRejected"
        assert "taken-0 already exists and is not this replay's" in driver.condition(stalled, "Stalled")["message"]
        driver.wait_for(lambda: ("Warning", "JobRejected") in reasons(driver, stalled), 30, "a JobRejected Event")
        assert driver.jobs(stalled) == []
        (held,) = [j for j in batch.list_namespaced_job(namespace).items if j.metadata.name == "taken-0"]
        assert held.metadata.owner_references is None, "the foreign Job was left as it was"

        batch.delete_namespaced_job("taken-0", namespace, propagation_policy="Background")
        driver.wait_for(lambda: len(driver.jobs(stalled)) == 2 or None, 90, "taken: Jobs once the name is free")
        # The Jobs are created before the pass's status patch lands: the stall clears with that patch.
        not_stalled = lambda r: driver.condition(r, "Stalled").get("status") == "False"  # noqa: E731
        going = driver.wait_for_replay("taken", not_stalled, "stall cleared", timeout=30, stalled_fails=False)
        assert driver.condition(going, "Stalled").get("reason") != "JobRejected"
