"""spec.deletionPolicy on the real stack: `Delete` removes the replay's topics, consumer groups and
Redis keys before the object goes; `Keep` (the default) leaves them as evidence."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from datagen.orders import Record
from eventreplay.operator.kube import Kube, KubeError
from eventreplay.worker.contract.names import ReplayTopics, replay_group_id, replay_key_patterns
from support.kafka_tools import create_topic, produce
from support.operator_driver import OperatorDriver
from support.orders_replay import seed, spec
from support.replay_specs import aggregate_replay

pytestmark = pytest.mark.stack


def _topics(admin: Any) -> set[str]:
    return set(admin.list_topics(timeout=10).topics)


def _groups(admin: Any, uid: str) -> list[str]:
    prefix = replay_group_id(uid)
    listed = admin.list_consumer_groups(request_timeout=10).result()
    return [g.group_id for g in listed.valid if g.group_id.startswith(prefix)]


def _keys(redis_client: Any, ns: str, uid: str, ledger: str) -> list[bytes]:
    return [key for pattern in replay_key_patterns(ns, uid, ledger) for key in redis_client.scan_iter(match=pattern)]


def _finalizers(k: Kube, ns: str, name: str) -> list[str]:
    found = k.call("GET", f"/apis/eventreplay.io/v1alpha1/namespaces/{ns}/eventreplays/{name}")
    return list(found["metadata"].get("finalizers") or [])


def _gone(k: Kube, ns: str, name: str) -> bool:
    try:
        k.call("GET", f"/apis/eventreplay.io/v1alpha1/namespaces/{ns}/eventreplays/{name}")
    except KubeError as err:
        if err.status == 404:
            return True
        raise
    return False


def test_delete_policy_removes_what_the_replay_left_and_keep_leaves_it(
    driver: OperatorDriver,
    *,
    namespace: str,
    kafka_admin: Any,
    kafka_bootstrap: str,
    redis_client: Any,
    unique: str,
) -> None:
    topic = f"orders-{unique}"
    seed(kafka_admin, kafka_bootstrap, topic, 200)
    ledger = f"ledger-{unique}"
    with driver.running():
        driver.create("kept", spec(topic, unique))
        driver.create("gone", spec(topic, unique, deletionPolicy="Delete"))
        done = {name: driver.wait_for_condition(name, "Ready") for name in ("kept", "gone")}
        left = {}
        for name, replay in done.items():
            status, uid = replay["status"], replay["metadata"]["uid"]
            topics = {status["plan"]["sandboxTopic"], status["plan"]["deadLetterTopic"]}
            topics.add(status["reconciliation"]["reportTopic"])
            assert topics <= _topics(kafka_admin), name
            assert _groups(kafka_admin, uid), name
            assert _keys(redis_client, namespace, uid, ledger), name
            left[name] = (uid, topics)
        # Settled (policy Never): no timer, so kopf drops its finalizer from the Keep replay; the
        # Delete replay keeps it for its on.delete handler.
        driver.wait_for(
            lambda: not _finalizers(driver.k, namespace, "kept"), 60, "no finalizer on a settled Keep replay"
        )
        assert _finalizers(driver.k, namespace, "gone") == ["eventreplay.io/finalizer"]
        for name in ("kept", "gone"):
            driver.k.call("DELETE", f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/{name}")
        for name in ("kept", "gone"):
            driver.wait_for(lambda n=name: _gone(driver.k, namespace, n), 60, f"{name} deleted")

    uid, topics = left["gone"]
    driver.wait_for(lambda: not (topics & _topics(kafka_admin)), 30, "topics of 'gone' deleted")
    assert _groups(kafka_admin, uid) == []
    assert _keys(redis_client, namespace, uid, ledger) == []
    uid, topics = left["kept"]
    assert topics <= _topics(kafka_admin)
    assert _groups(kafka_admin, uid)
    assert _keys(redis_client, namespace, uid, ledger)


def test_delete_policy_removes_every_topic_of_an_aggregate_replay_results_included(
    driver: OperatorDriver, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic, sink = f"agg-clean-{unique}", f"agg-clean-out-{unique}"
    create_topic(kafka_admin, topic, 1)
    create_topic(kafka_admin, sink, 1)
    events = [{"event_id": f"e{i}", "ts": 1_800_000_000_000 + i * 10_000} for i in range(30)]
    produce(kafka_bootstrap, topic, [Record(None, orjson.dumps(e), "valid", e["event_id"]) for e in events])
    aggregate = {"eventTimeField": "ts", "windowSeconds": 60, "aggregations": [{"name": "n", "function": "count"}]}
    manifest = aggregate_replay(
        topic, ledger=f"ledger-{unique}", sink_topic=sink, aggregate=aggregate, existing=0, deletionPolicy="Delete"
    )
    with driver.running():
        driver.create("agg", manifest)
        done = driver.wait_for_condition("agg", "Ready")
        uid = done["metadata"]["uid"]
        mine = ReplayTopics.of(namespace, "agg", uid)
        before = _topics(kafka_admin)
        created = {t for t in before if t.startswith(mine.sandbox.removesuffix(".sandbox"))}
        assert created == {mine.sandbox, mine.dead_letter, mine.report, mine.results}
        assert done["status"]["aggregation"]["resultsTopic"] == mine.results
        driver.k.call("DELETE", f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/agg")
        driver.wait_for(lambda: _gone(driver.k, namespace, "agg"), 60, "agg deleted")
    # Before: the results topic survived deletionPolicy Delete.
    driver.wait_for(lambda: not (created & _topics(kafka_admin)), 30, "every topic of 'agg' deleted")
    after = _topics(kafka_admin)
    assert not {t for t in after if t.startswith(mine.sandbox.removesuffix(".sandbox"))}
    assert {topic, sink} <= after  # the source and the sink are never touched
