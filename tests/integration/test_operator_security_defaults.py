"""Secure by default on the real stack (issue 25): an install without a policy lends nothing but
its own endpoints, the permissive opt-in says so on every replay, partition ranges are bounded at
admission, and a planned replay stays frozen, dry run or not.

The operator runs as `tests/support/operator_process.py` starts it: configured with the stack's
Kafka and Redis as its own, and here with credentials of its own too, so a leak would be seen.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from datagen.orders import generate
from devstack import config
from eventreplay.operator.kube import KubeError
from support.kafka_tools import create_topic, produce
from support.listener import Listener
from support.operator_driver import OperatorDriver
from support.operator_process import free_port
from support.replay_specs import stack_replay

pytestmark = pytest.mark.stack
SASL_PASSWORD = "sasl-pw-5e1b7c93aa"
REDIS_PASSWORD = "redis-pw-0c4d8e2f61"
OPERATOR_CREDENTIALS = {
    "EVENTREPLAY_OPERATOR_KAFKA_SETTINGS": "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
    f"sasl.username=operator\nsasl.password={SASL_PASSWORD}",
    "EVENTREPLAY_OPERATOR_REDIS_PASSWORD": REDIS_PASSWORD,
}


def spec(unique: str, **extra: Any) -> dict[str, Any]:
    """A dry run on the stack's own Kafka and Redis: everything a default install lends."""
    return stack_replay(f"orders-{unique}", ledger=f"secure-{unique}", sink_topic=f"out-{unique}", dryRun=True, **extra)


def seed(kafka_admin: Any, unique: str, partitions: int = 2) -> None:
    topic = f"orders-{unique}"
    create_topic(kafka_admin, topic, partitions=partitions)
    create_topic(kafka_admin, f"out-{unique}", partitions=1)
    for p in range(partitions):
        produce(config.kafka_bootstrap(), topic, generate(10, seed=p), partition=p)


def stalled(driver: OperatorDriver, name: str) -> dict[str, Any]:
    return driver.wait_for_replay(
        name, lambda r: driver.condition(r, "Stalled").get("status") == "True", "Stalled",
        timeout=60, stalled_fails=False,
    )  # fmt: skip


def test_the_default_install_refuses_foreign_endpoints_secrets_and_code_before_any_connection(
    driver: OperatorDriver, kafka_admin: Any, unique: str, listener: Listener
) -> None:
    seed(kafka_admin, unique)
    source = spec(unique)["source"]
    refused = {
        "kafka": ("kafkaClusters", {"source": {**source, "bootstrapServers": listener.address}}),
        "redis": ("redisEndpoints", {"dedup": {"redis": {"url": f"redis://{listener.address}/0"}, "ledger": "x"}}),
        "kafka-secret": ("secrets", {"source": {**source, "credentialsSecretRef": {"name": "db-root"}}}),
        "redis-secret": (
            "secrets",
            {"dedup": {"redis": {"url": config.redis_url(), "passwordSecretRef": {"name": "db-root"}}, "ledger": "x"}},
        ),
        "transform": ("transforms", {"transform": {"function": "logging.config:dictConfig"}}),
        "model": ("validationModels", {"validation": {"model": "subprocess:Popen"}}),
    }
    with driver.running(OPERATOR_CREDENTIALS) as op:
        for name, (_, override) in refused.items():
            driver.create(name, spec(unique, **override))
        for name, (rule, _) in refused.items():
            got = stalled(driver, name)
            condition = driver.condition(got, "Stalled")
            assert (condition["reason"], f"policy rule {rule}:" in condition["message"]) == ("NotAllowed", True), name
            assert "plan" not in got["status"] and driver.jobs(got) == [], name
        assert SASL_PASSWORD not in op.log() and REDIS_PASSWORD not in op.log()
    assert (listener.connections, listener.received) == (0, b"")


@pytest.mark.parametrize(
    ("partitions", "accepted"),
    [(["0-9999999"], False), (["100000"], False), (["0-99999"], True)],
    ids=["9 characters, 10 million partitions", "past the bound", "up to the bound"],
)
def test_partition_numbers_are_bounded_by_the_api_server(
    driver: OperatorDriver, unique: str, partitions: list[str], accepted: bool
) -> None:
    body = spec(unique)
    body["source"]["partitions"] = partitions
    if accepted:
        assert driver.create("bounded", body)["spec"]["source"]["partitions"] == partitions
        return
    with pytest.raises(KubeError) as refused:
        driver.create("unbounded", body)
    assert refused.value.status == 422 and "partitions" in str(refused.value), str(refused.value)


def test_the_permissive_opt_in_marks_every_replay_it_serves(
    driver: OperatorDriver, kafka_admin: Any, unique: str
) -> None:
    seed(kafka_admin, unique)
    port = free_port()
    with driver.running({"EVENTREPLAY_METRICS_PORT": str(port)}, permissive=True) as op:
        driver.create("open", spec(unique))
        got = driver.wait_for_replay(
            "open", lambda r: driver.condition(r, "PolicyPermissive").get("status") == "True", "PolicyPermissive"
        )
        # A notice, not a failure: the dry run still ends Ready (kstatus), never Stalled.
        done = driver.wait_for_condition("open", "Ready")
        assert driver.condition(done, "Ready")["status"] == "True"
        assert driver.condition(done, "Stalled").get("status") != "True"
        assert "policy.permissive: true" in driver.condition(got, "PolicyPermissive")["message"]
        driver.wait_for_event(got, "PermissiveInstall")
        warnings = [e for e in driver.events(got) if e["reason"] == "PermissiveInstall"]
        assert len(warnings) == 1 and warnings[0]["type"] == "Warning"
        assert "policy.permissive is true" in op.log()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert "eventreplay_operator_policy_permissive 1.0" in resp.read().decode()


def test_a_planned_dry_run_stays_frozen_and_runs_its_pinned_plan(
    driver: OperatorDriver, kafka_admin: Any, unique: str
) -> None:
    seed(kafka_admin, unique)
    create_topic(kafka_admin, f"out-{unique}-b", partitions=1)
    with driver.running():
        driver.create("frozen", spec(unique))
        # The default install plans on its own Kafka and Redis (and is not the permissive opt-in).
        planned = driver.wait_for_condition("frozen", "Planned")
        assert driver.condition(planned, "PolicyPermissive") == {}
        # Measured in issue 25: a dry run unfroze the sink, and an approved report reached another one.
        for edit in ({"sink": {"topic": f"out-{unique}-b"}}, {"window": {"offsets": {"from": 5, "to": 1_000_000}}}):
            with pytest.raises(KubeError) as refused:
                driver.patch_spec("frozen", edit)
            assert refused.value.status == 422 and "immutable once the replay is planned" in str(refused.value)
        assert driver.get("frozen")["spec"]["sink"]["topic"] == f"out-{unique}"
        driver.patch_spec("frozen", {"dryRun": False})  # runs for real, with the plan it was reviewed with
        got = driver.wait_for_replay("frozen", lambda r: bool(driver.jobs(r)), "partition Jobs")
        assert got["status"]["plan"] == planned["status"]["plan"]
