"""Produce one record, waiting for room when librdkafka's local queue is full.

Every producer of the worker's Jobs goes through here: the replay's sandbox and dead-letter
records, promotion's delta, reconciliation's report. The queue is bounded on purpose (flat
memory), so a full queue is the normal back-pressure of a fast loop, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

Headers = list[tuple[str, str | bytes | None]]
UNASSIGNED = -1
"""No partition given: the producer's partitioner picks one from the key."""

POLL_SECONDS = 0.05


def produce(
    producer: Producer,
    topic: str,
    value: bytes | None,
    key: bytes | str | None,
    partition: int = UNASSIGNED,
    *,
    headers: Headers | None = None,
    on_delivery: Callable[[Any, Any], None] | None = None,
) -> None:
    """producer.produce(); on BufferError serve delivery reports (poll) until the record fits."""
    while True:
        try:
            producer.produce(topic, value, key, partition, on_delivery=on_delivery, headers=headers)
            return
        except BufferError:
            producer.poll(POLL_SECONDS)
