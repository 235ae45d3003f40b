"""The platform's tenant policy: each rule refuses what it must, before Kafka, Redis or a Job is touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from operator_fakes import FakeKube, World, replay
from operator_fixtures import env_of
from pydantic import ValidationError

from eventreplay.operator.api.v1alpha1 import EventReplay
from eventreplay.operator.config import OperatorConfig, from_args
from eventreplay.operator.policy import PERMISSIVE, Policy, PolicyDocument, load
from eventreplay.worker.contract.environment import TASK_ENV
from eventreplay.worker.contract.tasks import Task

DOC: dict[str, Any] = {
    "kafkaClusters": [{"name": "main", "bootstrapServers": ["k:9092", "k2:9092"]}],
    "redisEndpoints": [
        {"name": "ledger", "address": "r:6379"},
        {"name": "secure", "address": "rs:6380", "tls": True, "db": 3},
    ],
    "projects": [
        {
            "name": "orders",
            "namespaces": ["ns", "orders-*"],
            "kafkaClusters": ["main"],
            "redisEndpoints": ["ledger", "secure"],
            "sourceTopics": ["orders", "orders.*"],
            "sinkTopics": ["orders-out"],
            "transforms": ["identity", "project", "orders_tx.map:run"],
            "validationModels": ["orders_tx.models:Order"],
            "images": ["registry.example/orders-worker:1"],
            "secrets": ["kafka-client", "redis"],
        }
    ],
}
POLICY = Policy(PolicyDocument.model_validate(DOC))

# Each attack of issue #12 a spec can carry, and the rule that refuses it.
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "tenant kafka listener": ({"source": {"bootstrapServers": "evil:9092", "topic": "orders"}}, "kafkaClusters"),
    "listed plus tenant broker": (
        {"source": {"bootstrapServers": "k:9092,evil:9092", "topic": "orders"}},
        "kafkaClusters",
    ),
    "tenant redis listener": (
        {"dedup": {"redis": {"url": "redis://evil:6379/0"}, "ledger": "orders"}},
        "redisEndpoints",
    ),
    "foreign source topic": ({"source": {"bootstrapServers": "k:9092", "topic": "payroll"}}, "sourceTopics"),
    "foreign sink topic": ({"sink": {"topic": "payroll"}}, "sinkTopics"),
    "stdlib callable as transform": ({"transform": {"function": "logging.config:dictConfig"}}, "transforms"),
    "stdlib class as model": ({"validation": {"model": "subprocess:Popen"}}, "validationModels"),
    "foreign image": ({"worker": {"image": "evil:latest"}}, "images"),
    "any secret for kafka": (
        {"source": {"bootstrapServers": "k:9092", "topic": "orders", "credentialsSecretRef": {"name": "db-root"}}},
        "secrets",
    ),
    "any secret for redis": (
        {"dedup": {"redis": {"url": "redis://r:6379/0", "passwordSecretRef": {"name": "db-root"}}, "ledger": "o"}},
        "secrets",
    ),
}


def _spec(**override: Any) -> Any:
    return EventReplay.desired(replay(**override)).spec


@pytest.mark.parametrize(("override", "rule"), REFUSED.values(), ids=list(REFUSED))
def test_each_rule_refuses(override: dict[str, Any], rule: str) -> None:
    refusal = POLICY.check("ns", _spec(**override), default_image="op:1")
    assert refusal is not None and refusal.rule == rule


def test_what_the_project_lists_is_allowed() -> None:
    spec = _spec(
        source={
            "bootstrapServers": "K2:9092, k:9092",
            "topic": "orders.eu",
            "credentialsSecretRef": {"name": "kafka-client"},
        },
        dedup={"redis": {"url": "redis://r:6379/4", "passwordSecretRef": {"name": "redis"}}, "ledger": "o"},
        transform={"function": "orders_tx.map:run"},
        validation={"model": "orders_tx.models:Order"},
        worker={"image": "registry.example/orders-worker:1"},
    )
    assert POLICY.check("orders-eu", spec, default_image="op:1") is None
    assert POLICY.check("ns", _spec(worker={"image": "op:1"}), default_image="op:1") is None


def test_a_namespace_in_no_project_is_refused_and_the_permissive_opt_in_allows_everything() -> None:
    refusal = POLICY.check("other", _spec(), default_image="op:1")
    assert refusal is not None and refusal.rule == "projects"
    assert (
        PERMISSIVE.permissive
        and PERMISSIVE.check("other", _spec(source={"bootstrapServers": "evil:1", "topic": "x"}), default_image="")
        is None
    )


def test_a_refused_replay_stalls_not_allowed_before_kafka_redis_or_a_job() -> None:
    world = World(
        kube=FakeKube(replay(dedup={"redis": {"url": "redis://evil:6379/0"}, "ledger": "o"})),
        config=OperatorConfig(policy=POLICY),
    )
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "NotAllowed")
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert "redisEndpoints" in stalled["message"]
    assert world.kafka.observed == 0 and world.kube.jobs == {} and world.checkpoints.calls == 0


def test_a_growing_policy_picks_the_replay_up() -> None:
    world = World(kube=FakeKube(replay(sink={"topic": "later"})), config=OperatorConfig(policy=POLICY))
    world.sync()
    assert world.condition("Stalled") == ("True", "NotAllowed")
    doc = {**DOC, "projects": [{**DOC["projects"][0], "sinkTopics": ["orders-out", "later"]}]}
    grown = World(kube=world.kube, config=OperatorConfig(policy=Policy(PolicyDocument.model_validate(doc))))
    grown.sync()
    assert grown.condition("Planned") == ("True", "Planned") and len(world.kube.jobs) == 2


def test_the_policy_file_is_read_at_start_and_a_bad_one_fails_loudly(tmp_path: Path) -> None:
    good = tmp_path / "policy.yaml"
    good.write_text(__import__("yaml").safe_dump(DOC))
    assert from_args([], env={"EVENTREPLAY_POLICY_FILE": str(good)}).policy == POLICY
    assert not load(None).permissive, "no file: the closed default"
    assert load(None).check("ns", _spec(), default_image="op:1") is not None, "lending nothing it was not given"
    bad = tmp_path / "bad.yaml"
    bad.write_text("projects: [{name: x}]\n")
    with pytest.raises(SystemExit):
        from_args(["--policy-file", str(bad)], env={})


ALIASED = {"cluster": "main", "topic": "orders"}


def planned_tasks(world: World) -> list[Task]:
    """One pass: the replay is planned with both its partition Jobs; their workers' tasks."""
    world.sync()
    assert world.condition("Planned") == ("True", "Planned") and len(world.kube.jobs) == 2
    return [Task.model_validate_json(env_of(job)[TASK_ENV]["value"]) for job in world.kube.jobs.values()]


def test_a_cluster_alias_resolves_to_the_platforms_servers_in_the_jobs() -> None:
    world = World(kube=FakeKube(replay(source=ALIASED)), config=OperatorConfig(policy=POLICY))
    assert {task.kafka.bootstrap_servers for task in planned_tasks(world)} == {"k:9092,k2:9092"}


@pytest.mark.parametrize(
    ("policy", "namespace_cluster"),
    [(POLICY, "evil"), (PERMISSIVE, "main")],
    ids=["alias not granted", "alias in a permissive install"],
)
def test_an_alias_outside_the_policy_stalls(policy: Policy, namespace_cluster: str) -> None:
    world = World(
        kube=FakeKube(replay(source={**ALIASED, "cluster": namespace_cluster})), config=OperatorConfig(policy=policy)
    )
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "NotAllowed") and world.kafka.observed == 0


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"topic": "orders"}, "Field required"),
        ({"bootstrapServers": "k:9092", "cluster": "main", "topic": "orders"}, "exactly one of bootstrapServers or"),
    ],
    ids=["neither", "both"],
)
def test_a_source_names_servers_or_an_alias(source: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _spec(source=source)


def test_a_redis_endpoint_alias_resolves_in_the_jobs_and_an_ungranted_one_stalls() -> None:
    dedup = {"redis": {"endpoint": "secure"}, "ledger": "orders"}
    world = World(kube=FakeKube(replay(dedup=dedup)), config=OperatorConfig(policy=POLICY))
    assert {task.dedup.redis_url for task in planned_tasks(world)} == {"rediss://rs:6380/3"}
    for policy, endpoint in ((POLICY, "other"), (PERMISSIVE, "secure")):
        refused = World(
            kube=FakeKube(replay(dedup={**dedup, "redis": {"endpoint": endpoint}})),
            config=OperatorConfig(policy=policy),
        )
        refused.sync()
        assert refused.kstatus() == ("False", "False", "True", "NotAllowed") and refused.kube.jobs == {}


@pytest.mark.parametrize(
    ("redis", "message"),
    [({}, "Field required"), ({"url": "redis://r:6379/0", "endpoint": "ledger"}, "exactly one of url or endpoint")],
    ids=["neither", "both"],
)
def test_a_redis_connection_names_a_url_or_an_alias(redis: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _spec(dedup={"redis": redis, "ledger": "o"})
