"""The lag a rollout's analysis reads (`operator/consumer_lag.py`), against real Kafka consumer groups:
one that read everything, one that stopped half way, one that never committed; read with the admin
API, so the groups' members are not disturbed (a member stays assigned while the lag is read)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from eventreplay.operator.kafka import KafkaAccess, KafkaUnavailable
from support.kafka_tools import create_topic

pytestmark = pytest.mark.stack

PARTITIONS, PER_PARTITION = 3, 40


def _commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def test_each_groups_lag_is_the_sinks_end_minus_its_commits(
    kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"lag-{unique}"
    create_topic(kafka_admin, topic, PARTITIONS)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for p in range(PARTITIONS):
        for _ in range(PER_PARTITION):
            producer.produce(topic, b"{}", None, p)
    assert producer.flush(30) == 0
    _commit(kafka_bootstrap, f"keeps-up-{unique}", topic, {p: PER_PARTITION for p in range(PARTITIONS)})
    _commit(kafka_bootstrap, f"stopped-{unique}", topic, {0: 10, 1: 20})  # partition 2 never committed
    live = {"bootstrap.servers": kafka_bootstrap, "group.id": f"stopped-{unique}", "enable.auto.commit": False}
    member = Consumer(live)
    member.subscribe([topic])
    member.poll(2)  # a live member: the admin read must not disturb it
    try:
        groups = [f"keeps-up-{unique}", f"stopped-{unique}", f"never-{unique}"]
        lags = KafkaAccess().consumer_lag(kafka_bootstrap, topic, groups)
    finally:
        member.close()
    assert lags == {
        f"keeps-up-{unique}": 0,
        f"stopped-{unique}": (PER_PARTITION - 10) + (PER_PARTITION - 20) + PER_PARTITION,
        f"never-{unique}": PARTITIONS * PER_PARTITION,
    }
    with pytest.raises(KafkaUnavailable, match="not readable"):
        KafkaAccess().consumer_lag(kafka_bootstrap, f"lag-missing-{unique}", groups)
