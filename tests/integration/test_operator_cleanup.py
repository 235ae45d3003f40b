"""spec.deletionPolicy on the real stack: `Delete` removes the replay's topics, consumer groups and
Redis keys before the object goes; `Keep` (the default) leaves them as evidence."""

from __future__ import annotations

from typing import Any

import pytest

from eventreplay.operator.kube import Kube, KubeError
from eventreplay.worker.contract.names import replay_group_id, replay_key_patterns
from support.operator_driver import OperatorDriver
from support.orders_replay import seed, spec

pytestmark = pytest.mark.stack


def _topics(admin: Any) -> set[str]:
    return set(admin.list_topics(timeout=10).topics)


def _groups(admin: Any, uid: str) -> list[str]:
    prefix = replay_group_id(uid)
    listed = admin.list_consumer_groups(request_timeout=10).result()
    return [g.group_id for g in listed.valid if g.group_id.startswith(prefix)]


def _keys(redis_client: Any, uid: str, ledger: str) -> list[bytes]:
    return [key for pattern in replay_key_patterns(uid, ledger) for key in redis_client.scan_iter(match=pattern)]


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
            assert _keys(redis_client, uid, ledger), name
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
    assert _keys(redis_client, uid, ledger) == []
    uid, topics = left["kept"]
    assert topics <= _topics(kafka_admin)
    assert _groups(kafka_admin, uid)
    assert _keys(redis_client, uid, ledger)
