"""Secure by default (issue 25), decision by decision: the closed default and the permissive opt-in,
one project granting a replay entirely, bounded and counted partition selections, maxPartitions,
the tenant Secret's Kafka settings, and a report promoted only into the sink it was made for."""

from __future__ import annotations

from typing import Any

import pytest
from operator_fakes import PROMOTE, REPORT_HASH, FakeKube, World, reconciled, replay
from operator_fixtures import OWN, operator_config, spec
from pydantic import ValidationError

from eventreplay.operator import conditions as cond
from eventreplay.operator.api.v1alpha1 import EventReplaySpec
from eventreplay.operator.config import OperatorConfig, from_args
from eventreplay.operator.phases.plan import decide_notices
from eventreplay.operator.planner import PlanRefused, selected_partitions
from eventreplay.operator.policy import PERMISSIVE, Policy, PolicyDocument, closed_default, load
from eventreplay.operator.policy_document import TENANT_KAFKA_SETTINGS
from eventreplay.worker.contract.exit_codes import PermanentFailure
from eventreplay.worker.contract.kafka_clients import security_settings

CLOSED = Policy(closed_default(OWN))
SOURCE = {"bootstrapServers": "k:9092", "topic": "orders"}


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({}, None),
        ({"transform": {"function": "project", "fields": ["a"]}}, None),
        ({"source": {**SOURCE, "credentialsSecretRef": {"name": "kafka-client"}}}, None),  # the operator's own name
        ({"source": {**SOURCE, "bootstrapServers": "evil:9092"}}, "kafkaClusters"),
        ({"source": {**SOURCE, "bootstrapServers": "k:9092,evil:9092"}}, "kafkaClusters"),
        ({"dedup": {"redis": {"url": "redis://evil:6379/0"}, "ledger": "o"}}, "redisEndpoints"),
        ({"transform": {"function": "logging.config:dictConfig"}}, "transforms"),
        ({"validation": {"model": "subprocess:Popen"}}, "validationModels"),
        ({"source": {**SOURCE, "credentialsSecretRef": {"name": "db-root"}}}, "secrets"),
        (
            {"dedup": {"redis": {"url": "redis://r:6379/0", "passwordSecretRef": {"name": "db-root"}}, "ledger": "o"}},
            "secrets",
        ),
        ({"worker": {"image": "evil:1"}}, "images"),
    ],
)
def test_the_closed_default_lends_only_what_the_operator_is_configured_with(
    overrides: dict[str, Any], rule: str | None
) -> None:
    refusal = CLOSED.check("any-namespace", spec(**overrides), default_image="op:1")
    assert (refusal.rule if refusal else None) == rule
    assert PERMISSIVE.check("any-namespace", spec(**overrides), default_image="op:1") is None, "the opt-in allows all"


def test_an_operator_configured_with_nothing_lends_nothing() -> None:
    refusal = load(None).check("ns", spec(), default_image="op:1")
    assert refusal is not None and refusal.rule == "kafkaClusters"


@pytest.mark.parametrize(
    ("env", "servers", "redis", "secrets"),
    [
        ({}, [], [], []),
        (
            {
                "EVENTREPLAY_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": "k:9092, k2:9092",
                "EVENTREPLAY_OPERATOR_REDIS_ADDRESSES": "r:6379",
                "EVENTREPLAY_OPERATOR_SECRET_NAMES": "kafka-op,redis-op",
            },
            ["k:9092", "k2:9092"],
            ["r:6379"],
            ["kafka-op", "redis-op"],
        ),
    ],
)
def test_the_default_is_built_from_the_operators_own_configuration(
    env: dict[str, str], servers: list[str], redis: list[str], secrets: list[str]
) -> None:
    doc = from_args([], env=env).policy.document
    assert [s for c in doc.kafka_clusters for s in c.bootstrap_servers] == servers
    assert [r.address for r in doc.redis_endpoints] == redis
    assert doc.projects[0].secrets == secrets and doc.projects[0].validation_models == []


def test_permissive_is_an_explicit_opt_in_that_stands_alone() -> None:
    assert PolicyDocument.model_validate({"permissive": True}).permissive
    with pytest.raises(ValidationError, match="stands alone"):
        PolicyDocument.model_validate({"permissive": True, "projects": [{"name": "p", "namespaces": ["*"]}]})


@pytest.mark.parametrize(
    ("config", "wanted"),
    [(operator_config(), []), (OperatorConfig(policy=PERMISSIVE), [(cond.POLICY_PERMISSIVE, "True")])],
    ids=["closed", "permissive"],
)
def test_a_permissive_install_notes_it_on_every_replay(config: OperatorConfig, wanted: list[tuple[str, str]]) -> None:
    assert [(w.type, w.status) for w in decide_notices(config)] == wanted


def test_the_permissive_notice_is_one_warning_event_and_no_failure() -> None:
    world = World(kube=FakeKube(replay(dryRun=True)), config=OperatorConfig(policy=PERMISSIVE))
    outcome = world.sync()
    assert world.condition(cond.POLICY_PERMISSIVE) == ("True", "PermissiveInstall")
    assert [e.reason for e in outcome.events].count("PermissiveInstall") == 1
    assert world.condition("Stalled")[0] == "False"
    assert not [e for e in world.sync().events if e.reason == "PermissiveInstall"], "once per replay"


TWO_PROJECTS: dict[str, Any] = {
    "kafkaClusters": [{"name": "main", "bootstrapServers": ["k:9092"]}],
    "redisEndpoints": [{"name": "ledger", "address": "r:6379"}],
    "projects": [
        {"name": "reads", "namespaces": ["ns"], "kafkaClusters": ["main"], "redisEndpoints": ["ledger"],
         "sourceTopics": ["orders"], "sinkTopics": ["nothing"]},
        {"name": "writes", "namespaces": ["ns"], "kafkaClusters": ["main"], "redisEndpoints": ["ledger"],
         "sourceTopics": ["nothing"], "sinkTopics": ["orders-out"], "maxPartitions": 2},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("sink", "partitions", "rule"),
    [
        ("orders-out", None, "sinkTopics"),  # each project grants half: never combined (the first one's refusal)
        ("nothing", None, None),  # project "reads" grants it all
        ("nothing", ["0-9"], None),
    ],
)
def test_one_project_must_grant_the_whole_replay(sink: str, partitions: list[str] | None, rule: str | None) -> None:
    policy = Policy(PolicyDocument.model_validate(TWO_PROJECTS))
    source = {**SOURCE, "partitions": partitions} if partitions else SOURCE
    refusal = policy.check("ns", spec(source=source, sink={"topic": sink}), default_image="op:1")
    assert (refusal.rule if refusal else None) == rule


def test_max_partitions_counts_a_named_selection_without_expanding_it() -> None:
    doc = {**TWO_PROJECTS, "projects": [{**TWO_PROJECTS["projects"][1], "sourceTopics": ["orders"]}]}
    policy = Policy(PolicyDocument.model_validate(doc))
    wide = spec(source={**SOURCE, "partitions": ["0-99999"]})
    refusal = policy.check("ns", wide, default_image="op:1")
    assert refusal is not None and refusal.rule == "maxPartitions" and "100000 partitions" in refusal.message
    assert policy.max_partitions("ns", spec()) == 2


@pytest.mark.parametrize(
    ("partitions", "count", "selected", "beyond", "named"),
    [
        (None, 3, None, [], None),
        (["0-99999"], 3, [0, 1, 2], [(3, 99999)], 100000),
        (["5", "0-2", "1-3"], 10, [0, 1, 2, 3, 5], [], 5),
        (["2-4", "8"], 3, [2], [(3, 4), (8, 8)], 4),
    ],
)
def test_a_selection_is_cut_at_the_topics_partition_count(
    partitions: list[str] | None, count: int, selected: list[int] | None, beyond: list[tuple[int, int]], named: int
) -> None:
    source = spec(source={**SOURCE, "partitions": partitions} if partitions else SOURCE).source
    assert (source.selected(count), source.beyond(count), source.count()) == (selected, beyond, named)


@pytest.mark.parametrize("item", ["0-9999999", "100000", "1234567"])
def test_partition_numbers_are_bounded_at_admission(item: str) -> None:
    with pytest.raises(ValidationError):
        spec(source={**SOURCE, "partitions": [item]})


@pytest.mark.parametrize(
    ("partitions", "count", "most", "reason"),
    [
        (["0-99999"], 3, None, "PartitionOutOfRange"),
        (None, 3, 2, "NotAllowed"),
        (None, 2, 2, None),
        (["0-1"], 100, 2, None),
    ],
)
def test_planning_refuses_missing_partitions_and_more_than_the_project_allows(
    partitions: list[str] | None, count: int, most: int | None, reason: str | None
) -> None:
    desired = spec(source={**SOURCE, "partitions": partitions} if partitions else SOURCE)
    if reason is None:
        assert len(selected_partitions(desired, count, most)) == min(count, 2)
        return
    with pytest.raises(PlanRefused) as refused:
        selected_partitions(desired, count, most)
    assert refused.value.reason == reason
    if reason == "PartitionOutOfRange":
        assert "partitions 3-99999 do not exist" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "allowed", "refused"),
    [
        ("sasl.username=u\nsasl.password=p\n", ["sasl.username", "sasl.password"], None),
        ("sasl.kerberos.kinit.cmd=sh -c evil\n", ["sasl.*"], None),
        ("sasl.kerberos.kinit.cmd=sh -c evil\n", ["sasl.username", "sasl.password"], "sasl.kerberos.kinit.cmd"),
        ("plugin.library.paths=/tmp/x.so\n", list(TENANT_KAFKA_SETTINGS), "plugin.library.paths"),
        ("anything=1\n", None, None),
    ],
)
def test_a_tenants_secret_sets_only_the_allowed_kafka_settings(
    monkeypatch: pytest.MonkeyPatch, text: str, allowed: list[str] | None, refused: str | None
) -> None:
    monkeypatch.setenv("SETTINGS", text)
    if refused is None:
        assert security_settings("SETTINGS", allowed=allowed)
        return
    with pytest.raises(PermanentFailure, match=f"NotAllowed: Kafka setting '{refused}'"):
        security_settings("SETTINGS", allowed=allowed)


def test_the_policy_carries_the_allowed_settings_to_the_worker() -> None:
    grant = CLOSED.grant("ns", spec())
    assert grant.tenant_settings is not None and "sasl.password" in grant.tenant_settings
    assert (
        "sasl.kerberos.kinit.cmd" not in grant.tenant_settings
        and PERMISSIVE.grant("ns", spec()).tenant_settings is None
    )


def test_a_report_made_against_another_sink_is_never_promoted() -> None:
    world = reconciled(promotion={"policy": "Manual"})
    world.sync()
    assert world.status["reconciliation"]["reportHash"] == REPORT_HASH
    # Approved after the sink moved (as an object an older CRD let through): the report says nothing about it.
    world.edit(sink={"topic": "elsewhere"}, promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.sync()
    assert world.kstatus() == ("False", "False", "True", "ReportSinkMismatch")
    assert PROMOTE not in world.kube.jobs
    assert isinstance(spec(), EventReplaySpec) and spec().compared_topic == "orders-out"
