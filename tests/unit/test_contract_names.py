"""Derived names are stored or shared by other processes (and the production ledger by production
writers): each string is pinned here as it was before the contract package gathered them."""

from __future__ import annotations

from eventreplay.worker.contract import names


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
    assert names.checkpoint_key("u1", 4) == "eventreplay:ckpt:u1:4"
    assert names.promotion_key("u1", 4) == "eventreplay:promotion:u1:4"
    assert names.report_key("u1") == "eventreplay:report:u1"
    assert names.failure_key("u1", "promote") == "eventreplay:failure:u1:promote"
    assert names.local_plan_key("ns", "r") == "eventreplay:local:plan:ns/r"
    assert names.production_prefix("orders") == "er:{orders}:p:"
    assert names.replay_prefix("orders", "u1", 2) == "er:{orders}:r:u1:2:"
    assert names.ledger_route("orders") == "er:{orders}"
    assert names.spill_prefix("u1", "run7", "d") == "er:{rc:u1}:run7:d:"
    assert names.spill_route("u1") == "er:{rc:u1}"
    assert names.ledger_watermark_key("orders", "u1", 2) == "er:{orders}:w:u1:2"
    assert names.spill_marker_key("u1", "run7") == "er:{rc:u1}:run7:started"


def test_pod_environment_variables() -> None:
    assert (names.TASK_ENV, names.RECONCILE_TASK_ENV, names.PROMOTE_TASK_ENV) == (
        "EVENTREPLAY_TASK",
        "EVENTREPLAY_RECONCILE_TASK",
        "EVENTREPLAY_PROMOTE_TASK",
    )
    assert (names.KAFKA_SETTINGS_ENV, names.REDIS_PASSWORD_ENV) == (
        "EVENTREPLAY_KAFKA_SETTINGS",
        "EVENTREPLAY_REDIS_PASSWORD",
    )
    assert (names.TERMINATION_LOG_ENV, names.METRICS_PORT_ENV, names.LOG_LEVEL_ENV) == (
        "EVENTREPLAY_TERMINATION_LOG",
        "EVENTREPLAY_METRICS_PORT",
        "EVENTREPLAY_LOG_LEVEL",
    )
