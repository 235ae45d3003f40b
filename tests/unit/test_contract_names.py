"""Derived names are stored or shared by other processes (and the production ledger by production
writers): each string is pinned here as it was before the contract package gathered them."""

from __future__ import annotations

import fnmatch
from types import SimpleNamespace
from typing import cast

import pytest
import redis
from confluent_kafka.admin import AdminClient
from operator_fixtures import plan, spec

from eventreplay.operator.job_names import Owner
from eventreplay.operator.job_tasks import build_promote_task
from eventreplay.operator.policy import ClusterGrant
from eventreplay.worker.contract import environment, names, redis_acl, sink_keys
from eventreplay.worker.contract.step_tasks import PromoteTask
from eventreplay.worker.ledger.sink import SinkLedger
from eventreplay.worker.runtime.kafka_io import cluster_id


def test_topic_group_and_transactional_names() -> None:
    topics = names.ReplayTopics.of("ns", "r", "u1")
    tag = names.short_uid("u1")
    assert tag == "bb82030dbc2bcaba"  # SHA-256("u1")[:16]: a stored format, pinned
    assert topics.sandbox == f"eventreplay.ns.r.{tag}.sandbox"
    assert topics.dead_letter == f"eventreplay.ns.r.{tag}.dlq"
    assert topics.report == f"eventreplay.ns.r.{tag}.report"
    assert names.replay_group_id("u1") == "eventreplay-u1"
    assert names.replay_transactional_id("u1", "orders", 3) == "eventreplay-u1-orders-3"
    assert names.step_group_id("u1", "reconcile") == "eventreplay-u1-reconcile"
    assert names.promote_group_id("u1", "ab" * 32) == "eventreplay-u1-promote-" + "ab" * 8
    assert names.promote_transactional_id("u1", 2) == "eventreplay-u1-promote-2"
    assert names.step_group_id("u1", "combine") == "eventreplay-u1-combine"
    assert names.GAP_FINDER_GROUP_ID == "eventreplay-gap-finder"
    assert names.PLANNER_GROUP_ID == "eventreplay-operator-planner"
    assert names.flink_group_id("ns", "r") == "eventreplay-flink-ns-r"


def test_a_recreated_name_gets_other_topics() -> None:
    """Same namespace/name, another uid (deleted and re-created): nothing shared."""
    first = names.ReplayTopics.of("ns", "r", "0b5f1a9e-0000-11ef-8000-0242ac120002")
    second = names.ReplayTopics.of("ns", "r", "0b5f1a9e-0000-11ef-8000-0242ac120003")
    assert {first.sandbox, first.dead_letter, first.report}.isdisjoint(
        {second.sandbox, second.dead_letter, second.report}
    )
    assert names.ReplayTopics.of("ns", "r", "u1") == names.ReplayTopics.of("ns", "r", "u1")


def test_topic_names_stay_within_kafkas_limit() -> None:
    longest = names.ReplayTopics.of("n" * 63, "x" * 253, "u1")
    for topic in (longest.sandbox, longest.dead_letter, longest.report):
        assert len(topic) <= names.MAX_TOPIC_NAME
        assert topic.startswith("eventreplay." + "n" * 63 + ".x")
    assert longest.sandbox != names.ReplayTopics.of("n" * 63, "x" * 253, "u2").sandbox


def test_redis_keys() -> None:
    assert names.checkpoint_key("ns", "u1", 4) == "eventreplay:ns:ckpt:u1:4"
    assert names.promotion_key("ns", "u1", 4) == "eventreplay:ns:promotion:u1:4"
    assert names.report_key("ns", "u1") == "eventreplay:ns:report:u1"
    assert names.failure_key("ns", "u1", "promote") == "eventreplay:ns:failure:u1:promote"
    assert names.local_plan_key("ns", "r") == "eventreplay:ns:local:plan:r"
    assert names.production_prefix("ns", "orders") == "er:{ns:orders}:p:"
    assert names.replay_prefix("ns", "orders", "u1", 2) == "er:{ns:orders}:r:u1:2:"
    assert names.ledger_route("ns", "orders") == "er:{ns:orders}"
    assert names.spill_prefix("ns", "u1", "run7", "d") == "er:{ns:rc:u1}:run7:d:"
    assert names.spill_route("ns", "u1") == "er:{ns:rc:u1}"
    assert names.ledger_watermark_key("ns", "orders", "u1", 2) == "er:{ns:orders}:w:u1:2"
    assert names.spill_marker_key("ns", "u1", "run7") == "er:{ns:rc:u1}:run7:started"
    assert sink_keys.sink_ledger_key("c1", "out") == "ers:{c1:out}:promoted"
    assert sink_keys.sink_pending_key("c1", "out", "o", 2) == "ers:{c1:out}:pending:o:2"


def _every_key(ns: str) -> list[str]:
    return [
        names.checkpoint_key(ns, "u", 1),
        names.promotion_key(ns, "u", 1),
        names.report_key(ns, "u"),
        names.combine_key(ns, "u"),
        names.failure_key(ns, "u", "promote"),
        names.local_plan_key(ns, "r"),
        names.production_slice_prefix(ns, "orders:eu", 7) + "1f",
        names.replay_prefix(ns, "orders", "u", 1) + "1f",
        names.ledger_watermark_key(ns, "orders", "u", 1),
        names.spill_prefix(ns, "u", "run", "s") + "1f",
        names.spill_marker_key(ns, "u", "run"),
    ]


@pytest.mark.parametrize(("mine", "other"), [("a", "b"), ("a", "a-b"), ("a-b", "a"), ("team", "team2"), ("x1", "x")])
def test_a_tenants_acl_patterns_cover_its_keys_and_none_of_another(mine: str, other: str) -> None:
    # Redis ACL key patterns are globs with the semantics of fnmatchcase (braces are literal).
    patterns = [
        p.removeprefix("~") for p in redis_acl.tenant_key_patterns(mine) + redis_acl.sink_key_patterns([f"{mine}-out"])
    ]
    sink = [sink_keys.sink_ledger_key("c", f"{mine}-out"), sink_keys.sink_pending_key("c", f"{mine}-out", "o", 0)]
    assert all(any(fnmatch.fnmatchcase(k, p) for p in patterns) for k in [*_every_key(mine), *sink])
    theirs = [*_every_key(other), sink_keys.sink_ledger_key("c", f"{other}-out")]
    assert not any(fnmatch.fnmatchcase(k, p) for p in patterns for k in theirs)
    # A namespace's patterns never reach a sink's ledger, even one of the namespace's name.
    assert not any(fnmatch.fnmatchcase(sink_keys.sink_ledger_key(mine, mine), p) for p in patterns[:2])


@pytest.mark.parametrize("tenant", ["", "A", "a*", "a?", "a[b]", "a:b", "a.b", "a{b", "-a", "a" * 64, "a\\b"])
def test_a_tenant_is_a_dns_label(tenant: str) -> None:
    with pytest.raises(ValueError, match="DNS label"):
        names.checkpoint_key(tenant, "u", 0)


def promotion(
    servers: str, owner: Owner, project: str, report: str, *, sink: str = "orders-out", layout: int | None = 2
) -> PromoteTask:
    """The task the operator gives the promotion Job of one replay (`layout`: its plan's keyLayout,
    None as chart 0.1.0 planned it)."""
    replay = spec(source={"bootstrapServers": servers, "topic": "orders"}, sink={"topic": sink})
    return build_promote_task(
        replay, plan([(0, 0, 10)], key_layout=layout), owner, report, ClusterGrant(project=project)
    )


def promoters_ledger(task: PromoteTask, reported: str | None) -> list[str]:
    """The keys a promoter of `task` claims in from sandbox partition 0, named as `Promoter.run` names
    its cluster (the id Kafka reports, `reported`, else the bootstrap servers) and as `_Partition`
    opens its ledger: [the sink's ledger, this promotion's pending set]."""
    metadata = SimpleNamespace(cluster_id=reported)
    admin = cast(AdminClient, SimpleNamespace(list_topics=lambda timeout: metadata))
    cluster = cluster_id(admin, task.kafka.bootstrap_servers)
    return SinkLedger.of_promotion(redis.Redis(), cluster, task, 0).keys


def test_one_ledger_per_sink_whoever_promotes() -> None:
    # No namespace or project in the key: two projects granted one sink share its ledger, so a
    # correction one promoted is `alreadyPromoted` for the other (never written twice).
    a = promotion("k1:9092,k2:9092", Owner("team-a", "fix-orders", "uid-a"), "alpha", "ab" * 32)
    b = promotion("k2:9092,k1:9092", Owner("team-b", "orders-again", "uid-b"), "beta", "cd" * 32, layout=None)
    assert (a.replay.namespace, a.replay.project, a.replay.key_tenant) == ("team-a", "alpha", "team-a")
    assert (b.replay.namespace, b.replay.project, b.replay.key_tenant) == ("team-b", "beta", None)
    for reported in ("kc-1", None):  # the cluster's id, or its bootstrap servers in any order
        (ledger_a, pending_a), (ledger_b, pending_b) = promoters_ledger(a, reported), promoters_ledger(b, reported)
        assert ledger_a == ledger_b, "one sink, one ledger"
        assert pending_a != pending_b, "each promotion's pending set is its own"
    assert promoters_ledger(a, "kc-1")[0] == sink_keys.sink_ledger_key("kc-1", "orders-out")
    assert promoters_ledger(a, "kc-1")[0] != promoters_ledger(a, "kc-2")[0], "another cluster, another sink"
    other_topic = promotion("k1:9092,k2:9092", Owner("team-a", "fix-orders", "uid-a"), "alpha", "ab" * 32, sink="out2")
    assert promoters_ledger(other_topic, "kc-1")[0] != promoters_ledger(a, "kc-1")[0], "another topic, another sink"


@pytest.mark.parametrize(
    ("globs", "reached", "not_reached"),
    [
        (["orders-*"], ["orders-fixed", "orders-"], ["orders", "payments", "x-orders-1"]),
        (["out"], ["out"], ["out2", "xout", "ou"]),
        (["out-[!x]"], ["out-a"], ["out-x", "out-ab"]),
        (["a?c", "z*"], ["abc", "zz"], ["ac", "abbc"]),
        (["*"], ["anything", "x.y_z-1"], []),
    ],
)
def test_a_projects_sink_patterns_reach_exactly_the_ledgers_of_its_sink_topics(
    globs: list[str], reached: list[str], not_reached: list[str]
) -> None:
    patterns = [p.removeprefix("~") for p in redis_acl.sink_key_patterns(globs)]
    # Redis ACL globs negate a class with `^` (fnmatch with `!`): match as Redis would.
    redis_glob = [p.replace("[^", "[!") for p in patterns]
    for topic in reached:
        for key in (sink_keys.sink_ledger_key("Zx_1-a", topic), sink_keys.sink_pending_key("Zx_1-a", topic, "u:h", 3)):
            assert any(fnmatch.fnmatchcase(key, p) for p in redis_glob), (key, patterns)
    for topic in not_reached:
        key = sink_keys.sink_ledger_key("Zx_1-a", topic)
        assert not any(fnmatch.fnmatchcase(key, p) for p in redis_glob), (key, patterns)
    assert all(p.startswith("ers:{*:") for p in patterns)


@pytest.mark.parametrize("glob", ["", "a:b", "a}b", "a\\b", "a b", "a{b"])
def test_a_sink_pattern_that_could_widen_an_acl_is_refused(glob: str) -> None:
    with pytest.raises(ValueError, match="sink topic pattern"):
        redis_acl.sink_key_patterns([glob])


def test_pod_environment_variables() -> None:
    assert (environment.TASK_ENV, environment.RECONCILE_TASK_ENV, environment.PROMOTE_TASK_ENV) == (
        "EVENTREPLAY_TASK",
        "EVENTREPLAY_RECONCILE_TASK",
        "EVENTREPLAY_PROMOTE_TASK",
    )
    assert (environment.KAFKA_SETTINGS_ENV, environment.REDIS_PASSWORD_ENV) == (
        "EVENTREPLAY_KAFKA_SETTINGS",
        "EVENTREPLAY_REDIS_PASSWORD",
    )
    assert (environment.TERMINATION_LOG_ENV, environment.METRICS_PORT_ENV, environment.LOG_LEVEL_ENV) == (
        "EVENTREPLAY_TERMINATION_LOG",
        "EVENTREPLAY_METRICS_PORT",
        "EVENTREPLAY_LOG_LEVEL",
    )
