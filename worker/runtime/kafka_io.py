"""The replay worker's Kafka clients and the topic checks of the worker's Jobs: the source
partition exists, the sandbox and dead-letter topics are there and wide enough.

Client configurations, topic creation, watermarks and offsets for times are the contract's
(`contract/kafka_clients.py`), shared with the operator and the CLI.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.kafka_clients import (
    create_topics,
    job_config,
    output_message_limit,
    output_topic_config,
    replay_consumer_config,
    transactional_producer_config,
)
from ..contract.sink_keys import sink_cluster
from ..contract.tasks import Task


def partition_count(admin: AdminClient, topic: str, servers: str) -> int:
    try:
        meta = admin.list_topics(topic=topic, timeout=15)
    except KafkaException as err:
        raise RetriableFailure(f"cannot reach Kafka at {servers}: {err.args[0].str()}") from err
    info = meta.topics.get(topic)
    if info is None:
        raise PermanentFailure(f"topic {topic!r} does not exist")
    if info.error is not None:
        if info.error.code() not in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
            raise RetriableFailure(f"metadata for topic {topic!r}: {info.error.str()}")
        raise PermanentFailure(f"topic {topic!r} does not exist")
    return len(info.partitions)


def cluster_id(admin: AdminClient, servers: str) -> str:
    """The Kafka cluster's id (names a destination across bootstrap addresses), else the addresses."""
    try:
        meta = admin.list_topics(timeout=15)
    except KafkaException as err:
        raise RetriableFailure(f"cannot reach Kafka at {servers}: {err.args[0].str()}") from err
    return sink_cluster(meta.cluster_id, servers)


def ensure_topics(admin: AdminClient, topics: list[str], partitions: int, servers: str, task: Task) -> None:
    """Create the sandbox and dead-letter topics if missing; existing ones must be wide enough."""
    config = output_topic_config(task.validation.max_event_bytes, task.dedup.ttl_seconds)
    create_topics(admin, topics, partitions, config=config)
    for topic in topics:
        have = _partition_count_after_create(admin, topic, servers)
        if have < partitions:
            raise PermanentFailure(f"topic {topic!r} has {have} partitions; the source has {partitions}")


def _partition_count_after_create(admin: AdminClient, topic: str, servers: str) -> int:
    """A topic another worker just created may take a moment to appear in metadata."""
    for _ in range(50):
        try:
            return partition_count(admin, topic, servers)
        except PermanentFailure:
            time.sleep(0.2)
    return partition_count(admin, topic, servers)


def new_clients(task: Task) -> tuple[AdminClient, Consumer, Producer]:
    """The replay's admin client, its consumer and its transactional producer."""
    base = job_config(task.kafka)
    producer = transactional_producer_config(
        base,
        task.transactional_id,
        **{
            "batch.size": 1_000_000,
            "queue.buffering.max.kbytes": 24576,  # bounded (a transaction is ~6 MB): flat RSS
            "message.max.bytes": output_message_limit(task.validation.max_event_bytes),
        },
    )
    try:
        return AdminClient(base), Consumer(replay_consumer_config(base, task.group_id)), Producer(producer)
    except KafkaException as err:  # e.g. an unknown property in the settings Secret: retrying cannot help
        raise PermanentFailure(f"Kafka client settings: {err.args[0].str()}") from err
