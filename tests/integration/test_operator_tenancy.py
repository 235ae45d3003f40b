"""The tenant boundary on the real stack (issue #12): a replay outside the platform's policy never
makes the operator connect anywhere or create a Job, and credentials stay out of every output.

A fake TCP listener (support/listener.py) stands in for a tenant's own Kafka and Redis: it
records every connection and byte, so "the operator never connected" is observed, not assumed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from datagen.orders import generate
from devstack import config
from support.kafka_tools import create_topic, produce
from support.listener import Listener
from support.operator_driver import OperatorDriver
from support.replay_specs import stack_replay

pytestmark = pytest.mark.stack
REDIS_PASSWORD = "redis-pw-3f9a1c77e2"
SASL_PASSWORD = "sasl-pw-8b2d4e6f10"


def redis_address() -> str:
    parts = urlsplit(config.redis_url())
    return f"{parts.hostname}:{parts.port}"


def write_policy(tmp: Path, namespace: str, *, tenant_cluster: str) -> Path:
    path = tmp / "policy.yaml"
    doc = {
        "kafkaClusters": [
            {"name": "main", "bootstrapServers": config.kafka_bootstrap().split(",")},
            {"name": "tenant", "bootstrapServers": [tenant_cluster]},
        ],
        "redisEndpoints": [{"name": "ledger", "address": redis_address()}],
        "projects": [
            {
                "name": "orders",
                "namespaces": [namespace],
                "kafkaClusters": ["main"],  # the tenant's own cluster is defined but not granted
                "redisEndpoints": ["ledger"],
                "sourceTopics": ["orders-*"],
                "sinkTopics": ["out-*"],
                "transforms": ["identity", "project"],
                "secrets": ["kafka-client"],
            }
        ],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def spec(unique: str, **extra: Any) -> dict[str, Any]:
    return stack_replay(f"orders-{unique}", ledger=f"tenancy-{unique}", sink_topic=f"out-{unique}", **extra)


def operator_env(policy: Path | None) -> dict[str, str]:
    env = {
        "EVENTREPLAY_OPERATOR_REDIS_PASSWORD": REDIS_PASSWORD,
        "EVENTREPLAY_OPERATOR_KAFKA_SETTINGS": "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
        f"sasl.username=operator\nsasl.password={SASL_PASSWORD}",
        # The image is in the operator's allowlist, so only the policy's images rule can refuse it.
        "EVENTREPLAY_IMAGE_ALLOWLIST": "registry.example/other-worker:1",
    }
    if policy is not None:
        env["EVENTREPLAY_POLICY_FILE"] = str(policy)
    return env


def assert_no_secret(where: str, text: str) -> None:
    for secret in (REDIS_PASSWORD, SASL_PASSWORD):
        assert secret not in text, f"a password is in {where}"


def test_replays_outside_the_policy_stall_before_any_connection_or_job(
    driver: OperatorDriver, namespace: str, unique: str, tmp_path: Path, listener: Listener
) -> None:
    policy = write_policy(tmp_path, namespace, tenant_cluster=listener.address)
    source = spec(unique)["source"]
    refused = {
        "kafka": ("kafkaClusters", {"source": {**source, "bootstrapServers": listener.address}}),
        "redis": (
            "redisEndpoints",
            {"dedup": {"redis": {"url": f"redis://{listener.address}/0"}, "ledger": f"x-{unique}"}},
        ),
        "topic": ("sourceTopics", {"source": {**source, "topic": "payroll"}}),
        "sink": ("sinkTopics", {"sink": {"topic": "payroll"}}),
        "transform": ("transforms", {"transform": {"function": "logging.config:dictConfig"}}),
        "model": ("validationModels", {"validation": {"model": "subprocess:Popen"}}),
        "image": ("images", {"worker": {"image": "registry.example/other-worker:1"}}),
        "secret": ("secrets", {"source": {**source, "credentialsSecretRef": {"name": "db-root"}}}),
    }
    with driver.running(operator_env(policy)) as op:
        for name, (_, override) in refused.items():
            driver.create(name, spec(unique, **override))
        for name, (rule, _) in refused.items():
            got = driver.wait_for_replay(
                name, lambda r: driver.condition(r, "Stalled").get("status") == "True", "Stalled",
                timeout=60, stalled_fails=False,
            )  # fmt: skip
            stalled = driver.condition(got, "Stalled")
            assert (stalled["reason"], f"policy rule {rule}:" in stalled["message"]) == ("NotAllowed", True), name
            assert "plan" not in got["status"] and driver.jobs(got) == [], name
            driver.wait_for(lambda got=got: driver.events(got), 30, f"the Events of {name}")
            assert_no_secret(f"the Events of {name}", json.dumps(driver.events(got)))
            assert_no_secret(f"replay {name}", json.dumps(driver.get(name)))
        assert_no_secret("the operator's log", op.log_path.read_text(errors="replace"))
    assert (listener.connections, listener.received) == (0, b"")


def test_a_permissive_install_lets_the_listener_see_the_operator(
    driver: OperatorDriver, namespace: str, unique: str, listener: Listener
) -> None:
    """The permissive opt-in trusts the namespace: the confused deputy the policy (and the closed
    default, test_operator_security_defaults.py) closes is real, and the listener above would have seen it."""
    source = {**spec(unique)["source"], "bootstrapServers": listener.address}
    with driver.running(operator_env(None), permissive=True):
        driver.create("open", spec(unique, source=source))
        driver.wait_for(lambda: listener.received, 60, "the operator's Kafka handshake at the tenant's listener")


def test_an_allowed_replay_runs_in_a_restricted_namespace_and_keeps_its_secret_out(
    driver: OperatorDriver, *, kube_api: Any, kafka_admin: Any, namespace: str, unique: str, tmp_path: Path
) -> None:
    from kubernetes import client

    core = client.CoreV1Api(kube_api)
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    properties = f"security.protocol=PLAINTEXT\nsasl.password={SASL_PASSWORD}\n"
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "kafka-client"}, "stringData": {"client.properties": properties}}
    )
    topic = f"orders-{unique}"
    create_topic(kafka_admin, topic, partitions=2)
    create_topic(kafka_admin, f"out-{unique}", partitions=1)
    start = datetime.now(UTC) - timedelta(hours=1)
    for p in range(2):
        produce(config.kafka_bootstrap(), topic, generate(20, seed=p, start=start), partition=p)
    policy = write_policy(tmp_path, namespace, tenant_cluster="127.0.0.1:1")
    # The platform's aliases instead of raw endpoints: the operator resolves them for the plan and the Jobs.
    source = {"cluster": "main", "topic": topic, "credentialsSecretRef": {"name": "kafka-client"}}
    with driver.running({"EVENTREPLAY_POLICY_FILE": str(policy)}) as op:
        dedup = {"redis": {"endpoint": "ledger"}, "ledger": f"tenancy-{unique}"}
        driver.create("allowed", spec(unique, source=source, dedup=dedup))
        got = driver.wait_for_condition("allowed", "Replayed")
        assert driver.condition(got, "Replayed")["status"] == "True"
        jobs = driver.jobs(got)
        assert config.kafka_bootstrap() in json.dumps(jobs) and f"redis://{redis_address()}/0" in json.dumps(jobs)
        assert len(jobs) >= 2  # the pods were admitted under `restricted` and ran to completion
        outputs = {
            "the Job specs": json.dumps(jobs),
            "the replay": json.dumps(driver.get("allowed")),
            "the Events": json.dumps(driver.events(got)),
            "the operator's log": op.log_path.read_text(errors="replace"),
        }
        logs = sorted((config.log_dir() / "pods").glob(f"{namespace}_*.log"))
        assert logs, "no worker log"
        outputs |= {f"worker log {p.name}": p.read_text(errors="replace") for p in logs}
        for where, text in outputs.items():
            assert_no_secret(where, text)
