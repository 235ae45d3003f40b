"""The lag of downstream consumer groups on a sink: what a rollout's analysis reads between steps.

A group's lag is, summed over the sink's partitions, the end offset (the high watermark) minus the
group's committed offset there; a partition the group never committed counts from its start (the
low watermark), as `kafka-consumer-groups --describe` would show it when the group reads from the
earliest offset. Read with the admin API (`list_consumer_group_offsets`): the groups are never
joined, so their members are not disturbed.
"""

from __future__ import annotations

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient


def group_lags(consumer: Consumer, admin: AdminClient, topic: str, groups: list[str], timeout: float) -> dict[str, int]:
    """Per group, its total lag on `topic`. KafkaException propagates (the caller's outage)."""
    meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None:
        raise KafkaException(f"topic {topic} is not readable: {meta.error if meta else 'absent'}")
    marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout) for p in meta.partitions}
    lags: dict[str, int] = {}
    for group in groups:
        asked = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in sorted(marks)])
        (future,) = admin.list_consumer_group_offsets([asked], request_timeout=timeout).values()
        committed = {tp.partition: tp.offset for tp in future.result(timeout=timeout).topic_partitions}
        lags[group] = sum(high - max(committed.get(p, -1), low) for p, (low, high) in marks.items())
    return lags
