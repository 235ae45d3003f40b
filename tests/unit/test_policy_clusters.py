"""A policy cluster's connection settings and credentials (issue #12): resolved for the replay, carried
into every Job by reference only, and who creates the replay's topics (the worker's side:
test_worker_cluster_settings.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from operator_fakes import FakeKube, World, replay
from operator_fixtures import env_of, plan

from eventreplay.operator.api.v1alpha1 import EventReplay
from eventreplay.operator.config import OperatorConfig, from_args
from eventreplay.operator.job_names import Owner
from eventreplay.operator.jobs import promotion_job, reconciliation_job
from eventreplay.operator.policy import OPEN, PERMISSIVE, Policy, PolicyDocument, load
from eventreplay.worker.contract.environment import (
    KAFKA_CA_ENV,
    KAFKA_SETTINGS_ENV,
    PROMOTE_TASK_ENV,
    RECONCILE_TASK_ENV,
    TASK_ENV,
)
from eventreplay.worker.contract.tasks import Task

DOC: dict[str, Any] = {
    "kafkaClusters": [
        {
            "name": "secure",
            "bootstrapServers": ["k:9093"],
            "securityProtocol": "SASL_SSL",
            "saslMechanism": "SCRAM-SHA-512",
            "tls": {"caSecretRef": {"name": "kafka-ca", "key": "ca.crt"}},
            "topicsCreatedBy": "tenant",
        },
        {"name": "plain", "bootstrapServers": ["k:9092"]},
    ],
    "redisEndpoints": [{"name": "ledger", "address": "r:6379"}],
    "projects": [
        {
            "name": "orders",
            "namespaces": ["ns"],
            "kafkaClusters": ["secure", "plain"],
            "kafkaCredentials": [
                {"cluster": "secure", "secretRef": {"name": "orders-scram"}},
                {"cluster": "secure", "secretRef": {"name": "orders-scram-ro", "key": "ro.properties"}},
            ],
            "redisEndpoints": ["ledger"],
            "sourceTopics": ["orders"],
            "sinkTopics": ["orders-out"],
            "secrets": ["kafka-client"],
        }
    ],
}
POLICY = Policy(PolicyDocument.model_validate(DOC))
SECURE = {"cluster": "secure", "topic": "orders"}


def _spec(**override: Any) -> Any:
    return EventReplay.desired(replay(**override)).spec


def test_a_replay_naming_the_cluster_gets_its_settings_ca_and_default_credentials_by_reference() -> None:
    world = World(kube=FakeKube(replay(source=SECURE)), config=OperatorConfig(policy=POLICY))
    world.sync()
    assert world.condition("Planned") == ("True", "Planned") and len(world.kube.jobs) == 2
    for job in world.kube.jobs.values():
        env = env_of(job)
        kafka = Task.model_validate_json(env[TASK_ENV]["value"]).kafka
        assert kafka.settings == {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "ssl.endpoint.identification.algorithm": "https",
        }
        assert (kafka.settings_env, kafka.ca_env) == (KAFKA_SETTINGS_ENV, KAFKA_CA_ENV)
        assert env[KAFKA_CA_ENV] == {
            "name": KAFKA_CA_ENV,
            "valueFrom": {"secretKeyRef": {"name": "kafka-ca", "key": "ca.crt"}},
        }
        # The project's first credentials for the cluster, though the spec named none.
        creds = env[KAFKA_SETTINGS_ENV]["valueFrom"]["secretKeyRef"]
        assert creds == {"name": "orders-scram", "key": "client.properties"}


def test_the_post_replay_jobs_carry_the_same_connection() -> None:
    spec = POLICY.resolve("ns", _spec(source=SECURE))
    config = OperatorConfig(policy=POLICY)
    owner, pl = Owner("ns", "r", "uid-1"), plan([(0, 0, 100)])
    jobs = {
        RECONCILE_TASK_ENV: reconciliation_job(spec, pl, owner, config),
        PROMOTE_TASK_ENV: promotion_job(spec, pl, owner, config, "cd" * 32),
    }
    for task_env, job in jobs.items():
        env = env_of(job)
        task = json.loads(env[task_env]["value"])
        assert task["kafka"]["caEnv"] == KAFKA_CA_ENV and task["kafka"]["settings"]["sasl.mechanism"] == "SCRAM-SHA-512"
        assert env[KAFKA_CA_ENV]["valueFrom"]["secretKeyRef"]["name"] == "kafka-ca"


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ({**SECURE, "credentialsSecretRef": {"name": "kafka-client"}}, "kafkaCredentials"),
        ({**SECURE, "credentialsSecretRef": {"name": "orders-scram-ro"}}, "kafkaCredentials"),  # wrong key
        ({"cluster": "plain", "topic": "orders", "credentialsSecretRef": {"name": "orders-scram"}}, "kafkaCredentials"),
        ({"cluster": "plain", "topic": "orders", "credentialsSecretRef": {"name": "db-root"}}, "secrets"),
    ],
    ids=[
        "a listed secret not granted for the cluster",
        "a granted secret's other key",
        "a cluster's secret elsewhere",
        "unlisted",
    ],
)
def test_a_cluster_takes_only_its_granted_credentials(source: dict[str, Any], rule: str) -> None:
    refusal = POLICY.check("ns", _spec(source=source), default_image="op:1")
    assert refusal is not None and refusal.rule == rule, refusal


def test_a_granted_credential_and_a_plain_cluster_pass_unchanged() -> None:
    ro = {**SECURE, "credentialsSecretRef": {"name": "orders-scram-ro", "key": "ro.properties"}}
    assert POLICY.check("ns", _spec(source=ro), default_image="op:1") is None
    ref = POLICY.resolve("ns", _spec(source=ro)).source.credentials_secret_ref
    assert ref is not None and (ref.name, ref.key) == ("orders-scram-ro", "ro.properties")
    plain = _spec(source={"bootstrapServers": "k:9092", "topic": "orders"})
    assert POLICY.check("ns", plain, default_image="op:1") is None
    assert POLICY.resolve("ns", plain) == plain and POLICY.grant("ns", plain).settings == {}
    assert PERMISSIVE.grant("ns", plain) is OPEN


def test_the_comparison_topic_is_bounded_by_the_sink_patterns() -> None:
    spec = _spec(source=SECURE, reconciliation={"comparisonTopic": "payroll"})
    refusal = POLICY.check("ns", spec, default_image="op:1")
    assert refusal is not None and refusal.rule == "sinkTopics" and "comparisonTopic" in refusal.message


@pytest.mark.parametrize(
    ("source", "created_by_operator"), [(SECURE, False), ({"cluster": "plain", "topic": "orders"}, True)]
)
def test_who_creates_the_topics_follows_the_cluster(source: dict[str, Any], created_by_operator: bool) -> None:
    world = World(kube=FakeKube(replay(source=source)), config=OperatorConfig(policy=POLICY))
    world.sync()
    world.sync()
    assert len(world.kube.jobs) == 2  # the Jobs exist either way: the workers ensure their topics
    assert bool(world.kafka.ensured) is created_by_operator


BAD = {
    "undefined cluster": ({"projects": [{"name": "p", "namespaces": ["x"], "kafkaClusters": ["nope"]}]}, "not defined"),
    "credentials for an ungranted cluster": (
        {
            "kafkaClusters": [{"name": "a", "bootstrapServers": ["k:1"]}],
            "projects": [
                {"name": "p", "namespaces": ["x"], "kafkaCredentials": [{"cluster": "a", "secretRef": {"name": "s"}}]}
            ],
        },
        "not in its kafkaClusters",
    ),
    "sasl on plaintext": (
        {"kafkaClusters": [{"name": "a", "bootstrapServers": ["k:1"], "saslMechanism": "PLAIN"}]},
        "saslMechanism needs",
    ),
    "tls without ssl": (
        {
            "kafkaClusters": [
                {"name": "a", "bootstrapServers": ["k:1"], "securityProtocol": "SASL_PLAINTEXT", "tls": {}}
            ]
        },
        "tls needs",
    ),
    "unknown protocol": (
        {"kafkaClusters": [{"name": "a", "bootstrapServers": ["k:1"], "securityProtocol": "TLS"}]},
        "SASL_SSL",
    ),
    "duplicate alias": (
        {"kafkaClusters": [{"name": "a", "bootstrapServers": ["k:1"]}, {"name": "a", "bootstrapServers": ["k:2"]}]},
        "more than once",
    ),
    "who creates topics": (
        {"kafkaClusters": [{"name": "a", "bootstrapServers": ["k:1"], "topicsCreatedBy": "nobody"}]},
        "operator",
    ),
}


@pytest.mark.parametrize(("doc", "message"), BAD.values(), ids=list(BAD))
def test_a_bad_policy_stops_the_operator_at_start(
    tmp_path: Path, doc: dict[str, Any], message: str, capsys: Any
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ValueError, match=message):
        load(str(path))
    with pytest.raises(SystemExit):
        from_args(["--policy-file", str(path)], env={})
    assert message in capsys.readouterr().err


def test_the_charts_values_schema_takes_every_policy_field() -> None:
    from pydantic import BaseModel

    from eventreplay.operator import policy_document as pd
    from eventreplay.operator.worker_pod import Toleration

    chart = Path(__file__).resolve().parents[2] / "charts" / "eventreplay-operator" / "values.schema.json"
    schema = json.loads(chart.read_text())

    def names(model: type[BaseModel]) -> set[str]:
        return {f.alias or n for n, f in model.model_fields.items()}

    policy = schema["properties"]["policy"]["properties"]
    clusters, projects = policy["kafkaClusters"]["items"]["properties"], policy["projects"]["items"]["properties"]
    pairs = {
        pd.PolicyDocument: policy,
        pd.KafkaCluster: clusters,
        pd.ClusterTls: clusters["tls"]["properties"],
        pd.RedisEndpoint: policy["redisEndpoints"]["items"]["properties"],
        pd.Project: projects,
        pd.KafkaCredentials: projects["kafkaCredentials"]["items"]["properties"],
        pd.SecretKey: schema["definitions"]["tenantSecretKey"]["properties"],
        pd.WorkerPod: schema["definitions"]["workerPod"]["properties"],
        Toleration: schema["definitions"]["workerPod"]["properties"]["tolerations"]["items"]["properties"],
    }
    assert projects["workerPod"] == schema["properties"]["worker"]["properties"]["pod"]
    for model, properties in pairs.items():
        assert names(model) == set(properties), model.__name__
