"""Derived names are stored or shared by other processes (and the production ledger by production
writers): each string is pinned here as it was before the contract package gathered them."""

from __future__ import annotations

import fnmatch

import pytest

from eventreplay.worker.contract import environment, names


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
    assert names.sink_ledger_key("shop", "c1", "out") == "ers:{shop:c1:out}:promoted"
    assert names.sink_pending_key("shop", "c1", "out", "o", 2) == "ers:{shop:c1:out}:pending:o:2"


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
    patterns = [p.removeprefix("~") for p in names.tenant_key_patterns(mine) + names.sink_key_patterns(mine)]
    sink = [names.sink_ledger_key(mine, "c", "t"), names.sink_pending_key(mine, "c", "t", "o", 0)]
    assert all(any(fnmatch.fnmatchcase(k, p) for p in patterns) for k in [*_every_key(mine), *sink])
    theirs = [*_every_key(other), names.sink_ledger_key(other, "c", "t")]
    assert not any(fnmatch.fnmatchcase(k, p) for p in patterns for k in theirs)
    # A namespace's patterns never reach a project's sinks, even one of the same name.
    assert not any(fnmatch.fnmatchcase(names.sink_ledger_key(mine, "c", "t"), p) for p in patterns[:2])


@pytest.mark.parametrize("tenant", ["", "A", "a*", "a?", "a[b]", "a:b", "a.b", "a{b", "-a", "a" * 64, "a\\b"])
def test_a_tenant_is_a_dns_label(tenant: str) -> None:
    with pytest.raises(ValueError, match="DNS label"):
        names.checkpoint_key(tenant, "u", 0)


def test_the_sink_belongs_to_the_project_else_the_namespace() -> None:
    assert names.sink_owner("ns", "shop") == "shop"
    assert names.sink_owner("ns", None) == "ns"


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
