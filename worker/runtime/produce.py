"""Produce one record, waiting for room when librdkafka's local queue is full.

Every producer of the worker's Jobs goes through here: the replay's sandbox and dead-letter
records, promotion's delta, reconciliation's report. The queue is bounded on purpose (flat
memory), so a full queue is the normal back-pressure of a fast loop, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from ..contract.exit_codes import PermanentFailure

Headers = list[tuple[str, str | bytes | None]]
UNASSIGNED = -1
"""No partition given: the producer's partitioner picks one from the key."""

POLL_SECONDS = 0.05


class RecordTooLarge(PermanentFailure):
    """librdkafka refused a record above the producer's `message.max.bytes`: retrying cannot help.

    The replay dead-letters such a record (a truncated copy); anywhere else it fails the Job loudly
    and permanently instead of a retry loop on the same record.
    """


def produce(
    producer: Producer,
    topic: str,
    value: bytes | None,
    key: bytes | str | None,
    partition: int = UNASSIGNED,
    *,
    headers: Headers | None = None,
    on_delivery: Callable[[Any, Any], None] | None = None,
    timestamp: int = 0,
) -> None:
    """producer.produce(); on BufferError serve delivery reports (poll) until the record fits.
    A `timestamp` of 0 (epoch ms) lets the producer stamp the record when it is sent."""
    while True:
        try:
            producer.produce(
                topic, value, key, partition, on_delivery=on_delivery, headers=headers, timestamp=timestamp
            )
            return
        except BufferError:
            producer.poll(POLL_SECONDS)
        except KafkaException as err:
            if err.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE:
                size = (len(value) if value else 0) + (len(key) if key else 0)
                raise RecordTooLarge(f"a record of {size} bytes to {topic!r}: {err.args[0].str()}") from err
            raise
