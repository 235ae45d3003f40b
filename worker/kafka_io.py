"""Kafka clients for one worker: configs, security settings from the environment, range checks."""

from __future__ import annotations

import os
import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from .contract.exit_codes import PermanentFailure, RetriableFailure
from .contract.settings import parse_settings
from .contract.tasks import KafkaConnection, Task

# Settings a Secret may not override: they carry the exactly-once guarantees.
_PROTECTED = {
    "transactional.id",
    "enable.idempotence",
    "isolation.level",
    "group.id",
    "enable.auto.commit",
    "auto.offset.reset",
    "bootstrap.servers",
}


def security_settings(env_name: str | None) -> dict[str, str]:
    """The settings in the env var a Secret filled (`parse_settings`). Values are never logged."""
    if not env_name:
        return {}
    raw = os.environ.get(env_name)
    if raw is None:
        raise PermanentFailure(f"env var {env_name} (Kafka client settings from a Secret) is not set")
    try:
        settings = parse_settings(raw, env_name)
    except ValueError as err:
        raise PermanentFailure(str(err)) from err
    for key in settings:
        if key in _PROTECTED:
            raise PermanentFailure(f"Kafka setting {key!r} may not be overridden by {env_name}")
    return settings


def base_config(kafka: KafkaConnection) -> dict[str, Any]:
    """Bootstrap servers and the settings from the Secret: every Kafka client of every Job starts here."""
    return {"bootstrap.servers": kafka.bootstrap_servers, **security_settings(kafka.settings_env)}


def consumer_config(task: Task) -> dict[str, Any]:
    return {
        **base_config(task.kafka),
        "group.id": task.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "error",
        "enable.partition.eof": True,
        # Bound the prefetch queue so memory stays flat whatever the window's size (measured in
        # bench/bench_worker.py: peak RSS ~100 MiB). The count cap matters because per-message
        # overhead doubles small payloads. librdkafka backs off fetching for
        # fetch.queue.backoff.ms once a cap is hit; its default (1 s) starves the worker.
        "queued.max.messages.kbytes": 8192,
        "queued.min.messages": 20000,
        "fetch.queue.backoff.ms": 10,
        "fetch.max.bytes": 2 * 1024 * 1024,
        "max.partition.fetch.bytes": 2 * 1024 * 1024,
    }


def producer_config(task: Task) -> dict[str, Any]:
    return {
        **base_config(task.kafka),
        "transactional.id": task.transactional_id,
        "enable.idempotence": True,
        "transaction.timeout.ms": 60000,
        "linger.ms": 20,
        "batch.size": 1_000_000,
        "compression.type": "lz4",
        "queue.buffering.max.kbytes": 24576,  # bounded (one transaction is ~6 MB): flat RSS
    }


def _raise_unreachable(err: KafkaException, servers: str) -> None:
    raise RetriableFailure(f"cannot reach Kafka at {servers}: {err.args[0].str()}") from err


def partition_count(admin: AdminClient, topic: str, servers: str) -> int:
    try:
        meta = admin.list_topics(topic=topic, timeout=15)
    except KafkaException as err:
        _raise_unreachable(err, servers)
    info = meta.topics.get(topic)
    if info is None or info.error is not None:
        if (
            info is not None
            and info.error is not None
            and info.error.code()
            not in (
                KafkaError.UNKNOWN_TOPIC_OR_PART,
                KafkaError._UNKNOWN_TOPIC,
            )
        ):
            raise RetriableFailure(f"metadata for topic {topic!r}: {info.error.str()}")
        raise PermanentFailure(f"topic {topic!r} does not exist")
    return len(info.partitions)


def ensure_topics(admin: AdminClient, topics: list[str], partitions: int, servers: str) -> None:
    """Create the sandbox and dead-letter topics if missing; existing ones must be wide enough."""
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=-1) for t in topics],
        operation_timeout=30,
        request_timeout=30,
    )
    for topic, future in futures.items():
        try:
            future.result()
        except KafkaException as err:
            if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RetriableFailure(f"cannot create topic {topic!r}: {err.args[0].str()}") from err
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


def watermarks(consumer: Consumer, topic: str, partition: int, servers: str) -> tuple[int, int]:
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15, cached=False)
    except KafkaException as err:
        _raise_unreachable(err, servers)
    return int(low), int(high)


def new_clients(task: Task) -> tuple[AdminClient, Consumer, Producer]:
    try:
        return AdminClient(base_config(task.kafka)), Consumer(consumer_config(task)), Producer(producer_config(task))
    except KafkaException as err:  # e.g. an unknown property in the settings Secret: retrying cannot help
        raise PermanentFailure(f"Kafka client settings: {err.args[0].str()}") from err
