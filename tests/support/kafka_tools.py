"""Seed topics and read them back to their end with the real broker: the tests' one Kafka reader."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from datagen.orders import Mix, Record, generate


def create_topic(admin: AdminClient, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})], operation_timeout=30)
    for future in futures.values():
        future.result()


def produce(
    bootstrap: str,
    topic: str,
    records: Iterable[Record],
    partition: int = 0,
    timestamp_ms: Iterable[int] | None = None,
) -> int:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True, "batch.size": 1_000_000}
    )
    stamps = iter(timestamp_ms) if timestamp_ms is not None else None
    count = 0
    for rec in records:
        kwargs = {"timestamp": next(stamps)} if stamps is not None else {}
        while True:
            try:
                producer.produce(topic, value=rec.value, key=rec.key, partition=partition, **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
        count += 1
    if producer.flush(60) != 0:
        raise RuntimeError("records still queued after flush")
    return count


def produce_transactions(
    bootstrap: str, topic: str, transactions: Iterable[tuple[Sequence[bytes], bool]], transactional_id: str
) -> None:
    """Each (values, commit) as one transaction on partition 0, committed or aborted. An aborted
    transaction's records are flushed first, so they reach the log (and take offsets) before the
    abort marker; every transaction ends with a marker offset of its own."""
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id})
    producer.init_transactions(30)
    for values, commit in transactions:
        producer.begin_transaction()
        for value in values:
            producer.produce(topic, value, partition=0)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.flush(30)
            producer.abort_transaction(30)


def watermarks(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, int]]:
    """(low, high) offsets of each of the first `partitions` partitions."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"watermarks-{uuid.uuid4().hex}"})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in range(partitions)]
    finally:
        consumer.close()


def seed_orders(
    admin: AdminClient, bootstrap: str, topic: str, count: int, *, seed: int, mix: Mix | None = None
) -> list[Record]:
    """A new one-partition topic holding `count` generated order events; returns what was written."""
    create_topic(admin, topic, 1)
    records = list(generate(count, seed=seed, mix=mix or Mix()))
    produce(bootstrap, topic, records)
    return records


def seed_partitions(
    admin: AdminClient, bootstrap: str, topic: str, counts: Sequence[int], timestamp_ms: Iterable[int] | None = None
) -> None:
    """A new topic with a partition per count: partition p holds counts[p] generated orders (seed p).
    `timestamp_ms` (a range, say) is iterated afresh for each partition."""
    create_topic(admin, topic, len(counts))
    for p, count in enumerate(counts):
        produce(bootstrap, topic, generate(count, seed=p), partition=p, timestamp_ms=timestamp_ms)


@dataclass(frozen=True)
class Read:
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    timestamp_ms: int = 0


def read_partition(
    bootstrap: str, topic: str, partition: int = 0, timeout: float = 60.0, isolation: str = "read_committed"
) -> list[Read]:
    """Every record of a partition up to its end, in offset order (read_committed unless told)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
        out: list[Read] = []
        if high <= low:
            return out
        consumer.assign([TopicPartition(topic, partition, low)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Short polls: consume() waits its whole timeout when fewer records than asked remain.
            for msg in consumer.consume(1000, timeout=0.2):
                err = msg.error()
                if err is not None:
                    if err.code() == err._PARTITION_EOF:
                        return out
                    raise KafkaException(err)
                out.append(Read(msg.offset(), msg.key(), msg.value(), dict(msg.headers() or []), msg.timestamp()[1]))
        raise TimeoutError(f"no EOF reading {topic}/{partition}")
    finally:
        consumer.close()


def read_visible(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Read]:
    """Partition 0's committed records once `count` are visible (or what is there after `timeout`):
    the transaction markers that move the last stable offset are written by the coordinator after
    commit_transaction() returns."""
    deadline = time.monotonic() + timeout
    while True:
        records = read_partition(bootstrap, topic)
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def read_topic(
    bootstrap: str, topic: str, partitions: int, isolation: str = "read_committed"
) -> list[tuple[int, Read]]:
    """(partition, record) for every record of the first `partitions` partitions, partition by partition."""
    return [(p, r) for p in range(partitions) for r in read_partition(bootstrap, topic, p, isolation=isolation)]


def key_values(bootstrap: str, topic: str, partition: int = 0) -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) of every committed record of a partition, in offset order."""
    return [(r.key, r.value) for r in read_partition(bootstrap, topic, partition)]
