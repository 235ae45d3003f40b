"""Seed topics and read them back (read_committed) with the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from eventreplay.datagen import Record


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


@dataclass(frozen=True)
class Read:
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


def read_partition(bootstrap: str, topic: str, partition: int = 0, timeout: float = 30.0) -> list[Read]:
    """Every committed record of a partition, in offset order (read_committed)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
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
        while True:
            # Short polls: consume() waits its whole timeout when fewer records than asked remain.
            msgs = consumer.consume(1000, timeout=0.5)
            if not msgs and time.monotonic() > deadline:
                raise TimeoutError(f"no EOF reading {topic}/{partition}")
            for msg in msgs:
                err = msg.error()
                if err is not None:
                    if err.code() == err._PARTITION_EOF:
                        return out
                    raise KafkaException(err)
                out.append(Read(msg.offset(), msg.key(), msg.value(), {k: v for k, v in (msg.headers() or [])}))
    finally:
        consumer.close()
