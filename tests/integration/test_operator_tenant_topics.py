"""`topicsCreatedBy: tenant` on the real stack (issue #12): the operator's principal creates no topic
on that cluster, the workers create their outputs with the replay's credentials, and the replay
still completes. The cluster's settings and the project's credentials reach the workers although
the spec names neither.

Observed on the broker, not assumed: a ResourceQuota of zero pods holds every worker back while the
operator plans and creates the Jobs, so any topic that exists by then was created by the operator.
A second alias of the same brokers (operator-created, the default) shows that this observation
does see the operator's topics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from datagen.orders import generate
from devstack import config
from eventreplay.worker.contract.environment import KAFKA_SETTINGS_ENV
from support.kafka_tools import create_topic, produce
from support.operator_driver import OperatorDriver

pytestmark = pytest.mark.stack
SECRET_VALUE = "tenant-pw-51c0ffee77"
TTL = 7200


def write_policy(tmp: Path, namespace: str) -> Path:
    servers = config.kafka_bootstrap().split(",")
    parts = urlsplit(config.redis_url())
    doc = {
        "kafkaClusters": [
            {
                "name": "tenant-made",
                "bootstrapServers": servers,
                "securityProtocol": "PLAINTEXT",
                "topicsCreatedBy": "tenant",
            },
            {"name": "operator-made", "bootstrapServers": servers},
        ],
        "redisEndpoints": [{"name": "ledger", "address": f"{parts.hostname}:{parts.port}"}],
        "projects": [
            {
                "name": "orders",
                "namespaces": [namespace],
                "kafkaClusters": ["tenant-made", "operator-made"],
                "kafkaCredentials": [{"cluster": "tenant-made", "secretRef": {"name": "orders-kafka"}}],
                "redisEndpoints": ["ledger"],
                "sourceTopics": ["orders-*"],
                "sinkTopics": ["out-*"],
            }
        ],
    }
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def replay_spec(unique: str, cluster: str) -> dict[str, Any]:
    return {
        "source": {"cluster": cluster, "topic": f"orders-{unique}"},
        "window": {"offsets": {"from": 0, "to": 1_000_000}},
        "dedup": {"redis": {"endpoint": "ledger"}, "ledger": f"{cluster}-{unique}", "ttlSeconds": TTL},
        "sink": {"topic": f"out-{unique}"},
        "promotion": {"policy": "Never"},
    }


def outputs(replay: dict[str, Any]) -> list[str]:
    plan = replay["status"]["plan"]
    return [plan["sandboxTopic"], plan["deadLetterTopic"]]


def hold_pods(core: Any, namespace: str) -> None:
    """A quota of zero pods. Admission judges a quota by its status, which the stack's controllers
    (no resource-quota controller) never fill: the test writes it as that controller would."""
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}})
    status = {"status": {"hard": {"pods": "0"}, "used": {"pods": "0"}}}
    core.patch_namespaced_resource_quota_status("no-pods", namespace, status)


def with_both_jobs(driver: OperatorDriver, name: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        replay = driver.get(name)
        return replay if len(driver.jobs(replay)) == 2 else None

    return driver.wait_for(check, 90, f"{name}: its plan and both partition Jobs")


def topics(admin: Any) -> dict[str, Any]:
    return dict(admin.list_topics(timeout=15).topics)


def test_with_topics_created_by_the_tenant_the_operator_creates_none(
    driver: OperatorDriver, *, kube_api: Any, kafka_admin: Any, namespace: str, unique: str, tmp_path: Path
) -> None:
    from confluent_kafka.admin import ConfigResource, ResourceType
    from kubernetes import client

    core = client.CoreV1Api(kube_api)
    # The project's credentials for the cluster (PLAINTEXT here; the policy sets the protocol).
    secret = {"client.properties": f"sasl.username=orders\nsasl.password={SECRET_VALUE}\n"}
    core.create_namespaced_secret(namespace, {"metadata": {"name": "orders-kafka"}, "stringData": secret})
    hold_pods(core, namespace)
    source = f"orders-{unique}"
    create_topic(kafka_admin, source, partitions=2)
    create_topic(kafka_admin, f"out-{unique}", partitions=1)
    for p in range(2):
        produce(config.kafka_bootstrap(), source, generate(20, seed=p), partition=p)
    env = {"EVENTREPLAY_POLICY_FILE": str(write_policy(tmp_path, namespace))}
    with driver.running(env):
        for name in ("tenant-made", "operator-made"):
            driver.create(name, replay_spec(unique, name))
        planned = {name: with_both_jobs(driver, name) for name in ("tenant-made", "operator-made")}
        assert core.list_namespaced_pod(namespace).items == []  # no worker ran yet: the quota holds them
        seen = topics(kafka_admin)
        assert all(t in seen for t in outputs(planned["operator-made"])), "the operator's own topics are visible"
        assert not [t for t in outputs(planned["tenant-made"]) if t in seen], "the operator created a tenant topic"
        jobs = driver.jobs(planned["tenant-made"])
        refs = {e["name"]: e.get("valueFrom") for e in jobs[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert refs[KAFKA_SETTINGS_ENV] == {"secretKeyRef": {"name": "orders-kafka", "key": "client.properties"}}
        assert SECRET_VALUE not in json.dumps(jobs)

        core.delete_namespaced_resource_quota("no-pods", namespace)
        done = driver.wait_for_condition("tenant-made", "Replayed", timeout=300)
        assert driver.condition(done, "Replayed")["status"] == "True"
        totals = done["status"]["totals"]
        assert totals["records"] == 40 and totals["emitted"] > 0
        seen = topics(kafka_admin)
        for topic in outputs(done):  # created by the workers, sized and retained as planned
            assert len(seen[topic].partitions) == 2, topic
            resource = ConfigResource(ResourceType.TOPIC, topic)
            entries = kafka_admin.describe_configs([resource])[resource].result(timeout=15)
            assert entries["retention.ms"].value == str(TTL * 1000), topic
